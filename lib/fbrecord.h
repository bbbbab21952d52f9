/*
 * fbrecord.h - what haystack asks libfixbuf for, and how a decoded record
 * becomes an hs_flow.
 *
 * libfixbuf transcodes every record into an "internal template", a C struct
 * we define. There are two: flows, and options that describe the exporter
 * (its sampling rate, its boot time for uptime-relative times). Each exporter
 * template is classified once, when it arrives, into the kind of record it
 * carries and the set of elements it really has (transcoding fills absent
 * ones with zeros, which must not be mistaken for values).
 */
#ifndef HS_FBRECORD_H
#define HS_FBRECORD_H

#include <fixbuf/public.h>
#include <stdint.h>

#include "flow.h"

#define HS_TID_FLOW 0xF001
#define HS_TID_OPTIONS 0xF002

typedef enum hs_rec_kind {
    HS_REC_IGNORE = 0,   /* read past, counted */
    HS_REC_FLOW,
    HS_REC_OPTIONS,      /* options record: sampling rate, system init time */
} hs_rec_kind;

/* Elements an exporter template carries (bits of hs_tmpl_info.present). */
enum {
    HS_P_START_MS = 1u << 0, HS_P_END_MS = 1u << 1,
    HS_P_START_US = 1u << 2, HS_P_END_US = 1u << 3,
    HS_P_START_S = 1u << 4, HS_P_END_S = 1u << 5,
    HS_P_START_UP = 1u << 6, HS_P_END_UP = 1u << 7,
    HS_P_INIT_MS = 1u << 8,
    HS_P_PKTS = 1u << 9, HS_P_BYTES = 1u << 10,
    HS_P_PKTS_TOTAL = 1u << 11, HS_P_BYTES_TOTAL = 1u << 12,
    HS_P_SRC4 = 1u << 13, HS_P_DST4 = 1u << 14,
    HS_P_SRC6 = 1u << 15, HS_P_DST6 = 1u << 16,
    HS_P_SAMPLING = 1u << 17, HS_P_SAMPLING_PKT = 1u << 18,
    HS_P_SAMPLING_SPACE = 1u << 19, HS_P_SAMPLER_RANDOM = 1u << 20,
};

typedef struct hs_tmpl_info {
    hs_rec_kind kind;
    uint32_t present;
} hs_tmpl_info;

/* Internal flow template; field order and sizes match flow_spec[]. */
typedef struct hs_fb_flow {
    uint64_t start_ms, end_ms;
    uint64_t start_us, end_us;      /* NTP format */
    uint64_t init_ms;               /* systemInitTimeMilliseconds */
    uint64_t packets, bytes;
    uint64_t packets_total, bytes_total;
    uint8_t src6[16], dst6[16];
    uint32_t src4, dst4;
    uint32_t start_s, end_s;
    uint32_t start_up, end_up;      /* ms of exporter uptime */
    uint32_t sampling, sampling_pkt;
    uint16_t sport, dport;
    uint8_t proto;
    uint8_t pad[3];
} hs_fb_flow;

/* Internal options template. */
typedef struct hs_fb_options {
    uint64_t init_ms;               /* systemInitTimeMilliseconds (160) */
    uint32_t interval;              /* samplingInterval (34) */
    uint32_t random_interval;       /* samplerRandomInterval (50) */
    uint32_t packet_interval;       /* samplingPacketInterval (305) */
    uint32_t packet_space;          /* samplingPacketSpace (306) */
    uint32_t pad;
} hs_fb_options;

/* What uptime-relative times (flowStartSysUpTime...) are relative to: the
 * v9 header's sysUptime at export time, or the exporter's boot time that
 * IPFIX exporters announce in an options record. */
typedef struct hs_msg_clock {
    uint64_t export_ms;
    uint64_t init_ms;               /* exporter boot, unix ms */
    uint32_t sys_uptime_ms;         /* v9: uptime when exported */
    uint8_t has_init, has_uptime;
} hs_msg_clock;

/* Adds the internal templates to a new session. Returns 0 or -ENOMEM. */
int hs_fbrec_add_internal(fbSession_t *session);

/* Classifies an exporter template (options templates have a scope). */
void hs_fbrec_classify(fbTemplate_t *tmpl, hs_tmpl_info *info);

/* Fills out from a transcoded flow record; sampling is left to the caller. */
void hs_fbrec_to_flow(const hs_fb_flow *r, uint32_t present,
                      const hs_msg_clock *clock, hs_flow *out);

/* Rate announced by an options record ("1 in N"), 0 if none. */
uint32_t hs_fbrec_sampling_rate(const hs_fb_options *r, uint32_t present);

/* Per-record sampling rate carried in a flow record itself, 0 if none. */
uint32_t hs_fbrec_flow_sampling(const hs_fb_flow *r, uint32_t present);

#endif
