/*
 * engine.c - per-subscriber evidence, rule evaluation and the events they
 * produce (see engine.h and docs/detection.md).
 *
 * Every subscriber record carries a clock: the bucket its evidence rings
 * are aged to. Whenever a record is touched (a hit, or its wheel deadline)
 * it is first caught up to the watermark: held signatures are re-evaluated
 * at each bucket boundary passed, so an expired event carries the time the
 * rule actually lapsed whether the record is visited late or early. That
 * keeps events a function of the flow records alone; the wheel (subtable.h)
 * only decides how soon after the lapse the event goes out. The same
 * "bring the record up to date when it is touched" idea carries a sigset
 * reload: records are renumbered lazily (see "replacing the sigset").
 */
#include "engine.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "rule.h"
#include "subtable.h"

/* Records examined to find an idle subscriber when the cap is reached. */
enum { CAP_SWEEP_BUDGET = 64 };
/* Hits whose memory is prefetched together (see hs_engine_apply). */
enum { PREFETCH_GROUP = 16 };

/* What the engine derives from a sigset: rules and per-domain spans. */
typedef struct sig_view {
    const hs_sigset *set;
    hs_rule_eff *rules;          /* per signature */
    uint8_t *nb_min, *nb_max;    /* per domain: shortest/longest window of
                                  * its signatures, in buckets */
    uint16_t *need;              /* per domain: the fewest domains one of
                                  * its signatures needs (capped) */
    uint64_t width_ms;           /* bucket width */
    uint32_t max_sig_domains;
} sig_view;

/* A reload in progress: how records of the previous set map to this one. */
typedef struct migration {
    int32_t *dmap, *smap;        /* old domain / signature -> new, or -1 */
    uint64_t old_width_ms;
    uint32_t next;               /* records below are migrated */
    bool active;
} migration;

struct hs_engine {
    hs_engine_conf conf;
    hs_cidr *prefixes;
    hs_match_conf mconf;
    sig_view sv;
    migration mig;
    uint8_t gen;                 /* generation of sv */
    hs_subtable *subs;
    hs_pool ev_pool;             /* hs_evidence lists */
    hs_pool held_pool;           /* uint32_t signature lists */
    uint64_t wm_ms;
    uint32_t wm_b;               /* bucket of the watermark */
    uint32_t swept;              /* wheel buckets up to here are done */
    bool in_list;                /* visiting the list of bucket swept + 1 */
    uint32_t *seen;              /* event domain lists */
    hs_event_fn fn;
    void *ctx;
    hs_engine_counters c;
};

void hs_engine_conf_init(hs_engine_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->window_ms = 24ull * 3600 * 1000;
    c->min_domains = 1;
    c->min_fraction = 0;
    c->min_hits = 1;
    c->ipv6_prefix_len = HS_V6_PREFIX_DEFAULT;
    c->max_subscribers = 10000000;
    c->sweep_budget = 8192;
}

static void migrate(hs_engine *e, uint32_t idx);

/* ---- sigset-derived tables ---------------------------------------- */

static void sig_view_fini(sig_view *v)
{
    free(v->rules);
    free(v->nb_min);
    free(v->nb_max);
    free(v->need);
    memset(v, 0, sizeof(*v));
}

/*
 * The bucket width is the longest window (of any signature, or the
 * default) over HS_WINDOW_BUCKETS, and at least a second so that bucket
 * numbers of unix times fit 32 bits.
 */
static int sig_view_init(sig_view *v, const hs_sigset *s,
                         const hs_engine_conf *conf)
{
    hs_rule defaults = {.min_domains = conf->min_domains,
                        .min_fraction = conf->min_fraction,
                        .min_hits = conf->min_hits,
                        .window_ms = conf->window_ms};
    uint32_t ns = hs_sigset_n_sigs(s), nd = hs_sigset_n_domains(s);
    memset(v, 0, sizeof(*v));
    v->set = s;
    v->rules = calloc(ns ? ns : 1, sizeof(*v->rules));
    v->nb_min = calloc(nd ? nd : 1, 1);
    v->nb_max = calloc(nd ? nd : 1, 1);
    v->need = calloc(nd ? nd : 1, sizeof(*v->need));
    if (!v->rules || !v->nb_min || !v->nb_max || !v->need) {
        sig_view_fini(v);
        return -ENOMEM;
    }
    uint64_t longest = conf->window_ms;
    for (uint32_t i = 0; i < ns; i++) {
        const hs_signature *sig = hs_sigset_sig(s, i);
        hs_rule_resolve(&defaults, &sig->rule, &v->rules[i]);
        if (v->rules[i].window_ms > longest)
            longest = v->rules[i].window_ms;
        if (sig->n_domains > v->max_sig_domains)
            v->max_sig_domains = sig->n_domains;
    }
    v->width_ms = (longest + HS_WINDOW_BUCKETS - 1) / HS_WINDOW_BUCKETS;
    if (v->width_ms < 1000)
        v->width_ms = 1000;
    for (uint32_t i = 0; i < ns; i++)
        hs_rule_set_width(&v->rules[i], v->width_ms);
    for (uint32_t d = 0; d < nd; d++) {
        const hs_domain *dom = hs_sigset_domain(s, d);
        v->nb_min[d] = HS_WINDOW_BUCKETS;
        v->nb_max[d] = 1;
        v->need[d] = UINT16_MAX;
        for (uint32_t k = 0; k < dom->n_sigs; k++) {
            uint32_t need = v->rules[dom->sigs[k]].min_domains;
            if (need < v->need[d])
                v->need[d] = (uint16_t)need;
            uint32_t nb = v->rules[dom->sigs[k]].nb;
            if (nb < v->nb_min[d])
                v->nb_min[d] = (uint8_t)nb;
            if (nb > v->nb_max[d])
                v->nb_max[d] = (uint8_t)nb;
        }
    }
    return 0;
}

