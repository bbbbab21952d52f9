/*
 * sigset.c - loads and validates a signature file (docs/signatures.md) into
 * an immutable hs_sigset: signatures, grouped domains, rules, and the
 * compiled endpoint lookup (lpm.c).
 *
 * Validation is strict because a signature file is hand-edited or generated
 * and a silent mistake (a typo in a key, a host-bit prefix, a dangling
 * domain) would quietly weaken detection. The loader walks the JSON DOM once,
 * keeping the JSON path of the value in hand ("signatures[3].rule.window"),
 * and stops at the first error, reported as "FILE: path: what is wrong".
 */
#include "sigset.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "lpm.h"
#include "parse.h"

enum {
    SIG_ID_MAX = 64,        /* ids end up in events and Redis keys */
    NAME_MAX_LEN = 255,
    PORTS_MAX = 65535,
};
#define WINDOW_MAX_S (365ull * 24 * 3600)

/* Open-addressing map from a name to an index (slots hold index + 1). */
typedef struct name_table {
    uint32_t *slots;
    uint32_t mask;
} name_table;

struct hs_sigset {
    hs_signature *sigs;
    uint32_t n_sigs;
    hs_domain *domains;
    uint32_t n_domains;
    name_table sig_ids;
    name_table domain_names;
    hs_lpm *lpm;
    uint64_t n_prefixes;
};

const char *hs_level_name(hs_level level)
{
    switch (level) {
    case HS_LEVEL_PLATFORM: return "platform";
    case HS_LEVEL_MANUFACTURER: return "manufacturer";
    case HS_LEVEL_PRODUCT: return "product";
    }
    return "unknown";
}

hs_rule hs_rule_merge(const hs_rule *own, const hs_rule *defaults)
{
    hs_rule r = *defaults;
    if (own->set & HS_RULE_MIN_DOMAINS)
        r.min_domains = own->min_domains;
    if (own->set & HS_RULE_MIN_FRACTION)
        r.min_fraction = own->min_fraction;
    if (own->set & HS_RULE_MIN_HITS)
        r.min_hits = own->min_hits;
    if (own->set & HS_RULE_WINDOW)
        r.window_ms = own->window_ms;
    r.set = own->set;
    return r;
}

/* ---- name tables ---- */

typedef const char *(*key_fn)(const void *base, uint32_t i);

static const char *sig_id_of(const void *base, uint32_t i)
{
    return ((const hs_signature *)base)[i].id;
}

static const char *sig_name_of(const void *base, uint32_t i)
{
    return ((const hs_signature *)base)[i].name;
}

static const char *domain_name_of(const void *base, uint32_t i)
{
    return ((const hs_domain *)base)[i].name;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h ^ h >> 29;
}

static int table_init(name_table *t, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    t->slots = calloc(cap, sizeof(*t->slots));
    t->mask = (uint32_t)(cap - 1);
    return t->slots ? 0 : -ENOMEM;
}

/* The slot holding name, or the empty slot where it belongs. */
static uint32_t *table_slot(const name_table *t, const void *base, key_fn key,
                            const char *name)
{
    for (uint64_t i = hash_name(name);; i++) {
        uint32_t *slot = &t->slots[i & t->mask];
        if (*slot == 0 || strcmp(key(base, *slot - 1), name) == 0)
            return slot;
    }
}

static int32_t table_find(const name_table *t, const void *base, key_fn key,
                          const char *name)
{
    if (!t->slots)
        return -1;
    uint32_t slot = *table_slot(t, base, key, name);
    return slot ? (int32_t)(slot - 1) : -1;
}

/* ---- loader state and error reporting ---- */

/* One step of a JSON path: a member key, or an array index when key is
 * NULL. The path is only formatted when an error is reported. */
typedef struct path_part {
    const char *key;
    size_t index;
} path_part;

enum { PATH_MAX_DEPTH = 8 };

typedef struct loader {
    const char *file;
    char *err;
    size_t errlen;
    path_part path[PATH_MAX_DEPTH]; /* of the value being checked */
    unsigned depth;
    hs_sigset *s;
    hs_lpm_builder *lpm;
    const char **parents;   /* per signature, the parent id to resolve */
    name_table sig_names;   /* only to catch duplicate names */
    uint16_t *ports;        /* scratch for one endpoint's ports */
    size_t cap_ports;
} loader;

