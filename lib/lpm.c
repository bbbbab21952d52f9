/*
 * lpm.c - longest-prefix match over sorted disjoint address intervals.
 *
 * Prefixes either nest or are disjoint, so they cut the address space into
 * intervals inside which the set of covering prefixes is constant. Each
 * interval stores only its innermost prefix; the others are that prefix's
 * ancestors, linked by a parent index. A lookup is therefore: find the
 * interval holding the address, then walk innermost -> outer prefixes until
 * one has an entry accepting the port and protocol. Most lookups (traffic to
 * non-IoT addresses) land in a gap and stop after the interval search.
 *
 * The interval search is a short binary search narrowed by an index:
 * - IPv4: a direct table on the top bits (as many as there are intervals,
 *   16..22), so a search covers about two keys.
 * - IPv6: the space in use is skewed (2001:, 2a0x:, 260x:, ...), so a flat
 *   table would put everything in a few buckets. Instead a small radix tree
 *   of index nodes: each node skips the bits its keys have in common (path
 *   compression) and spends as many bits as it has keys; crowded slots get
 *   a child node. The tree's size is capped, beyond which slots simply
 *   fall back to binary search.
 * Keys are handled as 128-bit integers with IPv4 in the top 32 bits, so the
 * interval construction is shared by both families.
 */
#include "lpm.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

typedef struct u128 {
    uint64_t hi, lo;
} u128;

static int u128_cmp(u128 a, u128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

/* The top len bits set (len 0..128). */
static u128 u128_mask(unsigned len)
{
    u128 m = {0, 0};
    if (len >= 64) {
        m.hi = UINT64_MAX;
        m.lo = len == 64 ? 0 : UINT64_MAX << (128 - len);
    } else if (len > 0) {
        m.hi = UINT64_MAX << (64 - len);
    }
    return m;
}

static u128 u128_and(u128 a, u128 b)
{
    return (u128){a.hi & b.hi, a.lo & b.lo};
}

static u128 u128_or_not(u128 a, u128 b)
{
    return (u128){a.hi | ~b.hi, a.lo | ~b.lo};
}

static bool u128_is_max(u128 a)
{
    return a.hi == UINT64_MAX && a.lo == UINT64_MAX;
}

static u128 u128_inc(u128 a)
{
    a.lo++;
    if (a.lo == 0)
        a.hi++;
    return a;
}

/* Bits [off, off + n) of a (bit 0 = most significant), n <= 32. */
static uint32_t u128_bits(u128 a, unsigned off, unsigned n)
{
    unsigned shift = 128 - off - n; /* right shift bringing them down */
    uint64_t v;
    if (shift >= 64)
        v = a.hi >> (shift - 64);
    else if (shift == 0)
        v = a.lo;
    else
        v = a.lo >> shift | a.hi << (64 - shift);
    return (uint32_t)(v & ((1ull << n) - 1));
}

/* Value x placed at bits [off, off + n). */
static u128 u128_place(uint64_t x, unsigned off, unsigned n)
{
    unsigned shift = 128 - off - n;
    u128 r = {0, 0};
    if (shift >= 64) {
        r.hi = x << (shift - 64);
    } else if (shift == 0) {
        r.lo = x;
    } else {
        r.lo = x << shift;
        r.hi = x >> (64 - shift);
    }
    return r;
}

/* Length of the common leading bits of a and b. */
static unsigned u128_common(u128 a, u128 b)
{
    if (a.hi != b.hi)
        return (unsigned)__builtin_clzll(a.hi ^ b.hi);
    if (a.lo != b.lo)
        return 64 + (unsigned)__builtin_clzll(a.lo ^ b.lo);
    return 128;
}

static u128 ip_key(const hs_ip *ip)
{
    if (ip->af == HS_AF_V4)
        return (u128){(uint64_t)ip->u.v4 << 32, 0};
    u128 k = {0, 0};
    for (int i = 0; i < 8; i++) {
        k.hi = k.hi << 8 | ip->u.v6[i];
        k.lo = k.lo << 8 | ip->u.v6[8 + i];
    }
    return k;
}

/* ---- builder ---- */

typedef struct raw_ep {
    u128 start;             /* IPv4 in the top 32 bits */
    uint32_t value;
    uint32_t ports;         /* offset into the builder's port pool */
    uint16_t n_ports;       /* 0: any port */
    uint8_t v6;
    uint8_t len;            /* in bits of the 128-bit key */
    uint8_t proto;
} raw_ep;

struct hs_lpm_builder {
    raw_ep *eps;
    size_t n, cap;
    uint16_t *ports;
    size_t n_ports, cap_ports;
};

hs_lpm_builder *hs_lpm_builder_new(void)
{
    return calloc(1, sizeof(hs_lpm_builder));
}

void hs_lpm_builder_free(hs_lpm_builder *b)
{
    if (!b)
        return;
    free(b->eps);
    free(b->ports);
    free(b);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need)
        ncap *= 2;
    void *np = realloc(*p, ncap * size);
    if (!np)
        return -ENOMEM;
    *p = np;
    *cap = ncap;
    return 0;
}