/* ---- lists in pools ------------------------------------------------ */

/*
 * Resizes a list of n_old elements to the block size for n_new. Only
 * growing allocates (and can fail); shrinking splits the block in place.
 */
static int list_fit(hs_pool *p, uint32_t *block, uint32_t n_old,
                    uint32_t n_new)
{
    unsigned c_old = hs_pool_class(n_old), c_new = hs_pool_class(n_new);
    if (n_new == 0) {
        if (*block != HS_POOL_NONE)
            hs_pool_release(p, *block, c_old);
        *block = HS_POOL_NONE;
        return 0;
    }
    if (*block != HS_POOL_NONE && c_new <= c_old) {
        if (c_new < c_old)
            hs_pool_shrink(p, *block, c_old, c_new);
        return 0;
    }
    uint32_t nb = hs_pool_alloc(p, c_new);
    if (nb == HS_POOL_NONE)
        return -ENOMEM;
    if (*block != HS_POOL_NONE) {
        memcpy(hs_pool_at(p, nb), hs_pool_at(p, *block), n_old * p->elem);
        hs_pool_release(p, *block, c_old);
    }
    *block = nb;
    return 0;
}

static hs_evidence *sub_ev(const hs_engine *e, const hs_sub *r)
{
    return r->ev == HS_POOL_NONE ? NULL : hs_pool_at(&e->ev_pool, r->ev);
}

static uint32_t *sub_held(const hs_engine *e, const hs_sub *r)
{
    return r->held == HS_POOL_NONE ? NULL
                                   : hs_pool_at(&e->held_pool, r->held);
}

/* Room for the domain list of an event of any signature. */
static int alloc_seen(hs_engine *e, uint32_t n)
{
    uint32_t *s = realloc(e->seen, (n ? n : 1) * sizeof(*s));
    if (!s)
        return -ENOMEM;
    e->seen = s;
    return 0;
}

/* ---- events -------------------------------------------------------- */

static void emit(hs_engine *e, uint32_t idx, hs_event_type type,
                 uint32_t sig, uint64_t time_ms, uint32_t at,
                 const hs_ip *backend)
{
    const hs_sub *r = hs_subtable_at(e->subs, idx);
    const hs_signature *s = hs_sigset_sig(e->sv.set, sig);
    hs_verdict v;
    hs_rule_eval(s, &e->sv.rules[sig], sub_ev(e, r), r->n_ev, r->clock, at,
                 &v, e->seen);
    hs_event ev = {
        .type = type,
        .time_ms = time_ms,
        .sig = sig,
        .level = s->level,
        .parent = s->parent,
        .domains_seen = v.domains_seen,
        .domains_total = s->n_domains,
        .hits = v.hits,
        .first_seen_ms = (uint64_t)v.first_s * 1000,
        .last_seen_ms = (uint64_t)v.last_s * 1000,
        .domains = e->seen,
        .backend = backend,
    };
    hs_subtable_subscriber(e->subs, idx, &ev.subscriber);
    if (type == HS_EVENT_DETECTED)
        e->c.detections++;
    else
        e->c.expiries++;
    e->fn(e->ctx, &ev);
}

static bool sig_holds(const hs_engine *e, const hs_sub *r, uint32_t sig,
                      uint32_t at)
{
    hs_verdict v;
    hs_rule_eval(hs_sigset_sig(e->sv.set, sig), &e->sv.rules[sig],
                 sub_ev(e, r), r->n_ev, r->clock, at, &v, NULL);
    return v.holds;
}

/* Drops held[i] (order does not matter). */
static void held_remove(hs_engine *e, uint32_t idx, uint32_t i)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    uint32_t *held = sub_held(e, r);
    held[i] = held[r->n_held - 1];
    list_fit(&e->held_pool, &r->held, r->n_held, r->n_held - 1u);
    r->n_held--;
    e->c.detected--;
}

static int held_add(hs_engine *e, uint32_t idx, uint32_t sig)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    if (r->n_held == UINT16_MAX ||
        list_fit(&e->held_pool, &r->held, r->n_held, r->n_held + 1u) < 0)
        return -ENOMEM;
    sub_held(e, r)[r->n_held++] = sig;
    e->c.detected++;
    return 0;
}

static bool is_held(const hs_engine *e, const hs_sub *r, uint32_t sig)
{
    const uint32_t *held = sub_held(e, r);
    for (uint32_t i = 0; i < r->n_held; i++)
        if (held[i] == sig)
            return true;
    return false;
}

/* ---- catching a subscriber up to the watermark --------------------- */

/*
 * A rule can only lapse when a bucket leaves its window, i.e. at bucket
 * boundaries. Check the held signatures at each boundary between the
 * record's clock and the watermark; past clock + HS_WINDOW_BUCKETS no
 * evidence is left, so at most that many boundaries matter.
 */
