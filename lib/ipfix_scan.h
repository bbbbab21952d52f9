/*
 * ipfix_scan.h - check an IPFIX message before libfixbuf parses it.
 *
 * libfixbuf trusts its input in ways a UDP collector cannot: a template
 * with no fields (a withdrawal) followed by data makes fBufNext return empty
 * records forever, zero-length fields do the same, and every new template
 * or unknown element grows memory. The scan walks the sets once, validates
 * every length, hands each template record to the caller (which keeps the
 * template table, caps and expiry) and strips from the message, in place,
 * whatever libfixbuf must not see: withdrawals, invalid templates, templates
 * the caller refuses, reserved set IDs. Data sets are only reported.
 */
#ifndef HS_IPFIX_SCAN_H
#define HS_IPFIX_SCAN_H

#include <stddef.h>
#include <stdint.h>

enum { HS_SCAN_KEEP = 0, HS_SCAN_REFUSE = 1, HS_SCAN_INVALID = 2 };

typedef struct hs_scan_ops {
    /* A valid template record (rec points at its template ID). Return 0 to
     * keep it for libfixbuf, HS_SCAN_REFUSE or HS_SCAN_INVALID to strip it
     * (counted as refused or as a bad template). */
    int (*on_template)(void *ctx, uint32_t domain, uint16_t tid,
                       const uint8_t *rec, size_t rec_len, int is_options);
    /* A withdrawal: tid is a template ID, or 2 / 3 for "all templates" /
     * "all options templates" of the domain. Always stripped. */
    void (*on_withdraw)(void *ctx, uint32_t domain, uint16_t tid);
    /* A data set that references template tid, with body_len bytes of
     * records. Return 0 to keep it, non-zero to strip it (it cannot hold
     * one record of its template). */
    int (*on_data_set)(void *ctx, uint32_t domain, uint16_t tid,
                       size_t body_len);
} hs_scan_ops;

typedef struct hs_scan_result {
    uint32_t domain;
    uint32_t sequence;
    uint32_t export_time;
    uint32_t bad_templates;  /* stripped as invalid */
    uint32_t refused;        /* stripped because on_template said so */
} hs_scan_result;

/*
 * Scans the IPFIX message msg of *len bytes (the whole datagram), strips what
 * must not reach libfixbuf and updates *len and the message length field.
 * Returns 0 or -HS_DROP_* when the message as a whole cannot be decoded.
 */
int hs_ipfix_scan(uint8_t *msg, size_t *len, const hs_scan_ops *ops,
                  void *ctx, hs_scan_result *res);

#endif
