/*
 * bench_sigset.c - load time and endpoint lookup speed of signature sets of
 * 10 k, 100 k and 1 M prefixes, single core.
 *
 * Each set is generated as JSON text in memory (mostly IPv4 /32, some /24
 * and /20, a few /16, about 6% IPv6 /48../128; mixed port sets and
 * protocols) and loaded with hs_sigset_load_buf, exactly as haystackd loads
 * a file. Lookups are timed on random addresses (nearly all misses, like
 * flows to non-IoT hosts) and on a hit-heavy mix, against baselines measured
 * in the same run: a plain binary search over the sorted IPv4 /32 keys, and
 * for the 10 k set a linear scan over all endpoints. Times are the thread's
 * CPU time, each the best of three runs. Results go to stdout
 * (docs/performance.md, "Signature lookup").
 *
 *   bench_sigset [max_prefixes]     (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "benchutil.h"
#include "sigset.h"

/* Each timing is the best of REPEAT runs: the machine is shared. */
enum { QUERIES = 1 << 20, DOMAIN_ENDPOINTS = 10, SIG_DOMAINS = 100,
       REPEAT = 3 };

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The generated endpoints, kept to draw hit-heavy queries and baselines. */
typedef struct gen_prefix {
    hs_ip ip;
    unsigned len;
} gen_prefix;

static gen_prefix random_prefix(void)
{
    gen_prefix p = {.ip = {.af = HS_AF_V4}};
    unsigned r = (unsigned)(rnd() % 10000);
    if (r < 650) { /* IPv6 in the skewed space in use */
        static const uint16_t heads[] = {0x2001, 0x2a00, 0x2a01, 0x2600,
                                         0x2607, 0x2406, 0x2a02, 0x2620};
        static const unsigned lens[] = {48, 56, 64, 64, 96, 112, 128, 128};
        p.ip.af = HS_AF_V6;
        uint64_t hi = rnd(), lo = rnd();
        uint16_t head = heads[rnd() % 8];
        p.len = lens[rnd() % 8];
        for (int i = 0; i < 16; i++)
            p.ip.u.v6[i] = (uint8_t)((i < 8 ? hi >> (56 - 8 * i)
                                            : lo >> (56 - 8 * (i - 8))));
        p.ip.u.v6[0] = (uint8_t)(head >> 8);
        p.ip.u.v6[1] = (uint8_t)head;
        for (unsigned bit = p.len; bit < 128; bit++)
            p.ip.u.v6[bit / 8] &= (uint8_t)~(1u << (7 - bit % 8));
        return p;
    }
    p.len = r < 651 ? 16 : r < 700 ? 20 : r < 1200 ? 24 : 32;
    p.ip.u.v4 = (uint32_t)rnd() & (UINT32_MAX << (32 - p.len));
    return p;
}

static const char *const port_sets[] = {
    "\"ports\":[443],\"proto\":\"tcp\"", "\"ports\":[80,443]",
    "\"ports\":[443,8443,8883],\"proto\":\"tcp\"", "\"proto\":\"udp\"", "",
};

static void put_prefix(bench_text *t, const gen_prefix *p)
{
    char addr[64];
    hs_ip_format(&p->ip, addr, sizeof(addr));
    bench_put(t, "{\"prefix\":\"%s/%u\"", addr, p->len);
}

