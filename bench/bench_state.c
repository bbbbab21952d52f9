/*
 * bench_state.c - what the state file costs at shutdown and start: the
 * engine filled with subscribers (three grouped domains each, a third of
 * them detected), saved with hs_state_save, restored into a fresh engine
 * with hs_state_restore. Prints wall time, the file size and rates.
 *
 *   build/bench/bench_state [subscribers] [file]
 *
 * Bounded: 1 M subscribers (the default) take about 100 MB of file and a
 * few seconds; at most 20 M are accepted. The file (default
 * /tmp/bench_state.bin) is removed at the end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "state.h"

#define T0 1795687200000ull          /* 2026-11-26T10:00:00Z */
#define SUB_BASE 0x64000000u         /* subscribers from 100.0.0.0 */
#define DOMAINS 200
#define SIGS 20
#define MAX_SUBS 20000000ull

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* DOMAINS domains on 11.0.x.y, SIGS signatures of ten domains each,
 * detected at two domains. */
static hs_sigset *make_sigset(void)
{
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    len += (size_t)snprintf(buf + len, cap - len, "{\"version\":1,\"domains\":[");
    for (int d = 0; d < DOMAINS; d++)
        len += (size_t)snprintf(buf + len, cap - len,
                                "%s{\"name\":\"d%d.example\",\"endpoints\":"
                                "[{\"prefix\":\"11.0.%d.%d\"}]}", d ? "," : "",
                                d, d / 250, d % 250 + 1);
    len += (size_t)snprintf(buf + len, cap - len, "],\"signatures\":[");
    for (int s = 0; s < SIGS; s++) {
        len += (size_t)snprintf(buf + len, cap - len,
                                "%s{\"id\":\"sig%d\",\"level\":\"product\","
                                "\"rule\":{\"min_domains\":2},\"domains\":[",
                                s ? "," : "", s);
        for (int k = 0; k < 10; k++)
            len += (size_t)snprintf(buf + len, cap - len, "%s\"d%d.example\"",
                                    k ? "," : "", s * 10 + k);
        len += (size_t)snprintf(buf + len, cap - len, "]}");
    }
    len += (size_t)snprintf(buf + len, cap - len, "]}");
    hs_sigset *set = NULL;
    char err[256];
    if (hs_sigset_load_buf("bench", buf, len, &set, err, sizeof(err)) < 0)
        fprintf(stderr, "sigset: %s\n", err);
    free(buf);
    return set;
}

static void count_event(void *ctx, const hs_event *ev)
{
    (void)ev;
    (*(uint64_t *)ctx)++;
}

/* Three hits per subscriber; every third one hits two domains of one
 * signature and is detected. */
static void fill(hs_engine *e, uint64_t n)
{
    hs_hit hits[3];
    for (uint64_t i = 0; i < n; i++) {
        uint32_t sig = (uint32_t)(i % SIGS);
        for (int k = 0; k < 3; k++) {
            hits[k].sub = (hs_subscriber){.key = SUB_BASE + i, .af = HS_AF_V4,
                                          .plen = 32};
            hits[k].time_ms = T0 + i % 3600000;
        }
        hits[0].domain = sig * 10;
        hits[1].domain = i % 3 == 0 ? sig * 10 + 1 : (sig * 10 + 50) % DOMAINS;
        hits[2].domain = (uint32_t)((i * 7 + 3) % DOMAINS);
        hs_engine_apply(e, hits, 3);
    }
}

static hs_engine *engine(const hs_sigset *set, uint64_t *events)
{
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    c.max_subscribers = MAX_SUBS;
    hs_engine *e = NULL;
    if (hs_engine_new(&c, set, count_event, events, &e) < 0)
        return NULL;
    return e;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    const char *path = argc > 2 ? argv[2] : "/tmp/bench_state.bin";
    if (n == 0 || n > MAX_SUBS) {
        fprintf(stderr, "subscribers: 1 to %llu\n", MAX_SUBS);
        return 1;
    }
    hs_sigset *set = make_sigset();
    uint64_t ev_a = 0, ev_b = 0;
    hs_engine *a = set ? engine(set, &ev_a) : NULL;
    hs_engine *b = set ? engine(set, &ev_b) : NULL;
    if (!a || !b)
        return 1;
    fill(a, n);
    hs_engine_counters c;
    hs_engine_get_counters(a, &c);
    printf("state: %" PRIu64 " subscribers, %" PRIu64 " entries, %" PRIu64
           " detections, %.0f MiB in memory\n", c.subscribers, c.entries,
           c.detected, (double)c.bytes / 1048576);

    char err[512];
    hs_state_stats st;
    double t = wall_s();
    if (hs_state_save(&a, 1, path, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double save_s = wall_s() - t;
    printf("save:    %.3f s, %.1f MiB file, %.0f subscribers/s, %.0f MiB/s "
           "(fsync included)\n", save_s, (double)st.bytes / 1048576,
           (double)st.subscribers / save_s, (double)st.bytes / 1048576 / save_s);

    t = wall_s();
    int rc = hs_state_restore(&b, 1, path, &st, err, sizeof(err));
    double load_s = wall_s() - t;
    unlink(path);
    if (rc < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    hs_engine_counters r;
    hs_engine_get_counters(b, &r);
    printf("restore: %.3f s, %.0f subscribers/s, %" PRIu64 " subscribers, %"
           PRIu64 " entries, %" PRIu64 " detections, %" PRIu64 " events\n",
           load_s, (double)st.subscribers / load_s, r.subscribers, r.entries,
           r.detected, ev_b);
    hs_engine_free(a);
    hs_engine_free(b);
    hs_sigset_free(set);
    return r.subscribers == c.subscribers && r.entries == c.entries &&
                   r.detected == c.detected && ev_b == 0
               ? 0 : 1;
}
