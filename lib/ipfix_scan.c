/*
 * ipfix_scan.c - validate an IPFIX message and strip what libfixbuf must
 * not see (see ipfix_scan.h for why).
 *
 * Stripping moves the rest of the message down in place and fixes the set
 * and message lengths, so libfixbuf gets a well-formed message with only
 * the parts it can handle. Messages are at most 64 KiB and stripping happens
 * only for withdrawals and bad templates, so the moves cost nothing on the
 * normal path.
 */
#include "ipfix_scan.h"

#include <string.h>

#include "decode.h"
#include "wire.h"

typedef struct scan {
    uint8_t *msg;
    size_t len;
    const hs_scan_ops *ops;
    void *ctx;
    hs_scan_result *res;
} scan;

static void cut(scan *s, size_t off, size_t n)
{
    memmove(s->msg + off, s->msg + off + n, s->len - off - n);
    s->len -= n;
}

/* Length of the template record at rec (avail bytes in its set), or 0 when
 * it runs past the set. *valid tells whether libfixbuf may have it. */
static size_t template_len(const uint8_t *rec, size_t avail, int is_options,
                           int *valid)
{
    size_t off = is_options ? 6 : 4;
    if (avail < off)
        return 0;
    uint16_t count = hs_rd16(rec + 2);
    *valid = 1;
    if (is_options) {
        uint16_t scope = hs_rd16(rec + 4);
        if (scope == 0 || scope > count)
            *valid = 0;
    }
    for (unsigned i = 0; i < count; i++) {
        if (avail - off < 4)
            return 0;
        uint16_t type = hs_rd16(rec + off), flen = hs_rd16(rec + off + 2);
        off += 4;
        if (type & HS_ENTERPRISE_BIT) {
            if (avail - off < 4)
                return 0;
            off += 4;
        }
        if (flen == 0)
            *valid = 0; /* a zero-length field makes zero-length records */
    }
    return off;
}

static int is_withdrawal(uint16_t tid, uint16_t count, int is_options)
{
    uint16_t all = is_options ? HS_IPFIX_SET_OPTIONS : HS_IPFIX_SET_TEMPLATE;
    return count == 0 && (tid >= HS_MIN_DATA_SET || tid == all);
}

/* Walks one template set; returns its length after stripping. */
static size_t scan_template_set(scan *s, size_t set_off, int is_options)
{
    uint32_t domain = s->res->domain;
    size_t set_len = hs_rd16(s->msg + set_off + 2);
    size_t off = set_off + HS_SET_HDR_LEN;
    while (set_off + set_len - off >= 4) {
        const uint8_t *rec = s->msg + off;
        uint16_t tid = hs_rd16(rec), count = hs_rd16(rec + 2);
        if (is_withdrawal(tid, count, is_options)) {
            s->ops->on_withdraw(s->ctx, domain, tid);
            cut(s, off, 4);
            set_len -= 4;
            continue;
        }
        if (tid < HS_MIN_DATA_SET)
            break; /* padding (or garbage): cut below */
        int valid = 0;
        size_t rlen = template_len(rec, set_off + set_len - off, is_options, &valid);
        if (rlen == 0) {
            s->res->bad_templates++;
            break;
        }
        int verdict = valid ? s->ops->on_template(s->ctx, domain, tid, rec,
                                                  rlen, is_options)
                            : HS_SCAN_INVALID;
        if (verdict != HS_SCAN_KEEP) {
            if (verdict == HS_SCAN_INVALID)
                s->res->bad_templates++;
            else
                s->res->refused++;
            cut(s, off, rlen);
            set_len -= rlen;
            continue;
        }
        off += rlen;
    }
    size_t rest = set_off + set_len - off;
    if (rest) {
        cut(s, off, rest);
        set_len -= rest;
    }
    hs_wr16(s->msg + set_off + 2, (uint16_t)set_len);
    return set_len;
}

int hs_ipfix_scan(uint8_t *msg, size_t *len, const hs_scan_ops *ops,
                  void *ctx, hs_scan_result *res)
{
    memset(res, 0, sizeof(*res));
    if (*len < HS_IPFIX_HDR_LEN)
        return -HS_DROP_TRUNCATED;
    if (hs_rd16(msg) != HS_IPFIX_VERSION)
        return -HS_DROP_BAD_VERSION;
    size_t mlen = hs_rd16(msg + 2);
    if (mlen > *len)
        return -HS_DROP_TRUNCATED;
    if (mlen < *len || mlen < HS_IPFIX_HDR_LEN)
        return -HS_DROP_BAD_LENGTH;
    res->export_time = hs_rd32(msg + 4);
    res->sequence = hs_rd32(msg + 8);
    res->domain = hs_rd32(msg + 12);

    scan s = {msg, mlen, ops, ctx, res};
    size_t off = HS_IPFIX_HDR_LEN;
    while (s.len - off >= HS_SET_HDR_LEN) {
        uint16_t id = hs_rd16(msg + off), slen = hs_rd16(msg + off + 2);
        if (slen < HS_SET_HDR_LEN || slen > s.len - off)
            return -HS_DROP_BAD_SET;
        if (id == HS_IPFIX_SET_TEMPLATE || id == HS_IPFIX_SET_OPTIONS) {
            off += scan_template_set(&s, off, id == HS_IPFIX_SET_OPTIONS);
        } else if (id >= HS_MIN_DATA_SET) {
            if (ops->on_data_set(ctx, res->domain, id, slen - HS_SET_HDR_LEN))
                cut(&s, off, slen);
            else
                off += slen;
        } else {
            cut(&s, off, slen); /* reserved set ID: libfixbuf would abort */
        }
    }
    s.len = off; /* fewer than 4 trailing bytes: not a set */
    hs_wr16(msg + 2, (uint16_t)s.len);
    *len = s.len;
    return 0;
}