/* Generates n prefixes as a signature file; stores the prefixes in out. */
static bench_text generate(size_t n, gen_prefix *out)
{
    bench_text t = {0};
    size_t n_domains = (n + DOMAIN_ENDPOINTS - 1) / DOMAIN_ENDPOINTS;
    bench_put(&t, "{\"version\":1,\"domains\":[\n");
    for (size_t d = 0; d < n_domains; d++) {
        bench_put(&t, "%s{\"name\":\"d%zu.example.com\",\"endpoints\":[",
            d ? ",\n" : "", d);
        for (size_t e = 0; e < DOMAIN_ENDPOINTS; e++) {
            size_t i = d * DOMAIN_ENDPOINTS + e;
            if (i >= n)
                break;
            out[i] = random_prefix();
            const char *ports = port_sets[rnd() % 5];
            bench_put(&t, "%s", e ? "," : "");
            put_prefix(&t, &out[i]);
            bench_put(&t, "%s%s}", ports[0] ? "," : "", ports);
        }
        bench_put(&t, "]}");
    }
    bench_put(&t, "\n],\"signatures\":[\n");
    size_t n_sigs = (n_domains + SIG_DOMAINS - 1) / SIG_DOMAINS;
    for (size_t s = 0; s < n_sigs; s++) {
        bench_put(&t, "%s{\"id\":\"s%zu\",\"level\":\"product\",\"domains\":[",
            s ? ",\n" : "", s);
        for (size_t d = s * SIG_DOMAINS; d < (s + 1) * SIG_DOMAINS &&
                                         d < n_domains; d++)
            bench_put(&t, "%s\"d%zu.example.com\"", d > s * SIG_DOMAINS ? "," : "",
                d);
        bench_put(&t, "],\"rule\":{\"min_domains\":2,\"window\":\"24h\"}}");
    }
    bench_put(&t, "\n]}\n");
    return t;
}

static hs_ip random_v4(void)
{
    return (hs_ip){.af = HS_AF_V4, .u.v4 = (uint32_t)rnd()};
}

static hs_ip random_v6(void)
{
    hs_ip ip = {.af = HS_AF_V6};
    uint64_t hi = rnd(), lo = rnd();
    memcpy(ip.u.v6, &hi, 8);
    memcpy(ip.u.v6 + 8, &lo, 8);
    ip.u.v6[0] = 0x20 | (ip.u.v6[0] & 0x0f);
    ip.u.v6[1] &= 0x0f; /* inside 2x0y::, the crowded part */
    return ip;
}

/* An address inside a generated prefix. */
static hs_ip inside(const gen_prefix *p)
{
    hs_ip ip = p->ip;
    if (ip.af == HS_AF_V4) {
        if (p->len < 32)
            ip.u.v4 |= (uint32_t)rnd() & (UINT32_MAX >> p->len);
    } else if (p->len < 128) {
        ip.u.v6[15] |= (uint8_t)rnd() & (uint8_t)(p->len > 120 ?
                                                  0xff >> (p->len - 120) : 0xff);
    }
    return ip;
}

