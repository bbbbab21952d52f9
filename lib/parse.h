/*
 * parse.h - the value syntaxes an operator types: durations, sizes,
 * booleans, bounded integers, CIDR prefixes, ADDRESS:PORT pairs and Redis
 * URLs.
 *
 * The configuration file uses them, and so does anything else that takes
 * the same kind of value (command-line flags, signature rules, tools), so
 * "24h" or "[::]:4739" mean one thing everywhere. Each parser takes the
 * whole NUL-terminated string (no surrounding blanks), returns 0 or
 * -EINVAL (-ERANGE when the value is well formed but out of range) and,
 * when why is not NULL, points it at a static sentence saying what is
 * wrong, for messages of the form "bad value 'x': <why>".
 */
#ifndef HS_PARSE_H
#define HS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"

/* Longest duration accepted: ten years, so that sums and products of a
 * few durations in milliseconds cannot overflow 64 bits downstream. */
#define HS_DURATION_MAX_MS (3650ULL * 86400 * 1000)

/* An address prefix: addr with every bit past len zero. */
typedef struct hs_cidr {
    hs_ip addr;
    uint8_t len;        /* 0..32 for v4, 0..128 for v6 */
} hs_cidr;

/* A numeric socket address; no host names (nothing here resolves). */
typedef struct hs_hostport {
    hs_ip ip;
    uint16_t port;      /* 1..65535 */
} hs_hostport;

/* The parts of redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]. Strings owned. */
typedef struct hs_redis_url {
    char *host;         /* name or address, without IPv6 brackets */
    uint16_t port;      /* default 6379 */
    uint32_t db;        /* default 0 */
    char *user;         /* NULL when absent (Redis then uses "default") */
    char *password;     /* NULL when absent */
} hs_redis_url;

/*
 * "90" (seconds), "90s", "15m", "24h", "7d": a non-negative integer and an
 * optional unit, in milliseconds. At most HS_DURATION_MAX_MS.
 */
int hs_parse_duration_ms(const char *s, uint64_t *ms, const char **why);

/* "65536", "512k", "32m", "1g" (binary multiples; upper case too), in bytes. */
int hs_parse_size(const char *s, uint64_t *bytes, const char **why);

/* true/false, yes/no, on/off, 1/0, in any case. */
int hs_parse_bool(const char *s, bool *out, const char **why);

/* A decimal integer in [min, max]; no sign, no blanks. */
int hs_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                 const char **why);

/*
 * "192.0.2.0/24", "2001:db8::/32", or a bare address (a host prefix, /32 or
 * /128). Host bits past the length are an error ("192.0.2.1/24" is almost
 * always a typo for a host or for the network, and guessing either would
 * silently widen or narrow what the operator meant).
 */
int hs_parse_cidr(const char *s, hs_cidr *out, const char **why);

/* Whether ip lies inside c (different address families never match). */
bool hs_cidr_contains(const hs_cidr *c, const hs_ip *ip);

/*
 * "0.0.0.0:4739", "[::]:4739", "[2001:db8::1]:2055": a numeric address and
 * a port in 1..65535. IPv6 needs the brackets.
 */
int hs_parse_hostport(const char *s, hs_hostport *out, const char **why);

/* Formats as hs_parse_hostport reads it ("[::1]:4739"); returns buf. */
char *hs_hostport_format(const hs_hostport *hp, char *buf, size_t len);

bool hs_hostport_equal(const hs_hostport *a, const hs_hostport *b);

/*
 * redis://[[USER]:PASSWORD@]HOST[:PORT][/DB], as redis-cli -u takes it.
 * USER and PASSWORD may be percent-encoded (a password with '@' or ':').
 * On success out owns its strings (free with hs_redis_url_clear); on error
 * out is left empty. Returns -ENOMEM when memory runs out.
 */
int hs_parse_redis_url(const char *s, hs_redis_url *out, const char **why);
void hs_redis_url_clear(hs_redis_url *u);

#endif
