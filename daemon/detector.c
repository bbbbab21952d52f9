/*
 * detector.c - signature stage + engine shard + event formatting (see
 * detector.h).
 *
 * A stage is what a reload replaces as a whole (signature set, MaxMind
 * databases); it is never written after loading, so workers read it
 * without locks (libmaxminddb lookups are thread-safe). A detector is one
 * worker's engine shard, its counters, and the buffer events are formatted
 * in, once, enrichment included, so every output sends the same bytes.
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
    const hs_detector_stage *stage;
    sig_counts *per_sig;        /* hs_sigset_n_sigs(stage->sigs) of them */
    hs_engine *engine;
    hs_detection_fn fn;
    void *ctx;
    uint64_t wall_ms;           /* host clock, refreshed every sweep */
    uint64_t flows_future;      /* dropped: too far ahead of wall_ms */
    uint64_t hits_stale;        /* matched under a set two reloads old */
    uint64_t events_too_long;
    uint64_t enrich_errors;     /* lookups in a corrupt database region */
    hs_match_stats match;       /* flows this worker matched */
    char json[8192];
};

struct hs_detector_stage {
    hs_sigset *sigs;
    hs_enrich *enrich;
    char *path;
    uint32_t gen;
    uint32_t *from_prev;        /* previous generation's domain -> ours */
    uint32_t n_prev;            /* ... entries (its domain count) */
};

static uint64_t wall_clock_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void engine_conf_from(const hs_conf *c, unsigned shards,
                             hs_engine_conf *ec)
{
    hs_engine_conf_init(ec);
    ec->window_ms = c->detect.rule.window_ms;
    ec->min_domains = c->detect.rule.min_domains;
    ec->min_fraction = c->detect.rule.min_fraction;
    ec->min_hits = c->detect.rule.min_hits;
    ec->ipv6_prefix_len = c->detect.ipv6_prefix_len;
    ec->subscriber_prefixes = c->detect.subscriber_prefixes;
    ec->n_subscriber_prefixes = c->detect.n_subscriber_prefixes;
    /* the cap holds for the daemon: each shard gets its share */
    ec->max_subscribers = (c->detect.max_subscribers + shards - 1) / shards;
}

/* The ASN, organisation and country members of an event, or "". */
static const char *enrichment(hs_detector *d, const hs_event *ev, char *buf,
                              size_t len)
{
    buf[0] = '\0';
    if (!d->stage->enrich)
        return buf;
    hs_ip ip;
    hs_enrich_info sub, backend;
    hs_subscriber_to_ip(&ev->subscriber, &ip);
    if (hs_enrich_lookup(d->stage->enrich, &ip, &sub) < 0)
        d->enrich_errors++;
    if (ev->backend && hs_enrich_lookup(d->stage->enrich, ev->backend, &backend) < 0)
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
    free(st->from_prev);
    free(st);
}

int hs_detector_stage_follow(hs_detector_stage *next,
                             const hs_detector_stage *prev)
{
    uint32_t n = hs_sigset_n_domains(prev->sigs);
    uint32_t *map = malloc((n ? n : 1) * sizeof(*map));
    if (!map)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        int32_t j = hs_sigset_find_domain(next->sigs,
                                          hs_sigset_domain(prev->sigs, i)->name);
        map[i] = j < 0 ? UINT32_MAX : (uint32_t)j; /* the engine counts it */
    }
    free(next->from_prev);
    next->from_prev = map;
    next->n_prev = n;
    next->gen = prev->gen + 1;
    return 0;
}

uint32_t hs_detector_stage_gen(const hs_detector_stage *st)
{
    return st->gen;
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
        int32_t old = hs_sigset_find_sig(d->stage->sigs, hs_sigset_sig(next, i)->id);
        if (old >= 0)
            c[i] = d->per_sig[old];
    }
}

