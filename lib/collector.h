/*
 * collector.h - from UDP payloads to flow records, without sockets.
 *
 * The collector owns one exporter session per source (address and port):
 * its libfixbuf session, its templates per observation domain, its sampling
 * rates and sequence accounting. hs_collector_input() takes one datagram as
 * received (IPFIX or NetFlow v9, told apart by the version field) and hands
 * the decoded flow records to the sink. The daemon calls it from its receive
 * callback; tests call it directly with crafted bytes.
 *
 * Not thread-safe: libfixbuf's information model is not, so each worker
 * thread owns its own collector.
 */
#ifndef HS_COLLECTOR_H
#define HS_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "decode.h"
#include "flow.h"
#include "parse.h"

/*
 * Sampling rate an operator forces for one exporter, whatever it announces
 * (`sampling_override` in the config). An override naming the observation
 * domain beats one for the whole exporter.
 */
typedef struct hs_sampling_override {
    hs_ip exporter;
    bool any_domain;        /* every observation domain */
    uint32_t domain;        /* IPFIX observation domain / v9 source id */
    uint32_t rate;          /* 1 in rate packets */
} hs_sampling_override;

typedef struct hs_collector_conf {
    uint32_t default_sampling;      /* when an exporter announces none */
    uint32_t max_exporters;         /* sessions kept (see collector.c) */
    uint32_t max_templates;         /* per exporter, all domains together */
    uint32_t max_domains;           /* observation domains per exporter */
    uint64_t template_timeout_ms;   /* unrefreshed templates expire */
    uint64_t exporter_timeout_ms;   /* silent exporters are dropped */
    const hs_sampling_override *overrides;
    size_t n_overrides;
    const hs_cidr *allowed;         /* sources decoded; none: every source */
    size_t n_allowed;
} hs_collector_conf;

/* Fills conf with the documented defaults. */
void hs_collector_conf_init(hs_collector_conf *conf);

/* Counters of one exporter (or, summed, of the whole collector). */
typedef struct hs_exporter_stats {
    uint64_t datagrams;             /* received, including dropped ones */
    uint64_t records;               /* flow records handed to the sink */
    uint64_t options_records;       /* sampling options records read */
    uint64_t ignored_records;       /* records of templates without flows */
    uint64_t drops[HS_DROP__COUNT]; /* whole datagrams not decoded, by reason */
    uint64_t decode_errors;         /* sum of drops */
    uint64_t bad_templates;         /* invalid template records skipped */
    uint64_t templates;             /* currently known */
    uint64_t templates_refused;     /* over max_templates, or too many
                                     * unknown elements */
    uint64_t templates_expired;     /* not refreshed within the timeout */
    uint64_t templates_withdrawn;
    uint64_t templates_changed;     /* an ID reused with another layout */
    uint64_t unknown_template_sets; /* data before (or without) its template */
    uint64_t sequence_gaps;         /* times the sequence jumped */
    uint64_t sequence_lost;         /* v9: packets, IPFIX: records */
} hs_exporter_stats;

typedef struct hs_collector_stats {
    hs_exporter_stats total;        /* summed over live and evicted exporters,
                                     * plus datagrams refused a session */
    uint64_t exporters;             /* live sessions */
    uint64_t exporters_created;
    uint64_t exporters_evicted;     /* idle ones pushed out by new ones */
    uint64_t exporters_expired;     /* silent for exporter_timeout */
} hs_collector_stats;

typedef struct hs_collector hs_collector;

/* Returns NULL when out of memory. */
hs_collector *hs_collector_new(const hs_collector_conf *conf, hs_flow_sink sink);
void hs_collector_free(hs_collector *c);

/*
 * Decodes one datagram from src. msg is modified in place (invalid parts are
 * stripped before libfixbuf sees them). now_ms is a monotonic clock used for
 * template and exporter lifetimes; event times come from the records.
 * Returns the number of flow records decoded, or -HS_DROP_* when the whole
 * datagram was dropped (already counted).
 */
int hs_collector_input(hs_collector *c, const struct sockaddr *src,
                       uint8_t *msg, size_t len, uint64_t now_ms);

/* Expires unrefreshed templates and silent exporters; call from a timer. */
void hs_collector_expire(hs_collector *c, uint64_t now_ms);

/* Swaps the sampling overrides and default (on reload); conf must outlive c. */
void hs_collector_set_conf(hs_collector *c, const hs_collector_conf *conf);

void hs_collector_get_stats(const hs_collector *c, hs_collector_stats *st);
/* Adds st to sum: the counters of several collectors (one per worker). */
void hs_collector_stats_add(hs_collector_stats *sum, const hs_collector_stats *st);

/* Visits every live exporter: its address, port and counters. */
typedef void (*hs_exporter_visit_fn)(void *ctx, const hs_ip *addr,
                                     uint16_t port, uint32_t id,
                                     const hs_exporter_stats *st);
void hs_collector_foreach_exporter(const hs_collector *c,
                                   hs_exporter_visit_fn fn, void *ctx);

#endif
