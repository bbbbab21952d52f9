/*
 * bench_loadgen.c - a bounded flow-export load generator, loopback only.
 *
 * Sends generated IPFIX or NetFlow v9 messages (25 records each, see
 * msggen.c) to a collector at a fixed datagram rate for a fixed time, with
 * sendmmsg in batches, and prints what it sent. It refuses any target that
 * is not a loopback address, and stops by itself after -d seconds or -n
 * datagrams, whichever comes first.
 *
 * The messages are generated once and sent round robin, so by themselves
 * they carry only 25 600 distinct flows. With -H PREFIX every datagram is
 * rewritten before it goes out: each record gets a fresh random source in
 * 100.64.0.0/10 (up to 4 M subscribers) and -m percent of the records a
 * destination drawn from PREFIX with port 443, so a collector that matches
 * signatures covering PREFIX sees hits from ever new subscribers, as a
 * real network's flows would give it.
 *
 *   bench_loadgen -t 127.0.0.1:PORT [-p ipfix|v9] [-6] [-r DGRAMS_PER_S]
 *                 [-d SECONDS] [-n MAX_DGRAMS] [-s SOURCE_PORTS]
 *                 [-H IPV4_PREFIX [-m PERCENT]]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "msggen.h"
#include "parse.h"

#define N_MSGS 1024
#define BATCH 32
#define TEMPLATE_EVERY 256 /* datagrams between template refreshes */

typedef struct opts {
    hs_hostport target;
    msggen_proto proto;
    int v6, sources;
    double rate, seconds;
    unsigned long max;
    int aim;              /* -H given: rewrite records as described above */
    uint32_t aim_net, aim_mask;
    unsigned aim_percent;
} opts;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int is_loopback(const hs_ip *ip)
{
    static const uint8_t v6_lo[16] = {[15] = 1};
    if (ip->af == HS_AF_V4)
        return (ip->u.v4 >> 24) == 127;
    return memcmp(ip->u.v6, v6_lo, 16) == 0;
}

static int parse_aim(const char *arg, opts *o)
{
    char addr[32];
    unsigned len;
    struct in_addr in;
    if (sscanf(arg, "%31[0-9.]/%u", addr, &len) != 2 || len < 1 || len > 32 ||
        inet_pton(AF_INET, addr, &in) != 1)
        return 0;
    o->aim_mask = len == 32 ? 0 : 0xffffffffu >> len;
    o->aim_net = ntohl(in.s_addr) & ~o->aim_mask;
    return 1;
}

static int parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){.proto = MSGGEN_IPFIX, .rate = 10000, .seconds = 5,
                .max = 100000000, .sources = 1, .aim_percent = 10};
    int c, have_target = 0;
    const char *why;
    while ((c = getopt(argc, argv, "t:p:6r:d:n:s:H:m:")) != -1) {
        switch (c) {
        case 't': have_target = hs_parse_hostport(optarg, &o->target, &why) == 0; break;
        case 'p': o->proto = strcmp(optarg, "v9") == 0 ? MSGGEN_V9 : MSGGEN_IPFIX; break;
        case '6': o->v6 = 1; break;
        case 'r': o->rate = atof(optarg); break;
        case 'd': o->seconds = atof(optarg); break;
        case 'n': o->max = strtoul(optarg, NULL, 10); break;
        case 's': o->sources = atoi(optarg); break;
        case 'H': o->aim = parse_aim(optarg, o) ? 1 : -1; break;
        case 'm': o->aim_percent = (unsigned)atoi(optarg); break;
        default: return -1;
        }
    }
    if (!have_target || !is_loopback(&o->target.ip)) {
        fprintf(stderr, "bench_loadgen: -t must be a loopback ADDRESS:PORT\n");
        return -1;
    }
    if (o->rate <= 0 || o->seconds <= 0 || o->seconds > 600 || o->sources < 1 ||
        o->sources > 64 || o->aim < 0 || (o->aim && o->v6) || o->aim_percent > 100)
        return -1;
    return 0;
}

