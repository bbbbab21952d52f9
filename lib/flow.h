/*
 * flow.h - the narrow flow record every layer after decoding sees.
 *
 * The decoders (collector.c) fill an array of hs_flow per datagram and hand
 * it to an hs_flow_sink; matching and windows never see IPFIX, NetFlow or
 * sockets. The struct holds only what detection needs, so it stays small
 * (one cache line) and cheap to copy between threads.
 */
#ifndef HS_FLOW_H
#define HS_FLOW_H

#include <stddef.h>
#include <stdint.h>

enum { HS_AF_NONE = 0, HS_AF_V4 = 4, HS_AF_V6 = 6 };

/* An IP address. v4 is in host byte order; v6 in network byte order. */
typedef struct hs_ip {
    uint8_t af; /* HS_AF_V4 or HS_AF_V6 */
    union {
        uint32_t v4;
        uint8_t v6[16];
    } u;
} hs_ip;

typedef struct hs_flow {
    hs_ip src, dst;
    uint16_t src_port, dst_port;
    uint8_t proto;          /* IANA protocol number (6 tcp, 17 udp) */
    uint32_t sampling;      /* 1 in N packets sampled; 1 = unsampled */
    uint64_t start_ms;      /* unix time, milliseconds (flow's own clock) */
    uint64_t end_ms;
    uint64_t packets;       /* as exported, not renormalised */
    uint64_t bytes;
    uint32_t exporter_id;   /* the collector's id for the exporter session */
    uint32_t obs_domain;    /* IPFIX observation domain / v9 source id */
} hs_flow;

/*
 * Where decoded records go. Called once per batch (at most one datagram's
 * worth of records); the array is only valid during the call.
 */
typedef void (*hs_flow_fn)(void *ctx, const hs_flow *flows, size_t n);

typedef struct hs_flow_sink {
    hs_flow_fn fn;
    void *ctx;
} hs_flow_sink;

/* Formats an address ("192.0.2.1", "2001:db8::1") into buf; returns buf. */
char *hs_ip_format(const hs_ip *ip, char *buf, size_t len);
/* Parses a textual address; returns 0 or a negative error (-EINVAL). */
int hs_ip_parse(const char *s, hs_ip *out);

struct sockaddr;
/* A socket address as hs_ip and port; IPv4-mapped IPv6 (from dual-stack
 * sockets) becomes IPv4. */
void hs_ip_from_sockaddr(const struct sockaddr *sa, hs_ip *ip, uint16_t *port);

#endif