/* Steps into a member or item; returns the depth to restore on success. */
static unsigned path_step(loader *ld, const char *key, size_t index)
{
    unsigned mark = ld->depth;
    if (ld->depth < PATH_MAX_DEPTH)
        ld->path[ld->depth++] = (path_part){key, index};
    return mark;
}

static unsigned path_key(loader *ld, const char *key)
{
    return path_step(ld, key, 0);
}

static unsigned path_index(loader *ld, size_t index)
{
    return path_step(ld, NULL, index);
}

static void path_pop(loader *ld, unsigned mark)
{
    ld->depth = mark;
}

/* "signatures[3].rule.window" */
static void path_format(const loader *ld, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < ld->depth && n < len; i++) {
        const path_part *p = &ld->path[i];
        int w = p->key ? snprintf(buf + n, len - n, "%s%s", i ? "." : "",
                                  p->key)
                       : snprintf(buf + n, len - n, "[%zu]", p->index);
        if (w > 0)
            n += (size_t)w;
    }
}

/* Reports "FILE: path: what" (path omitted at the top level). */
__attribute__((format(printf, 2, 3)))
static int bad(loader *ld, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (ld->errlen == 0)
        return -EINVAL;
    char path[256];
    path_format(ld, path, sizeof(path));
    if (path[0])
        snprintf(ld->err, ld->errlen, "%s: %s: %s", ld->file, path, what);
    else
        snprintf(ld->err, ld->errlen, "%s: %s", ld->file, what);
    return -EINVAL;
}

static int nomem(loader *ld)
{
    if (ld->errlen)
        snprintf(ld->err, ld->errlen, "%s: out of memory", ld->file);
    return -ENOMEM;
}

/* Checks v's type; a string must also be a C string (no \u0000), since
 * names, prefixes and keywords are compared as such. */
static int want_type(loader *ld, const hs_json *v, hs_json_type type)
{
    if (v->type == type) {
        if (type == HS_JSON_STRING && strlen(v->u.s) != v->len)
            return bad(ld, "must not contain NUL characters");
        return 0;
    }
    return bad(ld, "must be %s %s, not %s", type == HS_JSON_ARRAY ||
               type == HS_JSON_OBJECT ? "an" : "a", hs_json_type_name(type),
               hs_json_type_name((hs_json_type)v->type));
}

/* One member an object may have. */
typedef struct field {
    const char *key;
    int type;               /* hs_json_type, or ANY_TYPE: the caller checks */
    bool required;
    const hs_json *value;   /* filled in: NULL when absent */
} field;

enum { ANY_TYPE = -1 };

static int unknown_key(loader *ld, const hs_json_member *m,
                       const field *fields, size_t n)
{
    char list[160] = "";
    for (size_t f = 0; f < n; f++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
                 f ? ", " : "", fields[f].key);
    char key[64];
    hs_json_escape(key, sizeof(key), m->key, m->key_len);
    path_key(ld, key);
    return bad(ld, "unknown key (expected %s)", list);
}

/*
 * Reads object v against its fields in one pass: every member must be a
 * known field (typos must not pass silently) of the field's type, and the
 * required fields must be present.
 */
static int read_object(loader *ld, const hs_json *v, field *fields, size_t n)
{
    int rc = want_type(ld, v, HS_JSON_OBJECT);
    if (rc)
        return rc;
    for (size_t f = 0; f < n; f++)
        fields[f].value = NULL;
    for (uint32_t i = 0; i < v->len; i++) {
        const hs_json_member *m = &v->u.members[i];
        size_t f = 0;
        while (f < n && (strcmp(fields[f].key, m->key) != 0 ||
                         strlen(fields[f].key) != m->key_len))
            f++;
        if (f == n)
            return unknown_key(ld, m, fields, n);
        if (fields[f].type != ANY_TYPE) {
            unsigned mark = path_key(ld, fields[f].key);
            if ((rc = want_type(ld, &m->value, (hs_json_type)fields[f].type)))
                return rc;
            path_pop(ld, mark);
        }
        fields[f].value = &m->value;
    }
    for (size_t f = 0; f < n; f++)
        if (fields[f].required && !fields[f].value)
            return bad(ld, "missing \"%s\"", fields[f].key);
    return 0;
}

