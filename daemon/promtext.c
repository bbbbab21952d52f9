/*
 * promtext.c - haystack's counters in the Prometheus text format (promtext.h).
 * Per-exporter families are labelled exporter="ADDRESS:PORT"; their number
 * is bounded by [collector] max_exporters.
 */
#include "promtext.h"

#include <arpa/inet.h>
#include <stddef.h>

void hs_prom_header(hs_textbuf *o, const char *name, const char *type,
                    const char *help)
{
    hs_textbuf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void hs_prom_labelled(hs_textbuf *o, const char *name, const char *label,
                      const char *value, uint64_t n)
{
    hs_textbuf_printf(o, "%s{%s=\"", name, label);
    for (const char *p = value; *p; p++) {
        if (*p == '\\' || *p == '"')
            hs_textbuf_printf(o, "\\%c", *p);
        else if (*p == '\n')
            hs_textbuf_printf(o, "\\n");
        else
            hs_textbuf_printf(o, "%c", *p);
    }
    hs_textbuf_printf(o, "\"} %llu\n", (unsigned long long)n);
}

void hs_prom_value(hs_textbuf *o, const char *name, const char *type,
                   const char *help, double value)
{
    hs_prom_header(o, name, type, help);
    hs_textbuf_printf(o, "%s %.17g\n", name, value);
}

typedef struct family {
    const char *name, *type, *help;
    size_t offset; /* of the uint64_t in hs_exporter_stats */
} family;

#define F(n, t, h, field) {"haystack_exporter_" n, t, h, offsetof(hs_exporter_stats, field)}
static const family exporter_families[] = {
    F("datagrams_total", "counter", "Datagrams received from the exporter.", datagrams),
    F("records_total", "counter", "Flow records decoded.", records),
    F("options_records_total", "counter", "Options records read (sampling, boot time).", options_records),
    F("ignored_records_total", "counter", "Records of templates that carry no flows.", ignored_records),
    F("decode_errors_total", "counter", "Datagrams not (fully) decoded.", decode_errors),
    F("bad_templates_total", "counter", "Invalid template records skipped.", bad_templates),
    F("templates", "gauge", "Templates currently known.", templates),
    F("templates_refused_total", "counter", "Templates refused at the cap.", templates_refused),
    F("templates_expired_total", "counter", "Templates not refreshed in time.", templates_expired),
    F("templates_withdrawn_total", "counter", "Templates withdrawn by the exporter.", templates_withdrawn),
    F("templates_changed_total", "counter", "Template IDs reused with another layout.", templates_changed),
    F("unknown_template_sets_total", "counter", "Data sets whose template is unknown.", unknown_template_sets),
    F("sequence_gaps_total", "counter", "Times the export sequence number jumped.", sequence_gaps),
    F("sequence_lost_total", "counter", "Lost according to sequence numbers (v9: packets, IPFIX: records).", sequence_lost),
};
#undef F

typedef struct visit {
    hs_textbuf *o;
    const family *f;
} visit;

static void exporter_sample(void *ctx, const hs_ip *addr, uint16_t port,
                            uint32_t id, const hs_exporter_stats *st)
{
    (void)id;
    visit *v = ctx;
    char a[INET6_ADDRSTRLEN];
    hs_ip_format(addr, a, sizeof(a));
    uint64_t value = *(const uint64_t *)((const char *)st + v->f->offset);
    hs_textbuf_printf(v->o, addr->af == HS_AF_V6 ? "%s{exporter=\"[%s]:%u\"} %llu\n"
                                                 : "%s{exporter=\"%s:%u\"} %llu\n",
                      v->f->name, a, port, (unsigned long long)value);
}

static void drops_by_reason(hs_textbuf *o, const hs_exporter_stats *total)
{
    const char *name = "haystack_collector_drops_total";
    hs_prom_header(o, name, "counter", "Datagrams dropped whole, by reason.");
    for (int r = 1; r < HS_DROP__COUNT; r++)
        hs_textbuf_printf(o, "%s{reason=\"%s\"} %llu\n", name,
                          hs_drop_name((hs_drop)r),
                          (unsigned long long)total->drops[r]);
}

void hs_prom_collector(hs_textbuf *o, hs_collector *const *c, size_t n)
{
    hs_collector_stats st = {0};
    for (size_t i = 0; i < n; i++) {
        hs_collector_stats one;
        hs_collector_get_stats(c[i], &one);
        hs_collector_stats_add(&st, &one);
    }
    hs_prom_value(o, "haystack_collector_datagrams_total", "counter",
                  "Datagrams received from all exporters.", (double)st.total.datagrams);
    hs_prom_value(o, "haystack_collector_records_total", "counter",
                  "Flow records decoded from all exporters.", (double)st.total.records);
    hs_prom_value(o, "haystack_collector_exporters", "gauge",
                  "Exporter sessions.", (double)st.exporters);
    hs_prom_value(o, "haystack_collector_exporters_created_total", "counter",
                  "Exporter sessions created.", (double)st.exporters_created);
    hs_prom_value(o, "haystack_collector_exporters_evicted_total", "counter",
                  "Idle exporter sessions replaced by new sources.", (double)st.exporters_evicted);
    hs_prom_value(o, "haystack_collector_exporters_expired_total", "counter",
                  "Exporter sessions silent past exporter_timeout.", (double)st.exporters_expired);
    drops_by_reason(o, &st.total);
    for (size_t i = 0; i < sizeof(exporter_families) / sizeof(exporter_families[0]); i++) {
        const family *f = &exporter_families[i];
        hs_prom_header(o, f->name, f->type, f->help);
        visit v = {o, f};
        for (size_t k = 0; k < n; k++) /* an exporter lives on one worker */
            hs_collector_foreach_exporter(c[k], exporter_sample, &v);
    }
}

void hs_prom_publisher(hs_textbuf *o, const hs_publisher_stats *st)
{
    hs_prom_value(o, "haystack_publisher_published_total", "counter",
                  "Events Redis acknowledged.", (double)st->published);
    hs_prom_value(o, "haystack_publisher_queued", "gauge",
                  "Events waiting for Redis (in flight included).", (double)st->queued);
    hs_prom_value(o, "haystack_publisher_in_flight", "gauge",
                  "Events sent, replies pending.", (double)st->in_flight);
    const char *name = "haystack_publisher_dropped_total";
    hs_prom_header(o, name, "counter", "Events not published, by reason.");
    hs_textbuf_printf(o, "%s{reason=\"queue_full\"} %llu\n%s{reason=\"invalid\"} %llu\n"
                         "%s{reason=\"nomem\"} %llu\n",
                      name, (unsigned long long)st->dropped_queue_full,
                      name, (unsigned long long)st->dropped_invalid,
                      name, (unsigned long long)st->dropped_nomem);
    hs_prom_value(o, "haystack_publisher_errors_total", "counter",
                  "Error replies from Redis.", (double)st->errors);
    hs_prom_value(o, "haystack_publisher_connect_failures_total", "counter",
                  "Failed connection attempts.", (double)st->connect_failures);
    hs_prom_value(o, "haystack_publisher_reconnects_total", "counter",
                  "Connections re-established.", (double)st->reconnects);
    hs_prom_value(o, "haystack_publisher_connected", "gauge",
                  "1 when connected to Redis.", st->connected ? 1 : 0);
}
