/*
 * lpm.c - longest-prefix match over sorted disjoint address intervals.
 *
 * Prefixes either nest or are disjoint, so they cut the address space into
 * intervals inside which the set of covering prefixes is constant. Each
 * interval stores only its innermost prefix; the others are that prefix's
 * ancestors, linked by a parent index. A lookup is therefore: find the
 * interval holding the address, then walk innermost -> outer prefixes until
 * one has an entry accepting the port and protocol.
 *
 * Most lookups (traffic to non-IoT addresses) miss, so IPv4 first probes
 * two bitmaps that say whether any prefix reaches into the address's block:
 * one bit per /16 (8 KiB, stays in L1), then one bit per finer block
 * (about 16 blocks per prefix, at most /24 blocks: 2 MiB, often a cache
 * miss). A clear bit ends the lookup. Otherwise the interval is found by a
 * binary search narrowed by an index:
 * - IPv4: a direct table on the top bits (8..22, about four intervals per
 *   slot), so a search stays within one cache line of intervals.
 * - IPv6: the space in use is skewed (2001:, 2a0x:, 260x:, ...), so a flat
 *   table would put everything in a few buckets. Instead a small radix tree
 *   of index nodes: each node skips the bits its keys have in common (path
 *   compression) and spends as many bits as it has keys; crowded slots get
 *   a child node. The tree's size is capped, beyond which slots simply
 *   fall back to binary search.
 * The large arrays sit on huge pages (bigalloc.h) to spare TLB misses.
 * Keys are handled as 128-bit integers with IPv4 in the top 32 bits, so the
 * interval construction is shared by both families.
 */
#include "lpm.h"

#include "bigalloc.h"

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

/* Sorts a port list: usually one to three ports, so insertion sort. */
static void sort_ports(uint16_t *p, size_t n)
{
    if (n > 16) {
        qsort(p, n, sizeof(*p), cmp_port);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint16_t v = p[i];
        size_t j = i;
        for (; j > 0 && p[j - 1] > v; j--)
            p[j] = p[j - 1];
        p[j] = v;
    }
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
    sort_ports(dst, n);
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
    /* Unit offsets (up to two per endpoint) and port offsets are 32-bit. */
    if (b->n_ports + n_ports > UINT32_MAX || b->n >= UINT32_MAX / 2 - 1)
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

typedef struct lpm_entry {
    uint32_t value;
    uint16_t n_ports;       /* 0: any port */
    uint8_t proto;          /* HS_LPM_ANY_PROTO: any */
    union {
        uint16_t inline_ports[2];   /* n_ports <= 2 */
        uint32_t off;               /* else: into hs_lpm.ports */
    } p;
} lpm_entry;

/*
 * The compiled prefixes are one array of 12-byte units: each prefix is a
 * head unit followed by its entries (sorted by value), so the cache line
 * a hit loads usually holds all it needs.
 */
typedef union lpm_unit {
    struct {
        uint32_t parent;    /* head unit of the next shorter covering
                             * prefix, or NONE */
        uint32_t n;         /* entries following the head */
    } head;
    lpm_entry entry;
} lpm_unit;

typedef struct v4_interval {
    uint32_t start;
    uint32_t prefix;        /* head unit of the innermost prefix, or NONE */
} v4_interval;

/* The coarse filter is small enough to stay in L1 (8 KiB), and most of the
 * address space lies in /16s that no signature prefix reaches into. */
enum { COARSE_BITS = 16 };

typedef struct v4_table {
    v4_interval *iv;        /* ascending, iv[0].start = 0 */
    uint32_t n;
    unsigned bits;
    uint32_t *index;        /* [j]: interval holding j << (32 - bits); +1 */
    unsigned filter_bits;   /* the filter has a bit per /filter_bits block: */
    uint64_t *filter;       /* does any prefix reach into it */
    uint64_t coarse[(1u << COARSE_BITS) / 64]; /* the same per /16 */
} v4_table;

typedef struct v6_interval {
    u128 start;
    uint32_t prefix;
} v6_interval;

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
    v6_interval *iv;
    uint32_t n;
    v6_node *nodes;         /* nodes[0] is the root when n_nodes > 0 */
    size_t n_nodes, cap_nodes;
    v6_slot *slots;
    size_t n_slots, cap_slots, max_slots;
} v6_table;