/* Text that goes into events and logs: no NUL, no control characters. */
static int check_text(loader *ld, const hs_json *v, size_t max)
{
    if (v->len == 0)
        return bad(ld, "must not be empty");
    if (v->len > max)
        return bad(ld, "longer than %zu bytes", max);
    for (uint32_t i = 0; i < v->len; i++) {
        unsigned char c = (unsigned char)v->u.s[i];
        if (c < 0x20 || c == 0x7f)
            return bad(ld, "must not contain control characters");
    }
    return 0;
}

static int check_id(loader *ld, const hs_json *v)
{
    int rc = check_text(ld, v, SIG_ID_MAX);
    if (rc)
        return rc;
    for (const char *p = v->u.s; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return bad(ld, "\"%s\": an id may hold only letters, digits, "
                           "'_', '-' and '.'", v->u.s);
    }
    return 0;
}

static char *dup_str(loader *ld, const char *s)
{
    char *d = strdup(s);
    if (!d)
        nomem(ld);
    return d;
}

/* ---- endpoints and domains ---- */

/* Parses "ADDR/LEN" or a bare address (a host route). */
static int parse_prefix(loader *ld, const char *text, hs_ip *ip, unsigned *len)
{
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    char addr[64];
    if (n >= sizeof(addr))
        return bad(ld, "invalid address in \"%.80s\"", text);
    memcpy(addr, text, n);
    addr[n] = '\0';
    if (hs_ip_parse(addr, ip) != 0)
        return bad(ld, "invalid address in \"%s\"", text);
    unsigned max = ip->af == HS_AF_V4 ? 32 : 128;
    *len = max;
    if (slash) {
        const char *p = slash + 1;
        unsigned v = 0;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 3 || p[digits] != '\0' ||
            (digits > 1 && p[0] == '0') || (v = (unsigned)atoi(p)) > max)
            return bad(ld, "invalid prefix length in \"%s\" (0 to %u)", text,
                       max);
        *len = v;
    }
    return 0;
}

/* Clears the bits of ip beyond len; true if any was set. */
static bool clear_host_bits(hs_ip *ip, unsigned len)
{
    bool set = false;
    if (ip->af == HS_AF_V4) {
        uint32_t mask = len ? UINT32_MAX << (32 - len) : 0;
        set = (ip->u.v4 & ~mask) != 0;
        ip->u.v4 &= mask;
        return set;
    }
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = len >= 8 * (i + 1) ? 8 : len > 8 * i ? len - 8 * i : 0;
        uint8_t mask = (uint8_t)(0xff00u >> keep);
        set |= (ip->u.v6[i] & ~mask) != 0;
        ip->u.v6[i] &= mask;
    }
    return set;
}

static int load_prefix(loader *ld, const hs_json *v, hs_ip *ip, unsigned *len)
{
    unsigned mark = path_key(ld, "prefix");
    int rc = parse_prefix(ld, v->u.s, ip, len);
    if (rc)
        return rc;
    hs_ip net = *ip;
    if (clear_host_bits(&net, *len)) {
        char buf[64];
        return bad(ld, "host bits set in %s (the network is %s/%u)", v->u.s,
                   hs_ip_format(&net, buf, sizeof(buf)), *len);
    }
    path_pop(ld, mark);
    return 0;
}

static int load_ports(loader *ld, const hs_json *arr, size_t *n)
{
    *n = hs_json_len(arr);
    if (*n > ld->cap_ports) {
        uint16_t *np = realloc(ld->ports, *n * sizeof(*np));
        if (!np)
            return nomem(ld);
        ld->ports = np;
        ld->cap_ports = *n;
    }
    for (size_t k = 0; k < *n; k++) {
        int64_t port;
        if (!hs_json_int(hs_json_at(arr, k), &port) || port < 1 ||
            port > PORTS_MAX) {
            path_key(ld, "ports");
            path_index(ld, k);
            return bad(ld, "must be a port number from 1 to 65535");
        }
        ld->ports[k] = (uint16_t)port;
    }
    return 0;
}

static int load_proto(loader *ld, const hs_json *v, uint8_t *proto)
{
    *proto = HS_LPM_ANY_PROTO;
    if (!v || strcmp(v->u.s, "any") == 0)
        return 0;
    if (strcmp(v->u.s, "tcp") == 0)
        *proto = 6;
    else if (strcmp(v->u.s, "udp") == 0)
        *proto = 17;
    else {
        path_key(ld, "proto");
        return bad(ld, "must be \"tcp\", \"udp\" or \"any\"");
    }
    return 0;
}

