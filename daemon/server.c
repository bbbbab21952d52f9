/*
 * server.c - the daemon's main loop: signals for reload and shutdown,
 * metrics, the Redis publisher, the state file, and the workers
 * (workers.h) that receive, decode and detect on their own threads.
 *
 * The main loop never touches a datagram: it hands the workers their
 * configuration and signature stage and takes their events. Reload
 * (SIGHUP) parses the new configuration and signatures in a thread of its
 * own at low priority and hands them to the workers, which move over one
 * by one; sockets stay bound and keep receiving meanwhile, so nothing that
 * arrives during a reload is lost.
 */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "collector.h"
#include "detector.h"
#include "log.h"
#include "metrics.h"
#include "privileges.h"
#include "promtext.h"
#include "publisher.h"
#include "sdnotify.h"
#include "workers.h"

#define HS_FLUSH_MS 1000

struct hs_server {
    uv_loop_t loop;
    hs_server_opts opts;
    hs_conf *conf;
    hs_collector_conf cconf;
    hs_detector_stage *stage;       /* signatures the workers use */
    hs_detector_stage *old_stage;   /* ... until all have left it */
    hs_workers *workers;
    hs_publisher *publisher;        /* NULL: [redis] url empty */
    uv_thread_t reload_thread;
    uv_async_t reload_done;         /* the reload thread has finished */
    bool reloading, reload_again;
    bool parsing;                   /* reload_thread is running */
    hs_conf *staged_conf;           /* filled by the reload thread */
    hs_detector_stage *staged_sigs;
    char reload_err[1024];
    hs_conf *bound;             /* the configuration the sockets follow */
    hs_metrics *metrics;
    uv_timer_t flush;           /* stdout, for events written there */
    uv_timer_t watchdog;        /* systemd WatchdogSec= pings */
    uv_signal_t sigterm, sigint, sighup;
    uint64_t reloads, reload_failures;
    bool stopping;
};

/* ---- outputs ------------------------------------------------------------ */

static void on_event(void *ctx, const char *subscriber, const char *signature,
                     bool detected, const char *json, size_t len)
{
    hs_server *s = ctx;
    if (s->conf->output.to_stdout) { /* one line, whoever else writes (-F) */
        flockfile(stdout);
        fwrite(json, 1, len, stdout);
        fputc('\n', stdout);
        funlockfile(stdout);
    }
    if (s->publisher)
        hs_publisher_publish(s->publisher, subscriber, signature, detected,
                             json, len);
}

static void on_flush(uv_timer_t *t)
{
    (void)t;
    fflush(stdout);
}

static void publisher_closed(void *ctx)
{
    (void)ctx;
}

static void close_publisher(hs_server *s)
{
    if (s->publisher)
        hs_publisher_close(s->publisher, publisher_closed, s);
    s->publisher = NULL;
}

static int open_publisher(hs_server *s, const hs_conf *conf, char *err,
                          size_t errlen)
{
    if (!conf->redis.url)
        return 0;
    hs_publisher_conf pc;
    hs_publisher_conf_from(conf, &pc);
    return hs_publisher_new(&s->loop, &pc, &s->publisher, err, errlen);
}

static void discard_reload(hs_server *s);

static void close_all(hs_server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    hs_workers_stop(s->workers); /* their last events are published */
    hs_metrics_close(s->metrics);
    s->metrics = NULL;
    close_publisher(s); /* delivers what is queued first, briefly */
    discard_reload(s);
    uv_close((uv_handle_t *)&s->reload_done, NULL);
    uv_close((uv_handle_t *)&s->flush, NULL);
    uv_close((uv_handle_t *)&s->watchdog, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sighup, NULL);
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    hs_server *s = h->data;
    hs_log(HS_LOG_INFO, "%s: stopping", strsignal(signum));
    hs_sd_notify("STOPPING=1");
    close_all(s);
}

static void reload(hs_server *s);

/*
 * The reload thread runs at nice 19: when it has to share a core with a
 * worker (a pinned daemon, a busy host), the worker keeps the core and the
 * reload waits, rather than datagrams overflowing the socket buffer. Not
 * SCHED_IDLE: that also yields to every other process of the host, and on
 * a busy one a reload could wait for minutes.
 */
static void lower_priority(void)
{
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19) < 0)
        hs_log(HS_LOG_WARNING, "reload: cannot lower the reload thread's "
               "priority (%s); it competes with the workers for the cores",
               strerror(errno));
}