static int cmp_port(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* Appends ports sorted and without repeats; returns the count kept. */
static int add_ports(hs_lpm_builder *b, const uint16_t *ports, size_t n,
                     uint16_t *kept)
{
    *kept = 0;
    if (n == 0)
        return 0;
    if (n > UINT16_MAX + 1u)
        return -EINVAL;
    if (grow((void **)&b->ports, &b->cap_ports, b->n_ports + n, 2))
        return -ENOMEM;
    uint16_t *dst = b->ports + b->n_ports;
    memcpy(dst, ports, n * sizeof(*ports));
    qsort(dst, n, sizeof(*dst), cmp_port);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || dst[k - 1] != dst[i])
            dst[k++] = dst[i];
    if (k > UINT16_MAX) /* all 65536 ports: the same as any port */
        k = 0;
    *kept = (uint16_t)k;
    return 0;
}

int hs_lpm_builder_add(hs_lpm_builder *b, const hs_ip *prefix, unsigned len,
                       const uint16_t *ports, size_t n_ports, uint8_t proto,
                       uint32_t value)
{
    if (prefix->af != HS_AF_V4 && prefix->af != HS_AF_V6)
        return -EINVAL;
    bool v6 = prefix->af == HS_AF_V6;
    if (len > (v6 ? 128u : 32u))
        return -EINVAL;
    u128 start = ip_key(prefix);
    if (u128_cmp(u128_and(start, u128_mask(len)), start) != 0)
        return -EINVAL;
    if (b->n_ports + n_ports > UINT32_MAX || b->n >= UINT32_MAX - 1)
        return -ENOMEM;
    if (grow((void **)&b->eps, &b->cap, b->n + 1, sizeof(raw_ep)))
        return -ENOMEM;
    raw_ep *e = &b->eps[b->n];
    *e = (raw_ep){.start = start, .value = value,
                  .ports = (uint32_t)b->n_ports, .v6 = v6,
                  .len = (uint8_t)len, .proto = proto};
    int rc = add_ports(b, ports, n_ports, &e->n_ports);
    if (rc)
        return rc;
    b->n_ports += e->n_ports;
    b->n++;
    return 0;
}

/* ---- compiled structure ---- */

typedef struct lpm_prefix {
    uint32_t parent;        /* next shorter covering prefix, or NONE */
    uint32_t first;         /* its entries: [first, next prefix's first) */
} lpm_prefix;

typedef struct lpm_entry {
    uint32_t value;
    uint16_t n_ports;       /* 0: any port */
    uint8_t proto;          /* HS_LPM_ANY_PROTO: any */
    union {
        uint16_t inline_ports[2];   /* n_ports <= 2 */
        uint32_t off;               /* else: into hs_lpm.ports */
    } p;
} lpm_entry;

typedef struct v4_table {
    uint32_t *keys;         /* interval starts, ascending, keys[0] = 0 */
    uint32_t *vals;         /* innermost prefix of each interval, or NONE */
    uint32_t n;
    unsigned bits;
    uint32_t *index;        /* [j]: interval holding j << (32 - bits); +1 */
} v4_table;