struct hs_lpm {
    lpm_unit *units;
    size_t n_units;
    uint16_t *ports;
    size_t n_ports;
    v4_table v4;
    v6_table v6;
};

/* ---- sorting the endpoints ---- */

/* An endpoint's index with one 64-bit word of its sort key. */
typedef struct sort_key {
    uint64_t k;
    uint32_t idx;
} sort_key;

/*
 * Stable LSD radix sort on the low `bytes` bytes of k: all histograms in
 * one pass, then a scatter for each byte that is not the same everywhere.
 * Returns the sorted array, which is a or tmp.
 */
static sort_key *radix_sort(sort_key *a, sort_key *tmp, size_t n,
                            unsigned bytes, size_t (*count)[256])
{
    memset(count, 0, 8 * sizeof(*count));
    for (size_t i = 0; i < n; i++)
        for (unsigned d = 0; d < bytes; d++)
            count[d][a[i].k >> (8 * d) & 0xff]++;
    for (unsigned d = 0; d < bytes; d++) {
        if (n == 0 || count[d][a[0].k >> (8 * d) & 0xff] == n)
            continue;
        size_t pos = 0;
        for (unsigned v = 0; v < 256; v++) {
            size_t c = count[d][v];
            count[d][v] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            tmp[count[d][a[i].k >> (8 * d) & 0xff]++] = a[i];
        sort_key *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}

/*
 * Orders endpoints by family, start and length into out. IPv4 sorts on
 * one 40-bit word (address, length); IPv6 in three stable rounds, least
 * significant first: length, low 64 bits, high 64 bits.
 */
static int sort_endpoints(const raw_ep *eps, size_t n, raw_ep *out)
{
    sort_key *a = malloc((n ? n : 1) * sizeof(*a));
    sort_key *tmp = malloc((n ? n : 1) * sizeof(*tmp));
    size_t (*count)[256] = malloc(8 * sizeof(*count));
    int rc = -ENOMEM;
    if (a && tmp && count) {
        size_t n4 = 0, k6 = n;
        for (size_t i = 0; i < n; i++)
            if (!eps[i].v6)
                a[n4++] = (sort_key){(eps[i].start.hi >> 32) << 8 | eps[i].len,
                                     (uint32_t)i};
        for (size_t i = n; i-- > 0;)
            if (eps[i].v6)
                a[--k6] = (sort_key){eps[i].len, (uint32_t)i};
        sort_key *v4 = radix_sort(a, tmp, n4, 5, count);
        sort_key *v6 = a + n4, *v6_tmp = tmp + n4;
        for (unsigned round = 0; round < 3; round++) {
            if (round > 0)
                for (size_t i = 0; i < n - n4; i++) {
                    const raw_ep *r = &eps[v6[i].idx];
                    v6[i].k = round == 1 ? r->start.lo : r->start.hi;
                }
            sort_key *sorted = radix_sort(v6, v6_tmp, n - n4,
                                          round ? 8 : 1, count);
            v6_tmp = sorted == v6 ? v6_tmp : v6;
            v6 = sorted;
        }
        for (size_t i = 0; i < n4; i++)
            out[i] = eps[v4[i].idx];
        for (size_t i = n4; i < n; i++)
            out[i] = eps[v6[i - n4].idx];
        rc = 0;
    }
    free(a);
    free(tmp);
    free(count);
    return rc;
}

static bool same_prefix(const raw_ep *x, const raw_ep *y)
{
    return x->v6 == y->v6 && x->len == y->len && u128_cmp(x->start, y->start) == 0;
}

/* Orders the endpoints of each prefix by value (runs are tiny). */
static void sort_runs_by_value(raw_ep *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        raw_ep r = a[i];
        size_t j = i;
        while (j > 0 && same_prefix(&a[j - 1], &r) && a[j - 1].value > r.value) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = r;
    }
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

/* ---- intervals ---- */

/* Interval list under construction: (start, innermost prefix) pairs.
 * n prefixes make at most 2n + 1 intervals (each opens one and closes
 * one), so the arrays are sized once. */
typedef struct sweep {
    u128 *keys;
    uint32_t *vals;
    size_t n;
} sweep;

/* Starts an interval at key. Keys arrive in ascending order; a repeated
 * key replaces the previous interval and equal neighbours merge. */
static void sweep_emit(sweep *s, u128 key, uint32_t val)
{
    if (s->n > 0 && u128_cmp(s->keys[s->n - 1], key) == 0)
        s->n--;
    if (s->n > 0 && s->vals[s->n - 1] == val)
        return;
    s->keys[s->n] = key;
    s->vals[s->n] = val;
    s->n++;
}

/* The prefixes of one family while it is being compiled. */
typedef struct family {
    u128 *start;            /* per prefix, ascending (start, length) */
    uint8_t *len;
    uint32_t *head;         /* its head unit */
    uint32_t n;
} family;

static u128 prefix_end(const family *f, uint32_t p)
{
    return u128_or_not(f->start[p], u128_mask(f->len[p]));
}

/*
 * Cuts the space into intervals (valued with head units) and links each
 * prefix's head to its parent. Prefixes come sorted by start, then length,
 * so a parent precedes its children; a stack holds the open prefixes,
 * innermost on top, at most 129 deep (one per length).
 */
static void sweep_family(lpm_unit *units, const family *f, sweep *s)
{
    uint32_t stack[130];
    unsigned depth = 0;
    sweep_emit(s, (u128){0, 0}, NONE);
    for (uint32_t p = 0; p <= f->n; p++) {
        /* Close the prefixes that end before p (all of them at the end). */
        while (depth > 0 && (p == f->n || u128_cmp(prefix_end(f, stack[depth - 1]),
                                                   f->start[p]) < 0)) {
            u128 end = prefix_end(f, stack[--depth]);
            if (!u128_is_max(end))
                sweep_emit(s, u128_inc(end),
                           depth ? f->head[stack[depth - 1]] : NONE);
        }
        if (p == f->n)
            break;
        units[f->head[p]].head.parent = depth ? f->head[stack[depth - 1]] : NONE;
        stack[depth++] = p;
        sweep_emit(s, f->start[p], f->head[p]);
    }
}

static unsigned ceil_log2(uint64_t n)
{
    return n <= 1 ? 0 : 64 - (unsigned)__builtin_clzll(n - 1);
}

/* Sets the filter bits of the blocks [first, last]. */
static void filter_set(uint64_t *filter, uint32_t first, uint32_t last)
{
    for (uint32_t b = first;; b++) {
        if ((b & 63) == 0 && last - b >= 63) {
            filter[b >> 6] = UINT64_MAX;
            b += 63;
        } else {
            filter[b >> 6] |= 1ull << (b & 63);
        }
        if (b >= last)
            break;
    }
}

static int v4_build(v4_table *v, const sweep *s, const family *f)
{
    v->n = (uint32_t)s->n;
    v->iv = hs_big_alloc(s->n * sizeof(*v->iv));
    /* About four intervals per index slot: a search reads one cache line. */
    unsigned bits = ceil_log2(s->n);
    bits = bits < 10 ? 8 : bits - 2;
    v->bits = bits > 22 ? 22 : bits;
    size_t slots = (size_t)1 << v->bits;
    v->index = hs_big_alloc((slots + 1) * sizeof(uint32_t));
    /* About 16 blocks per prefix (2 bytes), up to a /24 filter of 2 MiB:
     * nearly every miss is answered by the one probe. */
    bits = ceil_log2(f->n) + 4;
    v->filter_bits = bits < 16 ? 16 : bits > 24 ? 24 : bits;
    size_t filter_bytes = ((size_t)1 << v->filter_bits) / 8;
    v->filter = hs_big_alloc(filter_bytes);
    if (!v->iv || !v->index || !v->filter)
        return -ENOMEM;
    for (size_t i = 0; i < s->n; i++)
        v->iv[i] = (v4_interval){(uint32_t)(s->keys[i].hi >> 32), s->vals[i]};
    uint32_t i = 0;
    for (size_t j = 0; j < slots; j++) {
        uint32_t start = (uint32_t)(j << (32 - v->bits));
        while (i + 1 < v->n && v->iv[i + 1].start <= start)
            i++;
        v->index[j] = i;
    }
    v->index[slots] = v->n - 1;
    memset(v->filter, 0, filter_bytes);
    memset(v->coarse, 0, sizeof(v->coarse));
    unsigned shift = 64 - v->filter_bits, coarse_shift = 64 - COARSE_BITS;
    for (uint32_t p = 0; p < f->n; p++) {
        uint64_t first = f->start[p].hi, last = prefix_end(f, p).hi;
        filter_set(v->filter, (uint32_t)(first >> shift), (uint32_t)(last >> shift));
        filter_set(v->coarse, (uint32_t)(first >> coarse_shift),
                   (uint32_t)(last >> coarse_shift));
    }
    return 0;
}

static uint32_t v4_find(const v4_table *v, uint32_t a)
{
    /* The filter first: most lookups end there, and an index load issued
     * beside it would be a cache miss (the index is megabytes) that every
     * one of them waits for before it can retire. */
    uint32_t coarse = a >> (32 - COARSE_BITS);
    if (!(v->coarse[coarse >> 6] >> (coarse & 63) & 1))
        return NONE;
    uint32_t block = a >> (32 - v->filter_bits);
    if (!(v->filter[block >> 6] >> (block & 63) & 1))
        return NONE;
    uint32_t j = a >> (32 - v->bits);
    uint32_t lo = v->index[j], hi = v->index[j + 1];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        if (v->iv[mid].start <= a)
            lo = mid;
        else
            hi = mid - 1;
    }
    return v->iv[lo].prefix;
}

enum { V6_LEAF = 8, V6_MAX_BITS = 16 };

static int v6_build_node(v6_table *v, uint32_t lo, uint32_t hi);

/* Interval holding the last address of a slot whose successor slot starts
 * at next and is held by interval f. */
static uint32_t slot_last(const v6_table *v, uint32_t f, u128 next)
{
    return u128_cmp(v->iv[f].start, next) == 0 ? f - 1 : f;
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
        uint32_t child = (uint32_t)v->n_nodes;
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
 * (iv[lo] may start before the range; lo+1..hi start inside it), unless
 * the slot budget is spent: then the range stays a binary search.
 */
static int v6_build_node(v6_table *v, uint32_t lo, uint32_t hi)
{
    unsigned off = u128_common(v->iv[lo + 1].start, v->iv[hi].start);
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
    *nd = (v6_node){.prefix = u128_and(v->iv[hi].start, u128_mask(off)),
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
        while (i < hi && u128_cmp(v->iv[i + 1].start, start) <= 0)
            i++;
        slots[j] = (v6_slot){.first = i, .child = 0};
    }
    slots[n_slots - 1] = (v6_slot){.first = hi, .child = 0};
    return v6_build_children(v, ni);
}

static int v6_build(v6_table *v, const sweep *s)
{
    v->n = (uint32_t)s->n;
    v->iv = hs_big_alloc(s->n * sizeof(*v->iv));
    if (!v->iv)
        return -ENOMEM;
    for (size_t i = 0; i < s->n; i++)
        v->iv[i] = (v6_interval){s->keys[i], s->vals[i]};
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
                return v->iv[nd->lo].prefix;
            if (c > 0)
                return v->iv[nd->hi].prefix;
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
        if (u128_cmp(v->iv[mid].start, a) <= 0)
            lo = mid;
        else
            hi = mid - 1;
    }
    return v->iv[lo].prefix;
}

/* ---- build ---- */

/* Lays the sorted endpoints eps[0..n) of one family out as prefixes
 * (head + entries) from unit t->n_units on, and builds its table. */
static int build_family(hs_lpm *t, const hs_lpm_builder *b, const raw_ep *eps,
                        size_t n, bool v6, family *f)
{
    f->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || !same_prefix(&eps[i], &eps[i - 1])) {
            uint32_t p = f->n++;
            f->start[p] = eps[i].start;
            f->len[p] = eps[i].len;
            f->head[p] = (uint32_t)t->n_units++;
            t->units[f->head[p]].head.n = 0;
        }
        t->units[f->head[f->n - 1]].head.n++;
        entry_init(&t->units[t->n_units++].entry, &eps[i], b->ports);
    }
    sweep s = {.keys = malloc((2 * (size_t)f->n + 1) * sizeof(u128)),
               .vals = malloc((2 * (size_t)f->n + 1) * sizeof(uint32_t))};
    int rc = -ENOMEM;
    if (s.keys && s.vals) {
        sweep_family(t->units, f, &s);
        rc = v6 ? v6_build(&t->v6, &s) : v4_build(&t->v4, &s, f);
    }
    free(s.keys);
    free(s.vals);
    return rc;
}

