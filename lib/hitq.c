/*
 * hitq.c - the single-producer, single-consumer hit queue (see hitq.h).
 *
 * A ring of 2^k slots with free-running 64-bit indices: tail is written
 * only by the producer, head only by the consumer, each published with
 * release and read with acquire ordering, so a slot's contents are visible
 * before the index that hands it over. Each side keeps a private copy of
 * the other's index and rereads the shared one only when its copy says the
 * ring is full (producer) or empty (consumer): in the steady state the two
 * threads share one cache line per batch, not per hit.
 */
#include "hitq.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>

#define HS_CACHELINE 64

typedef struct slot {
    hs_hit hit;
    uint32_t gen;
} slot;

struct hs_hitq {
    alignas(HS_CACHELINE) _Atomic uint64_t tail;   /* producer writes */
    uint64_t head_seen;                            /* producer's copy */
    alignas(HS_CACHELINE) _Atomic uint64_t head;   /* consumer writes */
    uint64_t tail_seen;                            /* consumer's copy */
    alignas(HS_CACHELINE) uint64_t mask;
    slot *slots;
};

hs_hitq *hs_hitq_new(size_t capacity)
{
    size_t n = 2;
    while (n < capacity)
        n <<= 1;
    hs_hitq *q = aligned_alloc(HS_CACHELINE, sizeof(*q));
    slot *slots = calloc(n, sizeof(*slots));
    if (!q || !slots) {
        free(q);
        free(slots);
        return NULL;
    }
    atomic_init(&q->tail, 0);
    atomic_init(&q->head, 0);
    q->head_seen = q->tail_seen = 0;
    q->mask = n - 1;
    q->slots = slots;
    return q;
}

void hs_hitq_free(hs_hitq *q)
{
    if (!q)
        return;
    free(q->slots);
    free(q);
}

size_t hs_hitq_push(hs_hitq *q, const hs_hit *hits, size_t n, uint32_t gen)
{
    uint64_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
    uint64_t room = q->mask + 1 - (tail - q->head_seen);
    if (room < n) {
        q->head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
        room = q->mask + 1 - (tail - q->head_seen);
    }
    if (n > room)
        n = (size_t)room;
    for (size_t i = 0; i < n; i++) {
        slot *s = &q->slots[(tail + i) & q->mask];
        s->hit = hits[i];
        s->gen = gen;
    }
    atomic_store_explicit(&q->tail, tail + n, memory_order_release);
    return n;
}

size_t hs_hitq_pop(hs_hitq *q, hs_hit *out, size_t max, uint32_t *gen)
{
    uint64_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    if (q->tail_seen - head < max)
        q->tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
    uint64_t avail = q->tail_seen - head;
    if (avail == 0)
        return 0;
    size_t n = avail < max ? (size_t)avail : max;
    *gen = q->slots[head & q->mask].gen;
    size_t i = 0;
    for (; i < n; i++) {
        const slot *s = &q->slots[(head + i) & q->mask];
        if (s->gen != *gen)
            break; /* the next pop returns the newer generation */
        out[i] = s->hit;
    }
    atomic_store_explicit(&q->head, head + i, memory_order_release);
    return i;
}
