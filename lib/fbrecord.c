/*
 * fbrecord.c - template classification, internal templates and record
 * conversion (see fbrecord.h).
 */
#include "fbrecord.h"

#include <errno.h>
#include <string.h>

static const struct {
    const char *name;
    uint16_t ie;
    uint8_t len;
} fields[HS_F__COUNT] = {
    [HS_F_START_MS] = {"flowStartMilliseconds", 152, 8},
    [HS_F_END_MS] = {"flowEndMilliseconds", 153, 8},
    [HS_F_START_US] = {"flowStartMicroseconds", 154, 8},
    [HS_F_END_US] = {"flowEndMicroseconds", 155, 8},
    [HS_F_INIT_MS] = {"systemInitTimeMilliseconds", 160, 8},
    [HS_F_PKTS] = {"packetDeltaCount", 2, 8},
    [HS_F_BYTES] = {"octetDeltaCount", 1, 8},
    [HS_F_PKTS_TOTAL] = {"packetTotalCount", 86, 8},
    [HS_F_BYTES_TOTAL] = {"octetTotalCount", 85, 8},
    [HS_F_SRC6] = {"sourceIPv6Address", 27, 16},
    [HS_F_DST6] = {"destinationIPv6Address", 28, 16},
    [HS_F_SRC4] = {"sourceIPv4Address", 8, 4},
    [HS_F_DST4] = {"destinationIPv4Address", 12, 4},
    [HS_F_START_S] = {"flowStartSeconds", 150, 4},
    [HS_F_END_S] = {"flowEndSeconds", 151, 4},
    [HS_F_START_UP] = {"flowStartSysUpTime", 22, 4},
    [HS_F_END_UP] = {"flowEndSysUpTime", 21, 4},
    [HS_F_SAMPLING] = {"samplingInterval", 34, 4},
    [HS_F_SAMPLER_RANDOM] = {"samplerRandomInterval", 50, 4},
    [HS_F_SAMPLING_PKT] = {"samplingPacketInterval", 305, 4},
    [HS_F_SAMPLING_SPACE] = {"samplingPacketSpace", 306, 4},
    [HS_F_SPORT] = {"sourceTransportPort", 7, 2},
    [HS_F_DPORT] = {"destinationTransportPort", 11, 2},
    [HS_F_PROTO] = {"protocolIdentifier", 4, 1},
};

#define B HS_BIT
static const uint32_t rate_fields = B(HS_F_SAMPLING) | B(HS_F_SAMPLER_RANDOM) |
                                    B(HS_F_SAMPLING_PKT) | B(HS_F_SAMPLING_SPACE);
static const uint32_t options_fields = B(HS_F_INIT_MS) | B(HS_F_SAMPLING) |
                                       B(HS_F_SAMPLER_RANDOM) |
                                       B(HS_F_SAMPLING_PKT) |
                                       B(HS_F_SAMPLING_SPACE);
static const uint32_t v4_pair = B(HS_F_SRC4) | B(HS_F_DST4);
static const uint32_t v6_pair = B(HS_F_SRC6) | B(HS_F_DST6);

static uint32_t elements_of(fbTemplate_t *tmpl)
{
    uint32_t have = 0, n = fbTemplateCountElements(tmpl);
    for (uint32_t i = 0; i < n; i++) {
        const fbInfoElement_t *ie = fbTemplateGetIndexedIE(tmpl, i);
        if (!ie || ie->ent != 0)
            continue;
        for (int f = 0; f < HS_F__COUNT; f++)
            if (fields[f].ie == ie->num)
                have |= B(f);
    }
    return have;
}

/* Of several ways to say one thing, keep the first the template has. */
static uint32_t keep_first(uint32_t have, const hs_field *pref, int n)
{
    uint32_t drop = 0;
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (found)
            drop |= B(pref[i]);
        else if (have & B(pref[i]))
            found = 1;
    }
    return have & ~drop;
}

static uint32_t flow_fields(uint32_t have)
{
    static const hs_field start[] = {HS_F_START_MS, HS_F_START_US, HS_F_START_S,
                                     HS_F_START_UP};
    static const hs_field end[] = {HS_F_END_MS, HS_F_END_US, HS_F_END_S,
                                   HS_F_END_UP};
    static const hs_field pkts[] = {HS_F_PKTS, HS_F_PKTS_TOTAL};
    static const hs_field bytes[] = {HS_F_BYTES, HS_F_BYTES_TOTAL};
    have = keep_first(have, start, 4);
    have = keep_first(have, end, 4);
    have = keep_first(have, pkts, 2);
    have = keep_first(have, bytes, 2);
    /* One complete pair gives the addresses; a lone half of the other
     * family must not be mistaken for it (it has no partner to read). */
    if ((have & v4_pair) == v4_pair)
        have &= ~v6_pair;
    else
        have &= ~v4_pair;
    if (!(have & (B(HS_F_START_UP) | B(HS_F_END_UP))))
        have &= ~B(HS_F_INIT_MS);
    return have & ~(rate_fields & ~B(HS_F_SAMPLING));
}

