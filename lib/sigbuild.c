/*
 * sigbuild.c - the signature build (see sigbuild.h for the method).
 *
 * Inputs are interned names plus flat edge lists (name -> address, name ->
 * CNAME target). hs_sigbuild_run sorts the edge lists into compressed rows
 * (CSR) once, then every pass is a walk over plain arrays: resolution of
 * each signature domain (depth-first, to see loops), one linear pass that
 * marks what outside names reach, then sorts and a union-find for the
 * grouping. Every result array is allocated through build_keep() and freed
 * with the build, so the result needs no free of its own.
 */
#include "sigbuild.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "nametab.h"

typedef struct vec {
    void *p;
    uint32_t n, cap;
} vec;

typedef struct addr_edge {
    uint32_t node;
    hs_ip ip;
} addr_edge;

typedef struct cname_edge {
    uint32_t node, target;
} cname_edge;

/* An address a signature domain resolves to. */
typedef struct claim {
    hs_ip ip;
    uint32_t dom;               /* the domain's rank by name */
} claim;

/* An address an outside name resolves to; seq orders the outside names. */
typedef struct outside_addr {
    hs_ip ip;
    uint32_t node, seq;
} outside_addr;

typedef struct dom_info {
    vec ports;                  /* uint16_t, every port the CSVs give it */
} dom_info;

typedef struct sig_info {
    hs_level level;
    vec doms;                   /* uint32_t */
    vec devices;                /* uint32_t, into devices */
} sig_info;

struct hs_sigbuild {
    hs_nametab *names;          /* every name: passive DNS and CSV */
    hs_nametab *doms;           /* signature domains */
    hs_nametab *sigids;
    hs_nametab *devices;
    vec addrs;                  /* addr_edge */
    vec cnames;                 /* cname_edge */
    vec dom_infos;              /* dom_info, by doms index */
    vec sig_infos;              /* sig_info, by sigids index */
    vec kept;                   /* void *: result allocations */
    bool ran;                   /* run started: inputs are closed */
    bool done;                  /* ... and succeeded: res is valid */
    hs_sigbuild_result res;
};

enum { MARK_INSIDE = 1, MARK_ON_PATH = 2, MARK_OUTSIDE = 4 };

/* The passive DNS graph in compressed rows, and the walk state. */
typedef struct graph {
    hs_sigbuild *b;
    uint32_t n;
    uint32_t *addr_off;         /* n + 1; rows of b->addrs */
    uint32_t *cname_off;        /* n + 1; rows of b->cnames */
    uint32_t *sorted;           /* node indices by name */
    uint8_t *mark;
    uint32_t *stamp;            /* last resolution that visited the node */
    uint32_t epoch;
    uint32_t rank;              /* of the domain being resolved, by name */
    vec claims;                 /* claim */
    vec chains;                 /* hs_sigbuild_chain */
} graph;

/* Appends one zeroed element; returns it, or NULL. */
static void *vec_grow(vec *v, size_t size)
{
    if (v->n == v->cap) {
        uint32_t cap = v->cap ? v->cap * 2 : 16;
        void *p = cap > v->cap ? realloc(v->p, (size_t)cap * size) : NULL;
        if (!p)
            return NULL;
        v->p = p;
        v->cap = cap;
    }
    void *elem = (char *)v->p + (size_t)v->n++ * size;
    memset(elem, 0, size);
    return elem;
}

static int vec_push(vec *v, size_t size, const void *elem)
{
    void *slot = vec_grow(v, size);
    if (!slot)
        return -ENOMEM;
    memcpy(slot, elem, size);
    return 0;
}

/* Adds a uint32_t unless it is there already (short lists only). */
static int vec_add_u32(vec *v, uint32_t x)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (((uint32_t *)v->p)[i] == x)
            return 0;
    return vec_push(v, sizeof(x), &x);
}

