/*
 * fuzz_datagram.c - one datagram a run through version detection, the
 * NetFlow v9 rewrite and libfixbuf, into a collector that outlives the run:
 * templates learnt from one input decode the data of the next, as they do
 * in haystackd. Input: the fuzzutil.h control header, then the datagram.
 *
 * A crash may depend on every input since the collector was made, which
 * libFuzzer does not keep; so this target keeps them, and the sanitizer's
 * death callback writes them out as one fuzz_datagrams input
 * (history-PID in the working directory) that replays the crash from a
 * fresh collector. The collector and that history are reset every
 * FUZZ_RESET_EVERY inputs, which bounds both in memory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "fuzzutil.h"

#define FUZZ_RESET_EVERY 2000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *history;
static size_t history_len, history_cap;

/* Appends one input in fuzz_datagrams' format (control bytes, length). */
static void history_add(const uint8_t *data, size_t size)
{
    if (size < HS_FUZZ_HEADER || size - HS_FUZZ_HEADER > 0xffff)
        return;
    size_t n = size - HS_FUZZ_HEADER;
    if (history_len + 4 + n > history_cap) {
        history_cap = (history_len + 4 + n) * 2;
        history = realloc(history, history_cap);
        if (history == NULL)
            abort();
    }
    uint8_t *p = history + history_len;
    p[0] = data[0];
    p[1] = data[1];
    p[2] = (uint8_t)(n >> 8);
    p[3] = (uint8_t)n;
    memcpy(p + 4, data + HS_FUZZ_HEADER, n);
    history_len += 4 + n;
}

static void history_dump(void)
{
    char name[64];
    snprintf(name, sizeof(name), "history-%ld", (long)getpid());
    FILE *f = fopen(name, "wb");
    if (f == NULL)
        return;
    fwrite(history, 1, history_len, f);
    fclose(f);
    fprintf(stderr, "fuzz_datagram: the inputs since the collector was made "
                    "are in %s (replay with fuzz_datagrams)\n", name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hs_collector *c;
    static uint64_t now_ms;
    static unsigned long runs;

    if (c == NULL)
        __sanitizer_set_death_callback(history_dump);
    if (c == NULL || ++runs % FUZZ_RESET_EVERY == 0) {
        hs_collector_free(c);
        c = hs_fuzz_collector_new();
        now_ms = HS_FUZZ_START_MS;
        history_len = 0;
    }
    history_add(data, size);
    hs_fuzz_feed(c, data, size, &now_ms);
    if (runs % 64 == 0)
        hs_fuzz_check(c);
    return 0;
}
