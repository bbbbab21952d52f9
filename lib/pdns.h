/*
 * pdns.h - reader of passive DNS in the Common Output Format (COF,
 * draft-dulaunoy-dnsop-passive-dns-cof): one JSON object a line,
 *   {"rrname":"a.example.com.","rrtype":"A","rdata":["192.0.2.1"],
 *    "time_first":1600000000,"time_last":1600086400,"count":12}
 * where rdata is a string or a list of strings.
 *
 * Only A, AAAA and CNAME records matter to a signature build; other types
 * are counted and ignored. time_first, time_last, count and any other
 * member are not read: a build takes every record it is given as current
 * (select the time range when exporting from the passive DNS database).
 *
 * A bad line (not JSON, no rrname/rrtype/rdata, an address that is not of
 * the record's family, a name that is not a host name) is reported with its
 * line number and skipped as a whole, never half used. The line parser is a
 * pure function over a buffer (lib/json.h does the JSON), so it can be
 * fuzzed; hs_pdns_read streams a file of any size line by line.
 */
#ifndef HS_PDNS_H
#define HS_PDNS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "flow.h"

#define HS_PDNS_LINE_MAX (1u << 20) /* longer lines are bad, not parsed */

typedef struct hs_pdns_ops {
    /* An A or AAAA answer. Returns 0 or a negative code that stops. */
    int (*addr)(void *ctx, const char *rrname, const hs_ip *ip);
    /* A CNAME: rrname is an alias of target (both normalised, dname.h). */
    int (*cname)(void *ctx, const char *rrname, const char *target);
    /* A skipped line and why; may be NULL. */
    void (*bad)(void *ctx, unsigned long line, const char *why);
} hs_pdns_ops;

typedef struct hs_pdns_stats {
    unsigned long lines;    /* non-empty lines */
    unsigned long used;     /* A, AAAA and CNAME records delivered */
    unsigned long ignored;  /* good records of other types */
    unsigned long bad;      /* reported through ops->bad */
} hs_pdns_stats;

/*
 * Parses one line (without its newline). Returns 1 when the record was
 * delivered, 0 when it is of an ignored type, -EINVAL when it is bad (*why
 * says why, a static string), or what an ops callback returned.
 */
int hs_pdns_parse_line(const char *line, size_t len, const hs_pdns_ops *ops,
                       void *ctx, const char **why);

/*
 * Parses every line of buf[0..len) / of f, counting into st (zeroed first).
 * Returns 0, or the first negative code of a callback or of reading (-EIO,
 * -ENOMEM); bad lines are not errors.
 */
int hs_pdns_parse(const char *buf, size_t len, const hs_pdns_ops *ops,
                  void *ctx, hs_pdns_stats *st);
int hs_pdns_read(FILE *f, const hs_pdns_ops *ops, void *ctx,
                 hs_pdns_stats *st);

#endif
