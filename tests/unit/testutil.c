/* testutil.c - helpers shared by the cmocka unit tests. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>

char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

void tu_put8(tu_msg *m, uint8_t v)
{
    m->buf[m->len++] = v;
}

void tu_put16(tu_msg *m, uint16_t v)
{
    tu_put8(m, (uint8_t)(v >> 8));
    tu_put8(m, (uint8_t)v);
}

void tu_put32(tu_msg *m, uint32_t v)
{
    tu_put16(m, (uint16_t)(v >> 16));
    tu_put16(m, (uint16_t)v);
}

void tu_put64(tu_msg *m, uint64_t v)
{
    tu_put32(m, (uint32_t)(v >> 32));
    tu_put32(m, (uint32_t)v);
}

void tu_msg_begin_ipfix(tu_msg *m, uint32_t export_time, uint32_t seq,
                        uint32_t domain)
{
    m->len = 0;
    m->version = 10;
    m->records = 0;
    tu_put16(m, 10);
    tu_put16(m, 0);
    tu_put32(m, export_time);
    tu_put32(m, seq);
    tu_put32(m, domain);
}

void tu_msg_begin_v9(tu_msg *m, uint32_t uptime_ms, uint32_t unix_secs,
                     uint32_t seq, uint32_t source_id)
{
    m->len = 0;
    m->version = 9;
    m->records = 0;
    tu_put16(m, 9);
    tu_put16(m, 0);
    tu_put32(m, uptime_ms);
    tu_put32(m, unix_secs);
    tu_put32(m, seq);
    tu_put32(m, source_id);
}

void tu_set_begin(tu_msg *m, uint16_t set_id)
{
    m->set_start = m->len;
    tu_put16(m, set_id);
    tu_put16(m, 0);
    m->records++;
}

void tu_set_end(tu_msg *m)
{
    size_t l = m->len - m->set_start;
    m->buf[m->set_start + 2] = (uint8_t)(l >> 8);
    m->buf[m->set_start + 3] = (uint8_t)l;
}

size_t tu_msg_end(tu_msg *m)
{
    uint16_t v = m->version == 10 ? (uint16_t)m->len : m->records;
    m->buf[2] = (uint8_t)(v >> 8);
    m->buf[3] = (uint8_t)v;
    return m->len;
}