static int vec_add_u16(vec *v, uint16_t x)
{
    for (uint32_t i = 0; i < v->n; i++)
        if (((uint16_t *)v->p)[i] == x)
            return 0;
    return vec_push(v, sizeof(x), &x);
}

/* Sorts v and drops adjacent duplicates (equal under cmp). */
static void vec_sort_unique(vec *v, size_t size,
                            int (*cmp)(const void *, const void *, void *),
                            void *ctx)
{
    if (v->n == 0)
        return;
    qsort_r(v->p, v->n, size, cmp, ctx);
    uint32_t w = 1;
    for (uint32_t i = 1; i < v->n; i++) {
        char *prev = (char *)v->p + (size_t)(w - 1) * size;
        char *cur = (char *)v->p + (size_t)i * size;
        if (cmp(prev, cur, ctx) != 0)
            memcpy((char *)v->p + (size_t)w++ * size, cur, size);
    }
    v->n = w;
}

static void *build_keep(hs_sigbuild *b, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p && vec_push(&b->kept, sizeof(p), &p) < 0) {
        free(p);
        p = NULL;
    }
    return p;
}

static int ip_cmp(const hs_ip *a, const hs_ip *b)
{
    if (a->af != b->af)
        return a->af < b->af ? -1 : 1;
    if (a->af == HS_AF_V4)
        return a->u.v4 < b->u.v4 ? -1 : a->u.v4 > b->u.v4;
    return memcmp(a->u.v6, b->u.v6, 16);
}

static int u32_cmp(const void *a, const void *b, void *ctx)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Indices into the nametab ctx, by name. */
static int name_idx_cmp(const void *a, const void *b, void *ctx)
{
    return strcmp(hs_nametab_name(ctx, *(const uint32_t *)a),
                  hs_nametab_name(ctx, *(const uint32_t *)b));
}

static int name_ptr_cmp(const void *a, const void *b, void *ctx)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int addr_edge_cmp(const void *a, const void *b, void *ctx)
{
    const addr_edge *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return ip_cmp(&x->ip, &y->ip);
}

static int cname_edge_cmp(const void *a, const void *b, void *ctx)
{
    const cname_edge *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return strcmp(hs_nametab_name(ctx, x->target),
                  hs_nametab_name(ctx, y->target));
}

static int claim_cmp(const void *a, const void *b, void *ctx)
{
    const claim *x = a, *y = b;
    int c = ip_cmp(&x->ip, &y->ip);
    return c ? c : (x->dom > y->dom) - (x->dom < y->dom);
}

