/*
 * msggen.c - deterministic export messages for the benchmarks (msggen.h).
 * The v4 layout is what softflowd and most routers send; records are 45
 * bytes (v4) and 69 bytes (v6) with millisecond timestamps.
 */
#include "msggen.h"

#include <string.h>

typedef struct w {
    uint8_t *p;
    size_t n;
} w;

static void u8(w *o, uint8_t v) { o->p[o->n++] = v; }
static void u16(w *o, uint16_t v) { u8(o, (uint8_t)(v >> 8)); u8(o, (uint8_t)v); }
static void u32(w *o, uint32_t v) { u16(o, (uint16_t)(v >> 16)); u16(o, (uint16_t)v); }
static void u64(w *o, uint64_t v) { u32(o, (uint32_t)(v >> 32)); u32(o, (uint32_t)v); }

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void template_set(w *o, msggen_proto proto, int v6)
{
    const uint16_t f4[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2}, {4, 1},
                              {2, 8}, {1, 8}, {152, 8}, {153, 8}};
    const uint16_t f6[][2] = {{27, 16}, {28, 16}, {7, 2}, {11, 2}, {4, 1},
                              {2, 8}, {1, 8}, {152, 8}, {153, 8}};
    size_t start = o->n;
    u16(o, proto == MSGGEN_IPFIX ? 2 : 0);
    u16(o, 0);
    u16(o, 256);
    u16(o, 9);
    for (int i = 0; i < 9; i++) {
        u16(o, v6 ? f6[i][0] : f4[i][0]);
        u16(o, v6 ? f6[i][1] : f4[i][1]);
    }
    o->p[start + 2] = (uint8_t)((o->n - start) >> 8);
    o->p[start + 3] = (uint8_t)(o->n - start);
}

static void record(w *o, int v6, uint32_t *seed, uint64_t t_ms)
{
    if (v6) {
        uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
        for (int k = 0; k < 2; k++) {
            for (int i = 4; i < 16; i++)
                a[i] = (uint8_t)rnd(seed);
            for (int i = 0; i < 16; i++)
                u8(o, a[i]);
        }
    } else {
        u32(o, 0x64400000u | (rnd(seed) & 0x3fffff)); /* 100.64/10 */
        u32(o, rnd(seed));
    }
    u16(o, (uint16_t)(1024 + rnd(seed) % 60000));
    u16(o, (uint16_t)(rnd(seed) % 2 ? 443 : 8883));
    u8(o, 6);
    u64(o, 1 + rnd(seed) % 20);
    u64(o, 60 + rnd(seed) % 20000);
    u64(o, t_ms);
    u64(o, t_ms + rnd(seed) % 60000);
}

void msggen_fill(msggen_msg *msgs, size_t n, msggen_proto proto, int v6,
                 uint32_t now_s, uint32_t seed)
{
    uint32_t s = seed ? seed : 1;
    for (size_t m = 0; m < n; m++) {
        w o = {msgs[m].buf, 0};
        uint32_t seq = proto == MSGGEN_IPFIX ? (uint32_t)(m * MSGGEN_RECORDS)
                                             : (uint32_t)m;
        u16(&o, (uint16_t)proto);
        u16(&o, 0);
        if (proto == MSGGEN_V9)
            u32(&o, 3600000); /* sysUptime */
        u32(&o, now_s);
        u32(&o, seq);
        u32(&o, 0);
        if (m == 0)
            template_set(&o, proto, v6);
        size_t start = o.n;
        u16(&o, 256);
        u16(&o, 0);
        for (int r = 0; r < MSGGEN_RECORDS; r++)
            record(&o, v6, &s, (uint64_t)now_s * 1000 - 60000);
        o.p[start + 2] = (uint8_t)((o.n - start) >> 8);
        o.p[start + 3] = (uint8_t)(o.n - start);
        uint16_t l = proto == MSGGEN_IPFIX ? (uint16_t)o.n
                                           : (uint16_t)(MSGGEN_RECORDS + (m == 0));
        o.p[2] = (uint8_t)(l >> 8);
        o.p[3] = (uint8_t)l;
        msgs[m].len = o.n;
    }
}

size_t msggen_data_offset(const msggen_msg *msg, msggen_proto proto)
{
    size_t off = proto == MSGGEN_IPFIX ? 16 : 20;
    while (off + 4 <= msg->len && (msg->buf[off] << 8 | msg->buf[off + 1]) != 256) {
        size_t set_len = (size_t)(msg->buf[off + 2] << 8 | msg->buf[off + 3]);
        if (set_len < 4)
            return msg->len;
        off += set_len;
    }
    return off + 4; /* past the data set header */
}
