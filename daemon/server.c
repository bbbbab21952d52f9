/*
 * server.c - the daemon's event loop: sockets in, flow records through the
 * sinks, timers for lifetimes, signals for reload and shutdown.
 *
 * Everything runs on one libuv loop so the receive path never takes a
 * lock: a datagram is decoded inside its receive callback, and the records
 * go straight to the detector. Reload (SIGHUP) parses the new configuration
 * and signatures in a libuv worker thread and swaps them in on the loop;
 * sockets stay bound and keep receiving meanwhile, so nothing that arrives
 * during a reload is lost.
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
#include "flowdump.h"
#include "log.h"
#include "metrics.h"
#include "privileges.h"
#include "promtext.h"
#include "publisher.h"
#include "sdnotify.h"
#include "udp.h"

#define HS_TICK_MS 1000

struct hs_server {
    uv_loop_t loop;
    hs_server_opts opts;
    hs_conf *conf;
    hs_collector_conf cconf;
    hs_collector *collector;
    hs_detector *detector;
    hs_publisher *publisher;        /* NULL: [redis] url empty */
    uv_work_t reload_work;
    bool reloading, reload_again;
    hs_conf *staged_conf;           /* filled by the reload worker */
    hs_detector_stage *staged_sigs;
    char reload_err[1024];
    hs_udp **udp;
    size_t n_udp;
    hs_conf *bound;             /* the configuration the sockets follow */
    hs_metrics *metrics;
    uv_timer_t tick;
    uv_timer_t sweep;           /* [detect] expire_interval */
    uv_timer_t watchdog;        /* systemd WatchdogSec= pings */
    uv_signal_t sigterm, sigint, sighup;
    hs_ip cur_exporter;         /* -F: source of the datagram being decoded */
    uint64_t reloads, reload_failures;
    bool stopping;
};

/* ---- receive path -------------------------------------------------------- */

static void on_flows(void *ctx, const hs_flow *flows, size_t n)
{
    hs_server *s = ctx;
    hs_detector_flows(s->detector, flows, n);
    if (s->opts.dump_flows) {
        for (size_t i = 0; i < n; i++)
            hs_flowdump_write(stdout, &s->cur_exporter, &flows[i]);
        fflush(stdout); /* a debugging aid: show records as they come */
    }
}

static void on_datagram(void *ctx, const struct sockaddr *src, uint8_t *buf,
                        size_t len)
{
    hs_server *s = ctx;
    if (s->opts.dump_flows) { /* -F names each record's exporter */
        uint16_t port;
        hs_ip_from_sockaddr(src, &s->cur_exporter, &port);
    }
    hs_collector_input(s->collector, src, buf, len, uv_now(&s->loop));
}

/* ---- lifecycle --------------------------------------------------------- */

/* ---- outputs ------------------------------------------------------------ */

static void on_detection(void *ctx, const hs_detection *d)
{
    hs_server *s = ctx;
    if (s->conf->output.to_stdout) {
        fwrite(d->json, 1, d->json_len, stdout);
        fputc('\n', stdout);
    }
    if (s->publisher)
        hs_publisher_publish(s->publisher, d->subscriber, d->signature,
                             d->event->type == HS_EVENT_DETECTED, d->json,
                             d->json_len);
}

static void on_tick(uv_timer_t *t)
{
    hs_server *s = t->data;
    hs_collector_expire(s->collector, uv_now(&s->loop));
    fflush(stdout);
}