static void pack(hs_tmpl_info *info)
{
    uint16_t off = 0;
    for (int f = 0; f < HS_F__COUNT; f++) {
        if (info->layout & B(f)) {
            info->off[f] = (uint8_t)off;
            off = (uint16_t)(off + fields[f].len);
        } else {
            info->off[f] = HS_NO_OFFSET;
        }
    }
    info->rec_len = off;
}

void hs_fbrec_classify_have(uint32_t have, int is_options, hs_tmpl_info *info)
{
    memset(info, 0, sizeof(*info));
    if (is_options) {
        info->present = have & options_fields;
        info->kind = info->present ? HS_REC_OPTIONS : HS_REC_IGNORE;
    } else if ((have & v4_pair) == v4_pair || (have & v6_pair) == v6_pair) {
        info->present = flow_fields(have);
        info->kind = HS_REC_FLOW;
    }
    info->layout = info->present;
    pack(info);
}

void hs_fbrec_classify(fbTemplate_t *tmpl, hs_tmpl_info *info)
{
    hs_fbrec_classify_have(elements_of(tmpl), fbTemplateGetOptionsScope(tmpl) > 0,
                           info);
}

uint16_t hs_fbrec_field_ie(hs_field f)
{
    return fields[f].ie;
}

unsigned hs_fbrec_field_len(hs_field f)
{
    return fields[f].len;
}

void hs_fbrec_widen(hs_tmpl_info *info)
{
    info->layout = info->kind == HS_REC_OPTIONS ? options_fields
                                                : (uint32_t)(B(HS_F__COUNT) - 1);
    pack(info);
}

int hs_fbrec_add_internal(fbSession_t *session, const hs_tmpl_info *info,
                          uint16_t tid)
{
    fbInfoElementSpec_t spec[HS_F__COUNT + 1];
    int n = 0;
    for (int f = 0; f < HS_F__COUNT; f++)
        if (info->layout & B(f))
            spec[n++] = (fbInfoElementSpec_t){(char *)fields[f].name,
                                              fields[f].len, 0};
    spec[n] = (fbInfoElementSpec_t)FB_IESPEC_NULL;
    GError *err = NULL;
    fbTemplate_t *t = fbTemplateAlloc(fbSessionGetInfoModel(session));
    if (!fbTemplateAppendSpecArray(t, spec, 0, &err) ||
        !fbSessionAddTemplate(session, TRUE, tid, t, &err)) {
        g_clear_error(&err);
        fbTemplateFreeUnused(t);
        return -ENOMEM;
    }
    return 0;
}

/* ---- reading transcoded records (host byte order, packed) ---------------- */