/* Reload thread: everything slow (file reads, parsing) happens here. */
static void reload_parse(void *arg)
{
    hs_server *s = arg;
    lower_priority();
    s->staged_conf = NULL;
    s->staged_sigs = NULL;
    if (hs_conf_load(s->opts.conf_path, &s->staged_conf, s->reload_err,
                     sizeof(s->reload_err)) == 0 &&
        hs_detector_stage_new(s->staged_conf, &s->staged_sigs, s->reload_err,
                              sizeof(s->reload_err)) < 0) {
        hs_conf_free(s->staged_conf);
        s->staged_conf = NULL;
    }
    uv_async_send(&s->reload_done); /* done, whether it worked or not */
}

static void reload_fail(hs_server *s, const char *why)
{
    s->reload_failures++;
    hs_log(HS_LOG_ERROR, "reload failed, keeping the running configuration: %s", why);
    hs_sd_notifyf("READY=1\nSTATUS=reload refused: %s", why);
}

/* Every worker has left the previous signatures. */
static void on_committed(void *ctx)
{
    hs_server *s = ctx;
    hs_detector_stage_free(s->old_stage);
    s->old_stage = NULL;
    s->reloading = false;
    s->reloads++;
    hs_log(HS_LOG_INFO, "reloaded %s and %s", s->opts.conf_path,
           s->conf->signatures.file);
    hs_sd_notifyf("READY=1\nSTATUS=reloaded %s", s->conf->signatures.file);
    if (s->reload_again) {
        s->reload_again = false;
        reload(s);
    }
}

/* What the new configuration changes besides the signatures. */
static void apply_conf(hs_server *s, hs_conf *next)
{
    if (hs_conf_listen_changed(s->bound, next))
        hs_log(HS_LOG_WARNING, "reload: listen addresses differ from the bound "
                               "sockets; a restart is needed to rebind, keeping them");
    unsigned diff = hs_conf_diff(s->conf, next);
    if (diff & HS_CONF_DIFF_DETECT)
        hs_log(HS_LOG_WARNING, "reload: [detect] changes take effect at the next "
                               "restart (the evidence is kept as it was counted)");
    if (diff & HS_CONF_DIFF_REDIS) {
        char err[256];
        close_publisher(s);
        if (open_publisher(s, next, err, sizeof(err)) < 0)
            hs_log(HS_LOG_ERROR, "reload: redis: %s; events are not published", err);
    }
    hs_conf_collector(next, &s->cconf);
    hs_workers_set_collector_conf(s->workers, &s->cconf);
    if (s->conf != s->bound)
        hs_conf_free(s->conf);
    s->conf = next;
}

/* Loop thread: hand the workers what the reload thread prepared; the
 * reload ends when they have all moved (on_committed). */
static void reload_apply(uv_async_t *h)
{
    hs_server *s = h->data;
    if (!s->parsing)
        return;
    uv_thread_join(&s->reload_thread);
    s->parsing = false;
    bool ok = s->staged_conf != NULL;
    if (ok && hs_detector_stage_follow(s->staged_sigs, s->stage) < 0) {
        snprintf(s->reload_err, sizeof(s->reload_err), "out of memory");
        ok = false;
    }
    if (ok) {
        apply_conf(s, s->staged_conf);
        s->old_stage = s->stage;
        s->stage = s->staged_sigs;
        hs_workers_commit(s->workers, s->stage);
        return;
    }
    s->reloading = false;
    reload_fail(s, s->reload_err);
    hs_detector_stage_free(s->staged_sigs);
    hs_conf_free(s->staged_conf);
}

/* Stopping: a reload under way is waited for (the workers have stopped,
 * so it has the cores) and dropped. */
static void discard_reload(hs_server *s)
{
    if (!s->parsing)
        return;
    uv_thread_join(&s->reload_thread);
    s->parsing = false;
    s->reloading = false;
    hs_detector_stage_free(s->staged_sigs);
    hs_conf_free(s->staged_conf);
}

static void reload(hs_server *s)
{
    if (s->reloading) {
        s->reload_again = true; /* once more when this one is done */
        return;
    }
    s->reloading = true;
    hs_sd_notify_reloading();
    int rc = uv_thread_create(&s->reload_thread, reload_parse, s);
    s->parsing = rc == 0;
    if (rc < 0) {
        s->reloading = false;
        reload_fail(s, uv_strerror(rc));
    }
}

static void on_hup(uv_signal_t *h, int signum)
{
    (void)signum;
    reload(h->data);
}