static int load_endpoint(loader *ld, const hs_json *ep, uint32_t domain)
{
    enum { PREFIX, PORTS, PROTO };
    field f[] = {{"prefix", HS_JSON_STRING, true, NULL},
                 {"ports", HS_JSON_ARRAY, false, NULL},
                 {"proto", HS_JSON_STRING, false, NULL},
                 {"comment", HS_JSON_STRING, false, NULL}};
    int rc = read_object(ld, ep, f, sizeof(f) / sizeof(f[0]));
    hs_ip ip = {0};
    unsigned len = 0;
    size_t n_ports = 0;
    uint8_t proto_num = HS_LPM_ANY_PROTO;
    if (!rc)
        rc = load_prefix(ld, f[PREFIX].value, &ip, &len);
    if (!rc && f[PORTS].value)
        rc = load_ports(ld, f[PORTS].value, &n_ports);
    if (!rc)
        rc = load_proto(ld, f[PROTO].value, &proto_num);
    if (rc)
        return rc;
    rc = hs_lpm_builder_add(ld->lpm, &ip, len, ld->ports, n_ports, proto_num,
                            domain);
    if (rc)
        return rc == -ENOMEM ? nomem(ld) : bad(ld, "invalid endpoint");
    ld->s->n_prefixes++;
    return 0;
}

static int load_domain_name(loader *ld, const hs_json *name, uint32_t i)
{
    unsigned mark = path_key(ld, "name");
    int rc = check_text(ld, name, NAME_MAX_LEN);
    if (rc)
        return rc;
    hs_sigset *s = ld->s;
    uint32_t *slot = table_slot(&s->domain_names, s->domains, domain_name_of,
                                name->u.s);
    if (*slot)
        return bad(ld, "duplicate domain \"%s\" (also domains[%u])",
                   name->u.s, *slot - 1);
    if (!(s->domains[i].name = dup_str(ld, name->u.s)))
        return -ENOMEM;
    *slot = i + 1;
    path_pop(ld, mark);
    return 0;
}

static int load_domain(loader *ld, const hs_json *d, uint32_t i)
{
    enum { NAME, ENDPOINTS };
    field f[] = {{"name", HS_JSON_STRING, true, NULL},
                 {"endpoints", HS_JSON_ARRAY, true, NULL},
                 {"comment", HS_JSON_STRING, false, NULL}};
    int rc = read_object(ld, d, f, sizeof(f) / sizeof(f[0]));
    if (!rc)
        rc = load_domain_name(ld, f[NAME].value, i);
    if (rc)
        return rc;
    const hs_json *endpoints = f[ENDPOINTS].value;
    if (hs_json_len(endpoints) == 0) {
        path_key(ld, "endpoints");
        return bad(ld, "must list at least one endpoint");
    }
    for (size_t k = 0; k < hs_json_len(endpoints); k++) {
        unsigned mark = path_key(ld, "endpoints");
        path_index(ld, k);
        rc = load_endpoint(ld, hs_json_at(endpoints, k), i);
        if (rc)
            return rc;
        path_pop(ld, mark);
    }
    return 0;
}

static int load_domains(loader *ld, const hs_json *arr)
{
    hs_sigset *s = ld->s;
    size_t n = hs_json_len(arr);
    s->domains = calloc(n ? n : 1, sizeof(*s->domains));
    if (!s->domains || table_init(&s->domain_names, n))
        return nomem(ld);
    for (size_t i = 0; i < n; i++) {
        unsigned mark = path_key(ld, "domains");
        path_index(ld, i);
        s->n_domains++; /* counted first, so a failure frees its name */
        int rc = load_domain(ld, hs_json_at(arr, i), (uint32_t)i);
        if (rc)
            return rc;
        path_pop(ld, mark);
    }
    return 0;
}

/* ---- signatures and rules ---- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Resolves a list of domain names to sorted indices, rejecting unknown
 * names and repeats. */
