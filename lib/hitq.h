/*
 * hitq.h - a bounded single-producer, single-consumer queue of hits.
 *
 * Workers split subscribers between them (hs_subscriber_shard): the worker
 * that decodes and matches a flow sends each hit to the worker that owns
 * its subscriber, through one queue per (producer, consumer) pair. With one
 * writer and one reader per queue, two atomic indices suffice: no lock, no
 * allocation after creation, and each side touches the other's index only
 * once per batch.
 *
 * Every hit carries the generation of the signature set it was matched
 * with: its domain index means something only in that set, and a reload
 * reaches the workers one after the other (see daemon/worker.c).
 */
#ifndef HS_HITQ_H
#define HS_HITQ_H

#include <stddef.h>
#include <stdint.h>

#include "match.h"

typedef struct hs_hitq hs_hitq;

/* A queue of at least capacity hits (rounded up to a power of two).
 * Returns NULL when out of memory. */
hs_hitq *hs_hitq_new(size_t capacity);
void hs_hitq_free(hs_hitq *q);

/* Producer: appends up to n hits of generation gen and makes them visible
 * to the consumer. Returns how many fit; the caller counts the rest. */
size_t hs_hitq_push(hs_hitq *q, const hs_hit *hits, size_t n, uint32_t gen);

/* Consumer: takes up to max hits, all of one generation (stored in *gen),
 * oldest first. Returns how many; 0 when the queue is empty. */
size_t hs_hitq_pop(hs_hitq *q, hs_hit *out, size_t max, uint32_t *gen);

#endif
