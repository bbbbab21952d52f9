/*
 * udp.h - one receive socket: a libuv UDP handle with recvmmsg, a large
 * receive buffer, and the kernel's drop counter for it.
 */
#ifndef HS_UDP_H
#define HS_UDP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "flow.h"

/* One datagram from src; or src NULL: no more datagrams for now (a
 * recvmmsg batch ended), the moment to pass on what the batch gave. */
typedef void (*hs_udp_recv_fn)(void *ctx, const struct sockaddr *src,
                               uint8_t *buf, size_t len);

typedef struct hs_udp hs_udp;

/*
 * Binds ip:port (SO_REUSEPORT when reuseport, so several workers can share
 * it; IPV6_V6ONLY for v6 so 0.0.0.0 and [::] can both be bound) and starts
 * receiving on loop. rcvbuf is asked for with SO_RCVBUFFORCE, then
 * SO_RCVBUF; the size obtained is in hs_udp_rcvbuf(). Returns 0 or -errno
 * with a message in err.
 */
int hs_udp_open(uv_loop_t *loop, const hs_ip *ip, uint16_t port,
                uint64_t rcvbuf, int reuseport, hs_udp_recv_fn fn, void *ctx,
                hs_udp **out, char *err, size_t errlen);

/* Stops receiving and frees the handle once libuv has closed it. */
void hs_udp_close(hs_udp *u);

/* Datagrams the kernel dropped on this socket (receive buffer full). */
uint64_t hs_udp_kernel_drops(const hs_udp *u);
uint64_t hs_udp_rcvbuf(const hs_udp *u);
const char *hs_udp_name(const hs_udp *u);

#endif
