/*
 * netflow9.h - rewrite a NetFlow v9 export packet into an IPFIX message.
 *
 * libfixbuf's own v9 translator is never used: it only works inside
 * libfixbuf's socket collectors and crashes (SIGFPE) on templates with zero
 * fields or zero-length fields. v9 and IPFIX differ only in the message
 * header and the template sets, so the data sets are copied as they are and
 * the rest of the pipeline sees IPFIX only.
 */
#ifndef HS_NETFLOW9_H
#define HS_NETFLOW9_H

#include <stddef.h>
#include <stdint.h>

/* What the v9 header said, kept for time conversion and loss accounting. */
typedef struct hs_v9_header {
    uint32_t sys_uptime_ms;  /* exporter uptime when the packet was sent */
    uint32_t unix_secs;      /* export time */
    uint32_t sequence;       /* counts export packets, not records */
    uint32_t source_id;      /* the observation domain */
    uint32_t bad_templates;  /* template records skipped as invalid */
} hs_v9_header;

/*
 * Rewrites the v9 packet in (len bytes) into an IPFIX message in out (cap
 * bytes, at least HS_MAX_MSG + 1 is always enough). Invalid template records
 * (no fields, zero-length fields, bad options lengths) are skipped and
 * counted in hdr->bad_templates. Returns the IPFIX length or -HS_DROP_*.
 */
int hs_v9_to_ipfix(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                   hs_v9_header *hdr);

#endif
