/*
 * workers.c - the receive-and-detect threads (see workers.h).
 *
 * A worker runs everything of its own on its own loop: receive, decode,
 * match, and the evidence of its shard. What crosses threads is small and
 * one-way: hits through the per-pair queues (hitq.h), events to the main
 * loop through a mutex-guarded list (events are rare next to records), a
 * new signature stage from the main loop through `pending`. Each worker
 * holds its own mutex while it works on something, which costs one
 * uncontended lock per datagram and lets the main loop read consistent
 * counters (metrics) or swap the collector configuration by taking it.
 *
 * Reload across threads: a hit's domain index is only meaningful in the
 * stage it was matched with, and workers move to a new stage one at a time.
 * So every hit carries its stage generation; a worker that receives a hit
 * of the next generation moves first (the main loop sets every worker's
 * `pending` before waking any), and one of the previous generation is
 * mapped by domain name (hs_detector_apply). The main loop frees the old
 * stage once every worker has moved.
 */
#include "workers.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowdump.h"
#include "hitq.h"
#include "log.h"
#include "promtext.h"
#include "udp.h"
#include "wake.h"

#define HS_TICK_MS 1000
#define HS_OUTBOX_HITS 256        /* hits gathered per destination */
#define HS_DRAIN_BATCHES 64       /* per inbound queue per wake-up */
#define HS_EVENTS_MAX 65536       /* events waiting for the main loop */
#define HS_QUEUE_BUDGET 65536     /* hits queued towards one worker */
#define HS_QUEUE_MIN 1024

typedef struct outbox {
    hs_hit hits[HS_OUTBOX_HITS];
    size_t n;
    bool wake;                    /* pushed to since the last wake-up */
} outbox;

typedef struct worker {
    hs_workers *ws;
    unsigned idx;
    uv_loop_t loop;
    uv_thread_t thread;
    bool inited, started;
    pthread_mutex_t lock;         /* held while the worker works */
    hs_wake wake;                 /* inbound hits, reload, stop */
    uv_timer_t tick, sweep;
    hs_udp **udp;                 /* one per listen address */
    hs_collector *collector;
    hs_collector_conf cconf;
    hs_detector *detector;
    const hs_detector_stage *stage, *pending;
    hs_hitq **inbox;              /* [producer]; NULL for itself */
    outbox *out;                  /* [consumer] */
    hs_ip cur_exporter;           /* -F */
    uint64_t datagrams, hits_forwarded, hits_dropped;
    hs_ratelimit rl;
} worker;

typedef struct ev_msg {
    struct ev_msg *next;
    bool detected;
    size_t len;
    const char *sub, *sig;
    char json[];                  /* then sub and sig, NUL-terminated */
} ev_msg;

struct hs_workers {
    uv_loop_t *main_loop;
    hs_wake main_wake;            /* events and reload progress */
    hs_workers_hooks hooks;
    hs_workers_opts opts;
    uint64_t sweep_ms;
    worker *w;
    unsigned n;
    size_t n_listen;
    struct listen_info {          /* what worker 0's sockets got */
        char name[64];
        uint64_t rcvbuf;
    } *listen;
    _Atomic uint64_t watermark;   /* latest event time of any shard */
    _Atomic bool stopping;
    bool closed, free_asked;      /* main_wake closed; free when it is */
    _Atomic unsigned moved;       /* workers on `committing` */
    const hs_detector_stage *committing;
    pthread_mutex_t ev_lock;
    ev_msg *ev_head, **ev_tail;
    size_t ev_n;
    uint64_t ev_dropped;
};

/* ---- hits between workers ------------------------------------------------ */

static void flush_to(worker *w, unsigned to)
{
    outbox *o = &w->out[to];
    uint32_t gen = hs_detector_gen(w->detector);
    if (to == w->idx) {
        hs_detector_apply(w->detector, o->hits, o->n, gen);
    } else {
        size_t sent = hs_hitq_push(w->ws->w[to].inbox[w->idx], o->hits, o->n, gen);
        w->hits_forwarded += sent;
        w->hits_dropped += o->n - sent;
        if (sent < o->n)
            hs_log_rl(&w->rl, HS_LOG_WARNING, "worker %u: queue to worker %u "
                      "full, hits dropped (counted)", w->idx, to);
        o->wake = true;
    }
    o->n = 0;
}

