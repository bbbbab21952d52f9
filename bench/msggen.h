/*
 * msggen.h - generated IPFIX and NetFlow v9 export messages for the
 * benchmarks: IPv4 and IPv6 flow templates, 25 records a message, random
 * addresses and ports drawn from a fixed seed so every run sees the same
 * bytes.
 */
#ifndef HS_BENCH_MSGGEN_H
#define HS_BENCH_MSGGEN_H

#include <stddef.h>
#include <stdint.h>

#define MSGGEN_RECORDS 25
#define MSGGEN_V4_RECORD_LEN 45 /* src, dst, sport, dport, proto, ... */

typedef enum { MSGGEN_IPFIX = 10, MSGGEN_V9 = 9 } msggen_proto;

typedef struct msggen_msg {
    uint8_t buf[1500];
    size_t len;
} msggen_msg;

/*
 * Fills msgs[0..n) with export messages: msgs[0] carries the template (and
 * records), the others records only. v6 selects the IPv6 template. Export
 * times start at now_s; sequence numbers follow the protocol's rules.
 */
void msggen_fill(msggen_msg *msgs, size_t n, msggen_proto proto, int v6,
                 uint32_t now_s, uint32_t seed);

/*
 * Offset of the first data record of a message msggen_fill made (after the
 * header and, in the first message, the template set).
 */
size_t msggen_data_offset(const msggen_msg *msg, msggen_proto proto);

#endif
