/*
 * fbrecord.h - what haystack asks libfixbuf for, and how a decoded record
 * becomes an hs_flow.
 *
 * libfixbuf transcodes every record into an "internal template" and its
 * cost grows with the number of elements in it, present or not. So each
 * exporter template is classified once, when it arrives: which kind of
 * record it carries (flows, or options describing the exporter: sampling
 * rate, boot time), which of the elements we use it really has (transcoding
 * fills absent ones with zeros, which must not be mistaken for values), and
 * of those the ones worth decoding (one representation of each time, ...).
 * The internal template holds exactly those, packed, and the record is read
 * back through the offsets computed here. The classification takes the set
 * of elements a template has, so that wireplan.c can classify a template
 * from its wire form and fill the same packed record without libfixbuf.
 */
#ifndef HS_FBRECORD_H
#define HS_FBRECORD_H

#include <fixbuf/public.h>
#include <stdint.h>

#include "flow.h"

/* Elements haystack reads; the order is the packing order (widest first). */
typedef enum hs_field {
    HS_F_START_MS, HS_F_END_MS,         /* flowStart/EndMilliseconds */
    HS_F_START_US, HS_F_END_US,         /* flowStart/EndMicroseconds (NTP) */
    HS_F_INIT_MS,                       /* systemInitTimeMilliseconds */
    HS_F_PKTS, HS_F_BYTES,              /* packet/octetDeltaCount */
    HS_F_PKTS_TOTAL, HS_F_BYTES_TOTAL,  /* packet/octetTotalCount */
    HS_F_SRC6, HS_F_DST6,
    HS_F_SRC4, HS_F_DST4,
    HS_F_START_S, HS_F_END_S,           /* flowStart/EndSeconds */
    HS_F_START_UP, HS_F_END_UP,         /* flowStart/EndSysUpTime */
    HS_F_SAMPLING,                      /* samplingInterval */
    HS_F_SAMPLER_RANDOM,                /* samplerRandomInterval */
    HS_F_SAMPLING_PKT,                  /* samplingPacketInterval */
    HS_F_SAMPLING_SPACE,                /* samplingPacketSpace */
    HS_F_SPORT, HS_F_DPORT,
    HS_F_PROTO,
    HS_F__COUNT
} hs_field;

#define HS_BIT(f) (1u << (f))
#define HS_NO_OFFSET 0xff

typedef enum hs_rec_kind {
    HS_REC_IGNORE = 0,   /* read past, counted */
    HS_REC_FLOW,
    HS_REC_OPTIONS,      /* options record: sampling rate, system init time */
} hs_rec_kind;

typedef struct hs_tmpl_info {
    hs_rec_kind kind;
    uint32_t present;            /* HS_BIT()s worth decoding */
    uint32_t layout;             /* HS_BIT()s in the internal template */
    uint16_t int_tid;            /* internal template to transcode into */
    uint16_t rec_len;            /* bytes of a decoded record */
    uint8_t off[HS_F__COUNT];    /* offset of each field, or HS_NO_OFFSET */
} hs_tmpl_info;

/* The v9 header's sysUptime at export time, or the exporter's boot time
 * that IPFIX exporters announce in an options record: what uptime-relative
 * times (flowStartSysUpTime...) are relative to. */
typedef struct hs_msg_clock {
    uint64_t export_ms;
    uint64_t init_ms;            /* exporter boot, unix ms */
    uint32_t sys_uptime_ms;      /* v9: uptime when exported */
    uint8_t has_init, has_uptime;
} hs_msg_clock;

/* Largest decoded record (every field). */
#define HS_FBREC_MAX 160

/* Classifies a template by the fields it has (HS_BIT()s of the IANA
 * elements among its fields) and whether it is an options template: kind,
 * present, and a packed layout of exactly the present fields (int_tid is
 * left to the caller). */
void hs_fbrec_classify_have(uint32_t have, int is_options, hs_tmpl_info *info);

/* The same for a template libfixbuf parsed. */
void hs_fbrec_classify(fbTemplate_t *tmpl, hs_tmpl_info *info);

/* IANA element number of f, and the bytes it takes in a decoded record
 * (numbers in host byte order, IPv6 addresses as sent). */
uint16_t hs_fbrec_field_ie(hs_field f);
unsigned hs_fbrec_field_len(hs_field f);

/* Widens info's layout to every field of its kind: the fallback when an
 * exporter has too many distinct layouts to give each its own template. */
void hs_fbrec_widen(hs_tmpl_info *info);

/* Adds to session an internal template with info's layout as tid.
 * Returns 0 or -ENOMEM. */
int hs_fbrec_add_internal(fbSession_t *session, const hs_tmpl_info *info,
                          uint16_t tid);

/* Fills out from a decoded flow record (transcoded by libfixbuf or unpacked
 * by a wire plan); sampling is left to the caller. */
void hs_fbrec_to_flow(const uint8_t *rec, const hs_tmpl_info *info,
                      const hs_msg_clock *clock, hs_flow *out);

/* Sampling rate ("1 in N") a record carries, 0 if none. */
uint32_t hs_fbrec_sampling_rate(const uint8_t *rec, const hs_tmpl_info *info);

/* Exporter boot time an options record carries, 0 if none. */
uint64_t hs_fbrec_init_ms(const uint8_t *rec, const hs_tmpl_info *info);

#endif
