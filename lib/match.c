/* match.c - flow to hits: backend lookup and subscriber choice. */
#include "match.h"

static bool inside_prefixes(const hs_match_conf *c, const hs_ip *ip)
{
    /* Operators list a handful of aggregates; a linear scan is enough. */
    for (size_t i = 0; i < c->n_subscriber_prefixes; i++)
        if (hs_cidr_contains(&c->subscriber_prefixes[i], ip))
            return true;
    return false;
}

/* One end of a flow seen as the backend: the domains it serves. */
typedef struct end_match {
    uint32_t domains[HS_MATCH_MAX_HITS];
    size_t n;           /* domains found (may exceed the array) */
} end_match;

static void lookup_end(const hs_sigset *s, const hs_ip *ip, uint16_t port,
                       uint8_t proto, end_match *m)
{
    m->n = ip->af == HS_AF_V4 || ip->af == HS_AF_V6
               ? hs_sigset_lookup(s, ip, port, proto, m->domains,
                                  HS_MATCH_MAX_HITS)
               : 0;
}

/* Can `sub` be the subscriber when the other end matched `backend`? */
static bool can_be_subscriber(const hs_match_conf *c, const hs_ip *sub,
                              const end_match *sub_as_backend,
                              const end_match *backend)
{
    if (backend->n == 0)
        return false;
    if (c->n_subscriber_prefixes > 0)
        return inside_prefixes(c, sub);
    return sub_as_backend->n == 0;
}

static size_t emit_hits(const hs_match_conf *c, const hs_flow *f,
                        const hs_ip *sub, const end_match *backend,
                        hs_hit *out, size_t max, hs_match_stats *st)
{
    size_t found = backend->n < HS_MATCH_MAX_HITS ? backend->n
                                                  : HS_MATCH_MAX_HITS;
    size_t n = found < max ? found : max;
    st->hits_truncated += backend->n - n;
    hs_subscriber key;
    hs_subscriber_from_ip(sub, c->ipv6_prefix_len, &key);
    for (size_t i = 0; i < n; i++) {
        out[i].sub = key;
        out[i].domain = backend->domains[i];
        out[i].time_ms = hs_flow_time_ms(f);
        out[i].backend = sub == &f->src ? f->dst : f->src;
    }
    return n;
}

size_t hs_match_flow(const hs_sigset *s, const hs_match_conf *conf,
                     const hs_flow *f, hs_hit *out, size_t max,
                     hs_match_stats *st)
{
    end_match dst, src;
    st->flows++;
    lookup_end(s, &f->dst, f->dst_port, f->proto, &dst);
    lookup_end(s, &f->src, f->src_port, f->proto, &src);
    if (dst.n == 0 && src.n == 0) {
        st->flows_unmatched++;
        return 0;
    }
    bool src_sub = can_be_subscriber(conf, &f->src, &src, &dst);
    bool dst_sub = can_be_subscriber(conf, &f->dst, &dst, &src);
    if (src_sub == dst_sub) {
        /* Neither end qualifies: with prefixes the subscriber end is
         * outside them; without, both ends are backends. */
        if (src_sub || conf->n_subscriber_prefixes == 0)
            st->flows_ambiguous++;
        else
            st->flows_outside++;
        return 0;
    }
    st->flows_matched++;
    return src_sub ? emit_hits(conf, f, &f->src, &dst, out, max, st)
                   : emit_hits(conf, f, &f->dst, &src, out, max, st);
}
