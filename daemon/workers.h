/*
 * workers.h - the receive-and-detect threads ([collector] workers).
 *
 * Each worker is a thread with its own libuv loop, its own sockets (with
 * SO_REUSEPORT the kernel spreads exporters over them, and one exporter's
 * datagrams always reach the same worker, so its templates stay in one
 * collector), its own collector (libfixbuf is not thread-safe) and one
 * shard of the detection engine. Subscribers are split between the shards
 * by hs_subscriber_shard: a worker matches the flows it decodes and sends
 * each hit to the shard that owns the subscriber through a lock-free queue,
 * so evidence from two exporters that see one subscriber meets in one
 * window. Events go to the main loop, which publishes them.
 *
 * The main loop keeps signals, reloads, metrics and Redis; it talks to the
 * workers only through this interface.
 */
#ifndef HS_WORKERS_H
#define HS_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "collector.h"
#include "conf.h"
#include "detector.h"
#include "textbuf.h"

/* Called on the main loop. */
typedef struct hs_workers_hooks {
    /* One event, formatted by the worker that owns the subscriber. */
    void (*on_event)(void *ctx, const char *subscriber, const char *signature,
                     bool detected, const char *json, size_t len);
    /* Every worker has moved to the stage given to hs_workers_commit: the
     * previous one is no longer used. */
    void (*on_committed)(void *ctx);
    void *ctx;
} hs_workers_hooks;

typedef struct hs_workers_opts {
    unsigned count;             /* workers; >= 1 */
    bool dump_flows;            /* -F: every flow record as JSON on stdout */
} hs_workers_opts;

typedef struct hs_workers hs_workers;

/*
 * Creates the workers (threads not started yet): binds every listen
 * address of conf once per worker, and a collector and detector shard for
 * each over stage (not owned). Returns 0 or -errno with a message in err.
 */
int hs_workers_new(uv_loop_t *main_loop, const hs_conf *conf,
                   const hs_collector_conf *cconf,
                   const hs_detector_stage *stage, const hs_workers_opts *opts,
                   const hs_workers_hooks *hooks, hs_workers **out, char *err,
                   size_t errlen);

/* Before start: state file into the shards; see hs_detector_restore. */
int hs_workers_restore(hs_workers *ws, const char *path, hs_state_stats *st,
                       char *err, size_t errlen);

/* Starts the threads. Returns 0 or -errno (no thread left running). */
int hs_workers_start(hs_workers *ws);

/* Closes the sockets, lets every worker finish what it received, and joins
 * the threads; hits still queued between workers are recorded and the last
 * events delivered. Closes the main-loop handle too, so the main loop can
 * end. */
void hs_workers_stop(hs_workers *ws);

/* After stop: the shards' evidence to the state file. */
int hs_workers_save(hs_workers *ws, const char *path, hs_state_stats *st,
                    char *err, size_t errlen);

/* Stops (if not yet) and frees everything once the main loop has closed
 * its handle (run the main loop after this call). */
void hs_workers_free(hs_workers *ws);

/* Reload: moves every worker to next (a successor of the current stage,
 * see hs_detector_stage_follow; it must outlive the workers or the next
 * commit). hooks->on_committed says when all have moved. */
void hs_workers_commit(hs_workers *ws, const hs_detector_stage *next);

/* Reload: the sampling overrides, default and exporter ACL (copied; the
 * arrays it points to must outlive the next call). */
void hs_workers_set_collector_conf(hs_workers *ws, const hs_collector_conf *c);

/* Sockets bound ("listen" names, one per address, for READY). */
size_t hs_workers_n_listen(const hs_workers *ws);
const char *hs_workers_listen_name(const hs_workers *ws, size_t i);

/* Collector, engine, socket and worker counters, summed over the workers. */
void hs_workers_render_metrics(hs_workers *ws, hs_textbuf *o);

#endif
