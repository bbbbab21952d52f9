/*
 * udp.c - receive sockets (see udp.h).
 *
 * The socket is made here rather than by uv_udp_bind() because libuv sets
 * SO_REUSEADDR, not SO_REUSEPORT, on Linux, and cannot force a receive
 * buffer past net.core.rmem_max. libuv then owns it: recvmmsg fills up to
 * 20 datagrams of one 64 KiB slot each from a single buffer the handle
 * keeps, and the datagrams are decoded inside the callback, so nothing is
 * copied or allocated per datagram.
 */
#include "udp.h"

#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HS_UDP_SLOT 65536
#define HS_UDP_SLOTS 20 /* libuv's recvmmsg batch */

struct hs_udp {
    uv_udp_t handle;
    hs_udp_recv_fn fn;
    void *ctx;
    uint64_t rcvbuf;
    hs_ratelimit error_rl;
    char name[64];
    uint8_t buf[HS_UDP_SLOT * HS_UDP_SLOTS];
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    hs_udp *u = h->data;
    *buf = uv_buf_init((char *)u->buf, sizeof(u->buf));
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags)
{
    (void)buf;
    hs_udp *u = h->data;
    if (nread < 0) {
        hs_log_rl(&u->error_rl, HS_LOG_WARNING, "%s: receive: %s", u->name,
                  uv_strerror((int)nread));
        return;
    }
    if (!addr || (flags & UV_UDP_MMSG_FREE)) {
        u->fn(u->ctx, NULL, NULL, 0); /* nothing more, or a batch ended */
        return;
    }
    /* an empty datagram (nread 0) is decoded, and counted, like any other;
     * one longer than 64 KiB (UV_UDP_PARTIAL) cannot be an export either */
    u->fn(u->ctx, addr, (uint8_t *)buf->base,
          (flags & UV_UDP_PARTIAL) ? 0 : (size_t)nread);
}

static void format_name(hs_udp *u, const hs_ip *ip, uint16_t port)
{
    char a[INET6_ADDRSTRLEN];
    hs_ip_format(ip, a, sizeof(a));
    snprintf(u->name, sizeof(u->name), ip->af == HS_AF_V6 ? "[%s]:%u" : "%s:%u",
             a, port);
}

static socklen_t to_sockaddr(const hs_ip *ip, uint16_t port,
                             struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (ip->af == HS_AF_V4) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        in->sin_addr.s_addr = htonl(ip->u.v4);
        return sizeof(*in);
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    memcpy(in6->sin6_addr.s6_addr, ip->u.v6, 16);
    return sizeof(*in6);
}

static uint64_t set_rcvbuf(int fd, uint64_t want)
{
    int v = want > (uint64_t)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)want;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
    int got = 0;
    socklen_t l = sizeof(got);
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &l);
    return (uint64_t)got / 2; /* Linux reports twice what it accounts */
}

static int make_socket(const hs_ip *ip, uint16_t port, int reuseport,
                       int *out_fd, const char **what)
{
    struct sockaddr_storage ss;
    socklen_t sl = to_sockaddr(ip, port, &ss);
    int one = 1;
    int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *what = "socket";
        return -errno;
    }
    if ((reuseport &&
         setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)) {
        *what = "setsockopt";
        int rc = -errno;
        close(fd);
        return rc;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        *what = "bind";
        int rc = -errno;
        close(fd);
        return rc;
    }
    *out_fd = fd;
    return 0;
}

static void on_closed(uv_handle_t *h);

int hs_udp_open(uv_loop_t *loop, const hs_ip *ip, uint16_t port,
                uint64_t rcvbuf, int reuseport, hs_udp_recv_fn fn, void *ctx,
                hs_udp **out, char *err, size_t errlen)
{
    hs_udp *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    format_name(u, ip, port);
    const char *what = "";
    int fd = -1;
    int rc = make_socket(ip, port, reuseport, &fd, &what);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s: %s", u->name, what, strerror(-rc));
        free(u);
        return rc;
    }
    u->rcvbuf = set_rcvbuf(fd, rcvbuf);
    u->fn = fn;
    u->ctx = ctx;
    u->handle.data = u;
    /* AF_UNSPEC: libuv must not make a socket of its own */
    rc = uv_udp_init_ex(loop, &u->handle, AF_UNSPEC | UV_UDP_RECVMMSG);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", u->name, uv_strerror(rc));
        close(fd);
        free(u);
        return rc;
    }
    if ((rc = uv_udp_open(&u->handle, fd)) < 0)
        close(fd); /* not adopted by the handle */
    else
        rc = uv_udp_recv_start(&u->handle, on_alloc, on_recv);
    if (rc < 0) {
        snprintf(err, errlen, "%s: %s", u->name, uv_strerror(rc));
        hs_udp_close(u);
        return rc;
    }
    *out = u;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void hs_udp_close(hs_udp *u)
{
    if (!u)
        return;
    uv_udp_recv_stop(&u->handle);
    uv_close((uv_handle_t *)&u->handle, on_closed);
}

uint64_t hs_udp_kernel_drops(const hs_udp *u)
{
    uv_os_fd_t fd;
    if (uv_fileno((const uv_handle_t *)&u->handle, &fd) < 0)
        return 0;
    uint32_t mem[SK_MEMINFO_VARS] = {0};
    socklen_t l = sizeof(mem);
    if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &l) < 0 ||
        l <= SK_MEMINFO_DROPS * sizeof(uint32_t))
        return 0;
    return mem[SK_MEMINFO_DROPS];
}

uint64_t hs_udp_rcvbuf(const hs_udp *u)
{
    return u->rcvbuf;
}

const char *hs_udp_name(const hs_udp *u)
{
    return u->name;
}