static int outside_addr_cmp(const void *a, const void *b, void *ctx)
{
    const outside_addr *x = a, *y = b;
    int c = ip_cmp(&x->ip, &y->ip);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int chain_cmp(const void *a, const void *b, void *ctx)
{
    const hs_sigbuild_chain *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    if (c == 0)
        c = strcmp(x->name, y->name);
    return c ? c : (int)x->issue - (int)y->issue;
}

hs_sigbuild *hs_sigbuild_new(void)
{
    hs_sigbuild *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->names = hs_nametab_new();
    b->doms = hs_nametab_new();
    b->sigids = hs_nametab_new();
    b->devices = hs_nametab_new();
    if (!b->names || !b->doms || !b->sigids || !b->devices) {
        hs_sigbuild_free(b);
        return NULL;
    }
    return b;
}

void hs_sigbuild_free(hs_sigbuild *b)
{
    if (!b)
        return;
    for (uint32_t i = 0; i < b->dom_infos.n; i++) {
        dom_info *d = (dom_info *)b->dom_infos.p + i;
        free(d->ports.p);
    }
    for (uint32_t i = 0; i < b->sig_infos.n; i++) {
        sig_info *s = (sig_info *)b->sig_infos.p + i;
        free(s->doms.p);
        free(s->devices.p);
    }
    for (uint32_t i = 0; i < b->kept.n; i++)
        free(((void **)b->kept.p)[i]);
    free(b->kept.p);
    free(b->dom_infos.p);
    free(b->sig_infos.p);
    free(b->addrs.p);
    free(b->cnames.p);
    hs_nametab_free(b->names);
    hs_nametab_free(b->doms);
    hs_nametab_free(b->sigids);
    hs_nametab_free(b->devices);
    free(b);
}

/* Interns name in t; grows infos (zeroed elements of size) to match. */
static int64_t intern_with_info(hs_nametab *t, vec *infos, size_t size,
                                const char *name)
{
    int64_t i = hs_nametab_intern(t, name);
    if (i >= 0 && infos->n < hs_nametab_count(t) && !vec_grow(infos, size))
        return -ENOMEM;
    return i;
}

int hs_sigbuild_add_row(hs_sigbuild *b, const char *level_id,
                        const char *device, const char *domain,
                        uint16_t port)
{
    if (b->ran)
        return -EBUSY;
    if (hs_nametab_intern(b->names, domain) < 0)
        return -ENOMEM;
    uint32_t n_sigs = hs_nametab_count(b->sigids);
    int64_t d = intern_with_info(b->doms, &b->dom_infos, sizeof(dom_info),
                                 domain);
    int64_t s = intern_with_info(b->sigids, &b->sig_infos, sizeof(sig_info),
                                 level_id);
    if (d < 0 || s < 0)
        return -ENOMEM;
    dom_info *di = (dom_info *)b->dom_infos.p + d;
    sig_info *si = (sig_info *)b->sig_infos.p + s;
    if ((uint32_t)s == n_sigs)
        si->level = HS_LEVEL_PRODUCT; /* a new signature: the default */
    /* testbed lists are short (tens of domains a level): linear is fine */
    if (vec_add_u16(&di->ports, port) < 0 ||
        vec_add_u32(&si->doms, (uint32_t)d) < 0)
        return -ENOMEM;
    if (device[0] != '\0') {
        int64_t dev = hs_nametab_intern(b->devices, device);
        if (dev < 0 || vec_add_u32(&si->devices, (uint32_t)dev) < 0)
            return -ENOMEM;
    }
    return 0;
}

int hs_sigbuild_add_addr(hs_sigbuild *b, const char *rrname, const hs_ip *ip)
{
    if (b->ran)
        return -EBUSY;
    int64_t n = hs_nametab_intern(b->names, rrname);
    if (n < 0)
        return -ENOMEM;
    addr_edge e = {.node = (uint32_t)n, .ip = *ip};
    return vec_push(&b->addrs, sizeof(e), &e);
}

int hs_sigbuild_add_cname(hs_sigbuild *b, const char *rrname,
                          const char *target)
{
    if (b->ran)
        return -EBUSY;
    int64_t n = hs_nametab_intern(b->names, rrname);
    int64_t t = n < 0 ? n : hs_nametab_intern(b->names, target);
    if (t < 0)
        return -ENOMEM;
    cname_edge e = {.node = (uint32_t)n, .target = (uint32_t)t};
    return vec_push(&b->cnames, sizeof(e), &e);
}

int hs_sigbuild_set_level(hs_sigbuild *b, const char *id, hs_level level)
{
    int64_t s = hs_nametab_find(b->sigids, id);
    if (s < 0)
        return -ENOENT;
    ((sig_info *)b->sig_infos.p)[s].level = level;
    return 0;
}

const hs_sigbuild_result *hs_sigbuild_result_get(const hs_sigbuild *b)
{
    return b->done ? &b->res : NULL;
}

/* ---- the passive DNS graph ---------------------------------------------- */

/* Row offsets of edges sorted by node: off[i]..off[i+1] are node i's. */
static uint32_t *graph_rows(uint32_t n, const void *edges, uint32_t n_edges,
                            size_t size)
{
    uint32_t *off = calloc((size_t)n + 1, sizeof(*off));
    if (!off)
        return NULL;
    for (uint32_t i = 0; i < n_edges; i++)
        off[*(const uint32_t *)((const char *)edges + (size_t)i * size) + 1]++;
    for (uint32_t i = 0; i < n; i++)
        off[i + 1] += off[i];
    return off;
}

static int graph_init(graph *g, hs_sigbuild *b)
{
    memset(g, 0, sizeof(*g));
    g->b = b;
    g->n = hs_nametab_count(b->names);
    vec_sort_unique(&b->addrs, sizeof(addr_edge), addr_edge_cmp, NULL);
    vec_sort_unique(&b->cnames, sizeof(cname_edge), cname_edge_cmp, b->names);
    g->addr_off = graph_rows(g->n, b->addrs.p, b->addrs.n, sizeof(addr_edge));
    g->cname_off = graph_rows(g->n, b->cnames.p, b->cnames.n,
                              sizeof(cname_edge));
    g->sorted = malloc(((size_t)g->n + 1) * sizeof(*g->sorted));
    g->mark = calloc((size_t)g->n + 1, 1);
    g->stamp = calloc((size_t)g->n + 1, sizeof(*g->stamp));
    if (!g->addr_off || !g->cname_off || !g->sorted || !g->mark || !g->stamp)
        return -ENOMEM;
    for (uint32_t i = 0; i < g->n; i++)
        g->sorted[i] = i;
    qsort_r(g->sorted, g->n, sizeof(*g->sorted), name_idx_cmp, b->names);
    return 0;
}

static void graph_fini(graph *g)
{
    free(g->addr_off);
    free(g->cname_off);
    free(g->sorted);
    free(g->mark);
    free(g->stamp);
    free(g->claims.p);
    free(g->chains.p);
}

static const addr_edge *graph_addrs(const graph *g, uint32_t node,
                                    uint32_t *n)
{
    *n = g->addr_off[node + 1] - g->addr_off[node];
    return (const addr_edge *)g->b->addrs.p + g->addr_off[node];
}

static const cname_edge *graph_cnames(const graph *g, uint32_t node,
                                      uint32_t *n)
{
    *n = g->cname_off[node + 1] - g->cname_off[node];
    return (const cname_edge *)g->b->cnames.p + g->cname_off[node];
}

static int graph_chain_issue(graph *g, uint32_t dom, uint32_t node,
                             hs_sigbuild_chain_issue issue)
{
    hs_sigbuild_chain c = {
        .domain = hs_nametab_name(g->b->doms, dom),
        .name = hs_nametab_name(g->b->names, node),
        .issue = issue,
    };
    return vec_push(&g->chains, sizeof(c), &c);
}

/*
 * Depth-first from node on behalf of signature domain dom: claims every
 * address on the way and marks the names inside. Recursion is bounded by
 * HS_SIGBUILD_MAX_CHAIN.
 */
static int graph_resolve(graph *g, uint32_t dom, uint32_t node,
                         unsigned depth)
{
    g->stamp[node] = g->epoch;
    g->mark[node] |= MARK_INSIDE | MARK_ON_PATH;
    uint32_t n;
    const addr_edge *a = graph_addrs(g, node, &n);
    int rc = 0;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        claim c = {.ip = a[i].ip, .dom = g->rank};
        rc = vec_push(&g->claims, sizeof(c), &c);
    }
    const cname_edge *e = graph_cnames(g, node, &n);
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        uint32_t t = e[i].target;
        if (g->mark[t] & MARK_ON_PATH)
            rc = graph_chain_issue(g, dom, t, HS_SIGBUILD_LOOP);
        else if (g->stamp[t] == g->epoch)
            continue;
        else if (depth == HS_SIGBUILD_MAX_CHAIN)
            rc = graph_chain_issue(g, dom, t, HS_SIGBUILD_TOO_LONG);
        else
            rc = graph_resolve(g, dom, t, depth + 1);
    }
    g->mark[node] &= (uint8_t)~MARK_ON_PATH;
    return rc;
}

