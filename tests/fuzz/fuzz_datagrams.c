/*
 * fuzz_datagrams.c - a sequence of datagrams split from one input into a
 * fresh collector, so that a template and the data it describes (or a
 * withdrawal, a changed layout, an expiry in between) can sit in one input
 * and a crash reproduces from its file alone. Input: records of
 *   [source byte][clock byte][length, 2 bytes big-endian][datagram]
 * (the control bytes as in fuzzutil.h); a length past the end takes what
 * is left. fuzz_datagram writes its crashes' histories in this format.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_collector *c = hs_fuzz_collector_new();
    uint64_t now_ms = HS_FUZZ_START_MS;
    uint8_t one[HS_FUZZ_HEADER + 65535];

    while (size >= 4) {
        size_t n = (size_t)data[2] << 8 | data[3];
        if (n > size - 4)
            n = size - 4;
        one[0] = data[0];
        one[1] = data[1];
        memcpy(one + HS_FUZZ_HEADER, data + 4, n);
        hs_fuzz_feed(c, one, HS_FUZZ_HEADER + n, &now_ms);
        data += 4 + n;
        size -= 4 + n;
    }
    hs_fuzz_check(c);
    hs_collector_free(c);
    return 0;
}
