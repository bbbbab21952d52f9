/*
 * pdns.c - the passive DNS COF reader (see pdns.h).
 *
 * Each line is parsed into a JSON DOM (lib/json), checked completely, and
 * only then delivered, so a line is used whole or not at all.
 */
#include "pdns.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dname.h"
#include "json.h"

typedef enum pdns_type { PDNS_A, PDNS_AAAA, PDNS_CNAME, PDNS_OTHER } pdns_type;

static pdns_type pdns_type_of(const char *rrtype)
{
    if (strcasecmp(rrtype, "A") == 0)
        return PDNS_A;
    if (strcasecmp(rrtype, "AAAA") == 0)
        return PDNS_AAAA;
    if (strcasecmp(rrtype, "CNAME") == 0)
        return PDNS_CNAME;
    return PDNS_OTHER;
}

/* rdata as an array of values: a lone string counts as a list of one. */
static size_t pdns_rdata_count(const hs_json *rdata)
{
    return rdata->type == HS_JSON_ARRAY ? hs_json_len(rdata) : 1;
}

static const hs_json *pdns_rdata_at(const hs_json *rdata, size_t i)
{
    return rdata->type == HS_JSON_ARRAY ? hs_json_at(rdata, i) : rdata;
}

/* Checks (and converts) one rdata value; NULL when good, else why not. */
static const char *pdns_value(pdns_type type, const hs_json *v, hs_ip *ip,
                              char target[HS_DNAME_MAX + 1])
{
    const char *s = hs_json_str(v);
    if (!s)
        return "rdata value is not a string";
    if (type == PDNS_CNAME) {
        if (hs_dname_normalise(s, v->len, target) < 0)
            return "CNAME rdata is not a host name";
        return NULL;
    }
    if (strlen(s) != v->len || hs_ip_parse(s, ip) < 0)
        return "rdata is not an IP address";
    if (ip->af != (type == PDNS_A ? HS_AF_V4 : HS_AF_V6))
        return type == PDNS_A ? "A rdata is not an IPv4 address"
                              : "AAAA rdata is not an IPv6 address";
    return NULL;
}

static int pdns_deliver(pdns_type type, const char *rrname,
                        const hs_json *rdata, const hs_pdns_ops *ops,
                        void *ctx)
{
    for (size_t i = 0; i < pdns_rdata_count(rdata); i++) {
        hs_ip ip;
        char target[HS_DNAME_MAX + 1];
        pdns_value(type, pdns_rdata_at(rdata, i), &ip, target);
        int rc = type == PDNS_CNAME ? ops->cname(ctx, rrname, target)
                                    : ops->addr(ctx, rrname, &ip);
        if (rc < 0)
            return rc;
    }
    return 1;
}

/* Checks the record in root; returns its type and fills rrname, or NULL
 * through *why. */
static int pdns_check(const hs_json *root, char rrname[HS_DNAME_MAX + 1],
                      const hs_json **rdata, const char **why)
{
    if (root->type != HS_JSON_OBJECT) {
        *why = "not a JSON object";
        return -EINVAL;
    }
    const hs_json *name = hs_json_get(root, "rrname");
    const hs_json *rrtype = hs_json_get(root, "rrtype");
    *rdata = hs_json_get(root, "rdata");
    if (!name || !hs_json_str(name) || !rrtype || !hs_json_str(rrtype) ||
        !*rdata) {
        *why = "rrname, rrtype (strings) and rdata are required";
        return -EINVAL;
    }
    pdns_type type = pdns_type_of(hs_json_str(rrtype));
    if (type == PDNS_OTHER)
        return PDNS_OTHER;
    if (hs_dname_normalise(hs_json_str(name), name->len, rrname) < 0) {
        *why = "rrname is not a host name";
        return -EINVAL;
    }
    if (pdns_rdata_count(*rdata) == 0) {
        *why = "rdata is empty";
        return -EINVAL;
    }
    for (size_t i = 0; i < pdns_rdata_count(*rdata); i++) {
        hs_ip ip;
        char target[HS_DNAME_MAX + 1];
        *why = pdns_value(type, pdns_rdata_at(*rdata, i), &ip, target);
        if (*why)
            return -EINVAL;
    }
    return type;
}

int hs_pdns_parse_line(const char *line, size_t len, const hs_pdns_ops *ops,
                       void *ctx, const char **why)
{
    if (len > HS_PDNS_LINE_MAX) {
        *why = "line longer than 1 MiB";
        return -EINVAL;
    }
    hs_json_doc *doc;
    int rc = hs_json_parse(line, len, &doc, NULL);
    if (rc == -EINVAL)
        *why = "not valid JSON";
    if (rc < 0)
        return rc;
    char rrname[HS_DNAME_MAX + 1];
    const hs_json *rdata;
    rc = pdns_check(hs_json_root(doc), rrname, &rdata, why);
    if (rc == PDNS_OTHER)
        rc = 0;
    else if (rc >= 0)
        rc = pdns_deliver((pdns_type)rc, rrname, rdata, ops, ctx);
    hs_json_free(doc);
    return rc;
}

/* One line through the parser and into the counters. */
static int pdns_line(const char *line, size_t len, unsigned long lineno,
                     const hs_pdns_ops *ops, void *ctx, hs_pdns_stats *st)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return 0;
    st->lines++;
    const char *why = NULL;
    int rc = hs_pdns_parse_line(line, len, ops, ctx, &why);
    if (rc == 1)
        st->used++;
    else if (rc == 0)
        st->ignored++;
    else if (rc == -EINVAL && why) {
        st->bad++;
        if (ops->bad)
            ops->bad(ctx, lineno, why);
    } else {
        return rc;
    }
    return 0;
}

int hs_pdns_parse(const char *buf, size_t len, const hs_pdns_ops *ops,
                  void *ctx, hs_pdns_stats *st)
{
    memset(st, 0, sizeof(*st));
    unsigned long lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        int rc = pdns_line(line, n, ++lineno, ops, ctx, st);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int hs_pdns_read(FILE *f, const hs_pdns_ops *ops, void *ctx,
                 hs_pdns_stats *st)
{
    memset(st, 0, sizeof(*st));
    char *line = NULL;
    size_t cap = 0;
    unsigned long lineno = 0;
    ssize_t n;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, f)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        rc = pdns_line(line, (size_t)n, ++lineno, ops, ctx, st);
    }
    free(line);
    if (rc == 0 && ferror(f))
        rc = -EIO;
    return rc;
}
