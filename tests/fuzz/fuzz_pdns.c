/*
 * fuzz_pdns.c - haystack-sig's passive DNS (COF, JSON lines) reader on any
 * bytes. Every answer it delivers must carry terminated names and a
 * family-tagged address, and the counts must add up: each non-empty line
 * is used (one or more answers), ignored or bad.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pdns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_addr(void *ctx, const char *rrname, const hs_ip *ip)
{
    unsigned long *n = ctx;
    if (strlen(rrname) == 0 || (ip->af != HS_AF_V4 && ip->af != HS_AF_V6))
        abort();
    (*n)++;
    return 0;
}

static int fuzz_cname(void *ctx, const char *rrname, const char *target)
{
    unsigned long *n = ctx;
    if (strlen(rrname) == 0 || strlen(target) == 0)
        abort();
    (*n)++;
    return 0;
}

static void fuzz_bad(void *ctx, unsigned long line, const char *why)
{
    (void)ctx;
    if (line == 0 || strlen(why) == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_pdns_ops ops = {fuzz_addr, fuzz_cname, fuzz_bad};
    unsigned long delivered = 0;
    hs_pdns_stats st;
    if (hs_pdns_parse((const char *)data, size, &ops, &delivered, &st) != 0)
        abort();    /* the callbacks never fail, so neither may the parse */
    if (st.used > delivered || st.used + st.ignored + st.bad != st.lines)
        abort();
    return 0;
}