static int open_sockets(const opts *o, int *fds)
{
    int family = o->target.ip.af == HS_AF_V4 ? AF_INET : AF_INET6;
    for (int i = 0; i < o->sources; i++) {
        fds[i] = socket(family, SOCK_DGRAM, 0);
        int sz = 4 << 20;
        setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        struct sockaddr_storage ss = {0};
        socklen_t sl;
        if (family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&ss;
            in->sin_family = AF_INET;
            in->sin_port = htons(o->target.port);
            in->sin_addr.s_addr = htonl(o->target.ip.u.v4);
            sl = sizeof(*in);
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            in6->sin6_family = AF_INET6;
            in6->sin6_port = htons(o->target.port);
            memcpy(in6->sin6_addr.s6_addr, o->target.ip.u.v6, 16);
            sl = sizeof(*in6);
        }
        if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&ss, sl) < 0) {
            perror("bench_loadgen: socket");
            return -1;
        }
    }
    return 0;
}

static uint32_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (uint32_t)((*s * 0x2545f4914f6cdd1dull) >> 32);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* New subscribers and -m percent signature hits in one IPv4 message. */
static void aim_records(const opts *o, msggen_msg *m, uint64_t *seed)
{
    uint8_t *r = m->buf + msggen_data_offset(m, o->proto);
    for (int i = 0; i < MSGGEN_RECORDS; i++, r += MSGGEN_V4_RECORD_LEN) {
        put32(r, 0x64400000u | (rnd(seed) & 0x3fffff)); /* 100.64/10 */
        if (rnd(seed) % 100 < o->aim_percent) {
            put32(r + 4, o->aim_net | (rnd(seed) & o->aim_mask));
            r[10] = 443 >> 8;
            r[11] = 443 & 255;
        } else {
            put32(r + 4, rnd(seed)); /* undo an earlier aim of this record */
        }
    }
}

int main(int argc, char **argv)
{
    opts o;
    if (parse_opts(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: bench_loadgen -t LOOPBACK:PORT [-p ipfix|v9] [-6] "
                        "[-r DGRAMS_PER_S] [-d SECONDS<=600] [-n MAX] [-s SOURCES<=64] "
                        "[-H IPV4_PREFIX [-m PERCENT]]\n");
        return 2;
    }
    msggen_msg *msgs = malloc(N_MSGS * sizeof(*msgs));
    msggen_fill(msgs, N_MSGS, o.proto, o.v6, (uint32_t)time(NULL), 7);
    int fds[64];
    if (open_sockets(&o, fds) < 0)
        return 1;
    /* the template first, from every source */
    for (int i = 0; i < o.sources; i++)
        send(fds[i], msgs[0].buf, msgs[0].len, 0);
    unsigned long sent = 0, failed = 0;
    double t0 = now_s(), end = t0 + o.seconds;
    struct mmsghdr mh[BATCH];
    struct iovec iov[BATCH];
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    while (sent < o.max) {
        double t = now_s();
        if (t >= end)
            break;
        double due = (t - t0) * o.rate;
        if ((double)sent + BATCH > due) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
            continue;
        }
        int fd = fds[(sent / BATCH) % (unsigned long)o.sources];
        for (int b = 0; b < BATCH; b++) {
            unsigned long k = sent + (unsigned long)b;
            msggen_msg *m = &msgs[k % TEMPLATE_EVERY == 0 ? 0 : 1 + k % (N_MSGS - 1)];
            if (o.aim)
                aim_records(&o, m, &seed);
            iov[b] = (struct iovec){m->buf, m->len};
            mh[b] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[b], .msg_iovlen = 1}};
        }
        int n = sendmmsg(fd, mh, BATCH, 0);
        if (n < 0) {
            failed += BATCH;
            n = BATCH; /* count as attempted, keep the pace */
        }
        sent += (unsigned long)n;
    }
    double dt = now_s() - t0;
    printf("sent_datagrams=%lu send_errors=%lu records=%lu seconds=%.3f "
           "datagrams_per_s=%.0f records_per_s=%.0f\n",
           sent - failed, failed, (sent - failed) * MSGGEN_RECORDS, dt,
           (double)(sent - failed) / dt,
           (double)(sent - failed) * MSGGEN_RECORDS / dt);
    free(msgs);
    return 0;
}