static void on_sweep(uv_timer_t *t)
{
    hs_server *s = t->data;
    hs_detector_tick(s->detector);
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

static void close_all(hs_server *s)
{
    if (s->stopping)
        return;
    s->stopping = true;
    for (size_t i = 0; i < s->n_udp; i++)
        hs_udp_close(s->udp[i]);
    s->n_udp = 0;
    hs_metrics_close(s->metrics);
    s->metrics = NULL;
    close_publisher(s); /* delivers what is queued first, briefly */
    uv_close((uv_handle_t *)&s->tick, NULL);
    uv_close((uv_handle_t *)&s->sweep, NULL);
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

/* Worker thread: everything slow (file reads, parsing) happens here, at
 * the lowest priority: when it has to share a core with the receive loop
 * (a pinned daemon, a busy host), the loop keeps the core and the reload
 * waits, rather than datagrams overflowing the socket buffer. */
static void reload_parse(uv_work_t *w)
{
    hs_server *s = w->data;
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    s->staged_conf = NULL;
    s->staged_sigs = NULL;
    if (hs_conf_load(s->opts.conf_path, &s->staged_conf, s->reload_err,
                     sizeof(s->reload_err)) < 0)
        return;
    if (hs_detector_stage_new(s->staged_conf, &s->staged_sigs, s->reload_err,
                              sizeof(s->reload_err)) < 0) {
        hs_conf_free(s->staged_conf);
        s->staged_conf = NULL;
    }
}

static void reload_fail(hs_server *s, const char *why)
{
    s->reload_failures++;
    hs_log(HS_LOG_ERROR, "reload failed, keeping the running configuration: %s", why);
    hs_sd_notifyf("READY=1\nSTATUS=reload refused: %s", why);
}

/* Loop thread: switch to what the worker prepared. */
static void reload_apply(uv_work_t *w, int status)
{
    hs_server *s = w->data;
    s->reloading = false;
    if (s->stopping || status < 0 || !s->staged_conf) {
        if (!s->stopping)
            reload_fail(s, status < 0 ? uv_strerror(status) : s->reload_err);
        hs_detector_stage_free(s->staged_sigs);
        hs_conf_free(s->staged_conf);
        return;
    }
    hs_conf *next = s->staged_conf;
    if (hs_detector_commit(s->detector, s->staged_sigs) < 0) {
        hs_conf_free(next);
        reload_fail(s, "out of memory swapping the signatures");
        return;
    }
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
    hs_collector_set_conf(s->collector, &s->cconf);
    uv_timer_set_repeat(&s->sweep, next->detect.expire_interval_ms);
    if (s->conf != s->bound)
        hs_conf_free(s->conf);
    s->conf = next;
    s->reloads++;
    hs_log(HS_LOG_INFO, "reloaded %s and %s", s->opts.conf_path, next->signatures.file);
    hs_sd_notifyf("READY=1\nSTATUS=reloaded %s", next->signatures.file);
    if (s->reload_again) {
        s->reload_again = false;
        reload(s);
    }
}

static void reload(hs_server *s)
{
    if (s->reloading) {
        s->reload_again = true; /* once more when this one is done */
        return;
    }
    s->reloading = true;
    hs_sd_notify_reloading();
    s->reload_work.data = s;
    int rc = uv_queue_work(&s->loop, &s->reload_work, reload_parse, reload_apply);
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

static void render_sockets(hs_server *s, hs_textbuf *o)
{
    const char *name = "haystack_socket_kernel_drops_total";
    hs_prom_header(o, name, "counter",
                   "Datagrams the kernel dropped on the socket (receive buffer full).");
    for (size_t i = 0; i < s->n_udp; i++)
        hs_textbuf_printf(o, "%s{listen=\"%s\"} %llu\n", name, hs_udp_name(s->udp[i]),
                          (unsigned long long)hs_udp_kernel_drops(s->udp[i]));
    name = "haystack_socket_rcvbuf_bytes";
    hs_prom_header(o, name, "gauge", "Receive buffer the kernel granted.");
    for (size_t i = 0; i < s->n_udp; i++)
        hs_textbuf_printf(o, "%s{listen=\"%s\"} %llu\n", name, hs_udp_name(s->udp[i]),
                          (unsigned long long)hs_udp_rcvbuf(s->udp[i]));
}

static void render_metrics(void *ctx, hs_textbuf *o)
{
    hs_server *s = ctx;
    hs_prom_collector(o, s->collector);
    hs_detector_render_metrics(s->detector, o);
    if (s->publisher) {
        hs_publisher_stats st;
        hs_publisher_get_stats(s->publisher, &st);
        hs_prom_publisher(o, &st);
    }
    render_sockets(s, o);
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

static int open_listeners(hs_server *s, char *err, size_t errlen)
{
    const hs_conf *c = s->conf;
    if (c->collector.workers != 1)
        hs_log(HS_LOG_INFO, "workers = %u: this version receives and detects "
               "on one thread", (unsigned)c->collector.workers);
    s->udp = calloc(c->collector.n_listen, sizeof(*s->udp));
    if (!s->udp)
        return -ENOMEM;
    for (size_t i = 0; i < c->collector.n_listen; i++) {
        const hs_hostport *hp = &c->collector.listen[i];
        int rc = hs_udp_open(&s->loop, &hp->ip, hp->port, c->collector.rcvbuf,
                             0, on_datagram, s, &s->udp[s->n_udp], err, errlen);
        if (rc < 0)
            return rc;
        hs_udp *u = s->udp[s->n_udp++];
        hs_log(HS_LOG_INFO, "listening on %s (receive buffer %llu bytes)",
               hs_udp_name(u), (unsigned long long)hs_udp_rcvbuf(u));
        if (hs_udp_rcvbuf(u) < c->collector.rcvbuf)
            hs_log(HS_LOG_WARNING, "%s: receive buffer capped by the kernel "
                                   "(raise net.core.rmem_max)", hs_udp_name(u));
    }
    return 0;
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
    uv_timer_init(&s->loop, &s->tick);
    s->tick.data = s;
    uv_timer_start(&s->tick, on_tick, HS_TICK_MS, HS_TICK_MS);
    uint64_t every = s->conf->detect.expire_interval_ms;
    uv_timer_init(&s->loop, &s->sweep);
    s->sweep.data = s;
    uv_timer_start(&s->sweep, on_sweep, every, every);
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
    int rc = hs_detector_restore(s->detector, path, &st, err, sizeof(err));
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
    if (hs_detector_save(s->detector, path, &st, err, sizeof(err)) < 0) {
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
        rc = hs_detector_new(conf, on_detection, s, &s->detector, err, errlen);
    if (rc == 0) {
        s->collector = hs_collector_new(&s->cconf, (hs_flow_sink){on_flows, s});
        rc = s->collector ? open_listeners(s, err, errlen) : -ENOMEM;
    }
    if (rc == 0)
        rc = open_metrics(s, err, errlen);
    /* everything privileged is done: bound sockets (ports below 1024) */
    if (rc == 0 && opts->user)
        rc = hs_privileges_drop(opts->user, err, errlen);
    /* as the final user, so the file it saves at exit is its own; datagrams
     * arriving meanwhile wait in the socket buffers */
    if (rc == 0 && conf->state.file && *conf->state.file)
        restore_state(s, conf->state.file);
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
    for (size_t i = 0; i < s->n_udp && len < sizeof(where); i++)
        len += (size_t)snprintf(where + len, sizeof(where) - len, "%s%s",
                                i ? ", " : "", hs_udp_name(s->udp[i]));
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
    uv_run(&s->loop, UV_RUN_DEFAULT); /* let the close callbacks run */
    uv_loop_close(&s->loop);
    hs_collector_free(s->collector);
    hs_detector_free(s->detector);
    if (s->conf != s->bound)
        hs_conf_free(s->conf);
    hs_conf_free(s->bound);
    free(s->udp);
    free(s);
}