static int build(hs_lpm *t, const hs_lpm_builder *b, raw_ep *sorted,
                 family *f)
{
    size_t n = b->n;
    t->n_ports = b->n_ports;
    t->ports = malloc(b->n_ports * sizeof(*t->ports) + 1);
    t->units = hs_big_alloc(2 * n * sizeof(*t->units));
    if (!t->ports || !t->units)
        return -ENOMEM;
    if (b->n_ports)
        memcpy(t->ports, b->ports, b->n_ports * sizeof(*t->ports));
    int rc = sort_endpoints(b->eps, n, sorted);
    if (rc)
        return rc;
    sort_runs_by_value(sorted, n);
    size_t n4 = 0;
    while (n4 < n && !sorted[n4].v6)
        n4++;
    rc = build_family(t, b, sorted, n4, false, f);
    if (rc == 0)
        rc = build_family(t, b, sorted + n4, n - n4, true, f);
    return rc;
}

int hs_lpm_build(const hs_lpm_builder *b, hs_lpm **out)
{
    *out = NULL;
    size_t n = b->n ? b->n : 1;
    hs_lpm *t = calloc(1, sizeof(*t));
    raw_ep *sorted = malloc(n * sizeof(*sorted));
    family f = {.start = malloc(n * sizeof(u128)), .len = malloc(n),
                .head = malloc(n * sizeof(uint32_t))};
    int rc = -ENOMEM;
    if (t && sorted && f.start && f.len && f.head)
        rc = build(t, b, sorted, &f);
    free(sorted);
    free(f.start);
    free(f.len);
    free(f.head);
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
    free(t->units);
    free(t->ports);
    free(t->v4.iv);
    free(t->v4.index);
    free(t->v4.filter);
    free(t->v6.iv);
    free(t->v6.nodes);
    free(t->v6.slots);
    free(t);
}

