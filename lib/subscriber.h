/*
 * subscriber.h - who evidence belongs to: a subscriber line's key.
 *
 * An IPv4 subscriber is its address; an IPv6 subscriber is the prefix its
 * ISP delegates (default /56), because one household's devices pick many
 * addresses out of it. Prefixes are limited to /64 so the key fits in 64
 * bits: the key and its hash are what the engine's table and, later, the
 * worker partitioning work on.
 */
#ifndef HS_SUBSCRIBER_H
#define HS_SUBSCRIBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"

enum { HS_V6_PREFIX_MIN = 1, HS_V6_PREFIX_MAX = 64, HS_V6_PREFIX_DEFAULT = 56 };

typedef struct hs_subscriber {
    uint64_t key;   /* IPv4: the address; IPv6: the top 64 bits, masked */
    uint8_t af;     /* HS_AF_V4 or HS_AF_V6 */
    uint8_t plen;   /* 32 for IPv4, the IPv6 prefix length otherwise */
} hs_subscriber;

/* Keys an address; v6_plen must be within HS_V6_PREFIX_MIN..MAX. */
void hs_subscriber_from_ip(const hs_ip *ip, unsigned v6_plen,
                           hs_subscriber *out);

/* A well-mixed hash of the key, for tables and for partitioning. */
uint64_t hs_subscriber_hash(const hs_subscriber *s);

/* Which of n shards (workers) owns a subscriber. The hash's high half:
 * tables index by its low bits, and each shard must still fill its whole
 * table. */
static inline unsigned hs_subscriber_shard(const hs_subscriber *s, unsigned n)
{
    return (unsigned)(((hs_subscriber_hash(s) >> 32) * n) >> 32);
}

static inline bool hs_subscriber_equal(const hs_subscriber *a,
                                       const hs_subscriber *b)
{
    return a->key == b->key && a->af == b->af;
}

/* The address (IPv4) or the first address of the prefix (IPv6). */
void hs_subscriber_to_ip(const hs_subscriber *s, hs_ip *ip);

/* "198.51.100.7" or "2001:db8:1:100::/56"; returns buf. */
char *hs_subscriber_format(const hs_subscriber *s, char *buf, size_t len);

#endif
