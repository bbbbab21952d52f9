/* testutil.h - helpers shared by the cmocka unit tests. */
#ifndef HS_TESTUTIL_H
#define HS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* Reads a whole file into a malloc'd buffer (NUL-terminated); NULL on error. */
char *tu_read_file(const char *path, size_t *len);

/*
 * Builder for IPFIX and NetFlow v9 messages, for crafting exactly the bytes a
 * test needs (valid or hostile). Big-endian writers, sets opened and closed
 * explicitly; tu_msg_end() fills the length (IPFIX) or count (v9) field.
 */
typedef struct tu_msg {
    uint8_t buf[70000];
    size_t len;
    size_t set_start;
    int version;
    uint16_t records; /* v9 count */
} tu_msg;

void tu_msg_begin_ipfix(tu_msg *m, uint32_t export_time, uint32_t seq,
                        uint32_t domain);
void tu_msg_begin_v9(tu_msg *m, uint32_t uptime_ms, uint32_t unix_secs,
                     uint32_t seq, uint32_t source_id);
void tu_put8(tu_msg *m, uint8_t v);
void tu_put16(tu_msg *m, uint16_t v);
void tu_put32(tu_msg *m, uint32_t v);
void tu_put64(tu_msg *m, uint64_t v);
void tu_set_begin(tu_msg *m, uint16_t set_id);
void tu_set_end(tu_msg *m);
size_t tu_msg_end(tu_msg *m);
#endif
