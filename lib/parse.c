/*
 * parse.c - value syntaxes shared by the configuration and the tools (see
 * parse.h).
 *
 * Numbers are read digit by digit rather than with strtoul: strtoul accepts
 * blanks, signs and "0x", and wraps "-1" to a huge value, none of which an
 * operator should get away with. Every reader stops at the terminating NUL
 * and checks overflow before it happens.
 */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char **why, const char *reason, int code)
{
    if (why)
        *why = reason;
    return code;
}

/*
 * Reads the leading decimal digits of s into *out; *end points past them.
 * Returns -EINVAL without a digit, -ERANGE past UINT64_MAX.
 */
static int read_digits(const char *s, uint64_t *out, const char **end)
{
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (p == s)
        return -EINVAL;
    *out = v;
    *end = p;
    return 0;
}

int hs_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out,
                 const char **why)
{
    uint64_t v;
    const char *end;
    int rc = read_digits(s, &v, &end);
    if (rc == -ERANGE)
        return fail(why, "number too large", -ERANGE);
    if (rc < 0 || *end != '\0')
        return fail(why, "not a non-negative decimal integer", -EINVAL);
    if (v < min || v > max)
        return fail(why, "out of range", -ERANGE);
    *out = v;
    return 0;
}

/* Multiplies a number by its unit, failing instead of wrapping. */
static int scale(uint64_t v, uint64_t unit, uint64_t max, uint64_t *out)
{
    if (v > max / unit)
        return -ERANGE;
    *out = v * unit;
    return 0;
}

int hs_parse_duration_ms(const char *s, uint64_t *ms, const char **why)
{
    uint64_t v;
    const char *unit;
    int rc = read_digits(s, &v, &unit);
    if (rc == -ERANGE)
        return fail(why, "duration too long (at most 3650d)", -ERANGE);
    if (rc < 0)
        return fail(why, "not a duration (a number with s, m, h or d)",
                    -EINVAL);
    uint64_t mult;
    if (unit[0] == '\0' || strcmp(unit, "s") == 0)
        mult = 1000;
    else if (strcmp(unit, "m") == 0)
        mult = 60 * 1000;
    else if (strcmp(unit, "h") == 0)
        mult = 3600 * 1000;
    else if (strcmp(unit, "d") == 0)
        mult = 86400 * 1000;
    else
        return fail(why, "unknown duration unit (use s, m, h or d)", -EINVAL);
    if (scale(v, mult, HS_DURATION_MAX_MS, ms) < 0)
        return fail(why, "duration too long (at most 3650d)", -ERANGE);
    return 0;
}

/* The multiplier of a size unit ("", k, m, g, either case), 0 if unknown. */
static uint64_t size_unit(const char *u)
{
    if (u[0] == '\0')
        return 1;
    if (u[1] != '\0')
        return 0;
    switch (tolower((unsigned char)u[0])) {
    case 'k':
        return 1ULL << 10;
    case 'm':
        return 1ULL << 20;
    case 'g':
        return 1ULL << 30;
    default:
        return 0;
    }
}

int hs_parse_size(const char *s, uint64_t *bytes, const char **why)
{
    uint64_t v;
    const char *unit;
    int rc = read_digits(s, &v, &unit);
    if (rc == -ERANGE)
        return fail(why, "size too large", -ERANGE);
    if (rc < 0)
        return fail(why, "not a size (a number with k, m or g)", -EINVAL);
    uint64_t mult = size_unit(unit);
    if (mult == 0)
        return fail(why, "unknown size unit (use k, m or g)", -EINVAL);
    if (scale(v, mult, UINT64_MAX, bytes) < 0)
        return fail(why, "size too large", -ERANGE);
    return 0;
}

int hs_parse_bool(const char *s, bool *out, const char **why)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return fail(why, "not a boolean (true/false, yes/no, on/off, 1/0)",
                -EINVAL);
}

/* Whether every address bit at position len and beyond is zero. */
static bool host_bits_zero(const hs_ip *ip, unsigned len)
{
    if (ip->af == HS_AF_V4)
        return len == 32 || (ip->u.v4 & (UINT32_MAX >> len)) == 0;
    for (unsigned bit = len; bit < 128; bit++) {
        if (ip->u.v6[bit / 8] & (0x80u >> (bit % 8)))
            return false;
    }
    return true;
}

