/*
 * engine.h - per-subscriber evidence and detection: hits in, events out.
 *
 * The engine keeps, for every subscriber seen, a sliding window of hits per
 * grouped domain (window.h), evaluates the rules of the signatures that
 * contain a domain when it is hit (rule.h), and reports through a callback
 * when a rule becomes true (detected) and when it lapses (expired). Time is
 * event time: the flows' own timestamps drive a watermark, so a replay at
 * full speed yields the events a live run would. State is bounded by
 * max_subscribers, idle subscribers are evicted by hs_engine_advance with
 * bounded work per call, and every drop is counted. See docs/detection.md.
 *
 * An engine is single-threaded; several engines can share one sigset and
 * split subscribers by hs_subscriber_hash.
 */
#ifndef HS_ENGINE_H
#define HS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "flow.h"
#include "match.h"
#include "sigset.h"
#include "window.h"

typedef struct hs_engine_conf {
    uint64_t window_ms;          /* [detect] window (default 24 h) */
    uint32_t min_domains;        /* default 1 */
    double min_fraction;         /* default 0 */
    uint32_t min_hits;           /* default 1 */
    unsigned ipv6_prefix_len;    /* default 56; 1..64 */
    const hs_cidr *subscriber_prefixes;  /* copied by hs_engine_new */
    size_t n_subscriber_prefixes;
    uint64_t max_subscribers;    /* default 10 M; >= 1 */
    uint32_t sweep_budget;       /* subscribers hs_engine_advance may visit
                                  * per call (default 8192) */
} hs_engine_conf;

void hs_engine_conf_init(hs_engine_conf *c);

typedef struct hs_engine_counters {
    uint64_t subscribers;        /* tracked now */
    uint64_t entries;            /* (subscriber, domain) entries now */
    uint64_t detected;           /* (subscriber, signature) holding now */
    uint64_t hits;               /* hits recorded */
    uint64_t hits_late;          /* older than every window of the domain */
    uint64_t hits_bad_time;      /* timestamp beyond the bucket range */
    uint64_t hits_stale;         /* domain not in the current sigset */
    uint64_t hits_dropped_cap;   /* new subscriber at the cap, none idle */
    uint64_t hits_dropped_nomem; /* allocation failed */
    uint64_t evictions;          /* idle subscribers removed */
    uint64_t evictions_cap;      /* ... of them to make room at the cap */
    uint64_t detections;         /* detected events */
    uint64_t expiries;           /* expired events */
    uint64_t bytes;              /* memory held by the state (allocated) */
    uint64_t bytes_subscribers;  /* ... of it records and key index */
    uint64_t bytes_evidence;     /* ... of it evidence and held lists */
    uint64_t watermark_ms;       /* latest event time seen */
    hs_match_stats match;        /* flows through hs_engine_flows */
} hs_engine_counters;

typedef struct hs_engine hs_engine;

/*
 * Creates an engine over a sigset (not owned: it must outlive the engine
 * or be replaced with hs_engine_swap_sigset). Events go to fn(ctx, ...)
 * (required). Returns 0, -EINVAL for a bad configuration, or -ENOMEM.
 */
int hs_engine_new(const hs_engine_conf *conf, const hs_sigset *s,
                  hs_event_fn fn, void *ctx, hs_engine **out);
void hs_engine_free(hs_engine *e);

/* The matching configuration the engine was given (for hs_match_flow). */
const hs_match_conf *hs_engine_match_conf(const hs_engine *e);
/* The sigset events refer to (the old one while a swap emits events). */
const hs_sigset *hs_engine_sigset(const hs_engine *e);

/* Records hits (from hs_match_flow) in order. */
void hs_engine_apply(hs_engine *e, const hs_hit *hits, size_t n);

/* Matches and records a batch of flows; an hs_flow_fn for an engine. */
void hs_engine_flows(void *engine, const hs_flow *flows, size_t n);

/*
 * Moves the watermark to now_ms (event time; never backwards) and does up
 * to sweep_budget subscribers' worth of due work: moving records to a
 * reloaded sigset, expired events for rules whose evidence aged out,
 * removal of idle subscribers. Returns the number of subscribers visited;
 * call again while it returns the budget.
 */
size_t hs_engine_advance(hs_engine *e, uint64_t now_ms);

/*
 * Replaces the sigset, keeping evidence for domains (matched by name) and
 * detections for signatures (by id) that still exist. Detections of
 * removed signatures end with an expired event before it returns; the
 * records are then moved to the new set lazily (on their next hit, or by
 * hs_engine_advance within its budget), so the call is one sequential scan
 * however many subscribers there are. Returns 0 or -ENOMEM (the old set
 * stays in use). The old set may be freed as soon as it returns.
 */
int hs_engine_swap_sigset(hs_engine *e, const hs_sigset *s);

void hs_engine_get_counters(const hs_engine *e, hs_engine_counters *c);

/* Bucket width: the granularity of every window, in ms. */
uint64_t hs_engine_bucket_ms(const hs_engine *e);

/* One subscriber's state, for saving it (domain and signature indices
 * refer to hs_engine_sigset; persist them by name and id). */
typedef struct hs_sub_view {
    hs_subscriber subscriber;
    uint32_t clock;              /* bucket the evidence rings are aged to */
    const hs_evidence *evidence; /* sorted by domain */
    uint32_t n_evidence;
    const uint32_t *detected;    /* signatures holding now */
    uint32_t n_detected;
} hs_sub_view;

/* Calls fn for every subscriber (first finishing a reload's migration);
 * stops at and returns fn's first non-zero result. fn must not change the
 * engine. */
int hs_engine_foreach(hs_engine *e,
                      int (*fn)(void *ctx, const hs_sub_view *v), void *ctx);

/*
 * Puts back one saved subscriber (state.h reads them from a file): its
 * evidence (domain indices of hs_engine_sigset, any order; rings aged to
 * v->clock in buckets of bucket_ms, re-bucketed when the width changed)
 * and the signatures it had detected. Those were announced before the
 * save, so restoring them emits nothing; what the current rules judge
 * otherwise does (expired at the bucket a rule lapsed, or detected for a
 * rule that now holds), exactly as after a sigset swap. The watermark
 * must already cover the clock (hs_engine_advance to the saved one).
 * Returns 0 (the record may turn out idle and be dropped), -EEXIST for a
 * subscriber already tracked, -ENOSPC at max_subscribers, -EINVAL for a
 * view that is not well-formed (index out of range, duplicate, clock past
 * the watermark), -ENOMEM.
 */
int hs_engine_restore(hs_engine *e, const hs_sub_view *v, uint64_t bucket_ms);

#endif