/* Resolves signature domain dom from every name it matches. */
static int graph_resolve_domain(graph *g, uint32_t dom)
{
    const char *name = hs_nametab_name(g->b->doms, dom);
    g->epoch++;
    if (!hs_dname_is_wildcard(name)) /* add_row interned it: found */
        return graph_resolve(g, dom, (uint32_t)hs_nametab_find(g->b->names,
                                                               name), 0);
    for (uint32_t i = 0; i < g->n; i++) {
        uint32_t node = g->sorted[i];
        if (g->stamp[node] != g->epoch &&
            hs_dname_match(name, hs_nametab_name(g->b->names, node))) {
            int rc = graph_resolve(g, dom, node, 0);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

/*
 * Every address an outside name reaches, tagged with the first (by name)
 * outside name that reaches it: seeds go in name order and never re-walk a
 * name an earlier seed reached, whose addresses carry an earlier seed.
 */
static int graph_outside(graph *g, vec *out)
{
    vec stack = {0};
    int rc = 0;
    for (uint32_t s = 0; s < g->n && rc == 0; s++) {
        uint32_t seed = g->sorted[s];
        if (g->mark[seed] & (MARK_INSIDE | MARK_OUTSIDE))
            continue;
        g->mark[seed] |= MARK_OUTSIDE;
        rc = vec_push(&stack, sizeof(seed), &seed);
        while (rc == 0 && stack.n > 0) {
            uint32_t node = ((uint32_t *)stack.p)[--stack.n], n;
            const addr_edge *a = graph_addrs(g, node, &n);
            for (uint32_t i = 0; i < n && rc == 0; i++) {
                outside_addr o = {.ip = a[i].ip, .node = seed, .seq = s};
                rc = vec_push(out, sizeof(o), &o);
            }
            const cname_edge *e = graph_cnames(g, node, &n);
            for (uint32_t i = 0; i < n && rc == 0; i++) {
                uint32_t t = e[i].target;
                if (g->mark[t] & MARK_OUTSIDE)
                    continue;
                g->mark[t] |= MARK_OUTSIDE;
                rc = vec_push(&stack, sizeof(t), &t);
            }
        }
    }
    free(stack.p);
    if (rc == 0)
        vec_sort_unique(out, sizeof(outside_addr), outside_addr_cmp, NULL);
    return rc;
}

/* The first outside record of ip in the sorted out, or NULL. */
static const outside_addr *outside_find(const vec *out, const hs_ip *ip)
{
    const outside_addr *o = out->p;
    uint32_t lo = 0, hi = out->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (ip_cmp(&o[mid].ip, ip) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < out->n && ip_cmp(&o[lo].ip, ip) == 0 ? &o[lo] : NULL;
}

/* ---- grouping and the result -------------------------------------------- */

/* The build's view of the signature domains, by rank (= name order). */
typedef struct doms_view {
    uint32_t n;
    uint32_t *by_rank;          /* rank -> doms index */
    uint32_t *rank_of;          /* doms index -> rank */
    uint32_t *n_claims, *n_kept;
    uint32_t *parent;           /* union-find over ranks; root = min rank */
    uint32_t *group_of;         /* rank -> result group, if kept */
} doms_view;

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static void uf_union(uint32_t *parent, uint32_t x, uint32_t y)
{
    x = uf_find(parent, x);
    y = uf_find(parent, y);
    if (x < y)
        parent[y] = x;
    else
        parent[x] = y;
}

static const char *view_name(const hs_sigbuild *b, const doms_view *v,
                             uint32_t rank)
{
    return hs_nametab_name(b->doms, v->by_rank[rank]);
}

/*
 * Splits the claims into shared (reported in b->res.shared) and kept
 * (compacted in place, unioning domains on a common address).
 */
static int result_shared(hs_sigbuild *b, vec *claims, const vec *outside,
                         doms_view *v)
{
    claim *c = claims->p;
    vec shared = {0};
    uint32_t kept = 0;
    for (uint32_t i = 0; i < claims->n;) {
        uint32_t j = i;
        while (j < claims->n && ip_cmp(&c[j].ip, &c[i].ip) == 0)
            v->n_claims[c[j++].dom]++;
        const outside_addr *o = outside_find(outside, &c[i].ip);
        if (o) {
            const char **doms = build_keep(b, j - i, sizeof(*doms));
            hs_sigbuild_shared s = {
                .ip = c[i].ip,
                .outside = hs_nametab_name(b->names, o->node),
                .domains = doms,
                .n_domains = j - i,
            };
            if (!doms || vec_push(&shared, sizeof(s), &s) < 0) {
                free(shared.p);
                return -ENOMEM;
            }
            for (uint32_t k = i; k < j; k++)
                doms[k - i] = view_name(b, v, c[k].dom);
        } else {
            for (uint32_t k = i; k < j; k++) {
                v->n_kept[c[k].dom]++;
                uf_union(v->parent, c[i].dom, c[k].dom);
                c[kept++] = c[k];
            }
        }
        i = j;
    }
    claims->n = kept;
    hs_sigbuild_shared *out = build_keep(b, shared.n, sizeof(*out));
    if (out && shared.n)
        memcpy(out, shared.p, shared.n * sizeof(*out));
    free(shared.p);
    b->res.shared = out;
    b->res.n_shared = shared.n;
    return out ? 0 : -ENOMEM;
}

static int result_dropped(hs_sigbuild *b, const doms_view *v)
{
    uint32_t n = 0;
    for (uint32_t r = 0; r < v->n; r++)
        n += v->n_kept[r] == 0;
    hs_sigbuild_drop *d = build_keep(b, n, sizeof(*d));
    if (!d)
        return -ENOMEM;
    b->res.dropped = d;
    for (uint32_t r = 0; r < v->n; r++) {
        if (v->n_kept[r] > 0)
            continue;
        d->domain = view_name(b, v, r);
        d->why = v->n_claims[r] ? HS_SIGBUILD_ALL_SHARED
                                : HS_SIGBUILD_NO_ADDRESS;
        d++;
    }
    b->res.n_dropped = n;
    return 0;
}

/* One endpoint port of a group, before they are gathered. */
typedef struct group_port {
    uint32_t group;
    hs_ip ip;
    uint16_t port;
} group_port;

static int group_port_cmp(const void *a, const void *b, void *ctx)
{
    const group_port *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    int c = ip_cmp(&x->ip, &y->ip);
    return c ? c : (int)x->port - (int)y->port;
}

/* Gathers the sorted (group, ip, port) list into each group's endpoints. */
static int result_endpoints(hs_sigbuild *b, hs_sigbuild_group *groups,
                            const vec *gp)
{
    const group_port *p = gp->p;
    for (uint32_t i = 0; i < gp->n;) {
        hs_sigbuild_group *g = &groups[p[i].group];
        uint32_t end = i, n_eps = 0;
        while (end < gp->n && p[end].group == p[i].group) {
            if (end == i || ip_cmp(&p[end].ip, &p[end - 1].ip) != 0)
                n_eps++;
            end++;
        }
        hs_sigbuild_endpoint *eps = build_keep(b, n_eps, sizeof(*eps));
        uint16_t *ports = build_keep(b, end - i, sizeof(*ports));
        if (!eps || !ports)
            return -ENOMEM;
        g->eps = eps;
        g->n_eps = n_eps;
        hs_sigbuild_endpoint *ep = eps - 1;
        for (uint32_t k = i; k < end; k++) {
            if (k == i || ip_cmp(&p[k].ip, &p[k - 1].ip) != 0) {
                ep++;
                ep->ip = p[k].ip;
                ep->ports = ports;
            }
            *ports++ = p[k].port;
            ep->n_ports++;
        }
        i = end;
    }
    return 0;
}

/* Connected components of the kept claims, as result groups. */
static int result_groups(hs_sigbuild *b, const vec *claims, doms_view *v)
{
    uint32_t n = 0;
    for (uint32_t r = 0; r < v->n; r++) {
        if (v->n_kept[r] > 0 && uf_find(v->parent, r) == r)
            v->group_of[r] = n++;
    }
    hs_sigbuild_group *groups = build_keep(b, n, sizeof(*groups));
    if (!groups)
        return -ENOMEM;
    for (uint32_t r = 0; r < v->n; r++) {
        if (v->n_kept[r] > 0) {
            v->group_of[r] = v->group_of[uf_find(v->parent, r)];
            groups[v->group_of[r]].n_members++;
        }
    }
    for (uint32_t g = 0; g < n; g++) {
        groups[g].members = build_keep(b, groups[g].n_members,
                                       sizeof(char *));
        if (!groups[g].members)
            return -ENOMEM;
        groups[g].n_members = 0;
    }
    for (uint32_t r = 0; r < v->n; r++) {
        if (v->n_kept[r] == 0)
            continue;
        hs_sigbuild_group *g = &groups[v->group_of[r]];
        ((const char **)g->members)[g->n_members++] = view_name(b, v, r);
        g->name = g->members[0];
    }
    b->res.groups = groups;
    b->res.n_groups = n;

    vec gp = {0};
    const claim *c = claims->p;
    int rc = 0;
    for (uint32_t i = 0; i < claims->n && rc == 0; i++) {
        const dom_info *d = (const dom_info *)b->dom_infos.p +
                            v->by_rank[c[i].dom];
        for (uint32_t k = 0; k < d->ports.n && rc == 0; k++) {
            group_port p = {.group = v->group_of[c[i].dom], .ip = c[i].ip,
                            .port = ((uint16_t *)d->ports.p)[k]};
            rc = vec_push(&gp, sizeof(p), &p);
        }
    }
    if (rc == 0) {
        vec_sort_unique(&gp, sizeof(group_port), group_port_cmp, NULL);
        rc = result_endpoints(b, groups, &gp);
    }
    free(gp.p);
    return rc;
}

/* One signature's result entry: its groups and devices, sorted. */
static int result_sig(hs_sigbuild *b, const doms_view *v, uint32_t id,
                      hs_sigbuild_sig *out)
{
    const sig_info *si = (const sig_info *)b->sig_infos.p + id;
    uint32_t *groups = build_keep(b, si->doms.n, sizeof(*groups));
    const char **devices = build_keep(b, si->devices.n, sizeof(*devices));
    if (!groups || !devices)
        return -ENOMEM;
    vec gv = {.p = groups, .cap = si->doms.n};
    for (uint32_t i = 0; i < si->doms.n; i++) {
        uint32_t r = v->rank_of[((uint32_t *)si->doms.p)[i]];
        if (v->n_kept[r] > 0)
            groups[gv.n++] = v->group_of[r];
    }
    vec_sort_unique(&gv, sizeof(uint32_t), u32_cmp, NULL);
    vec dv = {.p = devices, .cap = si->devices.n};
    for (uint32_t i = 0; i < si->devices.n; i++)
        devices[dv.n++] = hs_nametab_name(b->devices,
                                          ((uint32_t *)si->devices.p)[i]);
    qsort_r(devices, dv.n, sizeof(*devices), name_ptr_cmp, NULL);
    *out = (hs_sigbuild_sig){
        .id = hs_nametab_name(b->sigids, id),
        .level = si->level,
        .devices = devices,
        .n_devices = dv.n,
        .groups = groups,
        .n_groups = gv.n,
        .n_listed = si->doms.n,
    };
    return 0;
}

static int result_sigs(hs_sigbuild *b, const doms_view *v)
{
    uint32_t n = hs_nametab_count(b->sigids);
    hs_sigbuild_sig *sigs = build_keep(b, n, sizeof(*sigs));
    const char **empty = build_keep(b, n, sizeof(*empty));
    uint32_t *order = malloc(((size_t)n + 1) * sizeof(*order));
    int rc = sigs && empty && order ? 0 : -ENOMEM;
    for (uint32_t i = 0; i < n && rc == 0; i++)
        order[i] = i;
    if (rc == 0)
        qsort_r(order, n, sizeof(*order), name_idx_cmp, b->sigids);
    b->res.sigs = sigs;
    b->res.empty_sigs = empty;
    for (uint32_t i = 0; i < n && rc == 0; i++) {
        hs_sigbuild_sig s;
        rc = result_sig(b, v, order[i], &s);
        if (rc == 0 && s.n_groups > 0)
            sigs[b->res.n_sigs++] = s;
        else if (rc == 0)
            empty[b->res.n_empty_sigs++] = s.id;
    }
    free(order);
    return rc;
}

static int view_init(doms_view *v, const hs_sigbuild *b)
{
    memset(v, 0, sizeof(*v));
    v->n = hs_nametab_count(b->doms);
    size_t sz = ((size_t)v->n + 1) * sizeof(uint32_t);
    v->by_rank = malloc(sz);
    v->rank_of = malloc(sz);
    v->n_claims = calloc(1, sz);
    v->n_kept = calloc(1, sz);
    v->parent = malloc(sz);
    v->group_of = calloc(1, sz);
    if (!v->by_rank || !v->rank_of || !v->n_claims || !v->n_kept ||
        !v->parent || !v->group_of)
        return -ENOMEM;
    for (uint32_t i = 0; i < v->n; i++)
        v->by_rank[i] = v->parent[i] = i;
    qsort_r(v->by_rank, v->n, sizeof(uint32_t), name_idx_cmp, b->doms);
    for (uint32_t r = 0; r < v->n; r++)
        v->rank_of[v->by_rank[r]] = r;
    return 0;
}

static void view_fini(doms_view *v)
{
    free(v->by_rank);
    free(v->rank_of);
    free(v->n_claims);
    free(v->n_kept);
    free(v->parent);
    free(v->group_of);
}

static int result_chains(hs_sigbuild *b, vec *chains)
{
    vec_sort_unique(chains, sizeof(hs_sigbuild_chain), chain_cmp, NULL);
    hs_sigbuild_chain *c = build_keep(b, chains->n, sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (chains->n)
        memcpy(c, chains->p, chains->n * sizeof(*c));
    b->res.chains = c;
    b->res.n_chains = chains->n;
    return 0;
}

int hs_sigbuild_run(hs_sigbuild *b)
{
    if (b->ran)
        return -EBUSY;
    b->ran = true;
    graph g;
    doms_view v;
    vec outside = {0};
    int rc = graph_init(&g, b);
    int vrc = view_init(&v, b);
    if (rc == 0)
        rc = vrc;
    for (uint32_t r = 0; r < v.n && rc == 0; r++) {
        g.rank = r;
        rc = graph_resolve_domain(&g, v.by_rank[r]);
    }
    if (rc == 0)
        rc = graph_outside(&g, &outside);
    if (rc == 0) {
        vec_sort_unique(&g.claims, sizeof(claim), claim_cmp, NULL);
        rc = result_shared(b, &g.claims, &outside, &v);
    }
    if (rc == 0)
        rc = result_dropped(b, &v);
    if (rc == 0)
        rc = result_groups(b, &g.claims, &v);
    if (rc == 0)
        rc = result_sigs(b, &v);
    if (rc == 0)
        rc = result_chains(b, &g.chains);
    free(outside.p);
    view_fini(&v);
    graph_fini(&g);
    b->done = rc == 0;
    return rc;
}