int hs_parse_cidr(const char *s, hs_cidr *out, const char **why)
{
    char addr[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= sizeof(addr))
        return fail(why, "not an address or ADDRESS/LENGTH prefix", -EINVAL);
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    hs_cidr c;
    if (hs_ip_parse(addr, &c.addr) < 0)
        return fail(why, "not an IPv4 or IPv6 address", -EINVAL);
    unsigned max = c.addr.af == HS_AF_V4 ? 32 : 128;
    uint64_t len = max;
    if (slash && hs_parse_u64(slash + 1, 0, UINT64_MAX, &len, NULL) < 0)
        return fail(why, "prefix length is not a number", -EINVAL);
    if (len > max)
        return fail(why, c.addr.af == HS_AF_V4
                             ? "prefix length above 32"
                             : "prefix length above 128",
                    -ERANGE);
    c.len = (uint8_t)len;
    if (!host_bits_zero(&c.addr, c.len))
        return fail(why, "address has bits set past the prefix length",
                    -EINVAL);
    *out = c;
    return 0;
}

bool hs_cidr_contains(const hs_cidr *c, const hs_ip *ip)
{
    if (c->addr.af != ip->af)
        return false;
    if (ip->af == HS_AF_V4) {
        uint32_t mask = c->len ? UINT32_MAX << (32 - c->len) : 0;
        return (ip->u.v4 & mask) == c->addr.u.v4;
    }
    unsigned whole = c->len / 8, rest = c->len % 8;
    if (memcmp(ip->u.v6, c->addr.u.v6, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (ip->u.v6[whole] & mask) == c->addr.u.v6[whole];
}

int hs_parse_hostport(const char *s, hs_hostport *out, const char **why)
{
    char addr[64];
    const char *colon;
    const char *start = s;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return fail(why, "expected [IPV6]:PORT", -EINVAL);
        start = s + 1;
        colon = close + 1;
        if (close - start >= (ptrdiff_t)sizeof(addr))
            return fail(why, "address too long", -EINVAL);
        memcpy(addr, start, (size_t)(close - start));
        addr[close - start] = '\0';
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return fail(why, "expected ADDRESS:PORT", -EINVAL);
        if (memchr(s, ':', (size_t)(colon - s)))
            return fail(why, "IPv6 addresses need brackets: [ADDRESS]:PORT",
                        -EINVAL);
        if (colon - s >= (ptrdiff_t)sizeof(addr))
            return fail(why, "address too long", -EINVAL);
        memcpy(addr, s, (size_t)(colon - s));
        addr[colon - s] = '\0';
    }
    hs_hostport hp;
    if (hs_ip_parse(addr, &hp.ip) < 0)
        return fail(why, "not a numeric IPv4 or IPv6 address", -EINVAL);
    if (s[0] == '[' && hp.ip.af != HS_AF_V6)
        return fail(why, "brackets are for IPv6 addresses only", -EINVAL);
    uint64_t port;
    int rc = hs_parse_u64(colon + 1, 1, 65535, &port, NULL);
    if (rc < 0)
        return fail(why, "port is not a number in 1..65535", rc);
    hp.port = (uint16_t)port;
    *out = hp;
    return 0;
}

char *hs_hostport_format(const hs_hostport *hp, char *buf, size_t len)
{
    char ip[64];
    hs_ip_format(&hp->ip, ip, sizeof(ip));
    if (hp->ip.af == HS_AF_V6)
        snprintf(buf, len, "[%s]:%u", ip, hp->port);
    else
        snprintf(buf, len, "%s:%u", ip, hp->port);
    return buf;
}

bool hs_hostport_equal(const hs_hostport *a, const hs_hostport *b)
{
    if (a->port != b->port || a->ip.af != b->ip.af)
        return false;
    if (a->ip.af == HS_AF_V4)
        return a->ip.u.v4 == b->ip.u.v4;
    return memcmp(a->ip.u.v6, b->ip.u.v6, 16) == 0;
}


static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/*
 * Copies s[0..n) into a new string, decoding %XX escapes. NULL when n is 0
 * (an absent user or password). Fails on a broken escape or an encoded NUL.
 */
static int percent_decode(const char *s, size_t n, char **out, const char **why)
{
    *out = NULL;
    if (n == 0)
        return 0;
    char *d = malloc(n + 1);
    if (!d)
        return fail(why, "out of memory", -ENOMEM);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            d[o++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? hex_value(s[i + 1]) : -1;
        int lo = i + 2 < n ? hex_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(d);
            return fail(why, "bad %XX escape in user or password", -EINVAL);
        }
        d[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    d[o] = '\0';
    *out = d;
    return 0;
}

/* A host name as DNS allows it, or an IPv4 address: letters, digits, '-', '.'. */
static bool host_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    }
    return true;
}

