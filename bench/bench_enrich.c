/*
 * bench_enrich.c - how many enrichment lookups per second one thread does
 * (the cost an event pays for both its sides), on addresses the databases
 * know, on random IPv4 and on random IPv6 addresses, and how fast the
 * JSON members are written.
 *
 * usage: bench_enrich [ASN_DB COUNTRY_DB]   (default: MaxMind's test
 * databases in ../shared/testdata/mmdb, run from the source tree; pass
 * real GeoLite2 files to measure deeper trees)
 * Bounded: each case runs for about one second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "enrich.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64: cheap, reproducible addresses. */
static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define N_ADDRS 4096

static void fill_known(hs_ip *ips)
{
    static const char *known[] = {"1.0.0.1", "12.81.92.1", "1.128.0.1",
                                  "89.160.20.112", "81.2.69.142",
                                  "2.125.160.216", "2600:6000::1",
                                  "2a02:cf40::1"};
    size_t n = sizeof(known) / sizeof(known[0]);
    for (size_t i = 0; i < N_ADDRS; i++)
        hs_ip_parse(known[i % n], &ips[i]);
}

static void fill_random_v4(hs_ip *ips)
{
    uint64_t s = 20201126;
    for (size_t i = 0; i < N_ADDRS; i++) {
        ips[i].af = HS_AF_V4;
        ips[i].u.v4 = (uint32_t)next_random(&s);
    }
}

static void fill_random_v6(hs_ip *ips)
{
    uint64_t s = 20201126;
    for (size_t i = 0; i < N_ADDRS; i++) {
        ips[i].af = HS_AF_V6;
        for (size_t j = 0; j < 16; j++)
            ips[i].u.v6[j] = (uint8_t)next_random(&s);
        ips[i].u.v6[0] = 0x20 | (ips[i].u.v6[0] & 0x1f); /* 2000::/3 */
    }
}

static void run_lookups(const char *label, const hs_enrich *e,
                        const hs_ip *ips)
{
    hs_enrich_info info;
    unsigned long n = 0, known = 0;
    double start = now_s(), elapsed;
    do {
        for (size_t i = 0; i < N_ADDRS; i++, n++) {
            hs_enrich_lookup(e, &ips[i], &info);
            known += info.asn != 0 || info.country[0] != '\0';
        }
        elapsed = now_s() - start;
    } while (elapsed < 1.0);
    printf("lookup %-12s %12.0f lookups/s  %6.1f ns/lookup  (%lu lookups, "
           "%.0f%% known)\n",
           label, n / elapsed, elapsed / n * 1e9, n, 100.0 * known / n);
}

static void run_json(void)
{
    hs_enrich_info sub = {.asn = 15169, .as_org = "Google Inc.",
                          .country = "US"};
    hs_enrich_info back = {.asn = 7018, .as_org = "AT&T Services",
                           .country = "US"};
    char buf[512];
    unsigned long n = 0;
    double start = now_s(), elapsed;
    do {
        for (int i = 0; i < 1024; i++, n++)
            hs_enrich_json(&sub, &back, buf, sizeof(buf));
        elapsed = now_s() - start;
    } while (elapsed < 1.0);
    printf("json   both sides   %12.0f events/s   %6.1f ns/event\n",
           n / elapsed, elapsed / n * 1e9);
}

int main(int argc, char **argv)
{
    const char *asn_db = "../shared/testdata/mmdb/GeoLite2-ASN-Test.mmdb";
    const char *country_db =
        "../shared/testdata/mmdb/GeoLite2-Country-Test.mmdb";
    if (argc == 3) {
        asn_db = argv[1];
        country_db = argv[2];
    }
    char err[512];
    hs_enrich *e;
    if (hs_enrich_open(asn_db, country_db, &e, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    hs_ip *ips = malloc(N_ADDRS * sizeof(*ips));
    if (!ips)
        return 1;
    fill_known(ips);
    run_lookups("known", e, ips);
    fill_random_v4(ips);
    run_lookups("random v4", e, ips);
    fill_random_v6(ips);
    run_lookups("random v6", e, ips);
    run_json();
    free(ips);
    hs_enrich_close(e);
    return 0;
}