static void expire_lapsed(hs_engine *e, uint32_t idx)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    uint32_t last = e->wm_b - r->clock > HS_WINDOW_BUCKETS
                        ? r->clock + HS_WINDOW_BUCKETS : e->wm_b;
    for (uint32_t p = r->clock + 1; p <= last && r->n_held > 0; p++) {
        for (uint32_t i = 0; i < r->n_held;) {
            uint32_t sig = sub_held(e, r)[i];
            if (sig_holds(e, r, sig, p)) {
                i++;
                continue;
            }
            emit(e, idx, HS_EVENT_EXPIRED, sig, (uint64_t)p * e->sv.width_ms,
                 p, NULL);
            held_remove(e, idx, i);
            r = hs_subtable_at(e->subs, idx);
        }
    }
}

/* Ages every entry to the watermark and drops the empty ones. */
static void age_entries(hs_engine *e, uint32_t idx)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    hs_evidence *ev = sub_ev(e, r);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < r->n_ev; i++) {
        uint32_t keep = e->sv.nb_max[ev[i].domain];
        if (hs_evidence_age(&ev[i], r->clock, e->wm_b, keep))
            continue;
        ev[kept++] = ev[i];
    }
    e->c.entries -= r->n_ev - kept;
    list_fit(&e->ev_pool, &r->ev, r->n_ev, kept);
    r->n_ev = (uint16_t)kept;
    r->clock = e->wm_b;
}

static void catch_up(hs_engine *e, uint32_t idx)
{
    if (hs_subtable_at(e->subs, idx)->clock >= e->wm_b)
        return;
    expire_lapsed(e, idx);
    age_entries(e, idx);
}

/* ---- scheduling ---------------------------------------------------- */

/*
 * When must the engine look at this record again? With detections held:
 * when the next bucket leaves the shortest or longest window of some
 * domain (a rule may lapse then). Otherwise: when the newest hit has left
 * every window, and the record is idle.
 */
static uint32_t next_deadline(const hs_engine *e, const hs_sub *r)
{
    const hs_evidence *ev = sub_ev(e, r);
    uint32_t d = r->n_held > 0 ? UINT32_MAX : r->clock + 1;
    for (uint32_t i = 0; i < r->n_ev; i++) {
        uint32_t lens[2] = {e->sv.nb_min[ev[i].domain],
                            e->sv.nb_max[ev[i].domain]};
        for (int k = 0; k < 2; k++) {
            uint32_t oldest, newest;
            if (!hs_evidence_span(&ev[i], r->clock, lens[k], &oldest,
                                  &newest))
                continue;
            if (r->n_held > 0 && oldest + lens[k] < d)
                d = oldest + lens[k];
            if (r->n_held == 0 && newest + lens[k] > d)
                d = newest + lens[k];
        }
    }
    return d == UINT32_MAX ? r->clock + 1 : d;
}

static void reschedule(hs_engine *e, uint32_t idx)
{
    uint32_t d = next_deadline(e, hs_subtable_at(e->subs, idx));
    hs_subtable_schedule(e->subs, idx, d);
}

/*
 * The cheap update after a hit that changed nothing but one bucket of one
 * entry (the record was scheduled and caught up, and no rule changed):
 * the new bucket can only make an idle deadline later, or the next
 * boundary of a record with detections earlier.
 */
static void reschedule_hit(hs_engine *e, uint32_t idx, uint32_t domain,
                           uint32_t b)
{
    const hs_sub *r = hs_subtable_at(e->subs, idx);
    uint32_t lens[2] = {e->sv.nb_min[domain], e->sv.nb_max[domain]};
    uint32_t d = r->deadline;
    for (int k = 0; k < 2; k++) {
        uint32_t leaves = b + lens[k];
        if (r->n_held == 0 && leaves > d)
            d = leaves;
        if (r->n_held > 0 && leaves > r->clock && leaves < d)
            d = leaves;
    }
    if (d != r->deadline)
        hs_subtable_schedule(e->subs, idx, d);
}

static void sub_remove(hs_engine *e, uint32_t idx)
{
    /* The last record moves into idx, maybe below the migration cursor. */
    migrate(e, hs_subtable_count(e->subs) - 1);
    hs_sub *r = hs_subtable_at(e->subs, idx);
    list_fit(&e->ev_pool, &r->ev, r->n_ev, 0);
    list_fit(&e->held_pool, &r->held, r->n_held, 0);
    e->c.entries -= r->n_ev;
    e->c.detected -= r->n_held;
    hs_subtable_remove(e->subs, idx);
}

/* Catches a due record up; removes it when idle. */
static void visit(hs_engine *e, uint32_t idx)
{
    migrate(e, idx);
    catch_up(e, idx);
    const hs_sub *r = hs_subtable_at(e->subs, idx);
    if (r->n_ev == 0 && r->n_held == 0) {
        sub_remove(e, idx);
        e->c.evictions++;
        return;
    }
    reschedule(e, idx);
}

/*
 * Visits due records in deadline order, at most budget of them (counting
 * the not-yet-due ones passed over). A list interrupted by the budget is
 * resumed where it stopped. Returns the number visited.
 */