typedef struct v6_node {
    u128 prefix;            /* bits [0, off) shared by all keys below */
    uint32_t lo, hi;        /* intervals holding the node's first/last address */
    uint32_t slot0;         /* 2^bits + 1 slots from here */
    uint8_t off, bits;
} v6_node;

typedef struct v6_slot {
    uint32_t first;         /* interval holding the slot's first address */
    uint32_t child;         /* index node for a crowded slot, 0: none */
} v6_slot;

typedef struct v6_table {
    u128 *keys;
    uint32_t *vals;
    uint32_t n;
    v6_node *nodes;         /* nodes[0] is the root when n_nodes > 0 */
    size_t n_nodes, cap_nodes;
    v6_slot *slots;
    size_t n_slots, cap_slots, max_slots;
} v6_table;

struct hs_lpm {
    lpm_prefix *prefixes;   /* n_prefixes + 1 (sentinel holds n_entries) */
    uint32_t n_prefixes;
    lpm_entry *entries;
    uint32_t n_entries;
    uint16_t *ports;
    size_t n_ports;
    v4_table v4;
    v6_table v6;
};

static int cmp_raw(const void *a, const void *b)
{
    const raw_ep *x = a, *y = b;
    if (x->v6 != y->v6)
        return x->v6 < y->v6 ? -1 : 1;
    int c = u128_cmp(x->start, y->start);
    if (c)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

static void entry_init(lpm_entry *e, const raw_ep *r, const uint16_t *pool)
{
    *e = (lpm_entry){.value = r->value, .n_ports = r->n_ports,
                     .proto = r->proto};
    if (r->n_ports > 2)
        e->p.off = r->ports;
    else
        for (unsigned i = 0; i < r->n_ports; i++)
            e->p.inline_ports[i] = pool[r->ports + i];
}

/* Interval list under construction: (start, innermost prefix) pairs. */
typedef struct sweep {
    u128 *keys;
    uint32_t *vals;
    size_t n, cap;
} sweep;

/* Starts an interval at key. Keys arrive in ascending order; a repeated
 * key replaces the previous interval and equal neighbours merge. */
static int sweep_emit(sweep *s, u128 key, uint32_t val)
{
    if (s->n > 0 && u128_cmp(s->keys[s->n - 1], key) == 0)
        s->n--;
    if (s->n > 0 && s->vals[s->n - 1] == val)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        u128 *nk = realloc(s->keys, cap * sizeof(*nk));
        if (!nk)
            return -ENOMEM;
        s->keys = nk;
        uint32_t *nv = realloc(s->vals, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->vals = nv;
        s->cap = cap;
    }
    s->keys[s->n] = key;
    s->vals[s->n] = val;
    s->n++;
    return 0;
}

/* Prefix id -> (start, len) of the family being swept. */
typedef struct prefix_key {
    u128 start;
    unsigned len;
} prefix_key;

static u128 prefix_end(const prefix_key *p)
{
    return u128_or_not(p->start, u128_mask(p->len));
}

/*
 * Cuts the space into intervals for prefixes [p0, p1) (sorted by start,
 * then length, so a parent precedes its children) and sets their parents.
 * A stack holds the open prefixes, innermost on top; nesting is at most
 * 129 deep (one per length).
 */
static int sweep_prefixes(hs_lpm *t, const prefix_key *pk, uint32_t p0,
                          uint32_t p1, sweep *s)
{
    uint32_t stack[130];
    unsigned depth = 0;
    int rc = sweep_emit(s, (u128){0, 0}, NONE);
    for (uint32_t p = p0; p <= p1 && rc == 0; p++) {
        /* Close the open prefixes that end before p (all of them at the end). */
        while (depth > 0 && (p == p1 || u128_cmp(prefix_end(&pk[stack[depth - 1]]),
                                                 pk[p].start) < 0)) {
            u128 end = prefix_end(&pk[stack[--depth]]);
            if (u128_is_max(end))
                continue;
            rc = sweep_emit(s, u128_inc(end), depth ? stack[depth - 1] : NONE);
            if (rc)
                return rc;
        }
        if (p == p1)
            break;
        t->prefixes[p].parent = depth ? stack[depth - 1] : NONE;
        stack[depth++] = p;
        rc = sweep_emit(s, pk[p].start, p);
    }
    return rc;
}

static unsigned ceil_log2(uint64_t n)
{
    return n <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(n - 1);
}

static int v4_build(v4_table *v, const sweep *s)
{
    v->n = (uint32_t)s->n;
    v->keys = malloc(s->n * sizeof(*v->keys));
    v->vals = malloc(s->n * sizeof(*v->vals));
    unsigned bits = ceil_log2(s->n);
    v->bits = bits < 16 ? 16 : bits > 22 ? 22 : bits;
    v->index = malloc(((size_t)1 << v->bits) * sizeof(uint32_t) + 4);
    if (!v->keys || !v->vals || !v->index)
        return -ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        v->keys[i] = (uint32_t)(s->keys[i].hi >> 32);
        v->vals[i] = s->vals[i];
    }
    uint32_t i = 0;
    size_t slots = (size_t)1 << v->bits;
    for (size_t j = 0; j < slots; j++) {
        uint32_t start = (uint32_t)(j << (32 - v->bits));
        while (i + 1 < v->n && v->keys[i + 1] <= start)
            i++;
        v->index[j] = i;
    }
    v->index[slots] = v->n - 1;
    return 0;
}

