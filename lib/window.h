/*
 * window.h - the evidence one subscriber holds for one grouped domain: hit
 * counts in a ring of time buckets, plus first and last hit time.
 *
 * Time is cut into buckets of a fixed width (the engine's longest window
 * divided by HS_WINDOW_BUCKETS); a bucket's number is event time / width.
 * A ring of HS_WINDOW_BUCKETS one-byte counters covers the buckets
 * (clock - HS_WINDOW_BUCKETS, clock], where clock is the owning
 * subscriber's clock, shared by all its entries so no entry stores one.
 * A window of nb buckets ending at bucket p counts buckets (p - nb, p].
 * Counters saturate at 255 per bucket: under sampled telemetry a domain
 * seldom gets that many records per bucket, and one byte keeps an entry at
 * 28 bytes, which is what millions of subscribers cost.
 */
#ifndef HS_WINDOW_H
#define HS_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { HS_WINDOW_BUCKETS = 16, HS_WINDOW_BUCKET_MAX = 255 };

typedef struct hs_evidence {
    uint32_t domain;    /* index into the sigset's domains */
    uint32_t first_s;   /* unix seconds of the first hit since the entry
                         * was created (evidence never fully aged out) */
    uint32_t last_s;    /* unix seconds of the latest hit */
    uint8_t hits[HS_WINDOW_BUCKETS];
} hs_evidence;

/* Starts an empty entry for a domain. */
void hs_evidence_init(hs_evidence *ev, uint32_t domain);

/*
 * Records one hit in bucket b at time t_s; b must be inside the ring
 * (clock - HS_WINDOW_BUCKETS, clock].
 */
void hs_evidence_add(hs_evidence *ev, uint32_t b, uint32_t t_s);

/* Hits in the window of nb buckets ending at bucket at (at >= clock is
 * allowed: buckets past the clock are empty). */
uint32_t hs_evidence_count(const hs_evidence *ev, uint32_t clock,
                           uint32_t at, uint32_t nb);

/*
 * Moves the entry's ring from old_clock to new_clock and clears every
 * bucket that is out of a window of keep buckets ending at new_clock.
 * Returns true when no hit is left.
 */
bool hs_evidence_age(hs_evidence *ev, uint32_t old_clock, uint32_t new_clock,
                     uint32_t keep);

/*
 * The oldest and newest non-empty buckets inside a window of nb buckets
 * ending at clock; returns false when there are none.
 */
bool hs_evidence_span(const hs_evidence *ev, uint32_t clock, uint32_t nb,
                      uint32_t *oldest, uint32_t *newest);

/* In entries sorted by domain: where domain is or would be inserted. */
size_t hs_evidence_position(const hs_evidence *ev, size_t n,
                            uint32_t domain);
/* The entry for a domain in entries sorted by domain, or NULL. */
const hs_evidence *hs_evidence_find(const hs_evidence *ev, size_t n,
                                    uint32_t domain);

#endif
