/*
 * fuzzutil.h - what the datagram fuzz targets share: a collector with small
 * caps (so that state carried across inputs stays bounded in memory), a
 * source address chosen by one input byte (so several exporter sessions
 * exist at once) and a fake monotonic clock moved by another byte (so that
 * template and exporter expiry run too).
 *
 * One fed datagram is a header of two control bytes followed by the payload:
 *   byte 0: source: bits 0-2 pick 127.0.0.1..8 (or ::1 with bit 7), bit 3
 *           the port, so up to 32 sessions compete for max_exporters;
 *   byte 1: clock: bits 0-6 advance it by that many seconds (x 30 when bit 6
 *           is set, to pass the timeouts), bit 7 calls hs_collector_expire.
 * tests/fuzz/make_corpus.py writes seeds in this format.
 */
#ifndef HS_FUZZUTIL_H
#define HS_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "collector.h"

#define HS_FUZZ_HEADER 2
/* The fake clock's start, for a new collector. */
#define HS_FUZZ_START_MS 1000000

#define HS_FUZZ_MAX_EXPORTERS 16
#define HS_FUZZ_MAX_TEMPLATES 32

/* A collector with fuzzing caps (max_exporters 16, ...); aborts on ENOMEM. */
hs_collector *hs_fuzz_collector_new(void);

/* Reads every counter and aborts unless the caps hold (sessions, templates
 * per session) and each exporter's drops add up to its decode errors. */
void hs_fuzz_check(const hs_collector *c);

/*
 * Feeds data[0..len) (control header then payload) to c at *now_ms,
 * advancing the clock first. The payload is copied into a buffer of exactly
 * its size so that ASan sees any read past it. Returns what
 * hs_collector_input returned, or 0 when len is shorter than the header.
 */
int hs_fuzz_feed(hs_collector *c, const uint8_t *data, size_t len,
                 uint64_t *now_ms);

#endif