static int load_domain_refs(loader *ld, const hs_json *arr, uint32_t **out,
                            uint32_t *n_out)
{
    const hs_sigset *s = ld->s;
    uint32_t n = (uint32_t)hs_json_len(arr);
    *out = malloc((n ? n : 1) * sizeof(**out));
    if (!*out)
        return nomem(ld);
    *n_out = n;
    for (uint32_t k = 0; k < n; k++) {
        const hs_json *v = hs_json_at(arr, k);
        unsigned mark = path_index(ld, k);
        int rc = want_type(ld, v, HS_JSON_STRING);
        if (rc)
            return rc;
        int32_t d = table_find(&s->domain_names, s->domains, domain_name_of,
                               v->u.s);
        if (d < 0)
            return bad(ld, "unknown domain \"%.200s\" (not in \"domains\")",
                       v->u.s);
        (*out)[k] = (uint32_t)d;
        path_pop(ld, mark);
    }
    qsort(*out, n, sizeof(**out), cmp_u32);
    for (uint32_t k = 1; k < n; k++)
        if ((*out)[k] == (*out)[k - 1])
            return bad(ld, "lists domain \"%s\" twice",
                       s->domains[(*out)[k]].name);
    return 0;
}

static bool has_domain(const hs_signature *sig, uint32_t d)
{
    return bsearch(&d, sig->domains, sig->n_domains, sizeof(d), cmp_u32);
}

static int load_required(loader *ld, const hs_json *arr, hs_signature *sig)
{
    unsigned mark = path_key(ld, "required");
    int rc = load_domain_refs(ld, arr, &sig->required, &sig->n_required);
    if (rc)
        return rc;
    for (uint32_t k = 0; k < sig->n_required; k++)
        if (!has_domain(sig, sig->required[k]))
            return bad(ld, "\"%s\" is not one of the signature's domains",
                       ld->s->domains[sig->required[k]].name);
    path_pop(ld, mark);
    return 0;
}

/* A window: a duration as the configuration writes it ("90s", "30m",
 * "24h", "7d"; see parse.h), or an integer number of seconds. */
static int parse_window(const hs_json *v, uint64_t *ms)
{
    int64_t secs;
    if (hs_json_int(v, &secs)) {
        if (secs < 1 || (uint64_t)secs > WINDOW_MAX_S)
            return -ERANGE;
        *ms = (uint64_t)secs * 1000;
        return 0;
    }
    if (v->type != HS_JSON_STRING)
        return -EINVAL;
    int rc = hs_parse_duration_ms(v->u.s, ms, NULL);
    if (rc == 0 && (*ms < 1000 || *ms > WINDOW_MAX_S * 1000))
        return -ERANGE;
    return rc;
}

static int load_rule_numbers(loader *ld, const hs_json *rule, hs_signature *sig)
{
    hs_rule *r = &sig->rule;
    const hs_json *v;
    int64_t i;
    unsigned mark = ld->depth;
    if ((v = hs_json_get(rule, "min_domains"))) {
        path_key(ld, "min_domains");
        if (!hs_json_int(v, &i) || i < 1 || i > sig->n_domains)
            return bad(ld, "must be an integer from 1 to %u (the "
                           "signature's domains)", sig->n_domains);
        r->min_domains = (uint32_t)i;
        r->set |= HS_RULE_MIN_DOMAINS;
        path_pop(ld, mark);
    }
    if ((v = hs_json_get(rule, "min_fraction"))) {
        path_key(ld, "min_fraction");
        double f = hs_json_num(v);
        if (v->type != HS_JSON_NUMBER || !(f >= 0 && f <= 1))
            return bad(ld, "must be a number between 0 and 1");
        r->min_fraction = f;
        r->set |= HS_RULE_MIN_FRACTION;
        path_pop(ld, mark);
    }
    if ((v = hs_json_get(rule, "min_hits"))) {
        path_key(ld, "min_hits");
        if (!hs_json_int(v, &i) || i < 1 || i > UINT32_MAX)
            return bad(ld, "must be a positive integer");
        r->min_hits = (uint32_t)i;
        r->set |= HS_RULE_MIN_HITS;
        path_pop(ld, mark);
    }
    if ((v = hs_json_get(rule, "window"))) {
        path_key(ld, "window");
        int rc = parse_window(v, &r->window_ms);
        if (rc == -ERANGE)
            return bad(ld, "must be from 1s to 365d");
        if (rc)
            return bad(ld, "must be a duration such as \"90s\", \"30m\", "
                           "\"24h\", \"7d\", or a number of seconds");
        r->set |= HS_RULE_WINDOW;
        path_pop(ld, mark);
    }
    return 0;
}

