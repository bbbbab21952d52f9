/*
 * fbrecord.c - internal templates, template classification and record
 * conversion (see fbrecord.h).
 */
#include "fbrecord.h"

#include <errno.h>
#include <string.h>

static fbInfoElementSpec_t flow_spec[] = {
    {"flowStartMilliseconds", 8, 0},
    {"flowEndMilliseconds", 8, 0},
    {"flowStartMicroseconds", 8, 0},
    {"flowEndMicroseconds", 8, 0},
    {"systemInitTimeMilliseconds", 8, 0},
    {"packetDeltaCount", 8, 0},
    {"octetDeltaCount", 8, 0},
    {"packetTotalCount", 8, 0},
    {"octetTotalCount", 8, 0},
    {"sourceIPv6Address", 16, 0},
    {"destinationIPv6Address", 16, 0},
    {"sourceIPv4Address", 4, 0},
    {"destinationIPv4Address", 4, 0},
    {"flowStartSeconds", 4, 0},
    {"flowEndSeconds", 4, 0},
    {"flowStartSysUpTime", 4, 0},
    {"flowEndSysUpTime", 4, 0},
    {"samplingInterval", 4, 0},
    {"samplingPacketInterval", 4, 0},
    {"sourceTransportPort", 2, 0},
    {"destinationTransportPort", 2, 0},
    {"protocolIdentifier", 1, 0},
    {"paddingOctets", 3, 0},
    FB_IESPEC_NULL};

static fbInfoElementSpec_t options_spec[] = {
    {"systemInitTimeMilliseconds", 8, 0},
    {"samplingInterval", 4, 0},
    {"samplerRandomInterval", 4, 0},
    {"samplingPacketInterval", 4, 0},
    {"samplingPacketSpace", 4, 0},
    {"paddingOctets", 4, 0},
    FB_IESPEC_NULL};

/* IANA element number -> presence bit. */
static const struct {
    uint16_t ie;
    uint32_t bit;
} ie_bits[] = {
    {152, HS_P_START_MS}, {153, HS_P_END_MS},
    {154, HS_P_START_US}, {155, HS_P_END_US},
    {150, HS_P_START_S}, {151, HS_P_END_S},
    {22, HS_P_START_UP}, {21, HS_P_END_UP},
    {160, HS_P_INIT_MS},
    {2, HS_P_PKTS}, {1, HS_P_BYTES},
    {86, HS_P_PKTS_TOTAL}, {85, HS_P_BYTES_TOTAL},
    {8, HS_P_SRC4}, {12, HS_P_DST4},
    {27, HS_P_SRC6}, {28, HS_P_DST6},
    {34, HS_P_SAMPLING}, {305, HS_P_SAMPLING_PKT},
    {306, HS_P_SAMPLING_SPACE}, {50, HS_P_SAMPLER_RANDOM},
};

static int add_template(fbSession_t *session, uint16_t tid,
                        fbInfoElementSpec_t *spec)
{
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

int hs_fbrec_add_internal(fbSession_t *session)
{
    int rc = add_template(session, HS_TID_FLOW, flow_spec);
    if (rc == 0)
        rc = add_template(session, HS_TID_OPTIONS, options_spec);
    return rc;
}

static uint32_t present_bits(fbTemplate_t *tmpl)
{
    uint32_t present = 0, n = fbTemplateCountElements(tmpl);
    for (uint32_t i = 0; i < n; i++) {
        const fbInfoElement_t *ie =
            fbTemplateGetIndexedIE(tmpl, i);
        if (!ie || ie->ent != 0)
            continue;
        for (size_t k = 0; k < sizeof(ie_bits) / sizeof(ie_bits[0]); k++)
            if (ie_bits[k].ie == ie->num)
                present |= ie_bits[k].bit;
    }
    return present;
}

void hs_fbrec_classify(fbTemplate_t *tmpl, hs_tmpl_info *info)
{
    const uint32_t v4 = HS_P_SRC4 | HS_P_DST4, v6 = HS_P_SRC6 | HS_P_DST6;
    const uint32_t useful = HS_P_SAMPLING | HS_P_SAMPLING_PKT |
                            HS_P_SAMPLER_RANDOM | HS_P_INIT_MS;
    info->present = present_bits(tmpl);
    if (fbTemplateGetOptionsScope(tmpl) > 0)
        info->kind = (info->present & useful) ? HS_REC_OPTIONS : HS_REC_IGNORE;
    else if ((info->present & v4) == v4 || (info->present & v6) == v6)
        info->kind = HS_REC_FLOW;
    else
        info->kind = HS_REC_IGNORE;
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
static uint64_t uptime_to_ms(uint32_t rel, const hs_fb_flow *r,
                             uint32_t present, const hs_msg_clock *clock)
{
    uint64_t init;
    if (present & HS_P_INIT_MS)
        init = r->init_ms;
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

static uint64_t flow_time(const hs_fb_flow *r, uint32_t present,
                          const hs_msg_clock *clock, int end)
{
    if (present & (end ? HS_P_END_MS : HS_P_START_MS))
        return end ? r->end_ms : r->start_ms;
    if (present & (end ? HS_P_END_US : HS_P_START_US))
        return ntp_to_ms(end ? r->end_us : r->start_us);
    if (present & (end ? HS_P_END_S : HS_P_START_S))
        return (uint64_t)(end ? r->end_s : r->start_s) * 1000;
    if (present & (end ? HS_P_END_UP : HS_P_START_UP))
        return uptime_to_ms(end ? r->end_up : r->start_up, r, present, clock);
    return clock->export_ms;
}

void hs_fbrec_to_flow(const hs_fb_flow *r, uint32_t present,
                      const hs_msg_clock *clock, hs_flow *out)
{
    if ((present & (HS_P_SRC4 | HS_P_DST4)) == (HS_P_SRC4 | HS_P_DST4)) {
        out->src.af = out->dst.af = HS_AF_V4;
        out->src.u.v4 = r->src4;
        out->dst.u.v4 = r->dst4;
    } else {
        out->src.af = out->dst.af = HS_AF_V6;
        memcpy(out->src.u.v6, r->src6, 16);
        memcpy(out->dst.u.v6, r->dst6, 16);
    }
    out->src_port = r->sport;
    out->dst_port = r->dport;
    out->proto = r->proto;
    out->start_ms = flow_time(r, present, clock, 0);
    out->end_ms = flow_time(r, present, clock, 1);
    out->packets = (present & HS_P_PKTS) ? r->packets : r->packets_total;
    out->bytes = (present & HS_P_BYTES) ? r->bytes : r->bytes_total;
}

uint32_t hs_fbrec_sampling_rate(const hs_fb_options *r, uint32_t present)
{
    if ((present & HS_P_SAMPLING) && r->interval > 0)
        return r->interval;
    if ((present & HS_P_SAMPLER_RANDOM) && r->random_interval > 0)
        return r->random_interval;
    if ((present & HS_P_SAMPLING_PKT) && r->packet_interval > 0) {
        /* PSAMP systematic count-based: select `interval` packets, then skip
         * `space`: one in (interval + space) / interval. */
        uint64_t n = ((uint64_t)r->packet_interval + r->packet_space) /
                     r->packet_interval;
        return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    }
    return 0;
}

uint32_t hs_fbrec_flow_sampling(const hs_fb_flow *r, uint32_t present)
{
    if ((present & HS_P_SAMPLING) && r->sampling > 0)
        return r->sampling;
    return 0;
}
