/*
 * detector.c - signature set + engine + event formatting (see detector.h).
 *
 * The detector owns what a reload replaces together (signature set,
 * MaxMind databases, per-signature counters) and the engine that outlives
 * reloads. Events are formatted once here, enrichment included, so every
 * output (stdout, Redis) sends the same bytes.
 */
#include "detector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "enrich.h"
#include "log.h"
#include "promtext.h"
#include "sigset.h"

/* Sweeps per tick while the engine reports more due work. */
#define HS_ADVANCE_ROUNDS 8
/* Records stamped further ahead of the host clock are dropped: one record
 * from an exporter with a wrong clock would otherwise move event time
 * forward and age out every subscriber's evidence. */
#define HS_FUTURE_TOLERANCE_MS (10 * 60 * 1000)

/* Events per signature, for the metrics; indexed like the sigset. */
typedef struct sig_counts {
    uint64_t detected, expired;
} sig_counts;

struct hs_detector {
    hs_sigset *sigs;
    sig_counts *per_sig;        /* hs_sigset_n_sigs(sigs) of them */
    hs_enrich *enrich;          /* NULL: no [enrich] databases */
    hs_engine *engine;
    char *sig_path;
    hs_detection_fn fn;
    void *ctx;
    uint64_t wall_ms;           /* host clock, refreshed every sweep */
    uint64_t flows_future;      /* dropped: too far ahead of wall_ms */
    uint64_t events_too_long;
    uint64_t enrich_errors;     /* lookups in a corrupt database region */
    char json[8192];
};

struct hs_detector_stage {
    hs_sigset *sigs;
    hs_enrich *enrich;
    char *path;
};

static uint64_t wall_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void engine_conf_from(const hs_conf *c, hs_engine_conf *ec)
{
    hs_engine_conf_init(ec);
    ec->window_ms = c->detect.rule.window_ms;
    ec->min_domains = c->detect.rule.min_domains;
    ec->min_fraction = c->detect.rule.min_fraction;
    ec->min_hits = c->detect.rule.min_hits;
    ec->ipv6_prefix_len = c->detect.ipv6_prefix_len;
    ec->subscriber_prefixes = c->detect.subscriber_prefixes;
    ec->n_subscriber_prefixes = c->detect.n_subscriber_prefixes;
    ec->max_subscribers = c->detect.max_subscribers;
}

/* The ASN, organisation and country members of an event, or "". */
static const char *enrichment(hs_detector *d, const hs_event *ev, char *buf,
                              size_t len)
{
    buf[0] = '\0';
    if (!d->enrich)
        return buf;
    hs_ip ip;
    hs_enrich_info sub, backend;
    hs_subscriber_to_ip(&ev->subscriber, &ip);
    if (hs_enrich_lookup(d->enrich, &ip, &sub) < 0)
        d->enrich_errors++;
    if (ev->backend && hs_enrich_lookup(d->enrich, ev->backend, &backend) < 0)
        d->enrich_errors++;
    if (hs_enrich_json(&sub, ev->backend ? &backend : NULL, buf, len) < 0)
        buf[0] = '\0';
    return buf;
}

static void on_event(void *ctx, const hs_event *ev)
{
    hs_detector *d = ctx;
    const hs_sigset *s = hs_engine_sigset(d->engine);
    if (ev->type == HS_EVENT_DETECTED)
        d->per_sig[ev->sig].detected++;
    else
        d->per_sig[ev->sig].expired++;
    char extra[1024];
    int n = hs_event_format_json(ev, s, enrichment(d, ev, extra, sizeof(extra)),
                                 d->json, sizeof(d->json));
    if (n < 0) {
        d->events_too_long++;
        return;
    }
    char sub[64];
    hs_subscriber_format(&ev->subscriber, sub, sizeof(sub));
    hs_detection out = {ev, sub, hs_sigset_sig(s, ev->sig)->id, d->json, (size_t)n};
    d->fn(d->ctx, &out);
}

