/*
 * conf.c - haystackd.conf reader (see conf.h; the syntax is described in
 * docs/haystackd.conf.5).
 *
 * One table lists every key: its section, its value type, where it lands in
 * hs_conf, its bounds and its default written as configuration text. The
 * defaults go through the same setters as the file, so a default can never
 * disagree with what the parser would accept, and an empty file and the
 * default configuration are the same thing by construction.
 *
 * The reader is line-based and never modifies or reads past its input: each
 * line is copied into a bounded buffer, so a fuzzer's bytes (NULs, control
 * characters, no final newline, 1 MiB lines) meet a clear error instead of
 * undefined behaviour. The first error ends the parse.
 */
#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* More listen addresses than this is a mistake, not a deployment. */
#define HS_CONF_LISTEN_MAX 64

typedef enum key_type {
    KEY_STRING,         /* char *; "" is NULL when empty_ok */
    KEY_U32,
    KEY_U8,
    KEY_DURATION,       /* uint64_t milliseconds */
    KEY_SIZE,           /* uint64_t bytes */
    KEY_BOOL,
    KEY_FRACTION,       /* double in [0, 1] */
    KEY_LOG_LEVEL,
    KEY_LISTEN,         /* appends to collector.listen */
    KEY_CIDR_LIST,      /* appends to hs_cidr * at off, count at off_n */
    KEY_SAMPLING_OVERRIDE,
    KEY_REDIS_URL,
    KEY_METRICS_LISTEN,
} key_type;

typedef struct key_def {
    const char *section;
    const char *name;
    key_type type;
    size_t off;
    size_t off_n;       /* KEY_CIDR_LIST: offset of the count */
    uint64_t min, max;  /* numbers, durations (ms) and sizes */
    bool repeatable;
    bool empty_ok;      /* "" is a value (off / none), not a mistake */
    const char *def;    /* the default, as it would be written */
} key_def;

#define AT(field) offsetof(hs_conf, field)
#define MS(s) ((uint64_t)(s) * 1000)