int hs_detector_new(const hs_conf *conf, const hs_detector_stage *st,
                    unsigned shards, hs_detection_fn fn, void *ctx,
                    hs_detector **out, char *err, size_t errlen)
{
    hs_detector *d = calloc(1, sizeof(*d));
    if (!d || !(d->per_sig = alloc_counts(st->sigs))) {
        free(d);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    d->stage = st;
    d->fn = fn;
    d->ctx = ctx;
    d->wall_ms = wall_clock_ms();
    hs_engine_conf ec;
    engine_conf_from(conf, shards, &ec);
    int rc = hs_engine_new(&ec, st->sigs, on_event, d, &d->engine);
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
    free(d->per_sig);
    free(d);
}

size_t hs_detector_match(hs_detector *d, const hs_flow *f, hs_hit *out,
                         size_t max)
{
    if (hs_flow_time_ms(f) > d->wall_ms + HS_FUTURE_TOLERANCE_MS) {
        d->flows_future++;
        return 0;
    }
    return hs_match_flow(d->stage->sigs, hs_engine_match_conf(d->engine), f,
                         out, max, &d->match);
}

void hs_detector_apply(hs_detector *d, hs_hit *hits, size_t n, uint32_t gen)
{
    const hs_detector_stage *st = d->stage;
    if (gen + 1 == st->gen && st->from_prev) {
        for (size_t i = 0; i < n; i++)
            hits[i].domain = hits[i].domain < st->n_prev
                                 ? st->from_prev[hits[i].domain] : UINT32_MAX;
    } else if (gen != st->gen) {
        d->hits_stale += n;
        return;
    }
    hs_engine_apply(d->engine, hits, n);
}

uint32_t hs_detector_gen(const hs_detector *d)
{
    return d->stage->gen;
}

uint64_t hs_detector_watermark(const hs_detector *d)
{
    hs_engine_counters c;
    hs_engine_get_counters(d->engine, &c);
    return c.watermark_ms;
}

void hs_detector_tick(hs_detector *d, uint64_t now_ms)
{
    d->wall_ms = wall_clock_ms();
    hs_engine_conf ec;
    hs_engine_conf_init(&ec);
    for (int i = 0; i < HS_ADVANCE_ROUNDS; i++)
        if (hs_engine_advance(d->engine, now_ms) < ec.sweep_budget)
            break;
}

int hs_detector_commit(hs_detector *d, const hs_detector_stage *st)
{
    sig_counts *counts = alloc_counts(st->sigs);
    int rc = counts ? hs_engine_swap_sigset(d->engine, st->sigs) : -ENOMEM;
    if (rc < 0) {
        free(counts);
        return rc;
    }
    carry_counts(d, st->sigs, counts); /* after the swap's own events */
    free(d->per_sig);
    d->per_sig = counts;
    d->stage = st;
    return 0;
}

/* hs_state_save or hs_state_restore over the engines of n detectors. */
typedef int (*state_fn)(hs_engine *const *e, size_t n, const char *path,
                        hs_state_stats *st, char *err, size_t errlen);

static int on_engines(state_fn fn, hs_detector *const *d, size_t n,
                      const char *path, hs_state_stats *st, char *err,
                      size_t errlen)
{
    hs_engine **e = malloc(n * sizeof(*e));
    if (!e) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        e[i] = d[i]->engine;
    int rc = fn(e, n, path, st, err, errlen);
    free(e);
    return rc;
}

int hs_detector_save(hs_detector *const *d, size_t n, const char *path,
                     hs_state_stats *st, char *err, size_t errlen)
{
    return on_engines(hs_state_save, d, n, path, st, err, errlen);
}

int hs_detector_restore(hs_detector *const *d, size_t n, const char *path,
                        hs_state_stats *st, char *err, size_t errlen)
{
    return on_engines(hs_state_restore, d, n, path, st, err, errlen);
}

/* Events of signature id counted by shard d (0 if its set lacks it). */
static const sig_counts *counts_of(const hs_detector *d, const hs_sigset *ref,
                                   uint32_t i)
{
    static const sig_counts none;
    if (d->stage->sigs == ref)
        return &d->per_sig[i];
    int32_t j = hs_sigset_find_sig(d->stage->sigs, hs_sigset_sig(ref, i)->id);
    return j < 0 ? &none : &d->per_sig[j];
}

/* Shards may sit on two generations for a moment during a reload: the
 * first shard's set names the signatures, the others are matched by id. */
static void render_per_signature(hs_detector *const *d, size_t n, hs_textbuf *o)
{
    static const char *const names[2] = {"haystack_signature_detected_total",
                                         "haystack_signature_expired_total"};
    static const char *const helps[2] = {"detected events, by signature.",
                                         "expired events, by signature."};
    const hs_sigset *ref = d[0]->stage->sigs;
    for (int k = 0; k < 2; k++) {
        hs_prom_header(o, names[k], "counter", helps[k]);
        for (uint32_t i = 0; i < hs_sigset_n_sigs(ref); i++) {
            uint64_t sum = 0;
            for (size_t w = 0; w < n; w++) {
                const sig_counts *c = counts_of(d[w], ref, i);
                sum += k ? c->expired : c->detected;
            }
            hs_prom_labelled(o, names[k], "signature", hs_sigset_sig(ref, i)->id, sum);
        }
    }
}

/* Engine counters and the detectors' own, summed over the shards. */
typedef struct totals {
    hs_engine_counters c;
    uint64_t flows_future, events_too_long, enrich_errors;
} totals;

static void add_match(hs_match_stats *a, const hs_match_stats *b)
{
    a->flows += b->flows;
    a->flows_matched += b->flows_matched;
    a->flows_unmatched += b->flows_unmatched;
    a->flows_ambiguous += b->flows_ambiguous;
    a->flows_outside += b->flows_outside;
    a->hits_truncated += b->hits_truncated;
}

static void add_engine(hs_engine_counters *a, const hs_engine_counters *b)
{
    a->subscribers += b->subscribers;
    a->entries += b->entries;
    a->detected += b->detected;
    a->hits += b->hits;
    a->hits_late += b->hits_late;
    a->hits_bad_time += b->hits_bad_time;
    a->hits_stale += b->hits_stale;
    a->hits_dropped_cap += b->hits_dropped_cap;
    a->hits_dropped_nomem += b->hits_dropped_nomem;
    a->evictions += b->evictions;
    a->evictions_cap += b->evictions_cap;
    a->detections += b->detections;
    a->expiries += b->expiries;
    a->bytes += b->bytes;
    a->bytes_subscribers += b->bytes_subscribers;
    a->bytes_evidence += b->bytes_evidence;
    if (b->watermark_ms > a->watermark_ms)
        a->watermark_ms = b->watermark_ms;
    add_match(&a->match, &b->match);
}

static void sum_shards(hs_detector *const *d, size_t n, totals *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        hs_engine_counters c;
        hs_engine_get_counters(d[i]->engine, &c);
        add_engine(&t->c, &c);
        add_match(&t->c.match, &d[i]->match);
        t->flows_future += d[i]->flows_future;
        t->c.hits_stale += d[i]->hits_stale;
        t->events_too_long += d[i]->events_too_long;
        t->enrich_errors += d[i]->enrich_errors;
    }
}