/* After each batch of datagrams: nothing waits in an outbox while the
 * loop polls, and the hits of a batch (tens) reach the engine together,
 * whose prefetching (hs_engine_apply) then has misses to overlap. */
static void flush_all(worker *w)
{
    for (unsigned to = 0; to < w->ws->n; to++) {
        outbox *o = &w->out[to];
        if (o->n)
            flush_to(w, to);
        if (o->wake) {
            o->wake = false;
            hs_wake_send(&w->ws->w[to].wake);
        }
    }
}

static void route(worker *w, const hs_hit *hits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned to = hs_subscriber_shard(&hits[i].sub, w->ws->n);
        outbox *o = &w->out[to];
        o->hits[o->n++] = hits[i];
        if (o->n == HS_OUTBOX_HITS)
            flush_to(w, to);
    }
}

static void on_flows(void *ctx, const hs_flow *flows, size_t n)
{
    worker *w = ctx;
    hs_hit hits[HS_MATCH_MAX_HITS];
    for (size_t i = 0; i < n; i++) {
        if (w->ws->opts.dump_flows)
            hs_flowdump_write(stdout, &w->cur_exporter, &flows[i]);
        route(w, hits, hs_detector_match(w->detector, &flows[i], hits,
                                         HS_MATCH_MAX_HITS));
    }
}

static void on_datagram(void *ctx, const struct sockaddr *src, uint8_t *buf,
                        size_t len)
{
    worker *w = ctx;
    pthread_mutex_lock(&w->lock);
    if (!src) {
        flush_all(w);
        pthread_mutex_unlock(&w->lock);
        return;
    }
    if (w->ws->opts.dump_flows) { /* -F names each record's exporter */
        uint16_t port;
        hs_ip_from_sockaddr(src, &w->cur_exporter, &port);
    }
    w->datagrams++;
    hs_collector_input(w->collector, src, buf, len, uv_now(&w->loop));
    pthread_mutex_unlock(&w->lock);
}

/* ---- reload ---------------------------------------------------------------- */

static void move_to_pending(worker *w)
{
    if (!w->pending)
        return;
    int rc = hs_detector_commit(w->detector, w->pending);
    if (rc < 0) { /* tried again at the next wake-up */
        hs_log_rl(&w->rl, HS_LOG_ERROR, "worker %u: reload: %s", w->idx,
                  strerror(-rc));
        return;
    }
    w->stage = w->pending;
    w->pending = NULL;
    atomic_fetch_add(&w->ws->moved, 1);
    hs_wake_send(&w->ws->main_wake);
}

/* Records what other workers sent; returns whether more may be waiting. */
static bool drain(worker *w)
{
    hs_hit hits[HS_OUTBOX_HITS];
    bool more = false;
    for (unsigned from = 0; from < w->ws->n; from++) {
        if (!w->inbox[from])
            continue;
        int batches = 0;
        uint32_t gen;
        size_t n;
        while (batches < HS_DRAIN_BATCHES &&
               (n = hs_hitq_pop(w->inbox[from], hits, HS_OUTBOX_HITS, &gen)) > 0) {
            if (gen > hs_detector_gen(w->detector))
                move_to_pending(w);
            hs_detector_apply(w->detector, hits, n, gen);
            batches++;
        }
        more |= batches == HS_DRAIN_BATCHES;
    }
    return more;
}

/* ---- worker loop ------------------------------------------------------------ */

/* Under w->lock: the main loop may be reading the sockets' counters. */
static void close_worker_handles(worker *w)
{
    for (size_t i = 0; w->udp && i < w->ws->n_listen; i++) {
        if (w->udp[i])
            hs_udp_close(w->udp[i]);
        w->udp[i] = NULL;
    }
    uv_close((uv_handle_t *)&w->tick, NULL);
    uv_close((uv_handle_t *)&w->sweep, NULL);
    if (w->wake.open)
        hs_wake_close(&w->wake, NULL);
}

static void on_wake(hs_wake *h)
{
    worker *w = h->data;
    pthread_mutex_lock(&w->lock);
    move_to_pending(w);
    bool more = drain(w);
    bool stopping = atomic_load(&w->ws->stopping);
    if (stopping)
        close_worker_handles(w);
    pthread_mutex_unlock(&w->lock);
    if (more && !stopping)
        hs_wake_send(&w->wake); /* after the sockets had their turn */
}

