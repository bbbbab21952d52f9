/*
 * bench_engine.c - throughput and memory of the detection engine on one
 * core: flows through hs_engine_flows (match + window update) against a
 * synthetic signature set of 1 M IPv4 prefixes, with 10 M subscribers
 * tracked, then the cost of a sigset reload and of expiring them all with
 * hs_engine_advance.
 *
 *   build/bench/bench_engine [subscribers] [prefixes]
 *
 * Bounded: about 35 s of CPU and 1.6 GiB at the defaults (10 M, 1 M);
 * phases that would start after 40 s of wall time (a busy machine) are
 * skipped.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "engine.h"
#include "subtable.h"

#define T0 1795687200000ull          /* 2026-11-26T10:00:00Z */
#define SUB_BASE 0x64000000u         /* subscribers from 100.0.0.0 */
#define BACKEND_BASE 0x0b000000u     /* backend /30s from 11.0.0.0 */
#define PREFIXES_PER_DOMAIN 50
#define DOMAINS_PER_PRODUCT 10
#define PRODUCTS_PER_MAKER 10
enum { BATCH = 32 };

/* Wall time since start: on a busy machine the later phases are skipped
 * rather than run past WALL_LIMIT_S. */
#define WALL_LIMIT_S 40.0

static double wall_s(void)
{
    static struct timespec t0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (t0.tv_sec == 0)
        t0 = ts;
    return (double)(ts.tv_sec - t0.tv_sec) +
           (double)(ts.tv_nsec - t0.tv_nsec) / 1e9;
}