static int load_rule(loader *ld, const hs_json *rule, hs_signature *sig)
{
    enum { REQUIRED = 2 };
    field f[] = {{"min_domains", ANY_TYPE, false, NULL},
                 {"min_fraction", ANY_TYPE, false, NULL},
                 {"required", HS_JSON_ARRAY, false, NULL},
                 {"min_hits", ANY_TYPE, false, NULL},
                 {"window", ANY_TYPE, false, NULL},
                 {"comment", HS_JSON_STRING, false, NULL}};
    unsigned mark = path_key(ld, "rule");
    int rc = read_object(ld, rule, f, sizeof(f) / sizeof(f[0]));
    if (!rc)
        rc = load_rule_numbers(ld, rule, sig);
    if (!rc && f[REQUIRED].value)
        rc = load_required(ld, f[REQUIRED].value, sig);
    if (rc)
        return rc;
    path_pop(ld, mark);
    return 0;
}

static int parse_level(const char *s, hs_level *out)
{
    for (int l = HS_LEVEL_PLATFORM; l <= HS_LEVEL_PRODUCT; l++) {
        if (strcmp(s, hs_level_name((hs_level)l)) == 0) {
            *out = (hs_level)l;
            return 0;
        }
    }
    return -EINVAL;
}

static int load_sig_names(loader *ld, const hs_json *id, const hs_json *name,
                          uint32_t i)
{
    hs_sigset *s = ld->s;
    hs_signature *sig = &s->sigs[i];
    unsigned mark = path_key(ld, "id");
    int rc = check_id(ld, id);
    if (rc)
        return rc;
    uint32_t *slot = table_slot(&s->sig_ids, s->sigs, sig_id_of, id->u.s);
    if (*slot)
        return bad(ld, "duplicate id \"%s\" (also signatures[%u])", id->u.s,
                   *slot - 1);
    if (!(sig->id = dup_str(ld, id->u.s)))
        return -ENOMEM;
    *slot = i + 1;
    path_pop(ld, mark);

    mark = path_key(ld, "name");
    if (name && (rc = check_text(ld, name, NAME_MAX_LEN)))
        return rc;
    const char *text = name ? name->u.s : id->u.s;
    slot = table_slot(&ld->sig_names, s->sigs, sig_name_of, text);
    if (*slot)
        return bad(ld, "duplicate name \"%s\" (also signatures[%u])", text,
                   *slot - 1);
    if (!(sig->name = dup_str(ld, text)))
        return -ENOMEM;
    *slot = i + 1;
    path_pop(ld, mark);
    return 0;
}

static int load_signature(loader *ld, const hs_json *j, uint32_t i)
{
    enum { ID, NAME, LEVEL, PARENT, DOMAINS, RULE };
    field f[] = {{"id", HS_JSON_STRING, true, NULL},
                 {"name", HS_JSON_STRING, false, NULL},
                 {"level", HS_JSON_STRING, true, NULL},
                 {"parent", HS_JSON_STRING, false, NULL},
                 {"domains", HS_JSON_ARRAY, true, NULL},
                 {"rule", HS_JSON_OBJECT, false, NULL},
                 {"comment", HS_JSON_STRING, false, NULL}};
    hs_signature *sig = &ld->s->sigs[i];
    sig->parent = -1;
    int rc = read_object(ld, j, f, sizeof(f) / sizeof(f[0]));
    if (!rc)
        rc = load_sig_names(ld, f[ID].value, f[NAME].value, i);
    if (rc)
        return rc;
    const hs_json *parent = f[PARENT].value, *domains = f[DOMAINS].value;
    if (parse_level(f[LEVEL].value->u.s, &sig->level)) {
        path_key(ld, "level");
        return bad(ld, "must be \"platform\", \"manufacturer\" or \"product\"");
    }
    ld->parents[i] = parent ? parent->u.s : NULL;
    unsigned mark = path_key(ld, "domains");
    if (hs_json_len(domains) == 0)
        return bad(ld, "must list at least one domain");
    rc = load_domain_refs(ld, domains, &sig->domains, &sig->n_domains);
    if (rc)
        return rc;
    path_pop(ld, mark);
    return f[RULE].value ? load_rule(ld, f[RULE].value, sig) : 0;
}