static void render_metrics(void *ctx, hs_textbuf *o)
{
    hs_server *s = ctx;
    hs_workers_render_metrics(s->workers, o);
    if (s->publisher) {
        hs_publisher_stats st;
        hs_publisher_get_stats(s->publisher, &st);
        hs_prom_publisher(o, &st);
    }
    hs_prom_value(o, "haystack_reloads_total", "counter",
                  "Successful reloads (SIGHUP).", (double)s->reloads);
    hs_prom_value(o, "haystack_reload_failures_total", "counter",
                  "Reloads refused; the running configuration was kept.",
                  (double)s->reload_failures);
}

static int open_metrics(hs_server *s, char *err, size_t errlen)
{
    if (!s->conf->metrics.enabled)
        return 0;
    int rc = hs_metrics_open(&s->loop, &s->conf->metrics.listen, render_metrics,
                             s, &s->metrics, err, errlen);
    if (rc == 0) {
        char a[64];
        hs_log(HS_LOG_INFO, "metrics on http://%s/metrics",
               hs_hostport_format(&s->conf->metrics.listen, a, sizeof(a)));
    }
    return rc;
}

static int open_workers(hs_server *s, char *err, size_t errlen)
{
    const hs_conf *c = s->conf;
    unsigned n = c->collector.workers ? c->collector.workers
                                      : uv_available_parallelism();
    hs_workers_opts wo = {.count = n, .dump_flows = s->opts.dump_flows};
    hs_workers_hooks hooks = {on_event, on_committed, s};
    int rc = hs_workers_new(&s->loop, c, &s->cconf, s->stage, &wo, &hooks,
                            &s->workers, err, errlen);
    if (rc == 0)
        hs_log(HS_LOG_INFO, "%u worker%s", n, n == 1 ? "" : "s");
    return rc;
}

/* Proof of life for systemd: a loop stuck anywhere stops these pings, and
 * systemd restarts the service (WatchdogSec=, Restart=on-failure). */
static void on_watchdog(uv_timer_t *t)
{
    (void)t;
    hs_sd_notify("WATCHDOG=1");
}

static void start_watchdog(hs_server *s)
{
    uv_timer_init(&s->loop, &s->watchdog);
    uint64_t usec = hs_sd_watchdog_usec();
    uint64_t ms = usec / 2000 > 0 ? usec / 2000 : 1; /* half the interval */
    if (usec > 0)
        uv_timer_start(&s->watchdog, on_watchdog, ms, ms);
}

static void start_handles(hs_server *s)
{
    uv_async_init(&s->loop, &s->reload_done, reload_apply);
    s->reload_done.data = s;
    uv_timer_init(&s->loop, &s->flush);
    uv_timer_start(&s->flush, on_flush, HS_FLUSH_MS, HS_FLUSH_MS);
    start_watchdog(s);
    uv_signal_t *sigs[] = {&s->sigterm, &s->sigint, &s->sighup};
    int nums[] = {SIGTERM, SIGINT, SIGHUP};
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&s->loop, sigs[i]);
        sigs[i]->data = s;
        uv_signal_start(sigs[i], nums[i] == SIGHUP ? on_hup : on_stop_signal,
                        nums[i]);
    }
}

/* ---- state file -------------------------------------------------------- */

static double ms_since(uint64_t t0_ns)
{
    return (double)(uv_hrtime() - t0_ns) / 1e6;
}

/*
 * A state file that cannot be used does not keep the daemon from
 * starting: flow records not collected are lost for good, while evidence
 * builds up again. A refused file is moved aside (FILE.refused) so that
 * the save at shutdown does not destroy what an operator may want back.
 */