static void on_tick(uv_timer_t *t)
{
    worker *w = t->data;
    pthread_mutex_lock(&w->lock);
    hs_collector_expire(w->collector, uv_now(&w->loop));
    pthread_mutex_unlock(&w->lock);
    if (w->ws->opts.dump_flows)
        fflush(stdout);
}

static void raise_watermark(hs_workers *ws, uint64_t t)
{
    uint64_t cur = atomic_load(&ws->watermark);
    while (t > cur && !atomic_compare_exchange_weak(&ws->watermark, &cur, t))
        ;
}

/* Every shard ages to the latest event time any shard has seen, as one
 * engine would. */
static void on_sweep(uv_timer_t *t)
{
    worker *w = t->data;
    pthread_mutex_lock(&w->lock);
    raise_watermark(w->ws, hs_detector_watermark(w->detector));
    hs_detector_tick(w->detector, atomic_load(&w->ws->watermark));
    pthread_mutex_unlock(&w->lock);
}

static void worker_main(void *arg)
{
    worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* ---- events to the main loop ------------------------------------------------ */

static void on_detection(void *ctx, const hs_detection *d)
{
    worker *w = ctx;
    hs_workers *ws = w->ws;
    size_t ls = strlen(d->subscriber) + 1, lg = strlen(d->signature) + 1;
    ev_msg *m = malloc(sizeof(*m) + d->json_len + 1 + ls + lg);
    pthread_mutex_lock(&ws->ev_lock);
    if (!m || ws->ev_n >= HS_EVENTS_MAX) {
        ws->ev_dropped++;
        pthread_mutex_unlock(&ws->ev_lock);
        free(m);
        return;
    }
    m->next = NULL;
    m->detected = d->event->type == HS_EVENT_DETECTED;
    m->len = d->json_len;
    memcpy(m->json, d->json, d->json_len);
    m->json[d->json_len] = '\0';
    m->sub = memcpy(m->json + d->json_len + 1, d->subscriber, ls);
    m->sig = memcpy(m->json + d->json_len + 1 + ls, d->signature, lg);
    *ws->ev_tail = m;
    ws->ev_tail = &m->next;
    ws->ev_n++;
    pthread_mutex_unlock(&ws->ev_lock);
    hs_wake_send(&ws->main_wake);
}

static void deliver_events(hs_workers *ws)
{
    pthread_mutex_lock(&ws->ev_lock);
    ev_msg *m = ws->ev_head;
    ws->ev_head = NULL;
    ws->ev_tail = &ws->ev_head;
    ws->ev_n = 0;
    pthread_mutex_unlock(&ws->ev_lock);
    while (m) {
        ev_msg *next = m->next;
        ws->hooks.on_event(ws->hooks.ctx, m->sub, m->sig, m->detected, m->json,
                           m->len);
        free(m);
        m = next;
    }
}

static void on_main_wake(hs_wake *h)
{
    hs_workers *ws = h->data;
    deliver_events(ws);
    if (ws->committing && atomic_load(&ws->moved) == ws->n) {
        ws->committing = NULL;
        ws->hooks.on_committed(ws->hooks.ctx);
    }
}

/* ---- setup ------------------------------------------------------------------ */

static size_t queue_capacity(unsigned n)
{
    size_t per = HS_QUEUE_BUDGET / (n > 1 ? n - 1 : 1);
    return per < HS_QUEUE_MIN ? HS_QUEUE_MIN : per;
}

static void log_socket(const hs_udp *u, uint64_t asked, unsigned workers)
{
    hs_log(HS_LOG_INFO, "listening on %s (receive buffer %llu bytes%s)",
           hs_udp_name(u), (unsigned long long)hs_udp_rcvbuf(u),
           workers > 1 ? " per worker" : "");
    if (hs_udp_rcvbuf(u) < asked)
        hs_log(HS_LOG_WARNING, "%s: receive buffer capped by the kernel "
                               "(raise net.core.rmem_max)", hs_udp_name(u));
}

static int open_sockets(worker *w, const hs_conf *conf, char *err, size_t errlen)
{
    size_t n = conf->collector.n_listen;
    w->udp = calloc(n ? n : 1, sizeof(*w->udp));
    if (!w->udp)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const hs_hostport *hp = &conf->collector.listen[i];
        int rc = hs_udp_open(&w->loop, &hp->ip, hp->port, conf->collector.rcvbuf,
                             w->ws->n > 1, on_datagram, w, &w->udp[i], err,
                             errlen);
        if (rc < 0)
            return rc;
        if (w->idx == 0) {
            log_socket(w->udp[i], conf->collector.rcvbuf, w->ws->n);
            snprintf(w->ws->listen[i].name, sizeof(w->ws->listen[i].name), "%s",
                     hs_udp_name(w->udp[i]));
            w->ws->listen[i].rcvbuf = hs_udp_rcvbuf(w->udp[i]);
        }
    }
    return 0;
}