/* Resolves parent ids and rejects cycles: walking up from any signature
 * must end at a root. Each signature is walked once (O(n)). */
static int link_parents(loader *ld)
{
    hs_sigset *s = ld->s;
    for (uint32_t i = 0; i < s->n_sigs; i++) {
        if (!ld->parents[i])
            continue;
        int32_t p = table_find(&s->sig_ids, s->sigs, sig_id_of,
                               ld->parents[i]);
        if (p < 0) {
            path_key(ld, "signatures");
            path_index(ld, i);
            path_key(ld, "parent");
            return bad(ld, "unknown signature \"%.200s\"", ld->parents[i]);
        }
        s->sigs[i].parent = p;
    }
    /* 0: not visited, 1: on the current walk, 2: leads to a root. */
    uint8_t *state = calloc(s->n_sigs ? s->n_sigs : 1, 1);
    if (!state)
        return nomem(ld);
    int rc = 0;
    for (uint32_t i = 0; i < s->n_sigs && rc == 0; i++) {
        int32_t p = (int32_t)i;
        while (p >= 0 && state[p] == 0) {
            state[p] = 1;
            p = s->sigs[p].parent;
        }
        if (p >= 0 && state[p] == 1) {
            path_key(ld, "signatures");
            path_index(ld, (size_t)p);
            path_key(ld, "parent");
            rc = bad(ld, "cycle: \"%s\" is its own ancestor", s->sigs[p].id);
        }
        for (p = (int32_t)i; p >= 0 && state[p] == 1; p = s->sigs[p].parent)
            state[p] = 2;
    }
    free(state);
    return rc;
}

/* Fills each domain's list of signatures (ascending, as sigs are walked in
 * order). */
static int link_domains(loader *ld)
{
    hs_sigset *s = ld->s;
    for (uint32_t i = 0; i < s->n_sigs; i++)
        for (uint32_t k = 0; k < s->sigs[i].n_domains; k++)
            s->domains[s->sigs[i].domains[k]].n_sigs++;
    for (uint32_t d = 0; d < s->n_domains; d++) {
        s->domains[d].sigs = malloc((s->domains[d].n_sigs + 1) *
                                    sizeof(uint32_t));
        if (!s->domains[d].sigs)
            return nomem(ld);
        s->domains[d].n_sigs = 0;
    }
    for (uint32_t i = 0; i < s->n_sigs; i++) {
        for (uint32_t k = 0; k < s->sigs[i].n_domains; k++) {
            hs_domain *d = &s->domains[s->sigs[i].domains[k]];
            d->sigs[d->n_sigs++] = i;
        }
    }
    return 0;
}

static int load_signatures(loader *ld, const hs_json *arr)
{
    hs_sigset *s = ld->s;
    size_t n = hs_json_len(arr);
    s->sigs = calloc(n ? n : 1, sizeof(*s->sigs));
    ld->parents = calloc(n ? n : 1, sizeof(*ld->parents));
    if (!s->sigs || !ld->parents || table_init(&s->sig_ids, n) ||
        table_init(&ld->sig_names, n))
        return nomem(ld);
    for (size_t i = 0; i < n; i++) {
        unsigned mark = path_key(ld, "signatures");
        path_index(ld, i);
        s->n_sigs++; /* counted first, so a failure frees what it holds */
        int rc = load_signature(ld, hs_json_at(arr, i), (uint32_t)i);
        if (rc)
            return rc;
        path_pop(ld, mark);
    }
    int rc = link_parents(ld);
    return rc ? rc : link_domains(ld);
}

static int load_root(loader *ld, const hs_json *root)
{
    enum { VERSION, DOMAINS, SIGNATURES };
    field f[] = {{"version", HS_JSON_NUMBER, true, NULL},
                 {"domains", HS_JSON_ARRAY, true, NULL},
                 {"signatures", HS_JSON_ARRAY, true, NULL},
                 {"comment", HS_JSON_STRING, false, NULL}};
    int rc = read_object(ld, root, f, sizeof(f) / sizeof(f[0]));
    if (rc)
        return rc;
    int64_t v;
    if (!hs_json_int(f[VERSION].value, &v) || v != 1) {
        path_key(ld, "version");
        return bad(ld, "unsupported version (this haystack reads version 1)");
    }
    rc = load_domains(ld, f[DOMAINS].value);
    if (!rc)
        rc = load_signatures(ld, f[SIGNATURES].value);
    if (!rc && (rc = hs_lpm_build(ld->lpm, &ld->s->lpm)))
        return nomem(ld);
    return rc;
}

