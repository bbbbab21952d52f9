/* subscriber.c - subscriber keys: derivation, hash, text form. */
#include "subscriber.h"

#include <stdio.h>
#include <string.h>

void hs_subscriber_from_ip(const hs_ip *ip, unsigned v6_plen,
                           hs_subscriber *out)
{
    memset(out, 0, sizeof(*out));
    out->af = ip->af;
    if (ip->af == HS_AF_V4) {
        out->key = ip->u.v4;
        out->plen = 32;
        return;
    }
    uint64_t top = 0;
    for (int i = 0; i < 8; i++)
        top = top << 8 | ip->u.v6[i];
    out->key = top & (~(uint64_t)0 << (64 - v6_plen));
    out->plen = (uint8_t)v6_plen;
}

uint64_t hs_subscriber_hash(const hs_subscriber *s)
{
    /* splitmix64's finaliser: every key bit moves every hash bit, so
     * sequential addresses spread over the table and over workers. */
    uint64_t x = s->key ^ ((uint64_t)s->af << 56 | (uint64_t)s->af);
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

char *hs_subscriber_format(const hs_subscriber *s, char *buf, size_t len)
{
    hs_ip ip;
    memset(&ip, 0, sizeof(ip));
    ip.af = s->af;
    if (s->af == HS_AF_V4) {
        ip.u.v4 = (uint32_t)s->key;
        return hs_ip_format(&ip, buf, len);
    }
    for (int i = 0; i < 8; i++)
        ip.u.v6[i] = (uint8_t)(s->key >> (56 - 8 * i));
    char addr[64];
    hs_ip_format(&ip, addr, sizeof(addr));
    snprintf(buf, len, "%s/%u", addr, (unsigned)s->plen);
    return buf;
}