/* ---- lookup ---- */

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

/* Distinct values of the accepting entries after head unit h. */
static size_t collect(const hs_lpm *t, uint32_t h, uint16_t port,
                      uint8_t proto, uint32_t *out, size_t max)
{
    size_t n = 0;
    uint32_t last = 0;
    const lpm_unit *u = &t->units[h + 1], *end = u + t->units[h].head.n;
    for (; u < end; u++) {
        const lpm_entry *e = &u->entry;
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
    uint32_t h;
    if (ip->af == HS_AF_V4)
        h = v4_find(&t->v4, ip->u.v4);
    else if (ip->af == HS_AF_V6)
        h = v6_find(&t->v6, ip_key(ip));
    else
        return 0;
    for (; h != NONE; h = t->units[h].head.parent) {
        size_t n = collect(t, h, port, proto, out, max);
        if (n)
            return n;
    }
    return 0;
}

size_t hs_lpm_memory(const hs_lpm *t)
{
    return sizeof(*t) + t->n_units * sizeof(lpm_unit) +
           t->n_ports * sizeof(uint16_t) + t->v4.n * sizeof(v4_interval) +
           (((size_t)1 << t->v4.bits) + 1) * sizeof(uint32_t) +
           ((size_t)1 << t->v4.filter_bits) / 8 +
           t->v6.n * sizeof(v6_interval) +
           t->v6.n_nodes * sizeof(v6_node) + t->v6.n_slots * sizeof(v6_slot);
}
