/*
 * collector.c - exporter sessions by source, and the dispatch of datagrams
 * by version.
 *
 * Sessions live in a hash table keyed by (address, port) and on an LRU
 * list. At max_exporters a new source takes the place of the least recently
 * heard one only if that one has been silent for HS_EXPORTER_EVICT_IDLE_MS;
 * otherwise the new source is refused and counted. So a flood of spoofed
 * sources costs bounded memory (each session is ~70 KiB, mostly libfixbuf's
 * buffer) and cannot push out exporters that are sending.
 * Counters of evicted sessions are folded into a "retired" total so the
 * collector-wide numbers never go backwards.
 */
#include "collector.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "exporter.h"
#include "netflow9.h"
#include "wire.h"

#define HS_BATCH 64
#define HS_EXPORTER_EVICT_IDLE_MS 60000

struct hs_collector {
    hs_collector_conf conf;
    fbInfoModel_t *model;
    hs_decode_env env;
    hs_flow batch[HS_BATCH];
    uint8_t v9buf[HS_MAX_MSG + 1];
    hs_exporter **buckets;
    uint32_t n_buckets;
    hs_exporter *lru_head, *lru_tail; /* most / least recently heard */
    uint32_t n_exporters, next_id;
    hs_exporter_stats retired;
    uint64_t created, evicted, expired;
    hs_drop last_refusal;
};

void hs_collector_conf_init(hs_collector_conf *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->default_sampling = 1;
    conf->max_exporters = 4096;
    conf->max_templates = 1024;
    conf->max_domains = 64;
    conf->template_timeout_ms = 30 * 60 * 1000;
    conf->exporter_timeout_ms = 60 * 60 * 1000;
}

hs_collector *hs_collector_new(const hs_collector_conf *conf, hs_flow_sink sink)
{
    hs_collector *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->conf = *conf;
    if (c->conf.max_exporters == 0)
        c->conf.max_exporters = 1;
    c->n_buckets = 16;
    while (c->n_buckets < c->conf.max_exporters && c->n_buckets < (1u << 20))
        c->n_buckets <<= 1;
    c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
    c->model = fbInfoModelAlloc();
    if (!c->buckets || !c->model) {
        hs_collector_free(c);
        return NULL;
    }
    c->env = (hs_decode_env){c->model, fbInfoModelCountElements(c->model),
                             &c->conf, sink, c->batch, HS_BATCH};
    return c;
}

/* ---- statistics ---------------------------------------------------------- */

static void stats_add(hs_exporter_stats *sum, const hs_exporter_stats *s)
{
    const uint64_t *src = (const uint64_t *)s;
    uint64_t *dst = (uint64_t *)sum;
    for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
        dst[i] += src[i];
}

static void exporter_stats(const hs_exporter *e, hs_exporter_stats *st)
{
    *st = e->st;
    st->templates = e->n_tmpls;
}

void hs_collector_get_stats(const hs_collector *c, hs_collector_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->total = c->retired;
    for (const hs_exporter *e = c->lru_head; e; e = e->lru_next) {
        hs_exporter_stats es;
        exporter_stats(e, &es);
        stats_add(&st->total, &es);
    }
    st->exporters = c->n_exporters;
    st->exporters_created = c->created;
    st->exporters_evicted = c->evicted;
    st->exporters_expired = c->expired;
}

void hs_collector_stats_add(hs_collector_stats *sum, const hs_collector_stats *st)
{
    stats_add(&sum->total, &st->total);
    sum->exporters += st->exporters;
    sum->exporters_created += st->exporters_created;
    sum->exporters_evicted += st->exporters_evicted;
    sum->exporters_expired += st->exporters_expired;
}

void hs_collector_foreach_exporter(const hs_collector *c,
                                   hs_exporter_visit_fn fn, void *ctx)
{
    for (const hs_exporter *e = c->lru_head; e; e = e->lru_next) {
        hs_exporter_stats es;
        exporter_stats(e, &es);
        fn(ctx, &e->ip, e->port, e->id, &es);
    }
}

/* ---- exporter table ------------------------------------------------------ */