static size_t run_wheel(hs_engine *e, size_t budget)
{
    size_t visited = 0;
    if (e->wm_b - e->swept > HS_WHEEL_SLOTS) {
        e->swept = e->wm_b - HS_WHEEL_SLOTS;
        e->in_list = false;
    }
    while (e->swept < e->wm_b) {
        uint32_t b = e->swept + 1;
        if (!e->in_list)
            hs_subtable_wheel_begin(e->subs, b);
        e->in_list = true;
        for (;;) {
            if (visited == budget)
                return visited;
            uint32_t idx = hs_subtable_wheel_next(e->subs);
            if (idx == HS_SUB_NONE)
                break;
            visited++;
            if (hs_subtable_at(e->subs, idx)->deadline <= e->wm_b)
                visit(e, idx);
        }
        e->in_list = false;
        e->swept = b;
    }
    return visited;
}

/* ---- recording hits ------------------------------------------------ */

static uint32_t new_subscriber(hs_engine *e, const hs_subscriber *s)
{
    if (hs_subtable_count(e->subs) >= e->conf.max_subscribers) {
        uint64_t before = e->c.evictions;
        run_wheel(e, CAP_SWEEP_BUDGET);
        e->c.evictions_cap += e->c.evictions - before;
        if (hs_subtable_count(e->subs) >= e->conf.max_subscribers) {
            e->c.hits_dropped_cap++;
            return HS_SUB_NONE;
        }
    }
    uint32_t idx;
    if (hs_subtable_add(e->subs, s, &idx) < 0) {
        e->c.hits_dropped_nomem++;
        return HS_SUB_NONE;
    }
    hs_sub *r = hs_subtable_at(e->subs, idx);
    r->clock = e->wm_b;
    r->gen = e->gen;
    return idx;
}

/* The entry for a domain, inserted in order if missing; NULL on ENOMEM. */
static hs_evidence *entry_get(hs_engine *e, uint32_t idx, uint32_t domain)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    hs_evidence *ev = sub_ev(e, r);
    uint32_t pos = (uint32_t)hs_evidence_position(ev, r->n_ev, domain);
    if (pos < r->n_ev && ev[pos].domain == domain)
        return &ev[pos];
    if (r->n_ev == UINT16_MAX ||
        list_fit(&e->ev_pool, &r->ev, r->n_ev, r->n_ev + 1u) < 0)
        return NULL;
    ev = sub_ev(e, r);
    memmove(&ev[pos + 1], &ev[pos], (r->n_ev - pos) * sizeof(*ev));
    hs_evidence_init(&ev[pos], domain);
    r->n_ev++;
    e->c.entries++;
    return &ev[pos];
}

/*
 * A hit can only make a rule true by making its domain count as seen for
 * the signature: the domain's count in the signature's window reaching
 * min_hits just now. Any other hit leaves the rule as false as it was.
 */
static bool just_seen(const hs_engine *e, const hs_sub *r, uint32_t domain,
                      uint32_t sig)
{
    const hs_rule_eff *rule = &e->sv.rules[sig];
    const hs_evidence *ev = hs_evidence_find(sub_ev(e, r), r->n_ev, domain);
    return ev && hs_evidence_count(ev, r->clock, r->clock, rule->nb) ==
                     rule->min_hits;
}

/*
 * Evaluates the rules of the signatures holding a domain and reports the
 * ones that became true. backend set: the domain was just hit (from that
 * backend address), so only the signatures for which it just became seen
 * can change.
 */
static void evaluate(hs_engine *e, uint32_t idx, uint32_t domain,
                     uint64_t time_ms, const hs_ip *backend)
{
    /* Each seen domain has an entry: with fewer entries than a rule needs
     * domains (a new subscriber, mostly) it cannot hold. This test reads
     * one small array rather than the domain's and signatures' records. */
    if (hs_subtable_at(e->subs, idx)->n_ev < e->sv.need[domain])
        return;
    const hs_domain *dom = hs_sigset_domain(e->sv.set, domain);
    for (uint32_t k = 0; k < dom->n_sigs; k++) {
        uint32_t sig = dom->sigs[k];
        const hs_sub *r = hs_subtable_at(e->subs, idx);
        if (r->n_ev < e->sv.rules[sig].min_domains)
            continue;
        if ((backend && !just_seen(e, r, domain, sig)) || is_held(e, r, sig) ||
            !sig_holds(e, r, sig, r->clock))
            continue;
        if (held_add(e, idx, sig) < 0) {
            e->c.hits_dropped_nomem++;
            continue;
        }
        emit(e, idx, HS_EVENT_DETECTED, sig, time_ms, e->wm_b, backend);
    }
}

static void advance_watermark(hs_engine *e, uint64_t t_ms)
{
    if (t_ms <= e->wm_ms)
        return;
    e->wm_ms = t_ms;
    e->wm_b = (uint32_t)(t_ms / e->sv.width_ms);
}