static uint64_t get(const uint8_t *rec, const hs_tmpl_info *info, hs_field f)
{
    const uint8_t *p = rec + info->off[f];
    switch (fields[f].len) {
    case 1: return *p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static int has(const hs_tmpl_info *info, hs_field f)
{
    return (info->present & B(f)) != 0;
}

static uint64_t ntp_to_ms(uint64_t ntp)
{
    const uint64_t unix_epoch = 2208988800u; /* 1900 -> 1970 in seconds */
    uint64_t secs = ntp >> 32;
    if (secs < unix_epoch)
        return 0;
    return (secs - unix_epoch) * 1000 + (((ntp & 0xffffffffu) * 1000) >> 32);
}

/* A time rel ms of exporter uptime, given the uptime at export time. The
 * signed difference makes it safe across the 49-day wrap of 32-bit
 * uptimes: the result is the one within 24 days of the export. */
static uint64_t before_export(uint64_t export_ms, uint32_t uptime_at_export,
                              uint32_t rel)
{
    int32_t ago = (int32_t)(uptime_at_export - rel);
    return (uint64_t)((int64_t)export_ms - ago);
}

/* Uptime-relative time: from the exporter's boot time (in the record, or
 * announced in an options record), else from the v9 header's uptime. */
static uint64_t uptime_to_ms(uint32_t rel, const uint8_t *rec,
                             const hs_tmpl_info *info, const hs_msg_clock *clock)
{
    uint64_t init;
    if (has(info, HS_F_INIT_MS))
        init = get(rec, info, HS_F_INIT_MS);
    else if (clock->has_init)
        init = clock->init_ms;
    else if (clock->has_uptime)
        return before_export(clock->export_ms, clock->sys_uptime_ms, rel);
    else
        return clock->export_ms;
    uint64_t t = init + rel;
    int64_t off = (int64_t)(t - clock->export_ms);
    if (off > -(int64_t)INT32_MAX && off < INT32_MAX)
        return t; /* exact */
    /* the uptime wrapped since the boot time was announced */
    return before_export(clock->export_ms, (uint32_t)(clock->export_ms - init), rel);
}

static uint64_t flow_time(const uint8_t *rec, const hs_tmpl_info *info,
                          const hs_msg_clock *clock, int end)
{
    if (has(info, end ? HS_F_END_MS : HS_F_START_MS))
        return get(rec, info, end ? HS_F_END_MS : HS_F_START_MS);
    if (has(info, end ? HS_F_END_US : HS_F_START_US))
        return ntp_to_ms(get(rec, info, end ? HS_F_END_US : HS_F_START_US));
    if (has(info, end ? HS_F_END_S : HS_F_START_S))
        return get(rec, info, end ? HS_F_END_S : HS_F_START_S) * 1000;
    if (has(info, end ? HS_F_END_UP : HS_F_START_UP))
        return uptime_to_ms((uint32_t)get(rec, info, end ? HS_F_END_UP : HS_F_START_UP),
                            rec, info, clock);
    return clock->export_ms;
}

void hs_fbrec_to_flow(const uint8_t *rec, const hs_tmpl_info *info,
                      const hs_msg_clock *clock, hs_flow *out)
{
    if (has(info, HS_F_SRC4)) {
        out->src.af = out->dst.af = HS_AF_V4;
        out->src.u.v4 = (uint32_t)get(rec, info, HS_F_SRC4);
        out->dst.u.v4 = (uint32_t)get(rec, info, HS_F_DST4);
    } else {
        out->src.af = out->dst.af = HS_AF_V6;
        memcpy(out->src.u.v6, rec + info->off[HS_F_SRC6], 16);
        memcpy(out->dst.u.v6, rec + info->off[HS_F_DST6], 16);
    }
    out->src_port = has(info, HS_F_SPORT) ? (uint16_t)get(rec, info, HS_F_SPORT) : 0;
    out->dst_port = has(info, HS_F_DPORT) ? (uint16_t)get(rec, info, HS_F_DPORT) : 0;
    out->proto = has(info, HS_F_PROTO) ? (uint8_t)get(rec, info, HS_F_PROTO) : 0;
    out->start_ms = flow_time(rec, info, clock, 0);
    out->end_ms = flow_time(rec, info, clock, 1);
    out->packets = has(info, HS_F_PKTS)         ? get(rec, info, HS_F_PKTS)
                   : has(info, HS_F_PKTS_TOTAL) ? get(rec, info, HS_F_PKTS_TOTAL)
                                                : 0;
    out->bytes = has(info, HS_F_BYTES)         ? get(rec, info, HS_F_BYTES)
                 : has(info, HS_F_BYTES_TOTAL) ? get(rec, info, HS_F_BYTES_TOTAL)
                                               : 0;
}

uint32_t hs_fbrec_sampling_rate(const uint8_t *rec, const hs_tmpl_info *info)
{
    uint64_t v;
    if (has(info, HS_F_SAMPLING) && (v = get(rec, info, HS_F_SAMPLING)) > 0)
        return (uint32_t)v;
    if (has(info, HS_F_SAMPLER_RANDOM) &&
        (v = get(rec, info, HS_F_SAMPLER_RANDOM)) > 0)
        return (uint32_t)v;
    if (has(info, HS_F_SAMPLING_PKT) && (v = get(rec, info, HS_F_SAMPLING_PKT)) > 0) {
        /* PSAMP count-based: select `interval` packets, then skip `space`:
         * one in (interval + space) / interval. */
        uint64_t space = has(info, HS_F_SAMPLING_SPACE)
                             ? get(rec, info, HS_F_SAMPLING_SPACE) : 0;
        uint64_t n = (v + space) / v;
        return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    }
    return 0;
}

uint64_t hs_fbrec_init_ms(const uint8_t *rec, const hs_tmpl_info *info)
{
    return has(info, HS_F_INIT_MS) ? get(rec, info, HS_F_INIT_MS) : 0;
}
