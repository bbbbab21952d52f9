/*
 * bench_loadgen.c - a bounded flow-export load generator, loopback only.
 *
 * Sends generated IPFIX or NetFlow v9 messages (25 records each, see
 * msggen.c) to a collector at a fixed datagram rate for a fixed time, with
 * sendmmsg in batches, and prints what it sent. It refuses any target that
 * is not a loopback address, and stops by itself after -d seconds or -n
 * datagrams, whichever comes first.
 *
 *   bench_loadgen -t 127.0.0.1:PORT [-p ipfix|v9] [-6] [-r DGRAMS_PER_S]
 *                 [-d SECONDS] [-n MAX_DGRAMS] [-s SOURCE_PORTS]
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

static int parse_opts(int argc, char **argv, opts *o)
{
    *o = (opts){.proto = MSGGEN_IPFIX, .rate = 10000, .seconds = 5,
                .max = 100000000, .sources = 1};
    int c, have_target = 0;
    const char *why;
    while ((c = getopt(argc, argv, "t:p:6r:d:n:s:")) != -1) {
        switch (c) {
        case 't': have_target = hs_parse_hostport(optarg, &o->target, &why) == 0; break;
        case 'p': o->proto = strcmp(optarg, "v9") == 0 ? MSGGEN_V9 : MSGGEN_IPFIX; break;
        case '6': o->v6 = 1; break;
        case 'r': o->rate = atof(optarg); break;
        case 'd': o->seconds = atof(optarg); break;
        case 'n': o->max = strtoul(optarg, NULL, 10); break;
        case 's': o->sources = atoi(optarg); break;
        default: return -1;
        }
    }
    if (!have_target || !is_loopback(&o->target.ip)) {
        fprintf(stderr, "bench_loadgen: -t must be a loopback ADDRESS:PORT\n");
        return -1;
    }
    if (o->rate <= 0 || o->seconds <= 0 || o->seconds > 600 || o->sources < 1 ||
        o->sources > 64)
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

int main(int argc, char **argv)
{
    opts o;
    if (parse_opts(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: bench_loadgen -t LOOPBACK:PORT [-p ipfix|v9] [-6] "
                        "[-r DGRAMS_PER_S] [-d SECONDS<=600] [-n MAX] [-s SOURCES<=64]\n");
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
