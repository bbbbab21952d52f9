/*
 * subtable.h - where the engine's per-subscriber records live and how they
 * are found: by key (an open-addressing index) and by deadline (a wheel).
 *
 * Records sit in one dense array, so iterating them (sweeps, saving state)
 * is a linear walk and a record costs its own 40 bytes plus 4-byte index
 * slots (the index is kept under 5/8 full). The index maps a key's hash to a record number with linear probing
 * and backward-shift deletion (no tombstones). Removing a record moves the
 * last record into its place; the index and the wheel are fixed up here,
 * which is why the three structures share one file.
 *
 * The wheel has HS_WHEEL_SLOTS lists; a record scheduled for bucket number
 * d is in list d % HS_WHEEL_SLOTS. It is a scheduling aid only: whoever
 * visits a list checks each record's deadline itself. One walk over a list
 * can be in progress; its cursor is kept valid here.
 */
#ifndef HS_SUBTABLE_H
#define HS_SUBTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "subscriber.h"

#define HS_SUB_NONE UINT32_MAX
enum { HS_WHEEL_SLOTS = 32 };

typedef struct hs_sub {
    uint64_t key;
    uint32_t ev;          /* pool block of hs_evidence, sorted by domain */
    uint32_t held;        /* pool block of signature indices now detected */
    uint32_t clock;       /* bucket the evidence ring is aged to */
    uint32_t deadline;    /* bucket at which the engine must look again */
    uint32_t prev, next;  /* wheel list links (record numbers) */
    uint16_t n_ev, n_held;
    uint8_t af, plen;
    uint8_t gen;          /* generation of the sigset the state refers to */
} hs_sub;

typedef struct hs_subtable hs_subtable;

hs_subtable *hs_subtable_new(void);
void hs_subtable_free(hs_subtable *t);

uint32_t hs_subtable_count(const hs_subtable *t);
hs_sub *hs_subtable_at(const hs_subtable *t, uint32_t i);
void hs_subtable_subscriber(const hs_subtable *t, uint32_t i,
                            hs_subscriber *out);

/* Record number of a key, or HS_SUB_NONE. */
uint32_t hs_subtable_find(const hs_subtable *t, const hs_subscriber *s);
/*
 * Prefetch hints for a batch of lookups, so their cache misses overlap:
 * first the index slot of each key, later (once those arrived) the record
 * the slot names. Neither changes anything or has to be right.
 */
void hs_subtable_prefetch_slot(const hs_subtable *t, const hs_subscriber *s);
const hs_sub *hs_subtable_prefetch_rec(const hs_subtable *t,
                                       const hs_subscriber *s);

/*
 * Adds a zeroed record for a key that is not present (ev, held, prev and
 * next set to none; not scheduled). Returns its number in *out, or -ENOMEM.
 */
int hs_subtable_add(hs_subtable *t, const hs_subscriber *s, uint32_t *out);
/* Removes record i; the record that was last now has number i. */
void hs_subtable_remove(hs_subtable *t, uint32_t i);

/* Puts record i on the wheel list of bucket deadline. */
void hs_subtable_schedule(hs_subtable *t, uint32_t i, uint32_t deadline);
/*
 * Walks the wheel list that holds bucket b: begin, then next until
 * HS_SUB_NONE. The walk survives removals, moves and rescheduling of any
 * record (one rescheduled onto this list is not visited again), and may be
 * paused between calls.
 */
void hs_subtable_wheel_begin(hs_subtable *t, uint32_t b);
uint32_t hs_subtable_wheel_next(hs_subtable *t);

/* Bytes held by the records array and the index (allocated). */
size_t hs_subtable_bytes(const hs_subtable *t);

#endif