#define ENGINE_VALUE(name, type, help, field) \
    hs_prom_value(o, "haystack_engine_" name, type, help, (double)t.c.field)

void hs_detector_render_metrics(hs_detector *const *d, size_t n, hs_textbuf *o)
{
    totals t;
    sum_shards(d, n, &t);
    hs_sigset_stats ss;
    hs_sigset_get_stats(d[0]->stage->sigs, &ss);
    hs_prom_value(o, "haystack_signatures", "gauge", "Signatures loaded.", ss.signatures);
    hs_prom_value(o, "haystack_signature_domains", "gauge", "Grouped domains loaded.", ss.domains);
    hs_prom_value(o, "haystack_signature_prefixes", "gauge", "Endpoint prefixes loaded.", (double)ss.prefixes);
    ENGINE_VALUE("subscribers", "gauge", "Subscribers tracked.", subscribers);
    ENGINE_VALUE("evidence_entries", "gauge", "(subscriber, domain) evidence entries.", entries);
    ENGINE_VALUE("detections_holding", "gauge", "(subscriber, signature) pairs detected now.", detected);
    ENGINE_VALUE("hits_total", "counter", "Hits recorded.", hits);
    ENGINE_VALUE("hits_late_total", "counter", "Hits older than every window of their domain.", hits_late);
    ENGINE_VALUE("hits_stale_total", "counter", "Hits whose domain a reload removed before they were recorded.", hits_stale);
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
    render_per_signature(d, n, o);
    hs_prom_value(o, "haystack_engine_flows_future_total", "counter",
                  "Flow records dropped: stamped over 10 minutes ahead of the host clock.",
                  (double)t.flows_future);
    hs_prom_value(o, "haystack_events_too_long_total", "counter",
                  "Events not formatted (over 8 KiB).", (double)t.events_too_long);
    hs_prom_value(o, "haystack_enrich_errors_total", "counter",
                  "Enrichment lookups that hit a corrupt database region.",
                  (double)t.enrich_errors);
}
