/*
 * iotwild.c - the iot_wild CSV reader (see iotwild.h).
 *
 * One line is one record: each line is split into fields in a scratch copy
 * (quotes removed, "" unescaped), then the needed columns are validated.
 * Everything is bounded by the buffer; no field is trusted.
 */
#include "iotwild.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"

#define IOTWILD_MAX_FIELDS 32

enum { COL_DOMAIN, COL_LEVEL, COL_DEVICE, COL_PORT, COL_N };

static const char *const iotwild_col_names[COL_N] = {
    [COL_DOMAIN] = "domain",
    [COL_LEVEL] = "detection_level",
    [COL_DEVICE] = "device",
    [COL_PORT] = "port",
};

typedef struct iotwild_fields {
    char *f[IOTWILD_MAX_FIELDS];
    int n;
} iotwild_fields;

/*
 * Splits line[0..len) into NUL-terminated fields written to scratch (len + 1
 * bytes). Returns 0, or -EINVAL with why set.
 */
static int iotwild_split(const char *line, size_t len, char *scratch,
                         iotwild_fields *out, const char **why)
{
    size_t i = 0;
    char *w = scratch;
    out->n = 0;
    for (;;) {
        if (out->n == IOTWILD_MAX_FIELDS) {
            *why = "too many fields";
            return -EINVAL;
        }
        out->f[out->n++] = w;
        if (i < len && line[i] == '"') {
            for (i++;; i++) {
                if (i == len) {
                    *why = "unterminated quote";
                    return -EINVAL;
                }
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        *w++ = '"';
                        i++;
                        continue;
                    }
                    i++;
                    break;
                }
                *w++ = line[i];
            }
            if (i < len && line[i] != ',') {
                *why = "text after a closing quote";
                return -EINVAL;
            }
        } else {
            while (i < len && line[i] != ',') {
                if (line[i] == '"') {
                    *why = "quote inside an unquoted field";
                    return -EINVAL;
                }
                *w++ = line[i++];
            }
        }
        *w++ = '\0';
        if (i == len)
            return 0;
        i++; /* the comma */
    }
}

static bool iotwild_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > HS_IOTWILD_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* "443", or a float with a zero fraction as pandas writes it: "443.0". */
static int iotwild_port_parse(const char *s, uint16_t *out)
{
    unsigned long v = 0;
    size_t i = 0;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (unsigned long)(s[i] - '0');
        if (v > 65535)
            return -EINVAL;
    }
    if (i == 0)
        return -EINVAL;
    if (s[i] == '.') {
        for (i++; s[i] == '0'; i++)
            ;
    }
    if (s[i] != '\0' || v == 0)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* Maps each needed column to its index in the header, or -1. */
static int iotwild_header(const iotwild_fields *h, int cols[COL_N],
                          char *err, size_t errlen)
{
    for (int c = 0; c < COL_N; c++)
        cols[c] = -1;
    for (int i = 0; i < h->n; i++) {
        for (int c = 0; c < COL_N; c++) {
            if (strcmp(h->f[i], iotwild_col_names[c]) != 0)
                continue;
            if (cols[c] >= 0) {
                snprintf(err, errlen, "line 1: column %s twice",
                         iotwild_col_names[c]);
                return -EINVAL;
            }
            cols[c] = i;
        }
    }
    for (int c = 0; c < COL_N; c++) {
        if (cols[c] < 0 && c != COL_DEVICE) {
            snprintf(err, errlen, "header has no column %s (expected "
                     "domain,detection_level,device,grouped_domain,"
                     "domain_id,port)", iotwild_col_names[c]);
            return -EINVAL;
        }
    }
    return 0;
}

/* Validates one record; returns NULL and fills row, or why it is bad. */
static const char *iotwild_row_make(const iotwild_fields *f, int nhdr,
                                    const int cols[COL_N],
                                    char name[HS_DNAME_MAX + 1],
                                    hs_iotwild_row *row)
{
    if (f->n != nhdr)
        return "wrong number of fields";
    const char *domain = f->f[cols[COL_DOMAIN]];
    if (hs_dname_normalise(domain, strlen(domain), name) < 0)
        return "bad domain name";
    row->domain = name;
    row->level = f->f[cols[COL_LEVEL]];
    if (!iotwild_id_valid(row->level))
        return "bad detection_level (1-64 of A-Z a-z 0-9 . _ -)";
    row->device = cols[COL_DEVICE] >= 0 ? f->f[cols[COL_DEVICE]] : "";
    if (row->device[0] != '\0' && !iotwild_id_valid(row->device))
        return "bad device (1-64 of A-Z a-z 0-9 . _ -)";
    if (iotwild_port_parse(f->f[cols[COL_PORT]], &row->port) < 0)
        return "bad port (1-65535)";
    return NULL;
}

int hs_iotwild_parse(const char *buf, size_t len, const hs_iotwild_ops *ops,
                     void *ctx, char *err, size_t errlen)
{
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
        buf += 3;
        len -= 3;
    }
    char *scratch = malloc(len + 1);
    if (!scratch)
        return -ENOMEM;
    int cols[COL_N], nhdr = 0, good = 0, rc = 0;
    char name[HS_DNAME_MAX + 1];
    unsigned lineno = 0;
    size_t pos = 0;
    while (pos < len && rc == 0) {
        const char *line = buf + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        if (n > 0 && line[n - 1] == '\r')
            n--;
        if (n == 0)
            continue;
        iotwild_fields f;
        const char *why = NULL;
        if (iotwild_split(line, n, scratch, &f, &why) < 0 && nhdr == 0) {
            snprintf(err, errlen, "line %u: header: %s", lineno, why);
            rc = -EINVAL;
        } else if (nhdr == 0) {
            rc = iotwild_header(&f, cols, err, errlen);
            nhdr = f.n;
        } else {
            hs_iotwild_row row = {.line = lineno};
            if (!why)
                why = iotwild_row_make(&f, nhdr, cols, name, &row);
            if (why) {
                if (ops->bad)
                    ops->bad(ctx, lineno, why);
            } else {
                rc = ops->row(ctx, &row);
                good++;
            }
        }
    }
    free(scratch);
    if (rc == 0 && nhdr == 0) {
        snprintf(err, errlen, "empty file: no header line");
        rc = -EINVAL;
    }
    return rc < 0 ? rc : good;
}