int hs_sigset_load_buf(const char *name, const char *buf, size_t len,
                       hs_sigset **out, char *err, size_t errlen)
{
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    hs_json_doc *doc;
    hs_json_error jerr;
    int rc = hs_json_parse(buf, len, &doc, &jerr);
    if (rc) {
        if (errlen)
            snprintf(err, errlen, "%s:%u:%u: %s", name, jerr.line, jerr.col,
                     jerr.msg);
        return rc;
    }
    loader ld = {.file = name, .err = err, .errlen = errlen};
    ld.s = calloc(1, sizeof(*ld.s));
    ld.lpm = hs_lpm_builder_new();
    if (!ld.s || !ld.lpm)
        rc = nomem(&ld);
    else
        rc = load_root(&ld, hs_json_root(doc));
    hs_json_free(doc);
    hs_lpm_builder_free(ld.lpm);
    free(ld.parents);
    free(ld.sig_names.slots);
    free(ld.ports);
    if (rc) {
        hs_sigset_free(ld.s);
        return rc;
    }
    *out = ld.s;
    return 0;
}

/* Reads a whole file; returns a negative errno on failure. */
static int read_file(const char *path, char **buf, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    int rc = b ? 0 : -ENOMEM;
    while (rc == 0) {
        if (n == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            b = nb;
            cap *= 2;
        }
        errno = 0;
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            rc = ferror(f) ? (errno ? -errno : -EIO) : 1;
    }
    fclose(f);
    if (rc < 0) {
        free(b);
        return rc;
    }
    *buf = b;
    *len = n;
    return 0;
}

int hs_sigset_load(const char *path, hs_sigset **out, char *err, size_t errlen)
{
    *out = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len);
    if (rc) {
        if (errlen)
            snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
        return rc;
    }
    rc = hs_sigset_load_buf(path, buf, len, out, err, errlen);
    free(buf);
    return rc;
}

void hs_sigset_free(hs_sigset *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n_sigs; i++) {
        free(s->sigs[i].id);
        free(s->sigs[i].name);
        free(s->sigs[i].domains);
        free(s->sigs[i].required);
    }
    for (uint32_t d = 0; d < s->n_domains; d++) {
        free(s->domains[d].name);
        free(s->domains[d].sigs);
    }
    free(s->sigs);
    free(s->domains);
    free(s->sig_ids.slots);
    free(s->domain_names.slots);
    hs_lpm_free(s->lpm);
    free(s);
}

uint32_t hs_sigset_n_sigs(const hs_sigset *s)
{
    return s->n_sigs;
}

const hs_signature *hs_sigset_sig(const hs_sigset *s, uint32_t i)
{
    return i < s->n_sigs ? &s->sigs[i] : NULL;
}

uint32_t hs_sigset_n_domains(const hs_sigset *s)
{
    return s->n_domains;
}

const hs_domain *hs_sigset_domain(const hs_sigset *s, uint32_t i)
{
    return i < s->n_domains ? &s->domains[i] : NULL;
}

int32_t hs_sigset_find_sig(const hs_sigset *s, const char *id)
{
    return table_find(&s->sig_ids, s->sigs, sig_id_of, id);
}

int32_t hs_sigset_find_domain(const hs_sigset *s, const char *name)
{
    return table_find(&s->domain_names, s->domains, domain_name_of, name);
}

void hs_sigset_get_stats(const hs_sigset *s, hs_sigset_stats *st)
{
    st->signatures = s->n_sigs;
    st->domains = s->n_domains;
    st->prefixes = s->n_prefixes;
    st->lookup_bytes = hs_lpm_memory(s->lpm);
}

size_t hs_sigset_lookup(const hs_sigset *s, const hs_ip *ip, uint16_t port,
                        uint8_t proto, uint32_t *out, size_t max)
{
    return hs_lpm_lookup(s->lpm, ip, port, proto, out, max);
}