static bool out_of_time(const char *phase)
{
    if (wall_s() < WALL_LIMIT_S)
        return false;
    printf("%s: skipped, %.0f s of wall time used (machine busy)\n", phase,
           wall_s());
    return true;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static uint64_t rng_state = 0x853c49e6748fea9bull;

static uint32_t rnd(void)
{
    /* xorshift64*: cheap enough not to show in the numbers. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/*
 * Domains of PREFIXES_PER_DOMAIN /30s each (tcp 443); a product signature
 * per DOMAINS_PER_PRODUCT domains and a manufacturer per
 * PRODUCTS_PER_MAKER products, so each domain is in two signatures. With
 * shifted, one more domain comes first, so every index changes (a reload
 * of an edited file).
 */
static hs_sigset *make_sigset(uint32_t prefixes, int shifted,
                              uint32_t *n_domains)
{
    uint32_t nd = prefixes / PREFIXES_PER_DOMAIN;
    uint32_t np = nd / DOMAINS_PER_PRODUCT;
    bench_text t = {0};
    bench_put(&t, "{\"version\":1,\"domains\":[");
    if (shifted)
        bench_put(&t, "{\"name\":\"new.example\",\"endpoints\":"
                "[{\"prefix\":\"10.0.0.0/8\"}]},");
    for (uint32_t d = 0; d < nd; d++) {
        bench_put(&t, "%s{\"name\":\"d%u.example\",\"endpoints\":[", d ? "," : "", d);
        for (uint32_t k = 0; k < PREFIXES_PER_DOMAIN; k++) {
            uint32_t a = BACKEND_BASE + (d * PREFIXES_PER_DOMAIN + k) * 4;
            bench_put(&t, "%s{\"prefix\":\"%u.%u.%u.%u/30\",\"ports\":[443]}",
                k ? "," : "", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
        }
        bench_put(&t, "]}");
    }
    bench_put(&t, "],\"signatures\":[");
    for (uint32_t p = 0; p < np; p++) {
        bench_put(&t, "%s{\"id\":\"p%u\",\"level\":\"product\",\"parent\":\"m%u\","
                "\"domains\":[", p ? "," : "", p, p / PRODUCTS_PER_MAKER);
        for (uint32_t k = 0; k < DOMAINS_PER_PRODUCT; k++)
            bench_put(&t, "%s\"d%u.example\"", k ? "," : "",
                p * DOMAINS_PER_PRODUCT + k);
        bench_put(&t, "],\"rule\":{\"min_domains\":3}}");
    }
    for (uint32_t m = 0; m < np / PRODUCTS_PER_MAKER; m++) {
        bench_put(&t, ",{\"id\":\"m%u\",\"level\":\"manufacturer\",\"domains\":[", m);
        uint32_t per = DOMAINS_PER_PRODUCT * PRODUCTS_PER_MAKER;
        for (uint32_t k = 0; k < per; k++)
            bench_put(&t, "%s\"d%u.example\"", k ? "," : "", m * per + k);
        bench_put(&t, "],\"rule\":{\"min_domains\":2}}");
    }
    bench_put(&t, "]}");
    hs_sigset *s = NULL;
    char err[256];
    double t0 = bench_cpu_seconds();
    if (hs_sigset_load_buf("bench", t.buf, t.len, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "sigset: %s\n", err);
        exit(1);
    }
    printf("sigset: %u prefixes, %u domains, %u signatures, %.1f MB JSON, "
           "loaded in %.2f s\n", nd * PREFIXES_PER_DOMAIN, nd,
           np + np / PRODUCTS_PER_MAKER, (double)t.len / 1e6, bench_cpu_seconds() - t0);
    free(t.buf);
    *n_domains = nd;
    return s;
}

static uint64_t n_events;

static void count_event(void *ctx, const hs_event *ev)
{
    (void)ctx;
    (void)ev;
    n_events++;
}

/* One flow from subscriber sub to a random backend prefix (or, for an
 * unmatched flow, to an address outside every prefix). */
static void make_flow(hs_flow *f, uint32_t sub, uint32_t n_prefixes,
                      int matched, uint64_t t)
{
    memset(f, 0, sizeof(*f));
    f->src.af = f->dst.af = HS_AF_V4;
    f->src.u.v4 = SUB_BASE + sub;
    f->dst.u.v4 = matched ? BACKEND_BASE + (rnd() % n_prefixes) * 4 + 1
                          : 0xc0000000u + (rnd() & 0xffffff);
    f->src_port = (uint16_t)(1024 + (rnd() & 0x7fff));
    f->dst_port = 443;
    f->proto = 6;
    f->sampling = 1000;
    f->start_ms = t - 1000;
    f->end_ms = t;
    f->packets = 1;
    f->bytes = 80;
}

typedef enum { NEW_SUBS, RANDOM_SUBS, UNMATCHED } phase_kind;

static void run_phase(hs_engine *e, const char *what, phase_kind kind,
                      uint32_t n, uint32_t subs, uint32_t prefixes,
                      uint64_t *t)
{
    hs_flow batch[BATCH];
    double t0 = bench_cpu_seconds();
    for (uint32_t i = 0; i < n; i += BATCH) {
        uint32_t k = n - i < BATCH ? n - i : BATCH;
        for (uint32_t j = 0; j < k; j++) {
            uint32_t sub = kind == NEW_SUBS ? i + j : rnd() % subs;
            make_flow(&batch[j], sub, prefixes, kind != UNMATCHED, *t);
            *t += 1;
        }
        hs_engine_flows(e, batch, k);
    }
    double dt = bench_cpu_seconds() - t0;
    printf("%-34s %9u flows  %6.2f s  %6.2f M flows/s  %5.0f ns/flow\n",
           what, n, dt, n / dt / 1e6, dt * 1e9 / n);
}

static void report_state(const hs_engine *e)
{
    hs_engine_counters c;
    hs_engine_get_counters(e, &c);
    printf("  state: %" PRIu64 " subscribers, %" PRIu64 " entries, %" PRIu64
           " detections held; allocated %.1f MB (records+index %.1f MB, "
           "evidence+held lists %.1f MB); RSS %.1f MB\n",
           c.subscribers, c.entries, c.detected, (double)c.bytes / 1e6,
           (double)c.bytes_subscribers / 1e6, (double)c.bytes_evidence / 1e6,
           rss_kib() / 1024.0);
}

static uint64_t entries_of(const hs_engine *e)
{
    hs_engine_counters c;
    hs_engine_get_counters(e, &c);
    return c.entries;
}

/* Calls hs_engine_advance until it has work left no more; reports the
 * number of calls, the CPU time and the slowest call. */
static void advance_until_done(hs_engine *e, uint64_t now, uint32_t budget,
                               const char *what)
{
    double t0 = bench_cpu_seconds(), worst = 0;
    size_t calls = 0, n;
    do {
        double c0 = bench_cpu_seconds();
        n = hs_engine_advance(e, now);
        double dc = bench_cpu_seconds() - c0;
        worst = dc > worst ? dc : worst;
        calls++;
    } while (n >= budget);
    printf("%s: %zu calls of <= %u subscribers, %.2f s, slowest call "
           "%.1f ms\n", what, calls, budget, bench_cpu_seconds() - t0, worst * 1e3);
}

int main(int argc, char **argv)
{
    uint32_t subs = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 10000000;
    uint32_t prefixes = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10)
                                 : 1000000;
    uint32_t nd;
    wall_s();
    hs_sigset *set = make_sigset(prefixes, 0, &nd);
    prefixes = nd * PREFIXES_PER_DOMAIN;
    hs_engine_conf conf;
    hs_engine_conf_init(&conf);
    conf.max_subscribers = subs;
    hs_engine *e;
    if (hs_engine_new(&conf, set, count_event, NULL, &e) < 0) {
        fprintf(stderr, "engine: out of memory\n");
        return 1;
    }
    long rss0 = rss_kib();
    printf("RSS with the sigset loaded: %.1f MB; record %zu B, entry %zu B\n",
           rss0 / 1024.0, sizeof(hs_sub), sizeof(hs_evidence));
    uint64_t t = T0;
    run_phase(e, "new subscribers (1 hit each)", NEW_SUBS, subs, subs,
              prefixes, &t);
    report_state(e);
    long rss1 = rss_kib();
    uint64_t ent1 = entries_of(e);
    run_phase(e, "known subscribers, random", RANDOM_SUBS, subs / 2, subs,
              prefixes, &t);
    report_state(e);
    long rss2 = rss_kib();
    uint64_t ent2 = entries_of(e);
    run_phase(e, "unmatched (lookups only)", UNMATCHED, subs / 2, subs,
              prefixes, &t);
    printf("RSS per subscriber with one entry: %.1f B; per further entry: "
           "%.1f B\n", (double)(rss1 - rss0) * 1024 / subs,
           (double)(rss2 - rss1) * 1024 / (double)(ent2 - ent1));
    printf("events: %" PRIu64 "\n", n_events);

    /* Reloads: an identical set (nothing to migrate), then an edited one
     * that renumbers every domain (each record migrates, within the
     * advance budget). */
    for (int shifted = 0; shifted < 2 && !out_of_time("reload"); shifted++) {
        uint32_t nd2;
        hs_sigset *set2 = make_sigset(prefixes, shifted, &nd2);
        double ts = bench_cpu_seconds();
        if (hs_engine_swap_sigset(e, set2) < 0) {
            fprintf(stderr, "swap: out of memory\n");
            return 1;
        }
        printf("sigset swap (%s): %.3f s\n",
               shifted ? "every domain renumbered" : "identical set",
               bench_cpu_seconds() - ts);
        hs_sigset_free(set);
        set = set2;
        if (shifted)
            advance_until_done(e, t, conf.sweep_budget,
                               "migration to the edited set");
    }

    /* Two days later everything has aged out: sweep it in budgeted calls. */
    if (!out_of_time("expiry sweep")) {
        hs_engine_counters c;
        advance_until_done(e, t + 48 * 3600 * 1000ull, conf.sweep_budget,
                           "expiry sweep");
        hs_engine_get_counters(e, &c);
        printf("  %" PRIu64 " evictions, %" PRIu64 " expired, %" PRIu64
               " subscribers left\n", c.evictions, c.expiries,
               c.subscribers);
    }
    hs_engine_free(e);
    hs_sigset_free(set);
    return 0;
}
