/*
 * enrich.c - ASN, AS organisation and country lookups over libmaxminddb.
 *
 * Each database is memory-mapped by MMDB_open and read in place, so a
 * lookup is one walk down the search tree plus two or three map lookups in
 * the data section, with no allocation. Files are trusted for nothing:
 * the database type is checked at open (an ASN file given as the country
 * database would otherwise silently yield nothing), and every error
 * libmaxminddb reports at lookup (corrupt tree, bad pointers) turns into
 * "unknown" plus -EBADMSG for the caller to count, never into a crash.
 * Values are copied out with their sizes checked, because MMDB strings are
 * not NUL-terminated and come from the file.
 */
#include "enrich.h"

#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"

struct hs_enrich {
    MMDB_s asn;
    MMDB_s country;
    bool has_asn;
    bool has_country;
};

/* Which databases fit a role: database_type must contain one of the words. */
typedef struct hs_enrich_role {
    const char *name;
    const char *words[2];
} hs_enrich_role;

static const hs_enrich_role role_asn = {"ASN", {"ASN", "ISP"}};
static const hs_enrich_role role_country = {"country", {"Country", "City"}};

static const char *const path_asn[] = {"autonomous_system_number", NULL};
static const char *const path_org[] = {"autonomous_system_organization",
                                       NULL};
static const char *const path_country[] = {"country", "iso_code", NULL};

static bool role_fits(const hs_enrich_role *role, const char *type)
{
    for (size_t i = 0; i < sizeof(role->words) / sizeof(role->words[0]); i++)
        if (type && strstr(type, role->words[i]))
            return true;
    return false;
}

/* MMDB_open reports a directory or an empty file as a failed mmap (ENODEV,
 * EINVAL); say what the file is instead. */
static int io_error(const char *path, int sys, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(EISDIR));
        return -EISDIR;
    }
    if (stat(path, &st) == 0 && st.st_size == 0) {
        snprintf(err, errlen, "%s: not a MaxMind DB file (empty)", path);
        return -EINVAL;
    }
    snprintf(err, errlen, "%s: cannot read: %s", path, strerror(sys));
    return -sys;
}

/* MMDB_open keeps errno from the failed system call. */
static int db_open(const char *path, const hs_enrich_role *role, MMDB_s *db,
                   char *err, size_t errlen)
{
    errno = 0;
    int rc = MMDB_open(path, MMDB_MODE_MMAP, db);
    int sys = errno ? errno : EIO;
    switch (rc) {
    case MMDB_SUCCESS:
        break;
    case MMDB_FILE_OPEN_ERROR:
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(sys));
        return -sys;
    case MMDB_IO_ERROR:
        return io_error(path, sys, err, errlen);
    case MMDB_OUT_OF_MEMORY_ERROR:
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    default:
        snprintf(err, errlen, "%s: not a MaxMind DB file (%s)", path,
                 MMDB_strerror(rc));
        return -EINVAL;
    }
    const char *type = db->metadata.database_type;
    if (!role_fits(role, type)) {
        snprintf(err, errlen,
                 "%s: database type \"%s\" is not suitable as %s database "
                 "(want a type containing \"%s\" or \"%s\")",
                 path, type ? type : "", role->name, role->words[0],
                 role->words[1]);
        MMDB_close(db);
        return -EINVAL;
    }
    return 0;
}