int hs_detector_stage_new(const hs_conf *conf, hs_detector_stage **out,
                          char *err, size_t errlen)
{
    hs_detector_stage *st = calloc(1, sizeof(*st));
    if (!st || !(st->path = strdup(conf->signatures.file))) {
        free(st);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = hs_sigset_load(conf->signatures.file, &st->sigs, err, errlen);
    if (rc == 0 && (conf->enrich.asn_db || conf->enrich.country_db))
        rc = hs_enrich_open(conf->enrich.asn_db, conf->enrich.country_db,
                            &st->enrich, err, errlen);
    if (rc < 0) {
        hs_detector_stage_free(st);
        return rc;
    }
    *out = st;
    return 0;
}

void hs_detector_stage_stats(const hs_detector_stage *st, hs_sigset_stats *out)
{
    hs_sigset_get_stats(st->sigs, out);
}

void hs_detector_stage_free(hs_detector_stage *st)
{
    if (!st)
        return;
    hs_sigset_free(st->sigs);
    hs_enrich_close(st->enrich);
    free(st->path);
    free(st);
}

static sig_counts *alloc_counts(const hs_sigset *s)
{
    uint32_t n = hs_sigset_n_sigs(s);
    return calloc(n ? n : 1, sizeof(sig_counts));
}

/* Carries the running counts over to the next set, by signature id. */
static void carry_counts(const hs_detector *d, const hs_sigset *next,
                         sig_counts *c)
{
    for (uint32_t i = 0; i < hs_sigset_n_sigs(next); i++) {
        int32_t old = hs_sigset_find_sig(d->sigs, hs_sigset_sig(next, i)->id);
        if (old >= 0)
            c[i] = d->per_sig[old];
    }
}

/* Takes over the staged parts (consumes st) with their counters. */
static void adopt(hs_detector *d, hs_detector_stage *st, sig_counts *counts)
{
    d->per_sig = counts;
    d->sigs = st->sigs;
    d->enrich = st->enrich;
    d->sig_path = st->path;
    free(st);
}

/* Frees what the detector holds of a stage. */
static void release(hs_detector *d)
{
    free(d->per_sig);
    hs_sigset_free(d->sigs);
    hs_enrich_close(d->enrich);
    free(d->sig_path);
}

int hs_detector_new(const hs_conf *conf, hs_detection_fn fn, void *ctx,
                    hs_detector **out, char *err, size_t errlen)
{
    hs_detector *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->fn = fn;
    d->ctx = ctx;
    d->wall_ms = wall_clock_ms();
    hs_detector_stage *st;
    int rc = hs_detector_stage_new(conf, &st, err, errlen);
    if (rc < 0) {
        free(d);
        return rc;
    }
    sig_counts *counts = alloc_counts(st->sigs);
    if (!counts) {
        hs_detector_stage_free(st);
        free(d);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    adopt(d, st, counts);
    hs_engine_conf ec;
    engine_conf_from(conf, &ec);
    rc = hs_engine_new(&ec, d->sigs, on_event, d, &d->engine);
    if (rc < 0) {
        snprintf(err, errlen, "detection engine: %s", strerror(-rc));
        hs_detector_free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void hs_detector_free(hs_detector *d)
{
    if (!d)
        return;
    hs_engine_free(d->engine);
    release(d);
    free(d);
}

/* Hands the batch to the engine in runs, leaving out records from the
 * future. */
void hs_detector_flows(void *ctx, const hs_flow *flows, size_t n)
{
    hs_detector *d = ctx;
    uint64_t limit = d->wall_ms + HS_FUTURE_TOLERANCE_MS;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (hs_flow_time_ms(&flows[i]) <= limit)
            continue;
        if (i > start)
            hs_engine_flows(d->engine, flows + start, i - start);
        d->flows_future++;
        start = i + 1;
    }
    if (n > start)
        hs_engine_flows(d->engine, flows + start, n - start);
}

void hs_detector_tick(hs_detector *d)
{
    d->wall_ms = wall_clock_ms();
    hs_engine_counters c;
    hs_engine_get_counters(d->engine, &c);
    /* Event time only: the latest flow time seen, so a replay at full speed
     * ages evidence exactly as the live run did. */
    hs_engine_conf ec;
    hs_engine_conf_init(&ec);
    for (int i = 0; i < HS_ADVANCE_ROUNDS; i++)
        if (hs_engine_advance(d->engine, c.watermark_ms) < ec.sweep_budget)
            break;
}

int hs_detector_commit(hs_detector *d, hs_detector_stage *st)
{
    sig_counts *counts = alloc_counts(st->sigs);
    int rc = counts ? hs_engine_swap_sigset(d->engine, st->sigs) : -ENOMEM;
    if (rc < 0) {
        free(counts);
        hs_detector_stage_free(st);
        return rc;
    }
    carry_counts(d, st->sigs, counts); /* after the swap's own events */
    release(d);
    adopt(d, st, counts);
    return 0;
}

int hs_detector_save(hs_detector *d, const char *path, hs_state_stats *st,
                     char *err, size_t errlen)
{
    return hs_state_save(d->engine, path, st, err, errlen);
}

int hs_detector_restore(hs_detector *d, const char *path, hs_state_stats *st,
                        char *err, size_t errlen)
{
    return hs_state_restore(d->engine, path, st, err, errlen);
}

static void render_per_signature(const hs_detector *d, hs_textbuf *o)
{
    static const char *const names[2] = {"haystack_signature_detected_total",
                                         "haystack_signature_expired_total"};
    static const char *const helps[2] = {"detected events, by signature.",
                                         "expired events, by signature."};
    for (int k = 0; k < 2; k++) {
        hs_prom_header(o, names[k], "counter", helps[k]);
        for (uint32_t i = 0; i < hs_sigset_n_sigs(d->sigs); i++)
            hs_prom_labelled(o, names[k], "signature", hs_sigset_sig(d->sigs, i)->id,
                             k ? d->per_sig[i].expired : d->per_sig[i].detected);
    }
}

#define ENGINE_VALUE(name, type, help, field) \
    hs_prom_value(o, "haystack_engine_" name, type, help, (double)c.field)

void hs_detector_render_metrics(const hs_detector *d, hs_textbuf *o)
{
    hs_engine_counters c;
    hs_engine_get_counters(d->engine, &c);
    hs_sigset_stats ss;
    hs_sigset_get_stats(d->sigs, &ss);
    hs_prom_value(o, "haystack_signatures", "gauge", "Signatures loaded.", ss.signatures);
    hs_prom_value(o, "haystack_signature_domains", "gauge", "Grouped domains loaded.", ss.domains);
    hs_prom_value(o, "haystack_signature_prefixes", "gauge", "Endpoint prefixes loaded.", (double)ss.prefixes);
    ENGINE_VALUE("subscribers", "gauge", "Subscribers tracked.", subscribers);
    ENGINE_VALUE("evidence_entries", "gauge", "(subscriber, domain) evidence entries.", entries);
    ENGINE_VALUE("detections_holding", "gauge", "(subscriber, signature) pairs detected now.", detected);
    ENGINE_VALUE("hits_total", "counter", "Hits recorded.", hits);
    ENGINE_VALUE("hits_late_total", "counter", "Hits older than every window of their domain.", hits_late);
    ENGINE_VALUE("hits_bad_time_total", "counter", "Hits with a timestamp out of range.", hits_bad_time);
    ENGINE_VALUE("hits_dropped_cap_total", "counter", "Hits dropped: max_subscribers reached, none idle.", hits_dropped_cap);
    ENGINE_VALUE("hits_dropped_nomem_total", "counter", "Hits dropped: out of memory.", hits_dropped_nomem);
    ENGINE_VALUE("evictions_total", "counter", "Idle subscribers removed.", evictions);
    ENGINE_VALUE("evictions_cap_total", "counter", "Idle subscribers removed to make room at the cap.", evictions_cap);
    ENGINE_VALUE("detected_total", "counter", "detected events.", detections);
    ENGINE_VALUE("expired_total", "counter", "expired events.", expiries);
    ENGINE_VALUE("state_bytes", "gauge", "Memory held by subscriber state.", bytes);
    ENGINE_VALUE("watermark_seconds", "gauge", "Latest event time seen (unix seconds).", watermark_ms / 1000);
    ENGINE_VALUE("flows_total", "counter", "Flow records matched against the signatures.", match.flows);
    ENGINE_VALUE("flows_matched_total", "counter", "Flows with a backend end.", match.flows_matched);
    ENGINE_VALUE("flows_ambiguous_total", "counter", "Flows with both ends backends.", match.flows_ambiguous);
    ENGINE_VALUE("flows_outside_total", "counter", "Flows whose subscriber is outside subscriber_prefixes.", match.flows_outside);
    render_per_signature(d, o);
    hs_prom_value(o, "haystack_engine_flows_future_total", "counter",
                  "Flow records dropped: stamped over 10 minutes ahead of the host clock.",
                  (double)d->flows_future);
    hs_prom_value(o, "haystack_events_too_long_total", "counter",
                  "Events not formatted (over 8 KiB).", (double)d->events_too_long);
    hs_prom_value(o, "haystack_enrich_errors_total", "counter",
                  "Enrichment lookups that hit a corrupt database region.",
                  (double)d->enrich_errors);
}
