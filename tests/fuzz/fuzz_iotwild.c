/*
 * fuzz_iotwild.c - haystack-sig's iot_wild CSV reader on any bytes. Every
 * row it delivers must hold a terminated domain and level, a port in
 * 1..65535 and a line number that only grows.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iotwild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_row(void *ctx, const hs_iotwild_row *row)
{
    unsigned *last_line = ctx;
    size_t level = strlen(row->level);
    if (strlen(row->domain) == 0 || level == 0 ||
        level > HS_IOTWILD_ID_MAX || strlen(row->device) > HS_IOTWILD_ID_MAX ||
        row->port == 0 || row->line <= *last_line)
        abort();
    *last_line = row->line;
    return 0;
}

static void fuzz_bad(void *ctx, unsigned line, const char *why)
{
    (void)ctx;
    if (line == 0 || strlen(why) == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_iotwild_ops ops = {fuzz_row, fuzz_bad};
    unsigned last_line = 0;
    char err[256];
    int rc = hs_iotwild_parse((const char *)data, size, &ops, &last_line,
                              err, sizeof(err));
    if (rc < 0 && (rc != -EINVAL || memchr(err, '\0', sizeof(err)) == NULL))
        abort();
    return 0;
}