static uint32_t v4_find(const v4_table *v, uint32_t a)
{
    uint32_t j = a >> (32 - v->bits);
    uint32_t lo = v->index[j], hi = v->index[j + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (v->keys[mid] <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    return v->vals[lo];
}

enum { V6_LEAF = 8, V6_MAX_BITS = 16 };

static int v6_build_node(v6_table *v, uint32_t lo, uint32_t hi);

/* Interval holding the last address of slot j (whose successor slot starts
 * at next and is held by interval f). */
static uint32_t slot_last(const v6_table *v, uint32_t f, u128 next)
{
    return u128_cmp(v->keys[f], next) == 0 ? f - 1 : f;
}

/* Adds the child nodes of node ni for its crowded slots. */
static int v6_build_children(v6_table *v, uint32_t ni)
{
    v6_node nd = v->nodes[ni];
    uint32_t n_slots = 1u << nd.bits;
    for (uint32_t j = 0; j < n_slots; j++) {
        v6_slot s = v->slots[nd.slot0 + j];
        uint32_t last = nd.hi;
        if (j + 1 < n_slots) {
            u128 next = u128_place(j + 1, nd.off, nd.bits);
            next.hi |= nd.prefix.hi;
            next.lo |= nd.prefix.lo;
            last = slot_last(v, v->slots[nd.slot0 + j + 1].first, next);
        }
        if (last - s.first <= V6_LEAF)
            continue;
        uint32_t child = v->n_nodes;
        int rc = v6_build_node(v, s.first, last);
        if (rc)
            return rc;
        if (v->n_nodes > child)
            v->slots[nd.slot0 + j].child = child;
    }
    return 0;
}

/*
 * Builds an index node for the address range held by intervals [lo, hi]
 * (keys[lo] may start before the range; keys lo+1..hi lie inside it),
 * unless the slot budget is spent: then the range stays a binary search.
 */
static int v6_build_node(v6_table *v, uint32_t lo, uint32_t hi)
{
    unsigned off = u128_common(v->keys[lo + 1], v->keys[hi]);
    unsigned bits = ceil_log2(hi - lo);
    if (bits > V6_MAX_BITS)
        bits = V6_MAX_BITS;
    if (bits > 128 - off)
        bits = 128 - off;
    size_t n_slots = ((size_t)1 << bits) + 1;
    if (v->n_slots + n_slots > v->max_slots)
        return 0;
    if (grow((void **)&v->nodes, &v->cap_nodes, v->n_nodes + 1,
             sizeof(v6_node)) ||
        grow((void **)&v->slots, &v->cap_slots, v->n_slots + n_slots,
             sizeof(v6_slot)))
        return -ENOMEM;
    uint32_t ni = (uint32_t)v->n_nodes++;
    v6_node *nd = &v->nodes[ni];
    *nd = (v6_node){.prefix = u128_and(v->keys[hi], u128_mask(off)),
                    .lo = lo, .hi = hi, .slot0 = (uint32_t)v->n_slots,
                    .off = (uint8_t)off, .bits = (uint8_t)bits};
    v6_slot *slots = &v->slots[v->n_slots];
    v->n_slots += n_slots;
    /* One merge pass: the interval holding each slot's first address. */
    uint32_t i = lo;
    for (size_t j = 0; j + 1 < n_slots; j++) {
        u128 start = u128_place(j, off, bits);
        start.hi |= nd->prefix.hi;
        start.lo |= nd->prefix.lo;
        while (i < hi && u128_cmp(v->keys[i + 1], start) <= 0)
            i++;
        slots[j] = (v6_slot){.first = i, .child = 0};
    }
    slots[n_slots - 1] = (v6_slot){.first = hi, .child = 0};
    return v6_build_children(v, ni);
}

static int v6_build(v6_table *v, const sweep *s)
{
    v->n = (uint32_t)s->n;
    v->keys = malloc(s->n * sizeof(*v->keys));
    v->vals = malloc(s->n * sizeof(*v->vals));
    if (!v->keys || !v->vals)
        return -ENOMEM;
    memcpy(v->keys, s->keys, s->n * sizeof(*v->keys));
    memcpy(v->vals, s->vals, s->n * sizeof(*v->vals));
    /* The tree may hold a few slots per interval, whatever the skew. */
    v->max_slots = 4 * (size_t)v->n + ((size_t)1 << V6_MAX_BITS) + 1;
    if (v->n - 1 <= V6_LEAF)
        return 0;
    return v6_build_node(v, 0, v->n - 1);
}

static uint32_t v6_find(const v6_table *v, u128 a)
{
    uint32_t lo = 0, hi = v->n - 1;
    if (v->n_nodes > 0) {
        const v6_node *nd = &v->nodes[0];
        for (;;) {
            int c = u128_cmp(u128_and(a, u128_mask(nd->off)), nd->prefix);
            if (c < 0)
                return v->vals[nd->lo];
            if (c > 0)
                return v->vals[nd->hi];
            const v6_slot *s = &v->slots[nd->slot0 + u128_bits(a, nd->off,
                                                               nd->bits)];
            if (s->child) {
                nd = &v->nodes[s->child];
                continue;
            }
            lo = s[0].first;
            hi = s[1].first;
            break;
        }
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (u128_cmp(v->keys[mid], a) <= 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    return v->vals[lo];
}

/* Groups the sorted endpoints of one family into prefixes and entries, and
 * builds the family's interval table. */
static int build_family(hs_lpm *t, const hs_lpm_builder *b, const raw_ep *eps,
                        size_t n, bool v6, prefix_key *pk)
{
    uint32_t p0 = t->n_prefixes;
    for (size_t i = 0; i < n; i++) {
        const raw_ep *r = &eps[i];
        if (i == 0 || r->len != r[-1].len ||
            u128_cmp(r->start, r[-1].start) != 0) {
            uint32_t p = t->n_prefixes++;
            t->prefixes[p].first = t->n_entries;
            pk[p] = (prefix_key){.start = r->start, .len = r->len};
        }
        entry_init(&t->entries[t->n_entries++], r, b->ports);
    }
    t->prefixes[t->n_prefixes].first = t->n_entries;
    sweep s = {0};
    int rc = sweep_prefixes(t, pk, p0, t->n_prefixes, &s);
    if (rc == 0)
        rc = v6 ? v6_build(&t->v6, &s) : v4_build(&t->v4, &s);
    free(s.keys);
    free(s.vals);
    return rc;
}

int hs_lpm_build(const hs_lpm_builder *b, hs_lpm **out)
{
    *out = NULL;
    hs_lpm *t = calloc(1, sizeof(*t));
    raw_ep *eps = malloc((b->n ? b->n : 1) * sizeof(*eps));
    prefix_key *pk = malloc((b->n ? b->n : 1) * sizeof(*pk));
    int rc = -ENOMEM;
    if (!t || !eps || !pk)
        goto out;
    t->prefixes = malloc((b->n + 1) * sizeof(*t->prefixes));
    t->entries = malloc((b->n ? b->n : 1) * sizeof(*t->entries));
    t->n_ports = b->n_ports;
    t->ports = malloc((b->n_ports ? b->n_ports : 1) * sizeof(*t->ports));
    if (!t->prefixes || !t->entries || !t->ports)
        goto out;
    if (b->n_ports)
        memcpy(t->ports, b->ports, b->n_ports * sizeof(*t->ports));
    if (b->n)
        memcpy(eps, b->eps, b->n * sizeof(*eps));
    qsort(eps, b->n, sizeof(*eps), cmp_raw);
    size_t n4 = 0;
    while (n4 < b->n && !eps[n4].v6)
        n4++;
    rc = build_family(t, b, eps, n4, false, pk);
    if (rc == 0)
        rc = build_family(t, b, eps + n4, b->n - n4, true, pk);
out:
    free(eps);
    free(pk);
    if (rc) {
        hs_lpm_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void hs_lpm_free(hs_lpm *t)
{
    if (!t)
        return;
    free(t->prefixes);
    free(t->entries);
    free(t->ports);
    free(t->v4.keys);
    free(t->v4.vals);
    free(t->v4.index);
    free(t->v6.keys);
    free(t->v6.vals);
    free(t->v6.nodes);
    free(t->v6.slots);
    free(t);
}

static bool entry_accepts(const hs_lpm *t, const lpm_entry *e, uint16_t port,
                          uint8_t proto)
{
    if (e->proto != HS_LPM_ANY_PROTO && e->proto != proto)
        return false;
    if (e->n_ports == 0)
        return true;
    if (e->n_ports <= 2)
        return e->p.inline_ports[0] == port ||
               (e->n_ports == 2 && e->p.inline_ports[1] == port);
    const uint16_t *p = t->ports + e->p.off;
    size_t lo = 0, hi = e->n_ports;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (p[mid] < port)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < e->n_ports && p[lo] == port;
}

/* Distinct values of prefix p's accepting entries (sorted by value). */
static size_t collect(const hs_lpm *t, uint32_t p, uint16_t port,
                      uint8_t proto, uint32_t *out, size_t max)
{
    size_t n = 0;
    uint32_t last = 0;
    const lpm_entry *e = t->entries + t->prefixes[p].first;
    const lpm_entry *end = t->entries + t->prefixes[p + 1].first;
    for (; e < end; e++) {
        if (!entry_accepts(t, e, port, proto) || (n > 0 && e->value == last))
            continue;
        if (n < max)
            out[n] = e->value;
        last = e->value;
        n++;
    }
    return n;
}

size_t hs_lpm_lookup(const hs_lpm *t, const hs_ip *ip, uint16_t port,
                     uint8_t proto, uint32_t *out, size_t max)
{
    uint32_t p;
    if (ip->af == HS_AF_V4)
        p = v4_find(&t->v4, ip->u.v4);
    else if (ip->af == HS_AF_V6)
        p = v6_find(&t->v6, ip_key(ip));
    else
        return 0;
    for (; p != NONE; p = t->prefixes[p].parent) {
        size_t n = collect(t, p, port, proto, out, max);
        if (n)
            return n;
    }
    return 0;
}

size_t hs_lpm_memory(const hs_lpm *t)
{
    return sizeof(*t) + (t->n_prefixes + 1) * sizeof(lpm_prefix) +
           t->n_entries * sizeof(lpm_entry) + t->n_ports * sizeof(uint16_t) +
           t->v4.n * (sizeof(uint32_t) * 2) +
           (((size_t)1 << t->v4.bits) + 1) * sizeof(uint32_t) +
           t->v6.n * (sizeof(u128) + sizeof(uint32_t)) +
           t->v6.n_nodes * sizeof(v6_node) + t->v6.n_slots * sizeof(v6_slot);
}