static void restore_state(hs_server *s, const char *path)
{
    char err[1024];
    hs_state_stats st;
    uint64_t t0 = uv_hrtime();
    if (hs_state_check_writable(path, err, sizeof(err)) < 0)
        hs_log(HS_LOG_WARNING, "%s: the state cannot be saved there", err);
    int rc = hs_workers_restore(s->workers, path, &st, err, sizeof(err));
    if (rc == 0 && st.missing) {
        hs_log(HS_LOG_INFO, "%s: no state file yet, starting without evidence",
               path);
        return;
    }
    if (rc == 0) {
        hs_log(HS_LOG_INFO, "%s: restored %llu subscribers (%llu evidence entries, "
               "%llu detections) in %.1f ms", path,
               (unsigned long long)st.subscribers, (unsigned long long)st.entries,
               (unsigned long long)st.detected, ms_since(t0));
        if (st.dropped_entries + st.dropped_detected + st.dropped_cap +
            st.dropped_invalid > 0)
            hs_log(HS_LOG_WARNING, "%s: left out %llu evidence entries and %llu "
                   "detections (not in the signature file), %llu subscribers "
                   "(over max_subscribers), %llu invalid", path,
                   (unsigned long long)st.dropped_entries,
                   (unsigned long long)st.dropped_detected,
                   (unsigned long long)st.dropped_cap,
                   (unsigned long long)st.dropped_invalid);
        return;
    }
    hs_log(HS_LOG_ERROR, "%s; starting without evidence", err);
    char aside[4096];
    if ((rc == -EINVAL || rc == -ENOTSUP) &&
        (size_t)snprintf(aside, sizeof(aside), "%s.refused", path) < sizeof(aside)) {
        if (rename(path, aside) == 0)
            hs_log(HS_LOG_WARNING, "%s: moved to %s", path, aside);
        else
            hs_log(HS_LOG_ERROR, "%s: cannot move it to %s: %s", path, aside,
                   strerror(errno));
    }
}

/* Returns the exit code: a state that could not be saved is a failure. */
static int save_state(hs_server *s)
{
    const char *path = s->conf->state.file;
    if (!path || !*path)
        return 0;
    char err[1024];
    hs_state_stats st;
    uint64_t t0 = uv_hrtime();
    if (hs_workers_save(s->workers, path, &st, err, sizeof(err)) < 0) {
        hs_log(HS_LOG_ERROR, "%s", err);
        return 1;
    }
    hs_log(HS_LOG_INFO, "%s: saved %llu subscribers (%llu evidence entries, %llu "
           "detections, %llu bytes) in %.1f ms", path,
           (unsigned long long)st.subscribers, (unsigned long long)st.entries,
           (unsigned long long)st.detected, (unsigned long long)st.bytes,
           ms_since(t0));
    return 0;
}

int hs_server_new(hs_conf *conf, const hs_server_opts *opts, hs_server **out,
                  char *err, size_t errlen)
{
    hs_server *s = calloc(1, sizeof(*s));
    if (!s) {
        hs_conf_free(conf);
        return -ENOMEM;
    }
    s->opts = *opts;
    s->conf = s->bound = conf;
    uv_loop_init(&s->loop);
    hs_conf_collector(conf, &s->cconf);
    int rc = open_publisher(s, conf, err, errlen);
    if (rc == 0)
        rc = hs_detector_stage_new(conf, &s->stage, err, errlen);
    if (rc == 0)
        rc = open_workers(s, err, errlen);
    if (rc == 0)
        rc = open_metrics(s, err, errlen);
    /* everything privileged is done: bound sockets (ports below 1024) */
    if (rc == 0 && opts->user)
        rc = hs_privileges_drop(opts->user, err, errlen);
    /* as the final user, so the file it saves at exit is its own; datagrams
     * arriving meanwhile wait in the socket buffers */
    if (rc == 0 && conf->state.file && *conf->state.file)
        restore_state(s, conf->state.file);
    if (rc == 0 && (rc = hs_workers_start(s->workers)) < 0)
        snprintf(err, errlen, "cannot start the workers: %s", uv_strerror(rc));
    start_handles(s);
    if (rc < 0) {
        hs_server_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Type=notify: the sockets are bound and the loop starts right after. */
static void notify_ready(hs_server *s)
{
    char where[256] = "";
    size_t len = 0;
    size_t n = hs_workers_n_listen(s->workers);
    for (size_t i = 0; i < n && len < sizeof(where); i++)
        len += (size_t)snprintf(where + len, sizeof(where) - len, "%s%s",
                                i ? ", " : "", hs_workers_listen_name(s->workers, i));
    hs_sd_notifyf("READY=1\nSTATUS=collecting on %s", where);
}

int hs_server_run(hs_server *s)
{
    notify_ready(s);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    /* The sockets are closed and every datagram received is processed. */
    int rc = save_state(s);
    fflush(stdout);
    return rc;
}

void hs_server_free(hs_server *s)
{
    if (!s)
        return;
    close_all(s);
    hs_workers_free(s->workers);
    uv_run(&s->loop, UV_RUN_DEFAULT); /* let the close callbacks run */
    uv_loop_close(&s->loop);
    hs_detector_stage_free(s->stage);
    hs_detector_stage_free(s->old_stage);
    if (s->conf != s->bound)
        hs_conf_free(s->conf);
    hs_conf_free(s->bound);
    free(s);
}