static double time_lookups(const hs_sigset *s, const hs_ip *q, size_t n,
                           size_t *hits)
{
    double best = 1e30;
    for (int r = 0; r < REPEAT; r++) {
        uint32_t out[8];
        size_t h = 0;
        double t0 = bench_cpu_seconds();
        for (size_t i = 0; i < n; i++)
            h += hs_sigset_lookup(s, &q[i], 443, 6, out, 8);
        double dt = bench_cpu_seconds() - t0;
        *hits = h;
        best = dt < best ? dt : best;
    }
    return best * 1e9 / (double)n;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Baseline: binary search over the sorted /32 keys of the set. */
static double time_bsearch(const gen_prefix *p, size_t n, const hs_ip *q,
                           size_t nq, size_t *hits)
{
    uint32_t *keys = malloc(n * sizeof(*keys));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (p[i].ip.af == HS_AF_V4 && p[i].len == 32)
            keys[k++] = p[i].ip.u.v4;
    qsort(keys, k, sizeof(*keys), cmp_u32);
    double best = 1e30;
    for (int r = 0; r < REPEAT; r++) {
        size_t h = 0;
        double t0 = bench_cpu_seconds();
        for (size_t i = 0; i < nq; i++) {
            uint32_t a = q[i].u.v4;
            size_t lo = 0, hi = k;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (keys[mid] < a)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            h += lo < k && keys[lo] == a;
        }
        double dt = bench_cpu_seconds() - t0;
        *hits = h;
        best = dt < best ? dt : best;
    }
    free(keys);
    return best * 1e9 / (double)nq;
}

/* Baseline for the small set: check every endpoint's prefix. */
static double time_linear(const gen_prefix *p, size_t n, const hs_ip *q,
                          size_t nq, size_t *hits)
{
    size_t h = 0;
    double t0 = bench_cpu_seconds();
    for (size_t i = 0; i < nq; i++) {
        int best = -1;
        for (size_t e = 0; e < n; e++) {
            if (p[e].ip.af != HS_AF_V4 || (int)p[e].len <= best)
                continue;
            uint32_t mask = p[e].len ? UINT32_MAX << (32 - p[e].len) : 0;
            if ((q[i].u.v4 & mask) == p[e].ip.u.v4)
                best = (int)p[e].len;
        }
        h += best >= 0;
    }
    double dt = bench_cpu_seconds() - t0;
    *hits = h;
    return dt * 1e9 / (double)nq;
}

static void run(size_t n, hs_ip *q)
{
    gen_prefix *pfx = malloc(n * sizeof(*pfx));
    double t0 = bench_cpu_seconds();
    bench_text t = generate(n, pfx);
    double gen_s = bench_cpu_seconds() - t0;

    double parse_s = 1e30;
    for (int r = 0; r < REPEAT; r++) {
        hs_json_doc *doc;
        hs_json_error jerr;
        t0 = bench_cpu_seconds();
        if (hs_json_parse(t.buf, t.len, &doc, &jerr) != 0) {
            fprintf(stderr, "generated JSON invalid: %u:%u: %s\n", jerr.line,
                    jerr.col, jerr.msg);
            exit(1);
        }
        double dt = bench_cpu_seconds() - t0;
        parse_s = dt < parse_s ? dt : parse_s;
        hs_json_free(doc);
    }

    hs_sigset *s = NULL;
    double load_s = 1e30;
    for (int r = 0; r < REPEAT; r++) {
        char err[512];
        hs_sigset_free(s);
        t0 = bench_cpu_seconds();
        if (hs_sigset_load_buf("bench", t.buf, t.len, &s, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
        double dt = bench_cpu_seconds() - t0;
        load_s = dt < load_s ? dt : load_s;
    }
    hs_sigset_stats st;
    hs_sigset_get_stats(s, &st);

    printf("\n%zu prefixes: %.1f MB JSON (generated in %.2f s), "
           "%u domains, %u signatures\n", n, (double)t.len / 1e6, gen_s,
           st.domains, st.signatures);
    printf("  load %.0f ms (of which JSON parse %.0f ms), lookup structure "
           "%.1f MB = %.1f bytes/prefix\n", load_s * 1e3, parse_s * 1e3,
           (double)st.lookup_bytes / 1e6,
           (double)st.lookup_bytes / (double)st.prefixes);

    size_t hits;
    for (size_t i = 0; i < QUERIES; i++)
        q[i] = random_v4();
    double v4 = time_lookups(s, q, QUERIES, &hits);
    printf("  %-34s %6.1f ns/lookup  (%5.2f%% hit)\n", "random IPv4:", v4,
           100.0 * (double)hits / QUERIES);
    double bs = time_bsearch(pfx, n, q, QUERIES, &hits);
    printf("  %-34s %6.1f ns/lookup\n", "baseline bsearch over /32 keys:", bs);
    if (n <= 10000) {
        double lin = time_linear(pfx, n, q, QUERIES / 64, &hits);
        printf("  %-34s %6.1f ns/lookup\n", "baseline linear scan:", lin);
    }
    for (size_t i = 0; i < QUERIES; i++)
        q[i] = random_v6();
    double v6 = time_lookups(s, q, QUERIES, &hits);
    printf("  %-34s %6.1f ns/lookup  (%5.2f%% hit)\n", "random IPv6 (2x0y::/16):",
           v6, 100.0 * (double)hits / QUERIES);
    for (size_t i = 0; i < QUERIES; i++)
        q[i] = rnd() % 5 ? inside(&pfx[rnd() % n]) : random_v4();
    double mix = time_lookups(s, q, QUERIES, &hits);
    printf("  %-34s %6.1f ns/lookup  (%5.2f%% hit)\n",
           "hit-heavy mix (80% in prefixes):", mix,
           100.0 * (double)hits / QUERIES);

    hs_sigset_free(s);
    free(t.buf);
    free(pfx);
}

int main(int argc, char **argv)
{
    size_t max = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    hs_ip *q = malloc(QUERIES * sizeof(*q));
    if (!q)
        return 1;
    printf("bench_sigset: %d lookups per measurement, tcp/443, one core, "
           "best of %d\n", QUERIES, REPEAT);
    for (size_t n = 10000; n <= max; n *= 10)
        run(n, q);
    free(q);
    return 0;
}
