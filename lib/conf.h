/*
 * conf.h - haystackd.conf: the INI reader and the typed, validated
 * configuration it produces.
 *
 * Everything is checked here, once, so the daemon consumes plain values:
 * durations in milliseconds, sizes in bytes, parsed addresses and prefixes,
 * lists as arrays with counts, and NULL for every "empty = off" string. A
 * key that is absent keeps its default (the table in conf.c, mirrored by
 * conf/haystackd.conf and docs/haystackd.conf.5). The first error stops the
 * parse and is reported as "FILE:LINE: what is wrong", the way compilers
 * and `nginx -t` do, so an editor can jump to it.
 *
 * An hs_conf owns all its memory and is never changed after loading: on
 * SIGHUP the daemon loads a new one, compares it with hs_conf_diff, applies
 * what it can and frees the old one.
 */
#ifndef HS_CONF_H
#define HS_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collector.h"
#include "flow.h"
#include "log.h"
#include "parse.h"
#include "sigset.h"

#define HS_CONF_DEFAULT_PATH "/etc/haystack/haystackd.conf"
/* Longest accepted line, newline excluded. */
#define HS_CONF_LINE_MAX 4096
/* Largest accepted file: a configuration is a few kilobytes. */
#define HS_CONF_FILE_MAX (1024 * 1024)

typedef struct hs_conf {
    char *name;                     /* the file name used in messages */

    struct {
        hs_hostport *listen;        /* at least one; no duplicates */
        size_t n_listen;
        uint32_t sampling_rate;     /* when an exporter announces none */
        uint32_t workers;           /* 0: one per core */
        uint64_t rcvbuf;            /* SO_RCVBUF bytes */
        hs_cidr *exporters;         /* allowed senders; none: everybody */
        size_t n_exporters;
        uint32_t max_exporters;
        uint32_t max_templates;     /* per exporter */
        uint32_t max_domains;       /* observation domains per exporter */
        uint64_t template_timeout_ms;
        uint64_t exporter_timeout_ms;
        /* "sampling_override = EXPORTER [domain ID] = RATE" lines, those
         * naming a domain first, so that the first match is the most
         * specific one. */
        hs_sampling_override *sampling_overrides;
        size_t n_sampling_overrides;
    } collector;

    struct {
        char *file;
    } signatures;

    struct {
        hs_rule rule;               /* window, min_domains, min_fraction,
                                     * min_hits; set == 0 */
        hs_cidr *subscriber_prefixes; /* none: the side that is not the
                                       * backend is the subscriber */
        size_t n_subscriber_prefixes;
        uint8_t ipv6_prefix_len;    /* 1..64 */
        uint32_t max_subscribers;
        uint64_t expire_interval_ms;
    } detect;

    struct {
        char *url;                  /* as written; NULL: no Redis */
        hs_redis_url server;        /* url taken apart (empty when NULL) */
        char *channel;              /* PUBLISH channel; NULL: none */
        char *stream;               /* XADD stream key; NULL: none */
        uint32_t stream_maxlen;
        char *state_prefix;         /* per-subscriber hash prefix; NULL: none */
        uint64_t state_ttl_ms;
        uint32_t queue_max;         /* events held while Redis is away */
    } redis;

    struct {
        bool to_stdout;             /* key "stdout" */
    } output;

    struct {
        char *asn_db;               /* NULL: off */
        char *country_db;           /* NULL: off */
    } enrich;

    struct {
        char *file;                 /* NULL: no state kept across restarts */
    } state;

    struct {
        bool enabled;               /* false when listen is empty */
        hs_hostport listen;
    } metrics;

    struct {
        hs_log_level level;
    } log;
} hs_conf;

/* A configuration holding every default (what an empty file gives). */
int hs_conf_new_default(hs_conf **out);

/*
 * Reads and validates the file at path. Returns 0 and a new configuration,
 * or a negative code with the reason in err: -EINVAL for a bad file
 * ("FILE:LINE: what is wrong"), -errno when it cannot be read, -EFBIG past
 * HS_CONF_FILE_MAX, -ENOMEM.
 */
int hs_conf_load(const char *path, hs_conf **out, char *err, size_t errlen);

/* Same, from len bytes at buf (any bytes: NULs and a missing final newline
 * are handled); name is used in messages. */
int hs_conf_parse_buf(const char *name, const char *buf, size_t len,
                      hs_conf **out, char *err, size_t errlen);

void hs_conf_free(hs_conf *c);

/*
 * Fills the collector's settings from [collector]. out->overrides points
 * into c, which must outlive every collector given out.
 */
void hs_conf_collector(const hs_conf *c, hs_collector_conf *out);

/* What differs between two configurations, by area (hs_conf_diff bits). */
enum {
    HS_CONF_DIFF_LISTEN = 1u << 0,      /* the set of listen addresses */
    HS_CONF_DIFF_SOCKETS = 1u << 1,     /* workers or rcvbuf */
    HS_CONF_DIFF_COLLECTOR = 1u << 2,   /* any other [collector] key */
    HS_CONF_DIFF_SIGNATURES = 1u << 3,
    HS_CONF_DIFF_DETECT = 1u << 4,
    HS_CONF_DIFF_REDIS = 1u << 5,
    HS_CONF_DIFF_OUTPUT = 1u << 6,
    HS_CONF_DIFF_ENRICH = 1u << 7,
    HS_CONF_DIFF_STATE = 1u << 8,
    HS_CONF_DIFF_METRICS = 1u << 9,
    HS_CONF_DIFF_LOG = 1u << 10,
};

/* HS_CONF_DIFF_* bits of what new_ changes relative to old; 0: same. */
unsigned hs_conf_diff(const hs_conf *old, const hs_conf *new_);

/*
 * Whether the two listen sets differ (their order does not matter). A
 * reload cannot rebind the receive sockets, so the daemon keeps the old
 * ones and warns when this is true.
 */
bool hs_conf_listen_changed(const hs_conf *old, const hs_conf *new_);

#endif