static void apply_hit(hs_engine *e, const hs_hit *h)
{
    if (h->domain >= hs_sigset_n_domains(e->sv.set)) {
        e->c.hits_stale++;
        return;
    }
    uint64_t b = h->time_ms / e->sv.width_ms;
    if (b > UINT32_MAX - 2 * HS_WINDOW_BUCKETS ||
        h->time_ms / 1000 > UINT32_MAX) {
        e->c.hits_bad_time++;
        return;
    }
    advance_watermark(e, h->time_ms);
    if (b + e->sv.nb_max[h->domain] <= e->wm_b) {
        e->c.hits_late++;
        return;
    }
    uint32_t idx = hs_subtable_find(e->subs, &h->sub);
    bool known = idx != HS_SUB_NONE;
    if (known)
        migrate(e, idx);
    else
        idx = new_subscriber(e, &h->sub);
    if (idx == HS_SUB_NONE)
        return;
    const hs_sub *r = hs_subtable_at(e->subs, idx);
    bool settled = known && r->clock == e->wm_b;
    uint16_t held_before = r->n_held;
    catch_up(e, idx);
    hs_evidence *ev = entry_get(e, idx, h->domain);
    if (!ev) {
        e->c.hits_dropped_nomem++;
        r = hs_subtable_at(e->subs, idx);
        if (r->n_ev == 0 && r->n_held == 0)
            sub_remove(e, idx);
        return;
    }
    hs_evidence_add(ev, (uint32_t)b, (uint32_t)(h->time_ms / 1000));
    e->c.hits++;
    evaluate(e, idx, h->domain, h->time_ms, &h->backend);
    if (settled && hs_subtable_at(e->subs, idx)->n_held == held_before)
        reschedule_hit(e, idx, h->domain, (uint32_t)b);
    else
        reschedule(e, idx);
}

/*
 * Hits of a batch go to random subscribers among millions: each one's
 * index slot, record and evidence are cache misses. Announcing them a
 * group ahead lets the misses overlap instead of queueing.
 */
static void prefetch_group(const hs_engine *e, const hs_hit *hits, size_t n)
{
    const hs_sub *recs[PREFETCH_GROUP];
    for (size_t i = 0; i < n; i++)
        hs_subtable_prefetch_slot(e->subs, &hits[i].sub);
    for (size_t i = 0; i < n; i++)
        recs[i] = hs_subtable_prefetch_rec(e->subs, &hits[i].sub);
    for (size_t i = 0; i < n; i++)
        if (recs[i] && recs[i]->ev != HS_POOL_NONE)
            __builtin_prefetch(hs_pool_at(&e->ev_pool, recs[i]->ev));
}

void hs_engine_apply(hs_engine *e, const hs_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i += PREFETCH_GROUP) {
        size_t k = n - i < PREFETCH_GROUP ? n - i : PREFETCH_GROUP;
        prefetch_group(e, &hits[i], k);
        for (size_t j = 0; j < k; j++)
            apply_hit(e, &hits[i + j]);
    }
}

void hs_engine_flows(void *engine, const hs_flow *flows, size_t n)
{
    hs_engine *e = engine;
    hs_hit hits[4 * HS_MATCH_MAX_HITS];
    size_t used = 0, room = sizeof(hits) / sizeof(hits[0]);
    for (size_t i = 0; i < n; i++) {
        if (room - used < HS_MATCH_MAX_HITS) {
            hs_engine_apply(e, hits, used);
            used = 0;
        }
        used += hs_match_flow(e->sv.set, &e->mconf, &flows[i], hits + used,
                              HS_MATCH_MAX_HITS, &e->c.match);
    }
    hs_engine_apply(e, hits, used);
}

/* ---- replacing the sigset ------------------------------------------ */

/*
 * A reload must not stall the loop for seconds at ten million subscribers,
 * so records move to the new set lazily. The swap itself ends detections
 * of signatures that vanished (one sequential scan, while the old set is
 * still there to name them) and builds old-to-new index maps. Each record
 * is then migrated when it is next touched, or when hs_engine_advance's
 * cursor reaches it, whichever comes first; records carry the generation
 * of the set they refer to. Records below the cursor are all migrated:
 * sub_remove migrates the last record before moving it into a hole.
 */

/* Moves a ring aged to old_clock in buckets of old_w to new buckets. */
static void rebucket(hs_evidence *ev, uint32_t old_clock, uint64_t old_w,
                     uint32_t new_clock, uint64_t new_w)
{
    hs_evidence moved = *ev;
    memset(moved.hits, 0, sizeof(moved.hits));
    uint32_t lo = old_clock >= HS_WINDOW_BUCKETS - 1
                      ? old_clock - (HS_WINDOW_BUCKETS - 1) : 0;
    for (uint32_t b = lo; b <= old_clock; b++) {
        uint32_t n = ev->hits[b % HS_WINDOW_BUCKETS];
        uint64_t nb = (uint64_t)b * old_w / new_w;
        if (n == 0 || nb + HS_WINDOW_BUCKETS <= new_clock)
            continue;
        uint8_t *slot = &moved.hits[nb % HS_WINDOW_BUCKETS];
        *slot = (uint8_t)(*slot + n > HS_WINDOW_BUCKET_MAX
                              ? HS_WINDOW_BUCKET_MAX : *slot + n);
    }
    *ev = moved;
}

static int by_domain(const void *a, const void *b)
{
    const hs_evidence *x = a, *y = b;
    return x->domain < y->domain ? -1 : x->domain > y->domain;
}

/* Renumbers a record's entries and detections; new_clock is in the new
 * buckets. Entries of vanished domains go. */
