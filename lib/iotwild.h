/*
 * iotwild.h - reader of the iot_wild testbed domain lists (CSV).
 *
 * The format is the one released with "A Haystack Full of Needles":
 * a header naming the columns domain,detection_level,device,grouped_domain,
 * domain_id,port and one row per (domain, detection level, device, port).
 * Columns are found by their header name, so order and extra columns do not
 * matter; domain, detection_level and port are required. The reader copes
 * with the release's quirks: names with or without the trailing dot (they
 * are normalised, see dname.h), ports written as floats ("443.0"), CRLF line
 * ends, a UTF-8 byte order mark and RFC 4180 double quotes within a line.
 *
 * The reader is a pure function over a buffer, so it can be fuzzed: rows go
 * to a callback, and a bad row is reported with its line number and skipped,
 * never fatal. grouped_domain and domain_id are not read: the testbed's
 * grouping is file-local ("new_domain_1" means different groups in different
 * files) and haystack-sig recomputes it from passive DNS.
 */
#ifndef HS_IOTWILD_H
#define HS_IOTWILD_H

#include <stddef.h>
#include <stdint.h>

#define HS_IOTWILD_ID_MAX 64    /* detection_level and device, in bytes */

typedef struct hs_iotwild_row {
    const char *domain;     /* normalised; may be a wildcard "*.x.y" */
    const char *level;      /* detection_level: [A-Za-z0-9._-]{1,64} */
    const char *device;     /* "" when the column is absent */
    uint16_t port;          /* 1-65535 */
    unsigned line;          /* 1-based line in the file */
} hs_iotwild_row;

typedef struct hs_iotwild_ops {
    /* A good row (valid during the call only). Returns 0, or a negative
     * code that stops the parse and becomes its result (e.g. -ENOMEM). */
    int (*row)(void *ctx, const hs_iotwild_row *row);
    /* A skipped row and why; may be NULL. */
    void (*bad)(void *ctx, unsigned line, const char *why);
} hs_iotwild_ops;

/*
 * Parses buf[0..len). Returns the number of good rows, or -EINVAL when the
 * header is missing or lacks a required column (err says what), -ENOMEM, or
 * what ops->row returned.
 */
int hs_iotwild_parse(const char *buf, size_t len, const hs_iotwild_ops *ops,
                     void *ctx, char *err, size_t errlen);

#endif
