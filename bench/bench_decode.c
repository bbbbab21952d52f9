/*
 * bench_decode.c - records/s decoded in-process, one core, no sockets.
 *
 * For each message kind (IPFIX / NetFlow v9, IPv4 / IPv6 template, 25
 * records a message) it times hs_collector_input() over the same messages
 * many times, against a baseline measured in the same run: libfixbuf
 * alone, decoding the IPFIX form of the same records (fBufNext into an
 * internal template of the same nine fields haystack reads; no scan, no v9
 * rewrite, no conversion to hs_flow). Every message but the first carries
 * records only, so haystack decodes them with its wire plans, without
 * libfixbuf (docs/collector.md): the ratio is what that gains over the
 * least libfixbuf can cost. Thread CPU time, median of the runs.
 *
 *   bench_decode [-m MESSAGES] [-r RUNS]
 */
#include <fixbuf/public.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "collector.h"
#include "fbrecord.h"
#include "log.h"
#include "msggen.h"

static uint64_t n_records;

static void count(void *ctx, const hs_flow *flows, size_t n)
{
    (void)ctx, (void)flows;
    n_records += n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Records/s of hs_collector_input over msgs, looped `loops` times. */
static double run_collector(msggen_msg *msgs, size_t n, int loops)
{
    hs_collector_conf conf;
    hs_collector_conf_init(&conf);
    hs_collector *c = hs_collector_new(&conf, (hs_flow_sink){count, NULL});
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
    sa.sin_addr.s_addr = htonl(0x7f000001);
    hs_collector_input(c, (struct sockaddr *)&sa, msgs[0].buf, msgs[0].len, 0);
    n_records = 0;
    double t0 = bench_cpu_seconds();
    for (int l = 0; l < loops; l++)
        for (size_t i = 1; i < n; i++)
            hs_collector_input(c, (struct sockaddr *)&sa, msgs[i].buf,
                               msgs[i].len, 0);
    double dt = bench_cpu_seconds() - t0;
    hs_collector_free(c);
    return (double)n_records / dt;
}

static int baseline_v6;

/* Records/s of bare libfixbuf over the same IPFIX messages. */
static double run_libfixbuf(msggen_msg *msgs, size_t n, int loops)
{
    fbInfoModel_t *model = fbInfoModelAlloc();
    fbSession_t *session = fbSessionAlloc(model);
    hs_tmpl_info info = {.kind = HS_REC_FLOW};
    info.layout = HS_BIT(HS_F_SPORT) | HS_BIT(HS_F_DPORT) | HS_BIT(HS_F_PROTO) |
                  HS_BIT(HS_F_PKTS) | HS_BIT(HS_F_BYTES) |
                  HS_BIT(HS_F_START_MS) | HS_BIT(HS_F_END_MS) |
                  (baseline_v6 ? HS_BIT(HS_F_SRC6) | HS_BIT(HS_F_DST6)
                               : HS_BIT(HS_F_SRC4) | HS_BIT(HS_F_DST4));
    hs_fbrec_add_internal(session, &info, 0xF100);
    fBuf_t *fbuf = fBufAllocForCollection(session, NULL);
    fBufSetAutomaticMode(fbuf, FALSE);
    GError *err = NULL;
    uint8_t rec[HS_FBREC_MAX];
    uint64_t records = 0;
    double t0 = 0;
    for (int l = -1; l < loops; l++) {
        if (l == 0)
            t0 = bench_cpu_seconds(); /* l == -1 loads the template */
        for (size_t i = (l < 0 ? 0 : 1); i < (l < 0 ? 1 : n); i++) {
            fBufSetBuffer(fbuf, msgs[i].buf, msgs[i].len);
            if (!fBufNextMessage(fbuf, &err)) {
                g_clear_error(&err);
                continue;
            }
            fBufSetInternalTemplate(fbuf, 0xF100, &err);
            size_t len = sizeof(rec);
            while (fBufNext(fbuf, rec, &len, &err)) {
                records += l >= 0;
                len = sizeof(rec);
            }
            g_clear_error(&err);
        }
    }
    double dt = bench_cpu_seconds() - t0;
    fBufFree(fbuf);
    fbInfoModelFree(model);
    return (double)records / dt;
}

static double median(double (*fn)(msggen_msg *, size_t, int), msggen_msg *m,
                     size_t n, int loops, int runs)
{
    double v[32];
    for (int r = 0; r < runs; r++)
        v[r] = fn(m, n, loops);
    qsort(v, (size_t)runs, sizeof(double), cmp_double);
    return v[runs / 2];
}

int main(int argc, char **argv)
{
    size_t n = 1000;
    int runs = 5, opt;
    while ((opt = getopt(argc, argv, "m:r:")) != -1) {
        if (opt == 'm')
            n = (size_t)atol(optarg);
        else if (opt == 'r')
            runs = atoi(optarg);
    }
    if (n < 2 || runs < 1 || runs > 31) {
        fprintf(stderr, "usage: bench_decode [-m MESSAGES>=2] [-r RUNS<=31]\n");
        return 1;
    }
    hs_log_capture_glib();
    hs_log_setup(HS_LOG_ERROR, NULL, NULL);
    int loops = (int)(2000000 / ((n - 1) * MSGGEN_RECORDS)) + 1;
    msggen_msg *msgs = malloc(n * sizeof(*msgs));
    printf("%-10s %14s %14s %8s %10s\n", "messages", "libfixbuf r/s",
           "haystack r/s", "ratio", "ns/record");
    for (int v6 = 0; v6 <= 1; v6++) {
        baseline_v6 = v6;
        msggen_fill(msgs, n, MSGGEN_IPFIX, v6, 1800000000u, 42);
        double base = median(run_libfixbuf, msgs, n, loops, runs);
        for (int p = 0; p < 2; p++) {
            msggen_proto proto = p ? MSGGEN_V9 : MSGGEN_IPFIX;
            msggen_fill(msgs, n, proto, v6, 1800000000u, 42);
            double ours = median(run_collector, msgs, n, loops, runs);
            char name[32];
            snprintf(name, sizeof(name), "%s-%s", p ? "v9" : "ipfix", v6 ? "v6" : "v4");
            printf("%-10s %14.0f %14.0f %8.2f %10.1f\n", name, base, ours,
                   ours / base, 1e9 / ours);
        }
    }
    free(msgs);
    return 0;
}