int hs_enrich_open(const char *asn_db, const char *country_db,
                   hs_enrich **out, char *err, size_t errlen)
{
    hs_enrich *e = calloc(1, sizeof(*e));
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rc = 0;
    if (asn_db) {
        rc = db_open(asn_db, &role_asn, &e->asn, err, errlen);
        e->has_asn = rc == 0;
    }
    if (rc == 0 && country_db) {
        rc = db_open(country_db, &role_country, &e->country, err, errlen);
        e->has_country = rc == 0;
    }
    if (rc < 0) {
        hs_enrich_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

void hs_enrich_close(hs_enrich *e)
{
    if (!e)
        return;
    if (e->has_asn)
        MMDB_close(&e->asn);
    if (e->has_country)
        MMDB_close(&e->country);
    free(e);
}

typedef union hs_enrich_sa {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} hs_enrich_sa;

/* An AF_INET sockaddr lets libmaxminddb find v4 in a v6 tree (::/96). */
static bool sockaddr_of(const hs_ip *ip, hs_enrich_sa *sa)
{
    memset(sa, 0, sizeof(*sa));
    if (ip->af == HS_AF_V4) {
        sa->v4.sin_family = AF_INET;
        sa->v4.sin_addr.s_addr = htonl(ip->u.v4);
        return true;
    }
    if (ip->af == HS_AF_V6) {
        sa->v6.sin6_family = AF_INET6;
        memcpy(sa->v6.sin6_addr.s6_addr, ip->u.v6, 16);
        return true;
    }
    return false;
}

/* 1 and *entry when the address is in db, 0 when not, -EBADMSG. */
static int db_find(const MMDB_s *db, const hs_enrich_sa *sa,
                   MMDB_entry_s *entry)
{
    int mmerr = MMDB_SUCCESS;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(db, &sa->sa, &mmerr);
    if (mmerr == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
        return 0;
    if (mmerr != MMDB_SUCCESS)
        return -EBADMSG;
    if (!r.found_entry)
        return 0;
    *entry = r.entry;
    return 1;
}

/* 1 and *d when the value at path exists, 0 when absent, -EBADMSG. */
static int entry_get(MMDB_entry_s *entry, const char *const *path,
                     MMDB_entry_data_s *d)
{
    int rc = MMDB_aget_value(entry, d, path);
    if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
        return 0;
    if (rc != MMDB_SUCCESS)
        return -EBADMSG;
    return d->has_data ? 1 : 0;
}

/* Copies at most cap-1 bytes, stopping at a NUL and never splitting a
 * UTF-8 sequence, so a long name shortens to valid text. */
static void copy_utf8(char *dst, size_t cap, const char *src, size_t n)
{
    const char *nul = memchr(src, '\0', n);
    if (nul)
        n = (size_t)(nul - src);
    if (n >= cap) {
        n = cap - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int read_asn(MMDB_entry_s *entry, hs_enrich_info *out)
{
    MMDB_entry_data_s d;
    int rc = entry_get(entry, path_asn, &d);
    if (rc < 0)
        return rc;
    if (rc > 0 && d.type == MMDB_DATA_TYPE_UINT32)
        out->asn = d.uint32;
    else if (rc > 0 && d.type == MMDB_DATA_TYPE_UINT16)
        out->asn = d.uint16;
    rc = entry_get(entry, path_org, &d);
    if (rc > 0 && d.type == MMDB_DATA_TYPE_UTF8_STRING)
        copy_utf8(out->as_org, sizeof(out->as_org), d.utf8_string,
                  d.data_size);
    return rc < 0 ? rc : 0;
}

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int read_country(MMDB_entry_s *entry, hs_enrich_info *out)
{
    MMDB_entry_data_s d;
    int rc = entry_get(entry, path_country, &d);
    if (rc > 0 && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size == 2 &&
        is_upper(d.utf8_string[0]) && is_upper(d.utf8_string[1])) {
        memcpy(out->country, d.utf8_string, 2);
        out->country[2] = '\0';
    }
    return rc < 0 ? rc : 0;
}

static void clear_asn(hs_enrich_info *out)
{
    out->asn = 0;
    out->as_org[0] = '\0';
}

static void clear_country(hs_enrich_info *out)
{
    out->country[0] = '\0';
}

/* Runs one database's lookup; on corruption its values stay unknown. */
static int lookup_one(const MMDB_s *db, const hs_enrich_sa *sa,
                      hs_enrich_info *out,
                      int (*read_values)(MMDB_entry_s *, hs_enrich_info *),
                      void (*clear_values)(hs_enrich_info *))
{
    MMDB_entry_s entry;
    int rc = db_find(db, sa, &entry);
    if (rc > 0)
        rc = read_values(&entry, out);
    if (rc < 0)
        clear_values(out);
    return rc < 0 ? rc : 0;
}

int hs_enrich_lookup(const hs_enrich *e, const hs_ip *ip,
                     hs_enrich_info *out)
{
    clear_asn(out);
    clear_country(out);
    hs_enrich_sa sa;
    if (!sockaddr_of(ip, &sa))
        return -EINVAL;
    int rc = 0, r;
    if (e->has_asn &&
        (r = lookup_one(&e->asn, &sa, out, read_asn, clear_asn)) < 0)
        rc = r;
    if (e->has_country &&
        (r = lookup_one(&e->country, &sa, out, read_country,
                        clear_country)) < 0)
        rc = r;
    return rc;
}

/* An append-only window on the caller's buffer that remembers overflow. */
typedef struct hs_enrich_out {
    char *buf;
    size_t cap;
    size_t len;
    bool full;
} hs_enrich_out;

static void out_room(hs_enrich_out *o, size_t need)
{
    if (need >= o->cap - o->len)
        o->full = true;
    else
        o->len += need;
}

static void out_printf(hs_enrich_out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    out_room(o, n < 0 ? o->cap : (size_t)n);
}

static void out_string(hs_enrich_out *o, const char *s)
{
    out_printf(o, "\"");
    if (!o->full)
        out_room(o, hs_json_escape(o->buf + o->len, o->cap - o->len, s,
                                   strlen(s)));
    out_printf(o, "\"");
}

static void out_key(hs_enrich_out *o, const char *side, const char *name)
{
    out_printf(o, "%s\"%s_%s\":", o->len ? "," : "", side, name);
}

static void out_side(hs_enrich_out *o, const char *side,
                     const hs_enrich_info *info)
{
    if (!info)
        return;
    if (info->asn) {
        out_key(o, side, "asn");
        out_printf(o, "%u", (unsigned)info->asn);
    }
    if (info->as_org[0]) {
        out_key(o, side, "as_org");
        out_string(o, info->as_org);
    }
    if (info->country[0]) {
        out_key(o, side, "country");
        out_string(o, info->country);
    }
}

int hs_enrich_json(const hs_enrich_info *subscriber,
                   const hs_enrich_info *backend, char *buf, size_t len)
{
    if (len == 0)
        return -ENOSPC;
    hs_enrich_out o = {buf, len, 0, false};
    buf[0] = '\0';
    out_side(&o, "subscriber", subscriber);
    out_side(&o, "backend", backend);
    if (o.full) {
        buf[0] = '\0';
        return -ENOSPC;
    }
    return (int)o.len;
}