static void remap(hs_engine *e, uint32_t idx, uint32_t new_clock)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    hs_evidence *ev = sub_ev(e, r);
    uint64_t old_w = e->mig.old_width_ms;
    uint32_t kept = 0;
    for (uint32_t i = 0; i < r->n_ev; i++) {
        int32_t d = e->mig.dmap[ev[i].domain];
        if (d < 0)
            continue;
        ev[kept] = ev[i];
        ev[kept].domain = (uint32_t)d;
        if (old_w != e->sv.width_ms)
            rebucket(&ev[kept], r->clock, old_w, new_clock, e->sv.width_ms);
        kept++;
    }
    qsort(ev, kept, sizeof(*ev), by_domain);
    e->c.entries -= r->n_ev - kept;
    list_fit(&e->ev_pool, &r->ev, r->n_ev, kept);
    r->n_ev = (uint16_t)kept;
    uint32_t *held = sub_held(e, r);
    for (uint32_t k = 0; k < r->n_held; k++)
        held[k] = (uint32_t)e->mig.smap[held[k]];
    r->clock = new_clock;
}

/* Under the new rules, detections may have lapsed and rules may hold. */
static void reevaluate(hs_engine *e, uint32_t idx)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    for (uint32_t k = 0; k < r->n_held;) {
        uint32_t sig = sub_held(e, r)[k];
        if (sig_holds(e, r, sig, r->clock)) {
            k++;
            continue;
        }
        emit(e, idx, HS_EVENT_EXPIRED, sig, e->wm_ms, r->clock, NULL);
        held_remove(e, idx, k);
        r = hs_subtable_at(e->subs, idx);
    }
    for (uint32_t i = 0; i < r->n_ev; i++) {
        evaluate(e, idx, sub_ev(e, r)[i].domain, e->wm_ms, NULL);
        r = hs_subtable_at(e->subs, idx);
    }
}

/* Brings a record to the current set, caught up; never removes it. */
static void migrate(hs_engine *e, uint32_t idx)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    if (r->gen == e->gen)
        return;
    remap(e, idx, (uint32_t)((uint64_t)r->clock * e->mig.old_width_ms /
                             e->sv.width_ms));
    hs_subtable_at(e->subs, idx)->gen = e->gen;
    expire_lapsed(e, idx);
    age_entries(e, idx);
    reevaluate(e, idx);
    reschedule(e, idx);
}

static void migration_end(hs_engine *e)
{
    free(e->mig.dmap);
    free(e->mig.smap);
    memset(&e->mig, 0, sizeof(e->mig));
}

/* Migrates up to budget records from the cursor on; returns how many. */
static size_t migrate_some(hs_engine *e, size_t budget)
{
    size_t done = 0;
    while (e->mig.active && done < budget) {
        if (e->mig.next >= hs_subtable_count(e->subs)) {
            migration_end(e);
            break;
        }
        /* A record the new set leaves idle goes now; the record that
         * takes its place (migrated on the way, see sub_remove) is
         * visited next. */
        uint32_t before = hs_subtable_count(e->subs);
        visit(e, e->mig.next);
        if (hs_subtable_count(e->subs) == before)
            e->mig.next++;
        done++;
    }
    return done;
}

/* Under the old set: ends detections of signatures the new set lacks. */
static void end_vanished(hs_engine *e, const int32_t *smap)
{
    for (uint32_t i = 0; i < hs_subtable_count(e->subs); i++) {
        hs_sub *r = hs_subtable_at(e->subs, i);
        for (uint32_t k = 0; k < r->n_held;) {
            uint32_t sig = sub_held(e, r)[k];
            if (smap[sig] >= 0) {
                k++;
                continue;
            }
            emit(e, i, HS_EVENT_EXPIRED, sig, e->wm_ms, r->clock, NULL);
            held_remove(e, i, k);
            r = hs_subtable_at(e->subs, i);
        }
    }
}