static const key_def keys[] = {
    {"collector", "listen", KEY_LISTEN, 0, 0, 0, 0, true, false,
     "0.0.0.0:4739"},
    {"collector", "sampling_rate", KEY_U32, AT(collector.sampling_rate), 0, 1,
     UINT32_MAX, false, false, "1"},
    {"collector", "workers", KEY_U32, AT(collector.workers), 0, 0, 256, false,
     false, "0"},
    {"collector", "rcvbuf", KEY_SIZE, AT(collector.rcvbuf), 0, 4096,
     1ULL << 30, false, false, "32m"},
    {"collector", "exporters", KEY_CIDR_LIST, AT(collector.exporters),
     AT(collector.n_exporters), 0, 0, true, true, ""},
    {"collector", "max_exporters", KEY_U32, AT(collector.max_exporters), 0, 1,
     1000000, false, false, "4096"},
    {"collector", "max_templates", KEY_U32, AT(collector.max_templates), 0, 1,
     65535, false, false, "1024"},
    {"collector", "max_domains", KEY_U32, AT(collector.max_domains), 0, 1,
     65535, false, false, "64"},
    {"collector", "template_timeout", KEY_DURATION,
     AT(collector.template_timeout_ms), 0, MS(1), HS_DURATION_MAX_MS, false,
     false, "30m"},
    {"collector", "exporter_timeout", KEY_DURATION,
     AT(collector.exporter_timeout_ms), 0, MS(1), HS_DURATION_MAX_MS, false,
     false, "1h"},
    {"collector", "sampling_override", KEY_SAMPLING_OVERRIDE, 0, 0, 1,
     UINT32_MAX, true, false, NULL},

    {"signatures", "file", KEY_STRING, AT(signatures.file), 0, 0, 0, false,
     false, "/etc/haystack/signatures.json"},

    {"detect", "window", KEY_DURATION, AT(detect.rule.window_ms), 0, MS(1),
     HS_DURATION_MAX_MS, false, false, "24h"},
    {"detect", "min_domains", KEY_U32, AT(detect.rule.min_domains), 0, 1,
     UINT32_MAX, false, false, "1"},
    {"detect", "min_fraction", KEY_FRACTION, AT(detect.rule.min_fraction), 0,
     0, 0, false, false, "0"},
    {"detect", "min_hits", KEY_U32, AT(detect.rule.min_hits), 0, 1,
     UINT32_MAX, false, false, "1"},
    {"detect", "subscriber_prefixes", KEY_CIDR_LIST,
     AT(detect.subscriber_prefixes), AT(detect.n_subscriber_prefixes), 0, 0,
     true, true, ""},
    {"detect", "ipv6_prefix_len", KEY_U8, AT(detect.ipv6_prefix_len), 0, 1,
     64, false, false, "56"},
    {"detect", "max_subscribers", KEY_U32, AT(detect.max_subscribers), 0, 1,
     UINT32_MAX, false, false, "10000000"},
    {"detect", "expire_interval", KEY_DURATION,
     AT(detect.expire_interval_ms), 0, MS(1), HS_DURATION_MAX_MS, false,
     false, "10s"},

    {"redis", "url", KEY_REDIS_URL, AT(redis.url), 0, 0, 0, false, true,
     "redis://127.0.0.1:6379/0"},
    {"redis", "channel", KEY_STRING, AT(redis.channel), 0, 0, 0, false, true,
     "haystack:detections"},
    {"redis", "stream", KEY_STRING, AT(redis.stream), 0, 0, 0, false, true,
     ""},
    {"redis", "stream_maxlen", KEY_U32, AT(redis.stream_maxlen), 0, 1,
     UINT32_MAX, false, false, "100000"},
    {"redis", "state_prefix", KEY_STRING, AT(redis.state_prefix), 0, 0, 0,
     false, true, "haystack:sub:"},
    {"redis", "state_ttl", KEY_DURATION, AT(redis.state_ttl_ms), 0, MS(1),
     HS_DURATION_MAX_MS, false, false, "1d"},
    {"redis", "queue_max", KEY_U32, AT(redis.queue_max), 0, 1, 10000000,
     false, false, "100000"},

    {"output", "stdout", KEY_BOOL, AT(output.to_stdout), 0, 0, 0, false,
     false, "false"},

    {"enrich", "asn_db", KEY_STRING, AT(enrich.asn_db), 0, 0, 0, false, true,
     ""},
    {"enrich", "country_db", KEY_STRING, AT(enrich.country_db), 0, 0, 0,
     false, true, ""},

    {"state", "file", KEY_STRING, AT(state.file), 0, 0, 0, false, true,
     "/var/lib/haystack/state.bin"},

    {"metrics", "listen", KEY_METRICS_LISTEN, 0, 0, 0, 0, false, true,
     "127.0.0.1:9273"},

    {"log", "level", KEY_LOG_LEVEL, AT(log.level), 0, 0, 0, false, false,
     "info"},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const sections[] = {
    "collector", "signatures", "detect", "redis", "output",
    "enrich",    "state",      "metrics", "log",
};

/* A parse in progress: everything the reader needs, nothing global. */
typedef struct conf_reader {
    hs_conf *conf;
    const char *name;
    unsigned line;
    const char *section;            /* NULL before the first header */
    unsigned seen[N_KEYS];          /* line a key was set on, 0: not yet */
    uint32_t *override_index;       /* open addressing: override index + 1 */
    size_t override_cap;            /* slots, a power of two, <= half full */
    char *err;
    size_t errlen;
} conf_reader;

static int reader_error(conf_reader *r, const char *fmt, ...)
{
    if (r->errlen == 0)
        return -EINVAL;
    int n = snprintf(r->err, r->errlen, "%s:%u: ", r->name, r->line);
    if (n >= 0 && (size_t)n < r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Where key d lands in the configuration being read. */
static void *field(conf_reader *r, const key_def *d)
{
    return (char *)r->conf + d->off;
}

/*
 * Grows an array by one element of size sz; returns the new slot. The
 * capacity is implied (the next power of two), so the arrays of hs_conf
 * carry just a count and still grow in amortised constant time.
 */
static void *array_push(void **arr, size_t *n, size_t sz)
{
    if ((*n & (*n - 1)) == 0) { /* 0 or a power of two: full */
        void *grown = realloc(*arr, (*n ? 2 * *n : 1) * sz);
        if (!grown)
            return NULL;
        *arr = grown;
    }
    return (char *)*arr + (*n)++ * sz;
}

static bool ip_equal(const hs_ip *a, const hs_ip *b)
{
    if (a->af != b->af)
        return false;
    if (a->af == HS_AF_V4)
        return a->u.v4 == b->u.v4;
    return memcmp(a->u.v6, b->u.v6, 16) == 0;
}

static bool is_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Returns s with blanks removed from both ends, in place. */
static char *trim(char *s)
{
    while (is_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

/* ---- value setters: each turns checked text into its field ---- */

static int set_string(conf_reader *r, const key_def *d, const char *v,
                      const char **why)
{
    char **dst = field(r, d);
    if (v[0] == '\0')
        return 0; /* stays NULL: off */
    *dst = strdup(v);
    if (!*dst) {
        *why = "out of memory";
        return -ENOMEM;
    }
    return 0;
}

static int set_number(conf_reader *r, const key_def *d, const char *v,
                      const char **why)
{
    uint64_t x;
    int rc;
    if (d->type == KEY_DURATION)
        rc = hs_parse_duration_ms(v, &x, why);
    else if (d->type == KEY_SIZE)
        rc = hs_parse_size(v, &x, why);
    else
        rc = hs_parse_u64(v, 0, UINT64_MAX, &x, why);
    if (rc < 0)
        return rc;
    if (x < d->min || x > d->max) {
        *why = NULL; /* the reader words it with the key's bounds */
        return -ERANGE;
    }
    if (d->type == KEY_U32)
        *(uint32_t *)field(r, d) = (uint32_t)x;
    else if (d->type == KEY_U8)
        *(uint8_t *)field(r, d) = (uint8_t)x;
    else
        *(uint64_t *)field(r, d) = x;
    return 0;
}

static int set_fraction(conf_reader *r, const key_def *d, const char *v,
                        const char **why)
{
    char *end;
    /* Plain decimal notation only: strtod would also take "nan", "inf"
     * and hexadecimal floats. */
    if (v[strspn(v, "0123456789.eE+-")] != '\0' || v[0] == '-' ||
        v[0] == '+') {
        *why = "not a number between 0 and 1";
        return -EINVAL;
    }
    errno = 0;
    double x = strtod(v, &end);
    if (*end != '\0' || errno != 0 || !(x >= 0.0 && x <= 1.0)) {
        *why = "not a number between 0 and 1";
        return -EINVAL;
    }
    *(double *)field(r, d) = x;
    return 0;
}

static int set_bool(conf_reader *r, const key_def *d, const char *v,
                    const char **why)
{
    return hs_parse_bool(v, field(r, d), why);
}

static int set_log_level(conf_reader *r, const key_def *d, const char *v,
                         const char **why)
{
    if (hs_log_level_parse(v, field(r, d)) == 0)
        return 0;
    *why = "not a log level (error, warning, info or debug)";
    return -EINVAL;
}

static int set_listen(conf_reader *r, const key_def *d, const char *v,
                      const char **why)
{
    hs_conf *c = r->conf;
    hs_hostport hp;
    int rc = hs_parse_hostport(v, &hp, why);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < c->collector.n_listen; i++) {
        if (hs_hostport_equal(&c->collector.listen[i], &hp)) {
            *why = "address already listed";
            return -EINVAL;
        }
    }
    if (c->collector.n_listen == HS_CONF_LISTEN_MAX) {
        *why = "too many listen addresses (at most 64)";
        return -ERANGE;
    }
    hs_hostport *slot = array_push((void **)&c->collector.listen,
                                   &c->collector.n_listen, sizeof(hp));
    if (!slot) {
        *why = "out of memory";
        return -ENOMEM;
    }
    *slot = hp;
    return 0;
}

/* Cuts the next comma-separated item off *p, trimmed; NULL at the end. */
static char *next_item(char **p)
{
    if (!*p)
        return NULL;
    char *item = *p;
    char *comma = strchr(item, ',');
    if (comma) {
        *comma = '\0';
        *p = comma + 1;
    } else {
        *p = NULL;
    }
    return trim(item);
}

static int set_cidr_list(conf_reader *r, const key_def *d, const char *v,
                         const char **why)
{
    hs_cidr **arr = field(r, d);
    size_t *n = (size_t *)((char *)r->conf + d->off_n);
    if (v[0] == '\0')
        return 0;
    char *copy = strdup(v), *rest = copy, *item;
    if (!copy) {
        *why = "out of memory";
        return -ENOMEM;
    }
    int rc = 0;
    while (rc == 0 && (item = next_item(&rest)) != NULL) {
        hs_cidr cidr;
        if (item[0] == '\0') {
            *why = "empty item in the comma-separated list";
            rc = -EINVAL;
        } else if ((rc = hs_parse_cidr(item, &cidr, why)) == 0) {
            hs_cidr *slot = array_push((void **)arr, n, sizeof(cidr));
            if (!slot) {
                *why = "out of memory";
                rc = -ENOMEM;
                break;
            }
            *slot = cidr;
        }
    }
    free(copy);
    return rc;
}

/*
 * "EXPORTER = RATE" or "EXPORTER domain ID = RATE" (the reader has already
 * taken "sampling_override =" off the line).
 */
static int parse_override(char *v, const key_def *d, hs_sampling_override *o,
                          const char **why)
{
    char *eq = strchr(v, '=');
    if (!eq) {
        *why = "expected EXPORTER [domain ID] = RATE";
        return -EINVAL;
    }
    *eq = '\0';
    char *rate = trim(eq + 1), *save = NULL;
    char *addr = strtok_r(v, " \t", &save);
    char *kw = strtok_r(NULL, " \t", &save);
    char *id = strtok_r(NULL, " \t", &save);
    uint64_t x;
    if (!addr || (kw && (strcmp(kw, "domain") != 0 || !id)) ||
        strtok_r(NULL, " \t", &save)) {
        *why = "expected EXPORTER [domain ID] = RATE";
        return -EINVAL;
    }
    memset(o, 0, sizeof(*o));
    if (hs_ip_parse(addr, &o->exporter) < 0) {
        *why = "exporter is not an IPv4 or IPv6 address";
        return -EINVAL;
    }
    o->any_domain = kw == NULL;
    if (kw && hs_parse_u64(id, 0, UINT32_MAX, &x, NULL) < 0) {
        *why = "domain is not a number in 0..4294967295";
        return -EINVAL;
    }
    o->domain = kw ? (uint32_t)x : 0;
    if (hs_parse_u64(rate, d->min, d->max, &x, NULL) < 0) {
        *why = "rate is not a number in 1..4294967295";
        return -EINVAL;
    }
    o->rate = (uint32_t)x;
    return 0;
}

static bool override_same_target(const hs_sampling_override *a,
                                 const hs_sampling_override *b)
{
    return ip_equal(&a->exporter, &b->exporter) &&
           a->any_domain == b->any_domain && a->domain == b->domain;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

static uint64_t override_hash(const hs_sampling_override *o)
{
    uint64_t h = fnv1a(14695981039346656037ULL, &o->exporter.af, 1);
    if (o->exporter.af == HS_AF_V4)
        h = fnv1a(h, &o->exporter.u.v4, sizeof(o->exporter.u.v4));
    else
        h = fnv1a(h, o->exporter.u.v6, sizeof(o->exporter.u.v6));
    h = fnv1a(h, &o->any_domain, sizeof(o->any_domain));
    return fnv1a(h, &o->domain, sizeof(o->domain));
}

/*
 * The index slot of o's target: the one holding an override for the same
 * exporter and domain, or the empty one where o would go. The index makes
 * the duplicate check constant time, so a generated file of thousands of
 * overrides is read in linear time.
 */
static uint32_t *override_slot(conf_reader *r, const hs_sampling_override *o)
{
    const hs_sampling_override *arr = r->conf->collector.sampling_overrides;
    size_t mask = r->override_cap - 1;
    for (size_t i = override_hash(o) & mask;; i = (i + 1) & mask) {
        uint32_t *slot = &r->override_index[i];
        if (*slot == 0 || override_same_target(&arr[*slot - 1], o))
            return slot;
    }
}

/* Makes room for one more override, keeping the index at most half full. */
static int override_index_reserve(conf_reader *r)
{
    size_t n = r->conf->collector.n_sampling_overrides;
    if (2 * (n + 1) <= r->override_cap)
        return 0;
    size_t cap = r->override_cap ? 2 * r->override_cap : 16;
    uint32_t *index = calloc(cap, sizeof(*index));
    if (!index)
        return -ENOMEM;
    free(r->override_index);
    r->override_index = index;
    r->override_cap = cap;
    for (size_t i = 0; i < n; i++)
        *override_slot(r, &r->conf->collector.sampling_overrides[i]) =
            (uint32_t)(i + 1);
    return 0;
}

static int set_sampling_override(conf_reader *r, const key_def *d,
                                 const char *v, const char **why)
{
    hs_conf *c = r->conf;
    hs_sampling_override o;
    char *copy = strdup(v);
    if (!copy) {
        *why = "out of memory";
        return -ENOMEM;
    }
    int rc = parse_override(copy, d, &o, why);
    free(copy);
    if (rc < 0)
        return rc;
    if (override_index_reserve(r) < 0) {
        *why = "out of memory";
        return -ENOMEM;
    }
    uint32_t *slot = override_slot(r, &o);
    if (*slot) {
        *why = "this exporter (and domain) already has an override";
        return -EINVAL;
    }
    hs_sampling_override *pushed =
        array_push((void **)&c->collector.sampling_overrides,
                   &c->collector.n_sampling_overrides, sizeof(o));
    if (!pushed) {
        *why = "out of memory";
        return -ENOMEM;
    }
    /* memcpy keeps the zeroed padding: the collector compares addresses
     * with memcmp. */
    memcpy(pushed, &o, sizeof(o));
    *slot = (uint32_t)c->collector.n_sampling_overrides;
    return 0;
}

/*
 * Puts the overrides naming a domain before those for a whole exporter,
 * file order otherwise, so a first-match search (the collector's) finds
 * the most specific one.
 */
static int order_overrides(hs_conf *c)
{
    size_t n = c->collector.n_sampling_overrides, k = 0;
    if (n == 0)
        return 0;
    hs_sampling_override *src = c->collector.sampling_overrides;
    hs_sampling_override *dst = malloc(n * sizeof(*dst));
    if (!dst)
        return -ENOMEM;
    for (int whole = 0; whole <= 1; whole++) {
        for (size_t i = 0; i < n; i++) {
            if ((src[i].any_domain != 0) == whole)
                memcpy(&dst[k++], &src[i], sizeof(*dst));
        }
    }
    free(src);
    c->collector.sampling_overrides = dst;
    return 0;
}

static int set_redis_url(conf_reader *r, const key_def *d, const char *v,
                         const char **why)
{
    hs_conf *c = r->conf;
    if (v[0] == '\0')
        return 0;
    int rc = hs_parse_redis_url(v, &c->redis.server, why);
    if (rc == 0)
        rc = set_string(r, d, v, why);
    return rc;
}

static int set_metrics_listen(conf_reader *r, const key_def *d, const char *v,
                              const char **why)
{
    hs_conf *c = r->conf;
    if (v[0] == '\0')
        return 0;
    int rc = hs_parse_hostport(v, &c->metrics.listen, why);
    c->metrics.enabled = rc == 0;
    return rc;
}

typedef int (*setter_fn)(conf_reader *r, const key_def *d, const char *v,
                         const char **why);

static const setter_fn setters[] = {
    [KEY_STRING] = set_string,
    [KEY_U32] = set_number,
    [KEY_U8] = set_number,
    [KEY_DURATION] = set_number,
    [KEY_SIZE] = set_number,
    [KEY_BOOL] = set_bool,
    [KEY_FRACTION] = set_fraction,
    [KEY_LOG_LEVEL] = set_log_level,
    [KEY_LISTEN] = set_listen,
    [KEY_CIDR_LIST] = set_cidr_list,
    [KEY_SAMPLING_OVERRIDE] = set_sampling_override,
    [KEY_REDIS_URL] = set_redis_url,
    [KEY_METRICS_LISTEN] = set_metrics_listen,
};

/* ---- the line reader ---- */

static const key_def *find_key(const char *section, const char *name)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (strcmp(keys[i].section, section) == 0 &&
            strcmp(keys[i].name, name) == 0)
            return &keys[i];
    }
    return NULL;
}

static const char *find_section(const char *name)
{
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        if (strcmp(sections[i], name) == 0)
            return sections[i];
    }
    return NULL;
}

/* Cuts a ';' or '#' comment: one that starts the line or follows a blank. */
static void strip_comment(char *s)
{
    for (char *p = s; *p; p++) {
        if ((*p == ';' || *p == '#') && (p == s || is_blank(p[-1]))) {
            *p = '\0';
            return;
        }
    }
}

static int read_section(conf_reader *r, char *s)
{
    size_t n = strlen(s);
    if (s[n - 1] != ']')
        return reader_error(r, "section header without closing ']'");
    s[n - 1] = '\0';
    char *name = trim(s + 1);
    r->section = find_section(name);
    if (!r->section)
        return reader_error(r, "unknown section [%s]", name);
    return 0;
}

/* "name = value: out of range (MIN..MAX)" for a number outside its key's
 * bounds, in the key's own unit. */
static int range_error(conf_reader *r, const key_def *d, const char *value)
{
    unsigned long long lo = d->min, hi = d->max;
    if (d->type == KEY_DURATION)
        return reader_error(r, "%s = %s: out of range (%llus..%llud)",
                            d->name, value, lo / 1000, hi / 86400000);
    return reader_error(r, "%s = %s: out of range (%llu..%llu%s)", d->name,
                        value, lo, hi, d->type == KEY_SIZE ? " bytes" : "");
}

static int read_assignment(conf_reader *r, char *s)
{
    char *eq = strchr(s, '=');
    if (!eq)
        return reader_error(r, "missing '=' (expected 'key = value')");
    *eq = '\0';
    char *name = trim(s), *value = trim(eq + 1);
    if (name[0] == '\0')
        return reader_error(r, "missing key name before '='");
    if (!r->section)
        return reader_error(r, "key '%s' before any [section]", name);
    const key_def *d = find_key(r->section, name);
    if (!d)
        return reader_error(r, "unknown key '%s' in [%s]", name, r->section);
    unsigned *seen = &r->seen[d - keys];
    if (*seen && !d->repeatable)
        return reader_error(r, "duplicate key '%s' in [%s] (first set on "
                               "line %u)", name, r->section, *seen);
    if (value[0] == '\0' && !d->empty_ok)
        return reader_error(r, "%s: missing value", name);
    const char *why = "invalid";
    int rc = setters[d->type](r, d, value, &why);
    if (rc == -ENOMEM) {
        reader_error(r, "out of memory");
        return -ENOMEM;
    }
    if (rc == -ERANGE && !why)
        return range_error(r, d, value);
    if (rc < 0)
        return reader_error(r, "%s = %s: %s", name, value, why);
    *seen = r->line;
    return 0;
}

/* Control characters other than tab have no business in a config line. */
static bool has_control_char(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return true;
    }
    return false;
}

static int read_line(conf_reader *r, const char *text, size_t n)
{
    char line[HS_CONF_LINE_MAX + 1];
    if (n > 0 && text[n - 1] == '\r')
        n--;
    if (n > HS_CONF_LINE_MAX)
        return reader_error(r, "line too long (more than %d bytes)",
                            HS_CONF_LINE_MAX);
    if (has_control_char(text, n))
        return reader_error(r, "control character or NUL byte in line");
    memcpy(line, text, n);
    line[n] = '\0';
    strip_comment(line);
    char *s = trim(line);
    if (s[0] == '\0')
        return 0;
    if (s[0] == '[')
        return read_section(r, s);
    return read_assignment(r, s);
}

/* Applies the default of every key the file did not set. */
static int apply_defaults(conf_reader *r)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        const char *why;
        if (r->seen[i] || !keys[i].def)
            continue;
        int rc = setters[keys[i].type](r, &keys[i], keys[i].def, &why);
        if (rc < 0)
            return rc; /* only -ENOMEM: the defaults are tested */
    }
    return 0;
}