/* Splits HOST[:PORT] or [V6][:PORT] (n bytes at s) into u->host, u->port. */
static int parse_url_host(const char *s, size_t n, hs_redis_url *u,
                          const char **why)
{
    const char *host = s, *port = NULL;
    size_t hlen;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close)
            return fail(why, "missing ']' after IPv6 address", -EINVAL);
        host = s + 1;
        hlen = (size_t)(close - host);
        if (close + 1 < s + n) {
            if (close[1] != ':')
                return fail(why, "expected ':PORT' after ']'", -EINVAL);
            port = close + 2;
        }
        char v6[64];
        hs_ip ip;
        if (hlen >= sizeof(v6))
            return fail(why, "bad IPv6 address in brackets", -EINVAL);
        memcpy(v6, host, hlen);
        v6[hlen] = '\0';
        if (hs_ip_parse(v6, &ip) < 0 || ip.af != HS_AF_V6)
            return fail(why, "bad IPv6 address in brackets", -EINVAL);
    } else {
        const char *colon = memchr(s, ':', n);
        hlen = colon ? (size_t)(colon - s) : n;
        port = colon ? colon + 1 : NULL;
        if (!host_name_ok(s, hlen))
            return fail(why, "missing or bad host name", -EINVAL);
    }
    u->port = 6379;
    if (port) {
        char digits[8];
        size_t plen = (size_t)(s + n - port);
        uint64_t v;
        if (plen == 0 || plen >= sizeof(digits))
            return fail(why, "port is not a number in 1..65535", -EINVAL);
        memcpy(digits, port, plen);
        digits[plen] = '\0';
        if (hs_parse_u64(digits, 1, 65535, &v, NULL) < 0)
            return fail(why, "port is not a number in 1..65535", -EINVAL);
        u->port = (uint16_t)v;
    }
    u->host = strndup(host, hlen);
    if (!u->host)
        return fail(why, "out of memory", -ENOMEM);
    return 0;
}

/* USER:PASSWORD, :PASSWORD or PASSWORD (as redis-cli reads it). */
static int parse_url_userinfo(const char *s, size_t n, hs_redis_url *u,
                              const char **why)
{
    const char *colon = memchr(s, ':', n);
    const char *pass = s;
    if (colon) {
        int rc = percent_decode(s, (size_t)(colon - s), &u->user, why);
        if (rc < 0)
            return rc;
        pass = colon + 1;
    }
    return percent_decode(pass, (size_t)(s + n - pass), &u->password, why);
}

static int parse_url_db(const char *s, hs_redis_url *u, const char **why)
{
    uint64_t db = 0;
    if (s[0] != '\0' && hs_parse_u64(s, 0, INT32_MAX, &db, NULL) < 0)
        return fail(why, "database is not a number (redis://HOST:PORT/DB)",
                    -EINVAL);
    u->db = (uint32_t)db;
    return 0;
}

int hs_parse_redis_url(const char *s, hs_redis_url *out, const char **why)
{
    static const char scheme[] = "redis://";
    memset(out, 0, sizeof(*out));
    if (strncasecmp(s, "rediss://", 9) == 0)
        return fail(why, "TLS (rediss://) is not supported", -EINVAL);
    if (strncasecmp(s, scheme, sizeof(scheme) - 1) != 0)
        return fail(why, "not a redis:// URL", -EINVAL);
    const char *auth = s + sizeof(scheme) - 1;
    const char *slash = strchr(auth, '/');
    const char *end = slash ? slash : auth + strlen(auth);
    /* The last '@' ends the user info: host names never hold one, and a
     * password that does still works unescaped. */
    const char *at = NULL;
    for (const char *p = auth; p < end; p++)
        at = *p == '@' ? p : at;
    hs_redis_url u = {0};
    int rc = 0;
    if (at)
        rc = parse_url_userinfo(auth, (size_t)(at - auth), &u, why);
    const char *host = at ? at + 1 : auth;
    if (rc == 0)
        rc = parse_url_host(host, (size_t)(end - host), &u, why);
    if (rc == 0)
        rc = parse_url_db(slash ? slash + 1 : "", &u, why);
    if (rc < 0) {
        hs_redis_url_clear(&u);
        return rc;
    }
    *out = u;
    return 0;
}

void hs_redis_url_clear(hs_redis_url *u)
{
    free(u->host);
    free(u->user);
    free(u->password);
    memset(u, 0, sizeof(*u));
}