static uint32_t source_hash(const hs_ip *ip, uint16_t port)
{
    const uint8_t *p = (const uint8_t *)ip;
    uint32_t h = 2166136261u ^ port;
    for (size_t i = 0; i < sizeof(*ip); i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static hs_exporter **bucket_of(hs_collector *c, const hs_ip *ip, uint16_t port)
{
    return &c->buckets[source_hash(ip, port) & (c->n_buckets - 1)];
}

static void lru_unlink(hs_collector *c, hs_exporter *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(hs_collector *c, hs_exporter *e)
{
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static void exporter_remove(hs_collector *c, hs_exporter *e)
{
    for (hs_exporter **pp = bucket_of(c, &e->ip, e->port); *pp;
         pp = &(*pp)->hash_next) {
        if (*pp == e) {
            *pp = e->hash_next;
            break;
        }
    }
    lru_unlink(c, e);
    hs_exporter_stats es;
    exporter_stats(e, &es);
    es.templates = 0; /* a gauge: gone with the session */
    stats_add(&c->retired, &es);
    hs_exporter_free(e);
    c->n_exporters--;
}

/* A datagram with no session to count it on: counted collector-wide. */
static hs_exporter *refuse(hs_collector *c, hs_drop reason)
{
    c->retired.datagrams++;
    c->retired.drops[reason]++;
    c->retired.decode_errors++;
    c->last_refusal = reason;
    return NULL;
}

static hs_exporter *exporter_get(hs_collector *c, const hs_ip *ip,
                                 uint16_t port, uint64_t now_ms)
{
    hs_exporter **b = bucket_of(c, ip, port);
    hs_exporter *e = *b;
    while (e && (e->port != port || memcmp(&e->ip, ip, sizeof(*ip)) != 0))
        e = e->hash_next;
    if (!e) {
        if (c->n_exporters >= c->conf.max_exporters) {
            if (c->lru_tail->last_seen_ms + HS_EXPORTER_EVICT_IDLE_MS > now_ms)
                return refuse(c, HS_DROP_EXPORTER_LIMIT);
            exporter_remove(c, c->lru_tail);
            c->evicted++;
        }
        e = hs_exporter_new(&c->env, ip, port, ++c->next_id);
        if (!e)
            return refuse(c, HS_DROP_NO_MEMORY);
        e->hash_next = *b;
        *b = e;
        c->n_exporters++;
        c->created++;
    } else {
        lru_unlink(c, e);
    }
    lru_push_front(c, e);
    e->last_seen_ms = now_ms;
    return e;
}

/* ---- input ------------------------------------------------------------- */

/* [collector] exporters: checked before any parsing or session. */
static bool source_allowed(const hs_collector *c, const hs_ip *ip)
{
    if (c->conf.n_allowed == 0)
        return true;
    for (size_t i = 0; i < c->conf.n_allowed; i++)
        if (hs_cidr_contains(&c->conf.allowed[i], ip))
            return true;
    return false;
}

int hs_collector_input(hs_collector *c, const struct sockaddr *src,
                       uint8_t *msg, size_t len, uint64_t now_ms)
{
    hs_ip ip;
    uint16_t port;
    hs_ip_from_sockaddr(src, &ip, &port);
    if (!source_allowed(c, &ip)) {
        refuse(c, HS_DROP_NOT_ALLOWED);
        return -HS_DROP_NOT_ALLOWED;
    }
    hs_exporter *e = exporter_get(c, &ip, port, now_ms);
    if (!e)
        return -(int)c->last_refusal;
    e->st.datagrams++;
    uint16_t version = len >= 2 ? hs_rd16(msg) : 0;
    if (version == HS_V9_VERSION) {
        hs_v9_header v9;
        int n = hs_v9_to_ipfix(msg, len, c->v9buf, sizeof(c->v9buf), &v9);
        e->st.bad_templates += v9.bad_templates;
        if (n < 0) {
            e->st.drops[-n]++;
            e->st.decode_errors++;
            return n;
        }
        hs_msg_clock clock = {.sys_uptime_ms = v9.sys_uptime_ms, .has_uptime = 1};
        return hs_exporter_decode(e, c->v9buf, (size_t)n, &clock, &v9.sequence,
                                  now_ms);
    }
    if (version == HS_IPFIX_VERSION)
        return hs_exporter_decode(e, msg, len, NULL, NULL, now_ms);
    hs_drop reason = len < 2 ? HS_DROP_TRUNCATED : HS_DROP_BAD_VERSION;
    e->st.drops[reason]++;
    e->st.decode_errors++;
    return -(int)reason;
}

void hs_collector_expire(hs_collector *c, uint64_t now_ms)
{
    while (c->lru_tail &&
           c->lru_tail->last_seen_ms + c->conf.exporter_timeout_ms <= now_ms) {
        exporter_remove(c, c->lru_tail);
        c->expired++;
    }
    for (hs_exporter *e = c->lru_head; e; e = e->lru_next)
        hs_exporter_expire(e, now_ms, c->conf.template_timeout_ms);
}

void hs_collector_set_conf(hs_collector *c, const hs_collector_conf *conf)
{
    c->conf.default_sampling = conf->default_sampling;
    c->conf.overrides = conf->overrides;
    c->conf.n_overrides = conf->n_overrides;
    c->conf.template_timeout_ms = conf->template_timeout_ms;
    c->conf.exporter_timeout_ms = conf->exporter_timeout_ms;
    c->conf.allowed = conf->allowed;
    c->conf.n_allowed = conf->n_allowed;
    for (hs_exporter *e = c->lru_head; e; e = e->lru_next)
        hs_exporter_apply_conf(e);
}

void hs_collector_free(hs_collector *c)
{
    if (!c)
        return;
    while (c->lru_head)
        exporter_remove(c, c->lru_head);
    if (c->model)
        fbInfoModelFree(c->model);
    free(c->buckets);
    free(c);
}