static int init_queues(worker *w)
{
    hs_workers *ws = w->ws;
    w->inbox = calloc(ws->n, sizeof(*w->inbox));
    w->out = calloc(ws->n, sizeof(*w->out));
    if (!w->inbox || !w->out)
        return -ENOMEM;
    for (unsigned from = 0; from < ws->n; from++)
        if (from != w->idx && !(w->inbox[from] = hs_hitq_new(queue_capacity(ws->n))))
            return -ENOMEM;
    return 0;
}

/* Caps hold for the whole daemon: each worker gets its share. */
static uint32_t share(uint32_t cap, unsigned n)
{
    return (uint32_t)(((uint64_t)cap + n - 1) / n);
}

static void set_cconf(worker *w, const hs_collector_conf *c)
{
    w->cconf = *c;
    w->cconf.max_exporters = share(c->max_exporters, w->ws->n);
}

static int init_worker(worker *w, const hs_conf *conf,
                       const hs_collector_conf *cconf,
                       const hs_detector_stage *stage, char *err, size_t errlen)
{
    uv_loop_init(&w->loop);
    pthread_mutex_init(&w->lock, NULL);
    w->inited = true;
    w->stage = stage;
    set_cconf(w, cconf);
    uv_timer_init(&w->loop, &w->tick);
    uv_timer_init(&w->loop, &w->sweep);
    w->tick.data = w->sweep.data = w;
    uv_timer_start(&w->tick, on_tick, HS_TICK_MS, HS_TICK_MS);
    uv_timer_start(&w->sweep, on_sweep, w->ws->sweep_ms, w->ws->sweep_ms);
    int rc = hs_wake_init(&w->loop, &w->wake, on_wake, w);
    if (rc < 0)
        snprintf(err, errlen, "worker wake-up: %s", uv_strerror(rc));
    if (rc == 0)
        rc = init_queues(w);
    if (rc == 0)
        rc = hs_detector_new(conf, stage, w->ws->n, on_detection, w,
                             &w->detector, err, errlen);
    if (rc == 0) {
        w->collector = hs_collector_new(&w->cconf, (hs_flow_sink){on_flows, w});
        rc = w->collector ? open_sockets(w, conf, err, errlen) : -ENOMEM;
    }
    if (rc == -ENOMEM && !*err)
        snprintf(err, errlen, "out of memory");
    return rc;
}