static bool same_list(const uint32_t *a, uint32_t na, const uint32_t *b,
                      uint32_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

/* True when the new view numbers and judges everything as the old one
 * (a reload of an unchanged file): no record needs migrating. */
static bool same_view(const sig_view *a, const sig_view *b,
                      const int32_t *dmap, const int32_t *smap)
{
    uint32_t nd = hs_sigset_n_domains(a->set), ns = hs_sigset_n_sigs(a->set);
    if (nd != hs_sigset_n_domains(b->set) || ns != hs_sigset_n_sigs(b->set) ||
        a->width_ms != b->width_ms)
        return false;
    for (uint32_t d = 0; d < nd; d++)
        if (dmap[d] != (int32_t)d)
            return false;
    for (uint32_t i = 0; i < ns; i++) {
        const hs_signature *x = hs_sigset_sig(a->set, i);
        const hs_signature *y = hs_sigset_sig(b->set, i);
        const hs_rule_eff *rx = &a->rules[i], *ry = &b->rules[i];
        if (smap[i] != (int32_t)i || rx->min_domains != ry->min_domains ||
            rx->min_fraction != ry->min_fraction ||
            rx->min_hits != ry->min_hits || rx->nb != ry->nb ||
            !same_list(x->domains, x->n_domains, y->domains, y->n_domains) ||
            !same_list(x->required, x->n_required, y->required,
                       y->n_required))
            return false;
    }
    return true;
}

static int32_t *name_map(const hs_sigset *from, const hs_sigset *to,
                         bool domains)
{
    uint32_t n = domains ? hs_sigset_n_domains(from) : hs_sigset_n_sigs(from);
    int32_t *map = malloc((n ? n : 1) * sizeof(*map));
    if (!map)
        return NULL;
    for (uint32_t i = 0; i < n; i++)
        map[i] = domains
                     ? hs_sigset_find_domain(to, hs_sigset_domain(from, i)->name)
                     : hs_sigset_find_sig(to, hs_sigset_sig(from, i)->id);
    return map;
}

int hs_engine_swap_sigset(hs_engine *e, const hs_sigset *s)
{
    migrate_some(e, SIZE_MAX);      /* finish the previous reload */
    sig_view nv;
    if (sig_view_init(&nv, s, &e->conf) < 0)
        return -ENOMEM;
    int32_t *dmap = name_map(e->sv.set, s, true);
    int32_t *smap = name_map(e->sv.set, s, false);
    uint32_t seen = nv.max_sig_domains > e->sv.max_sig_domains
                        ? nv.max_sig_domains : e->sv.max_sig_domains;
    if (!dmap || !smap || alloc_seen(e, seen) < 0) {
        free(dmap);
        free(smap);
        sig_view_fini(&nv);
        return -ENOMEM;
    }
    end_vanished(e, smap);
    bool same = same_view(&e->sv, &nv, dmap, smap);
    uint64_t old_w = e->sv.width_ms;
    sig_view_fini(&e->sv);
    e->sv = nv;
    if (same) {
        free(dmap);
        free(smap);
        return 0;
    }
    e->mig = (migration){.dmap = dmap, .smap = smap, .old_width_ms = old_w,
                         .active = true};
    e->gen++;
    e->wm_b = (uint32_t)(e->wm_ms / nv.width_ms);
    e->swept = e->wm_b;
    e->in_list = false;
    return 0;
}

size_t hs_engine_advance(hs_engine *e, uint64_t now_ms)
{
    if (now_ms / e->sv.width_ms <= UINT32_MAX - 2 * HS_WINDOW_BUCKETS)
        advance_watermark(e, now_ms);
    /* A reload's migration and due expiries share the budget, so neither
     * waits for the other; what one leaves unused goes to the other. */
    size_t budget = e->conf.sweep_budget;
    size_t n = migrate_some(e, (budget + 1) / 2);
    n += run_wheel(e, budget - n);
    return n + migrate_some(e, budget - n);
}

/* ---- lifecycle ----------------------------------------------------- */

static int conf_check(const hs_engine_conf *c)
{
    if (c->window_ms < 1000 || c->min_fraction < 0 || c->min_fraction > 1 ||
        c->ipv6_prefix_len < HS_V6_PREFIX_MIN ||
        c->ipv6_prefix_len > HS_V6_PREFIX_MAX || c->max_subscribers < 1 ||
        c->max_subscribers >= HS_SUB_NONE || c->sweep_budget < 1)
        return -EINVAL;
    for (size_t i = 0; i < c->n_subscriber_prefixes; i++) {
        const hs_cidr *p = &c->subscriber_prefixes[i];
        if ((p->addr.af != HS_AF_V4 && p->addr.af != HS_AF_V6) ||
            p->len > (p->addr.af == HS_AF_V4 ? 32 : 128))
            return -EINVAL;
    }
    return 0;
}

int hs_engine_new(const hs_engine_conf *conf, const hs_sigset *s,
                  hs_event_fn fn, void *ctx, hs_engine **out)
{
    int rc = conf_check(conf);
    if (rc < 0 || !fn)
        return -EINVAL;
    hs_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->conf = *conf;
    e->fn = fn;
    e->ctx = ctx;
    hs_pool_init(&e->ev_pool, sizeof(hs_evidence));
    hs_pool_init(&e->held_pool, sizeof(uint32_t));
    size_t np = conf->n_subscriber_prefixes;
    e->prefixes = malloc((np ? np : 1) * sizeof(*e->prefixes));
    e->subs = hs_subtable_new();
    if (!e->prefixes || !e->subs || sig_view_init(&e->sv, s, conf) < 0 ||
        alloc_seen(e, e->sv.max_sig_domains) < 0) {
        hs_engine_free(e);
        return -ENOMEM;
    }
    if (np)
        memcpy(e->prefixes, conf->subscriber_prefixes, np * sizeof(*e->prefixes));
    e->conf.subscriber_prefixes = e->prefixes;
    e->mconf = (hs_match_conf){.ipv6_prefix_len = conf->ipv6_prefix_len,
                               .subscriber_prefixes = e->prefixes,
                               .n_subscriber_prefixes = np};
    *out = e;
    return 0;
}

void hs_engine_free(hs_engine *e)
{
    if (!e)
        return;
    migration_end(e);
    hs_subtable_free(e->subs);
    hs_pool_fini(&e->ev_pool);
    hs_pool_fini(&e->held_pool);
    sig_view_fini(&e->sv);
    free(e->prefixes);
    free(e->seen);
    free(e);
}

const hs_match_conf *hs_engine_match_conf(const hs_engine *e)
{
    return &e->mconf;
}

const hs_sigset *hs_engine_sigset(const hs_engine *e)
{
    return e->sv.set;
}

uint64_t hs_engine_bucket_ms(const hs_engine *e)
{
    return e->sv.width_ms;
}

void hs_engine_get_counters(const hs_engine *e, hs_engine_counters *c)
{
    *c = e->c;
    c->subscribers = hs_subtable_count(e->subs);
    c->watermark_ms = e->wm_ms;
    c->bytes_subscribers = hs_subtable_bytes(e->subs);
    c->bytes_evidence = hs_pool_bytes(&e->ev_pool) +
                        hs_pool_bytes(&e->held_pool);
    c->bytes = c->bytes_subscribers + c->bytes_evidence;
}

int hs_engine_foreach(hs_engine *e,
                      int (*fn)(void *ctx, const hs_sub_view *v), void *ctx)
{
    migrate_some(e, SIZE_MAX);
    for (uint32_t i = 0; i < hs_subtable_count(e->subs); i++) {
        const hs_sub *r = hs_subtable_at(e->subs, i);
        hs_sub_view v = {.clock = r->clock,
                         .evidence = sub_ev(e, r),
                         .n_evidence = r->n_ev,
                         .detected = sub_held(e, r),
                         .n_detected = r->n_held};
        hs_subtable_subscriber(e->subs, i, &v.subscriber);
        int rc = fn(ctx, &v);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- restoring saved state ----------------------------------------- */

/* A key the engine itself could have made under its configuration. */
static bool key_valid(const hs_engine *e, const hs_subscriber *s)
{
    if (s->af == HS_AF_V4)
        return s->plen == 32 && s->key <= UINT32_MAX;
    if (s->af != HS_AF_V6 || s->plen != e->conf.ipv6_prefix_len)
        return false;
    return s->plen == 64 || (s->key & (UINT64_MAX >> s->plen)) == 0;
}

static bool view_in_range(const hs_engine *e, const hs_sub_view *v)
{
    uint32_t nd = hs_sigset_n_domains(e->sv.set);
    uint32_t ns = hs_sigset_n_sigs(e->sv.set);
    if (v->n_evidence > UINT16_MAX || v->n_detected > UINT16_MAX)
        return false;
    for (uint32_t i = 0; i < v->n_evidence; i++)
        if (v->evidence[i].domain >= nd)
            return false;
    for (uint32_t i = 0; i < v->n_detected; i++)
        if (v->detected[i] >= ns)
            return false;
    return true;
}

static int by_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Fills a fresh record's lists from v: sorted, re-bucketed, no repeats. */
static int restore_lists(hs_engine *e, uint32_t idx, const hs_sub_view *v,
                         uint32_t old_clock, uint64_t old_w)
{
    hs_sub *r = hs_subtable_at(e->subs, idx);
    if (list_fit(&e->ev_pool, &r->ev, 0, v->n_evidence) < 0 ||
        list_fit(&e->held_pool, &r->held, 0, v->n_detected) < 0)
        return -ENOMEM;
    r->n_ev = (uint16_t)v->n_evidence;
    r->n_held = (uint16_t)v->n_detected;
    hs_evidence *ev = sub_ev(e, r);
    uint32_t *held = sub_held(e, r);
    for (uint32_t i = 0; i < r->n_ev; i++) {
        ev[i] = v->evidence[i];
        if (old_w != e->sv.width_ms)
            rebucket(&ev[i], old_clock, old_w, r->clock, e->sv.width_ms);
    }
    if (r->n_ev > 0)
        qsort(ev, r->n_ev, sizeof(*ev), by_domain);
    if (r->n_held > 0) {
        memcpy(held, v->detected, r->n_held * sizeof(*held));
        qsort(held, r->n_held, sizeof(*held), by_u32);
    }
    for (uint32_t i = 1; i < r->n_ev; i++)
        if (ev[i].domain == ev[i - 1].domain)
            return -EINVAL;
    for (uint32_t i = 1; i < r->n_held; i++)
        if (held[i] == held[i - 1])
            return -EINVAL;
    return 0;
}

int hs_engine_restore(hs_engine *e, const hs_sub_view *v, uint64_t bucket_ms)
{
    uint64_t clock_ms;
    if (!key_valid(e, &v->subscriber) || bucket_ms == 0 ||
        __builtin_mul_overflow((uint64_t)v->clock, bucket_ms, &clock_ms) ||
        clock_ms > e->wm_ms || !view_in_range(e, v))
        return -EINVAL;
    if (hs_subtable_find(e->subs, &v->subscriber) != HS_SUB_NONE)
        return -EEXIST;
    if (hs_subtable_count(e->subs) >= e->conf.max_subscribers)
        return -ENOSPC;
    uint32_t idx;
    if (hs_subtable_add(e->subs, &v->subscriber, &idx) < 0)
        return -ENOMEM;
    hs_sub *r = hs_subtable_at(e->subs, idx);
    r->clock = (uint32_t)(clock_ms / e->sv.width_ms);
    r->gen = e->gen;
    int rc = restore_lists(e, idx, v, v->clock, bucket_ms);
    r = hs_subtable_at(e->subs, idx);
    if (rc < 0) {
        list_fit(&e->ev_pool, &r->ev, r->n_ev, 0);
        list_fit(&e->held_pool, &r->held, r->n_held, 0);
        hs_subtable_remove(e->subs, idx);
        return rc;
    }
    e->c.entries += r->n_ev;
    e->c.detected += r->n_held;
    /* Judged as a record moved to a new sigset is: lapses in event time
     * first, then the current rules. Aging also drops entries without a
     * hit in their windows, which a saved record may hold. */
    expire_lapsed(e, idx);
    age_entries(e, idx);
    reevaluate(e, idx);
    r = hs_subtable_at(e->subs, idx);
    if (r->n_ev == 0 && r->n_held == 0)
        sub_remove(e, idx);
    else
        reschedule(e, idx);
    return 0;
}
