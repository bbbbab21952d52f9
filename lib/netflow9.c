/*
 * netflow9.c - NetFlow v9 (RFC 3954) to IPFIX (RFC 7011) rewrite.
 *
 * The IPFIX header is the v9 header minus sysUptime: export time, sequence
 * and source id keep their meaning. Template flowsets (0) become template
 * sets (2); options template flowsets (1) become options template sets (3)
 * with field counts instead of byte lengths. Vendor field types (>= 0x8000)
 * get Cisco's enterprise number; v9 scope types (system, interface, ...) have
 * no IPFIX element, so they travel as opaque Cisco-scoped fields. Data
 * flowsets are byte-identical in both protocols and are copied unchanged.
 * Every length is checked against the packet before it is read: this runs on
 * whatever anyone sends to the port.
 */
#include "netflow9.h"

#include <string.h>

#include "decode.h"
#include "wire.h"

typedef struct out_buf {
    uint8_t *p;
    size_t pos, cap;
    int overflow;
} out_buf;

static void put16(out_buf *o, uint16_t v)
{
    if (o->pos + 2 > o->cap) {
        o->overflow = 1;
        return;
    }
    hs_wr16(o->p + o->pos, v);
    o->pos += 2;
}

static void put32(out_buf *o, uint32_t v)
{
    put16(o, (uint16_t)(v >> 16));
    put16(o, (uint16_t)v);
}

/* One field specifier; vendor types carry Cisco's enterprise number. */
static void put_field(out_buf *o, uint16_t type, uint16_t len)
{
    put16(o, type);
    put16(o, len);
    if (type & HS_ENTERPRISE_BIT)
        put32(o, HS_PEN_CISCO);
}

/* A v9 scope type has no IPFIX element: carry it as an opaque vendor field. */
static void put_scope_field(out_buf *o, uint16_t type, uint16_t len)
{
    put_field(o, (uint16_t)(type | HS_ENTERPRISE_BIT), len);
}

static int fields_valid(const uint8_t *f, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (hs_rd16(f + 4 * i + 2) == 0)
            return 0;
    return 1;
}

/* Template flowset body -> IPFIX template records. */
static void rewrite_templates(const uint8_t *b, size_t blen, out_buf *o,
                              hs_v9_header *hdr)
{
    size_t off = 0;
    while (blen - off >= 4) {
        uint16_t tid = hs_rd16(b + off), count = hs_rd16(b + off + 2);
        if (tid < HS_MIN_DATA_SET)
            return; /* padding */
        size_t need = 4 + 4 * (size_t)count;
        if (need > blen - off) {
            hdr->bad_templates++;
            return;
        }
        const uint8_t *f = b + off + 4;
        off += need;
        if (count == 0 || !fields_valid(f, count)) {
            hdr->bad_templates++;
            continue;
        }
        put16(o, tid);
        put16(o, count);
        for (unsigned i = 0; i < count; i++)
            put_field(o, hs_rd16(f + 4 * i), hs_rd16(f + 4 * i + 2));
    }
}

/* Options template flowset body -> IPFIX options template records. */
static void rewrite_options(const uint8_t *b, size_t blen, out_buf *o,
                            hs_v9_header *hdr)
{
    size_t off = 0;
    while (blen - off >= 6) {
        uint16_t tid = hs_rd16(b + off);
        uint16_t scope_len = hs_rd16(b + off + 2), opt_len = hs_rd16(b + off + 4);
        if (tid < HS_MIN_DATA_SET)
            return; /* padding */
        size_t need = 6 + (size_t)scope_len + opt_len;
        if (need > blen - off || scope_len % 4 || opt_len % 4) {
            hdr->bad_templates++;
            return;
        }
        const uint8_t *f = b + off + 6;
        unsigned n_scope = scope_len / 4u, n_opt = opt_len / 4u;
        off += need;
        if (n_scope == 0 || !fields_valid(f, n_scope + n_opt)) {
            hdr->bad_templates++;
            continue;
        }
        put16(o, tid);
        put16(o, (uint16_t)(n_scope + n_opt));
        put16(o, (uint16_t)n_scope);
        for (unsigned i = 0; i < n_scope; i++)
            put_scope_field(o, hs_rd16(f + 4 * i), hs_rd16(f + 4 * i + 2));
        for (unsigned i = n_scope; i < n_scope + n_opt; i++)
            put_field(o, hs_rd16(f + 4 * i), hs_rd16(f + 4 * i + 2));
    }
}

/* Writes one template set; drops its header again if no record survived. */
static void rewrite_template_set(uint16_t v9_id, const uint8_t *body,
                                 size_t blen, out_buf *o, hs_v9_header *hdr)
{
    size_t start = o->pos;
    put16(o, v9_id == HS_V9_SET_TEMPLATE ? HS_IPFIX_SET_TEMPLATE
                                         : HS_IPFIX_SET_OPTIONS);
    put16(o, 0);
    if (v9_id == HS_V9_SET_TEMPLATE)
        rewrite_templates(body, blen, o, hdr);
    else
        rewrite_options(body, blen, o, hdr);
    if (o->overflow)
        return;
    if (o->pos - start == 4)
        o->pos = start;
    else
        hs_wr16(o->p + start + 2, (uint16_t)(o->pos - start));
}

static void copy_data_set(const uint8_t *set, size_t len, out_buf *o)
{
    if (o->pos + len > o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->p + o->pos, set, len);
    o->pos += len;
}

int hs_v9_to_ipfix(const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                   hs_v9_header *hdr)
{
    memset(hdr, 0, sizeof(*hdr));
    if (len < HS_V9_HDR_LEN)
        return -HS_DROP_TRUNCATED;
    if (hs_rd16(in) != HS_V9_VERSION)
        return -HS_DROP_BAD_VERSION;
    hdr->sys_uptime_ms = hs_rd32(in + 4);
    hdr->unix_secs = hs_rd32(in + 8);
    hdr->sequence = hs_rd32(in + 12);
    hdr->source_id = hs_rd32(in + 16);

    out_buf o = {out, 0, cap < HS_MAX_MSG ? cap : HS_MAX_MSG, 0};
    put16(&o, HS_IPFIX_VERSION);
    put16(&o, 0);
    put32(&o, hdr->unix_secs);
    put32(&o, hdr->sequence);
    put32(&o, hdr->source_id);

    size_t off = HS_V9_HDR_LEN;
    while (len - off >= HS_SET_HDR_LEN) {
        uint16_t id = hs_rd16(in + off), slen = hs_rd16(in + off + 2);
        if (slen < HS_SET_HDR_LEN || slen > len - off)
            return -HS_DROP_BAD_SET;
        if (id == HS_V9_SET_TEMPLATE || id == HS_V9_SET_OPTIONS)
            rewrite_template_set(id, in + off + 4, slen - 4u, &o, hdr);
        else if (id >= HS_MIN_DATA_SET)
            copy_data_set(in + off, slen, &o);
        if (o.overflow)
            return -HS_DROP_TOO_BIG;
        off += slen;
    }
    hs_wr16(out + 2, (uint16_t)o.pos);
    return (int)o.pos;
}