static hs_conf *conf_alloc(const char *name)
{
    hs_conf *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->name = strdup(name);
    if (!c->name) {
        free(c);
        return NULL;
    }
    return c;
}

static void set_message(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int hs_conf_parse_buf(const char *name, const char *buf, size_t len,
                      hs_conf **out, char *err, size_t errlen)
{
    *out = NULL;
    conf_reader r = {.name = name, .err = err, .errlen = errlen};
    if (errlen > 0)
        err[0] = '\0';
    if (len > HS_CONF_FILE_MAX) {
        set_message(err, errlen, "%s: larger than %d bytes", name,
                    HS_CONF_FILE_MAX);
        return -EFBIG;
    }
    r.conf = conf_alloc(name);
    if (!r.conf) {
        set_message(err, errlen, "%s: out of memory", name);
        return -ENOMEM;
    }
    /* A UTF-8 byte order mark, as some editors write, is not content. */
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    int rc = 0;
    size_t pos = 0;
    while (rc == 0 && pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        r.line++;
        rc = read_line(&r, buf + pos, n);
        pos += n + 1;
    }
    free(r.override_index);
    if (rc == 0 && (apply_defaults(&r) < 0 || order_overrides(r.conf) < 0)) {
        set_message(err, errlen, "%s: out of memory", name);
        rc = -ENOMEM;
    }
    if (rc < 0) {
        hs_conf_free(r.conf);
        return rc;
    }
    *out = r.conf;
    return 0;
}

int hs_conf_new_default(hs_conf **out)
{
    char err[64];
    return hs_conf_parse_buf("(defaults)", "", 0, out, err, sizeof(err));
}

/*
 * Reads fd to its end, but no more than one byte past HS_CONF_FILE_MAX
 * (enough for hs_conf_parse_buf to refuse it), into a new buffer.
 */
static int read_bounded(int fd, char **buf, size_t *len)
{
    size_t cap = 0, n = 0;
    char *b = NULL;
    while (n <= HS_CONF_FILE_MAX) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            cap = cap > HS_CONF_FILE_MAX + 1 ? HS_CONF_FILE_MAX + 1 : cap;
            char *grown = realloc(b, cap);
            if (!grown) {
                free(b);
                return -ENOMEM;
            }
            b = grown;
        }
        ssize_t got = read(fd, b + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = -errno;
            free(b);
            return e;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *buf = b;
    *len = n;
    return 0;
}

int hs_conf_load(const char *path, hs_conf **out, char *err, size_t errlen)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        set_message(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int rc;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
        rc = -EISDIR;
    else
        rc = read_bounded(fd, &buf, &len);
    close(fd);
    if (rc < 0) {
        set_message(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
        return rc;
    }
    rc = hs_conf_parse_buf(path, buf, len, out, err, errlen);
    free(buf);
    return rc;
}

void hs_conf_free(hs_conf *c)
{
    if (!c)
        return;
    free(c->name);
    free(c->collector.listen);
    free(c->collector.exporters);
    free(c->collector.sampling_overrides);
    free(c->signatures.file);
    free(c->detect.subscriber_prefixes);
    free(c->redis.url);
    hs_redis_url_clear(&c->redis.server);
    free(c->redis.channel);
    free(c->redis.stream);
    free(c->redis.state_prefix);
    free(c->enrich.asn_db);
    free(c->enrich.country_db);
    free(c->state.file);
    free(c);
}

/* ---- queries ---- */

void hs_conf_collector(const hs_conf *c, hs_collector_conf *out)
{
    hs_collector_conf_init(out);
    out->default_sampling = c->collector.sampling_rate;
    out->max_exporters = c->collector.max_exporters;
    out->max_templates = c->collector.max_templates;
    out->max_domains = c->collector.max_domains;
    out->template_timeout_ms = c->collector.template_timeout_ms;
    out->exporter_timeout_ms = c->collector.exporter_timeout_ms;
    out->overrides = c->collector.sampling_overrides;
    out->n_overrides = c->collector.n_sampling_overrides;
    out->allowed = c->collector.exporters;
    out->n_allowed = c->collector.n_exporters;
}

/* ---- comparison for reload ---- */

static bool str_equal(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool cidrs_equal(const hs_cidr *a, size_t na, const hs_cidr *b,
                        size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        if (a[i].len != b[i].len || !ip_equal(&a[i].addr, &b[i].addr))
            return false;
    }
    return true;
}

static bool listen_has(const hs_conf *c, const hs_hostport *hp)
{
    for (size_t i = 0; i < c->collector.n_listen; i++) {
        if (hs_hostport_equal(&c->collector.listen[i], hp))
            return true;
    }
    return false;
}

bool hs_conf_listen_changed(const hs_conf *old, const hs_conf *new_)
{
    /* Both sets are free of duplicates (the reader refuses them), so equal
     * sizes and one inclusion make them equal. */
    if (old->collector.n_listen != new_->collector.n_listen)
        return true;
    for (size_t i = 0; i < new_->collector.n_listen; i++) {
        if (!listen_has(old, &new_->collector.listen[i]))
            return true;
    }
    return false;
}

static bool overrides_equal(const hs_conf *a, const hs_conf *b)
{
    if (a->collector.n_sampling_overrides != b->collector.n_sampling_overrides)
        return false;
    for (size_t i = 0; i < a->collector.n_sampling_overrides; i++) {
        const hs_sampling_override *x = &a->collector.sampling_overrides[i];
        const hs_sampling_override *y = &b->collector.sampling_overrides[i];
        if (!override_same_target(x, y) || x->rate != y->rate)
            return false;
    }
    return true;
}

static bool collector_equal(const hs_conf *a, const hs_conf *b)
{
    return a->collector.sampling_rate == b->collector.sampling_rate &&
           cidrs_equal(a->collector.exporters, a->collector.n_exporters,
                       b->collector.exporters, b->collector.n_exporters) &&
           a->collector.max_exporters == b->collector.max_exporters &&
           a->collector.max_templates == b->collector.max_templates &&
           a->collector.max_domains == b->collector.max_domains &&
           a->collector.template_timeout_ms == b->collector.template_timeout_ms &&
           a->collector.exporter_timeout_ms == b->collector.exporter_timeout_ms &&
           overrides_equal(a, b);
}

static bool detect_equal(const hs_conf *a, const hs_conf *b)
{
    const hs_rule *x = &a->detect.rule, *y = &b->detect.rule;
    return x->window_ms == y->window_ms && x->min_domains == y->min_domains &&
           x->min_fraction == y->min_fraction && x->min_hits == y->min_hits &&
           cidrs_equal(a->detect.subscriber_prefixes,
                       a->detect.n_subscriber_prefixes,
                       b->detect.subscriber_prefixes,
                       b->detect.n_subscriber_prefixes) &&
           a->detect.ipv6_prefix_len == b->detect.ipv6_prefix_len &&
           a->detect.max_subscribers == b->detect.max_subscribers &&
           a->detect.expire_interval_ms == b->detect.expire_interval_ms;
}

static bool redis_equal(const hs_conf *a, const hs_conf *b)
{
    return str_equal(a->redis.url, b->redis.url) &&
           str_equal(a->redis.channel, b->redis.channel) &&
           str_equal(a->redis.stream, b->redis.stream) &&
           a->redis.stream_maxlen == b->redis.stream_maxlen &&
           str_equal(a->redis.state_prefix, b->redis.state_prefix) &&
           a->redis.state_ttl_ms == b->redis.state_ttl_ms &&
           a->redis.queue_max == b->redis.queue_max;
}

static bool metrics_equal(const hs_conf *a, const hs_conf *b)
{
    return a->metrics.enabled == b->metrics.enabled &&
           (!a->metrics.enabled ||
            hs_hostport_equal(&a->metrics.listen, &b->metrics.listen));
}

unsigned hs_conf_diff(const hs_conf *old, const hs_conf *new_)
{
    const hs_conf *a = old, *b = new_;
    unsigned d = 0;
    if (hs_conf_listen_changed(a, b))
        d |= HS_CONF_DIFF_LISTEN;
    if (a->collector.workers != b->collector.workers ||
        a->collector.rcvbuf != b->collector.rcvbuf)
        d |= HS_CONF_DIFF_SOCKETS;
    if (!collector_equal(a, b))
        d |= HS_CONF_DIFF_COLLECTOR;
    if (!str_equal(a->signatures.file, b->signatures.file))
        d |= HS_CONF_DIFF_SIGNATURES;
    if (!detect_equal(a, b))
        d |= HS_CONF_DIFF_DETECT;
    if (!redis_equal(a, b))
        d |= HS_CONF_DIFF_REDIS;
    if (a->output.to_stdout != b->output.to_stdout)
        d |= HS_CONF_DIFF_OUTPUT;
    if (!str_equal(a->enrich.asn_db, b->enrich.asn_db) ||
        !str_equal(a->enrich.country_db, b->enrich.country_db))
        d |= HS_CONF_DIFF_ENRICH;
    if (!str_equal(a->state.file, b->state.file))
        d |= HS_CONF_DIFF_STATE;
    if (!metrics_equal(a, b))
        d |= HS_CONF_DIFF_METRICS;
    if (a->log.level != b->log.level)
        d |= HS_CONF_DIFF_LOG;
    return d;
}