int hs_workers_new(uv_loop_t *main_loop, const hs_conf *conf,
                   const hs_collector_conf *cconf,
                   const hs_detector_stage *stage, const hs_workers_opts *opts,
                   const hs_workers_hooks *hooks, hs_workers **out, char *err,
                   size_t errlen)
{
    hs_workers *ws = calloc(1, sizeof(*ws));
    if (!ws || !(ws->w = calloc(opts->count, sizeof(*ws->w))) ||
        !(ws->listen = calloc(conf->collector.n_listen + 1, sizeof(*ws->listen)))) {
        if (ws)
            free(ws->w);
        free(ws);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    *err = '\0';
    ws->main_loop = main_loop;
    ws->hooks = *hooks;
    ws->opts = *opts;
    ws->n = opts->count;
    ws->n_listen = conf->collector.n_listen;
    ws->sweep_ms = conf->detect.expire_interval_ms;
    ws->ev_tail = &ws->ev_head;
    pthread_mutex_init(&ws->ev_lock, NULL);
    *out = ws;
    int rc = hs_wake_init(main_loop, &ws->main_wake, on_main_wake, ws);
    if (rc < 0) {
        snprintf(err, errlen, "main loop wake-up: %s", uv_strerror(rc));
        return rc; /* the caller frees what was made */
    }
    for (unsigned i = 0; i < ws->n; i++) {
        ws->w[i].ws = ws;
        ws->w[i].idx = i;
    }
    for (unsigned i = 0; i < ws->n; i++) {
        rc = init_worker(&ws->w[i], conf, cconf, stage, err, errlen);
        if (rc < 0)
            return rc; /* the caller frees what was made */
    }
    return 0;
}

/* ---- lifecycle ------------------------------------------------------------- */

static void on_main_wake_closed(hs_wake *h);

static void stop_unstarted(worker *w)
{
    close_worker_handles(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

int hs_workers_start(hs_workers *ws)
{
    for (unsigned i = 0; i < ws->n; i++) {
        int rc = uv_thread_create(&ws->w[i].thread, worker_main, &ws->w[i]);
        if (rc < 0) {
            hs_workers_stop(ws);
            return rc;
        }
        ws->w[i].started = true;
    }
    return 0;
}

void hs_workers_stop(hs_workers *ws)
{
    if (!ws || atomic_exchange(&ws->stopping, true))
        return;
    for (unsigned i = 0; i < ws->n; i++)
        if (ws->w[i].started)
            hs_wake_send(&ws->w[i].wake);
    for (unsigned i = 0; i < ws->n; i++) {
        worker *w = &ws->w[i];
        if (w->started)
            uv_thread_join(&w->thread);
        else if (w->inited) /* never ran: close here */
            stop_unstarted(w);
        w->started = false;
    }
    /* the threads are gone: what they queued for each other is recorded
     * here, so a save after this has every hit */
    for (unsigned i = 0; i < ws->n; i++)
        while (ws->w[i].detector && drain(&ws->w[i]))
            ;
    deliver_events(ws);
    if (ws->main_wake.open)
        hs_wake_close(&ws->main_wake, on_main_wake_closed);
    else
        ws->closed = true;
}

/* hs_detector_save or hs_detector_restore over every worker's shard. */
typedef int (*shards_fn)(hs_detector *const *d, size_t n, const char *path,
                         hs_state_stats *st, char *err, size_t errlen);

static int on_shards(hs_workers *ws, shards_fn fn, const char *path,
                     hs_state_stats *st, char *err, size_t errlen)
{
    hs_detector **d = malloc(ws->n * sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < ws->n; i++)
        d[i] = ws->w[i].detector;
    int rc = fn(d, ws->n, path, st, err, errlen);
    free(d);
    return rc;
}

int hs_workers_restore(hs_workers *ws, const char *path, hs_state_stats *st,
                       char *err, size_t errlen)
{
    int rc = on_shards(ws, hs_detector_restore, path, st, err, errlen);
    if (rc == 0 && !st->missing)
        atomic_store(&ws->watermark, st->watermark_ms);
    return rc;
}

int hs_workers_save(hs_workers *ws, const char *path, hs_state_stats *st,
                    char *err, size_t errlen)
{
    return on_shards(ws, hs_detector_save, path, st, err, errlen);
}

static void free_worker(worker *w, unsigned n)
{
    if (!w->inited)
        return;
    uv_loop_close(&w->loop);
    hs_collector_free(w->collector);
    hs_detector_free(w->detector);
    for (unsigned i = 0; w->inbox && i < n; i++)
        hs_hitq_free(w->inbox[i]);
    free(w->inbox);
    free(w->out);
    free(w->udp);
    pthread_mutex_destroy(&w->lock);
}

static void free_all(hs_workers *ws)
{
    for (unsigned i = 0; i < ws->n; i++)
        free_worker(&ws->w[i], ws->n);
    pthread_mutex_destroy(&ws->ev_lock);
    free(ws->listen);
    free(ws->w);
    free(ws);
}

static void on_main_wake_closed(hs_wake *h)
{
    hs_workers *ws = h->data;
    ws->closed = true;
    if (ws->free_asked)
        free_all(ws);
}

void hs_workers_free(hs_workers *ws)
{
    if (!ws)
        return;
    hs_workers_stop(ws);
    if (ws->closed)
        free_all(ws);
    else
        ws->free_asked = true; /* when the main loop has closed the handle */
}

/* ---- reload ------------------------------------------------------------------ */

void hs_workers_commit(hs_workers *ws, const hs_detector_stage *next)
{
    atomic_store(&ws->moved, 0);
    ws->committing = next;
    for (unsigned i = 0; i < ws->n; i++) { /* all before any moves */
        pthread_mutex_lock(&ws->w[i].lock);
        ws->w[i].pending = next;
        pthread_mutex_unlock(&ws->w[i].lock);
    }
    for (unsigned i = 0; i < ws->n; i++)
        hs_wake_send(&ws->w[i].wake);
}

void hs_workers_set_collector_conf(hs_workers *ws, const hs_collector_conf *c)
{
    for (unsigned i = 0; i < ws->n; i++) {
        worker *w = &ws->w[i];
        pthread_mutex_lock(&w->lock);
        set_cconf(w, c);
        hs_collector_set_conf(w->collector, &w->cconf);
        pthread_mutex_unlock(&w->lock);
    }
}

/* ---- introspection ------------------------------------------------------------ */

size_t hs_workers_n_listen(const hs_workers *ws)
{
    return ws->n_listen;
}

const char *hs_workers_listen_name(const hs_workers *ws, size_t i)
{
    return ws->listen[i].name;
}

static void render_sockets(hs_workers *ws, hs_textbuf *o)
{
    const char *name = "haystack_socket_kernel_drops_total";
    hs_prom_header(o, name, "counter",
                   "Datagrams the kernel dropped on the sockets (receive buffer full).");
    for (size_t i = 0; i < ws->n_listen; i++) {
        uint64_t drops = 0;
        for (unsigned k = 0; k < ws->n; k++)
            if (ws->w[k].udp[i])
                drops += hs_udp_kernel_drops(ws->w[k].udp[i]);
        hs_textbuf_printf(o, "%s{listen=\"%s\"} %llu\n", name, ws->listen[i].name,
                          (unsigned long long)drops);
    }
    name = "haystack_socket_rcvbuf_bytes";
    hs_prom_header(o, name, "gauge", "Receive buffer the kernel granted each socket.");
    for (size_t i = 0; i < ws->n_listen; i++)
        hs_textbuf_printf(o, "%s{listen=\"%s\"} %llu\n", name, ws->listen[i].name,
                          (unsigned long long)ws->listen[i].rcvbuf);
}

static void render_per_worker(hs_workers *ws, hs_textbuf *o)
{
    static const struct {
        const char *name, *help;
        size_t offset;
    } fam[] = {
        {"haystack_worker_datagrams_total", "Datagrams received, by worker.",
         offsetof(worker, datagrams)},
        {"haystack_worker_hits_forwarded_total",
         "Hits sent to the worker that owns their subscriber.",
         offsetof(worker, hits_forwarded)},
        {"haystack_worker_hits_dropped_total",
         "Hits dropped: the queue to their owner was full.",
         offsetof(worker, hits_dropped)},
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        hs_prom_header(o, fam[f].name, "counter", fam[f].help);
        for (unsigned i = 0; i < ws->n; i++) {
            uint64_t v = *(const uint64_t *)((const char *)&ws->w[i] + fam[f].offset);
            hs_textbuf_printf(o, "%s{worker=\"%u\"} %llu\n", fam[f].name, i,
                              (unsigned long long)v);
        }
    }
}

void hs_workers_render_metrics(hs_workers *ws, hs_textbuf *o)
{
    hs_collector **c = malloc(ws->n * sizeof(*c));
    hs_detector **d = malloc(ws->n * sizeof(*d));
    if (!c || !d) {
        free(c);
        free(d);
        return;
    }
    for (unsigned i = 0; i < ws->n; i++) {
        pthread_mutex_lock(&ws->w[i].lock);
        c[i] = ws->w[i].collector;
        d[i] = ws->w[i].detector;
    }
    hs_prom_value(o, "haystack_workers", "gauge", "Receive-and-detect threads.", ws->n);
    hs_prom_collector(o, c, ws->n);
    hs_detector_render_metrics(d, ws->n, o);
    render_sockets(ws, o);
    render_per_worker(ws, o);
    for (unsigned i = 0; i < ws->n; i++)
        pthread_mutex_unlock(&ws->w[i].lock);
    pthread_mutex_lock(&ws->ev_lock);
    uint64_t dropped = ws->ev_dropped;
    pthread_mutex_unlock(&ws->ev_lock);
    hs_prom_value(o, "haystack_events_dropped_total", "counter",
                  "Events dropped: over 65536 waiting for the main loop.",
                  (double)dropped);
    free(c);
    free(d);
}
