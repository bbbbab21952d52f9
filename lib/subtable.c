/* subtable.c - dense subscriber records, key index, deadline wheel. */
#include "subtable.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct hs_subtable {
    hs_sub *recs;
    uint32_t n, cap;
    uint32_t *slots;      /* record numbers, HS_SUB_NONE when empty */
    uint32_t mask;        /* slot count - 1 (a power of two) */
    uint32_t wheel[HS_WHEEL_SLOTS];
    uint32_t cursor;      /* next record of the wheel walk */
};

enum { INITIAL_SLOTS = 1024 };

hs_subtable *hs_subtable_new(void)
{
    hs_subtable *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->slots = malloc(INITIAL_SLOTS * sizeof(*t->slots));
    if (!t->slots) {
        free(t);
        return NULL;
    }
    memset(t->slots, 0xff, INITIAL_SLOTS * sizeof(*t->slots));
    t->mask = INITIAL_SLOTS - 1;
    memset(t->wheel, 0xff, sizeof(t->wheel));
    t->cursor = HS_SUB_NONE;
    return t;
}

void hs_subtable_free(hs_subtable *t)
{
    if (!t)
        return;
    free(t->recs);
    free(t->slots);
    free(t);
}

uint32_t hs_subtable_count(const hs_subtable *t)
{
    return t->n;
}

hs_sub *hs_subtable_at(const hs_subtable *t, uint32_t i)
{
    return &t->recs[i];
}

void hs_subtable_subscriber(const hs_subtable *t, uint32_t i,
                            hs_subscriber *out)
{
    const hs_sub *r = &t->recs[i];
    memset(out, 0, sizeof(*out));
    out->key = r->key;
    out->af = r->af;
    out->plen = r->plen;
}

static uint32_t rec_home(const hs_subtable *t, const hs_sub *r)
{
    hs_subscriber s = {.key = r->key, .af = r->af, .plen = r->plen};
    return (uint32_t)hs_subscriber_hash(&s) & t->mask;
}

/* The slot holding record number i (which must be indexed). */
static uint32_t slot_of(const hs_subtable *t, uint32_t i)
{
    uint32_t pos = rec_home(t, &t->recs[i]);
    while (t->slots[pos] != i)
        pos = (pos + 1) & t->mask;
    return pos;
}

uint32_t hs_subtable_find(const hs_subtable *t, const hs_subscriber *s)
{
    uint32_t pos = (uint32_t)hs_subscriber_hash(s) & t->mask;
    for (;;) {
        uint32_t i = t->slots[pos];
        if (i == HS_SUB_NONE)
            return HS_SUB_NONE;
        if (t->recs[i].key == s->key && t->recs[i].af == s->af)
            return i;
        pos = (pos + 1) & t->mask;
    }
}

void hs_subtable_prefetch_slot(const hs_subtable *t, const hs_subscriber *s)
{
    __builtin_prefetch(&t->slots[hs_subscriber_hash(s) & t->mask]);
}

const hs_sub *hs_subtable_prefetch_rec(const hs_subtable *t,
                                       const hs_subscriber *s)
{
    uint32_t i = t->slots[hs_subscriber_hash(s) & t->mask];
    if (i == HS_SUB_NONE)
        return NULL;
    __builtin_prefetch(&t->recs[i]);
    return &t->recs[i];
}

static void index_put(hs_subtable *t, uint32_t i)
{
    uint32_t pos = rec_home(t, &t->recs[i]);
    while (t->slots[pos] != HS_SUB_NONE)
        pos = (pos + 1) & t->mask;
    t->slots[pos] = i;
}

/* Keeps the load factor under 5/8, where linear probing stays short. */
static int index_grow(hs_subtable *t)
{
    uint64_t nslots = ((uint64_t)t->mask + 1) * 2;
    if (nslots > (uint64_t)1 << 32)
        return -ENOMEM;
    uint32_t *ns = malloc(nslots * sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    memset(ns, 0xff, nslots * sizeof(*ns));
    free(t->slots);
    t->slots = ns;
    t->mask = (uint32_t)(nslots - 1);
    for (uint32_t i = 0; i < t->n; i++)
        index_put(t, i);
    return 0;
}

static int recs_grow(hs_subtable *t)
{
    uint64_t cap = t->cap ? (uint64_t)t->cap * 2 : 1024;
    if (cap >= HS_SUB_NONE)
        cap = HS_SUB_NONE - 1;
    if (cap <= t->n)
        return -ENOMEM;
    hs_sub *nr = realloc(t->recs, cap * sizeof(*nr));
    if (!nr)
        return -ENOMEM;
    t->recs = nr;
    t->cap = (uint32_t)cap;
    return 0;
}

int hs_subtable_add(hs_subtable *t, const hs_subscriber *s, uint32_t *out)
{
    if (t->n == t->cap && recs_grow(t) < 0)
        return -ENOMEM;
    if ((uint64_t)(t->n + 1) * 8 > ((uint64_t)t->mask + 1) * 5 &&
        index_grow(t) < 0)
        return -ENOMEM;
    uint32_t i = t->n++;
    hs_sub *r = &t->recs[i];
    memset(r, 0, sizeof(*r));
    r->key = s->key;
    r->af = s->af;
    r->plen = s->plen;
    r->ev = r->held = HS_SUB_NONE;
    r->prev = r->next = HS_SUB_NONE;
    index_put(t, i);
    *out = i;
    return 0;
}

/* Backward-shift deletion: pull later members of the probe run into the
 * hole so lookups never need tombstones. */
static void index_delete(hs_subtable *t, uint32_t hole)
{
    uint32_t j = hole;
    for (;;) {
        j = (j + 1) & t->mask;
        uint32_t i = t->slots[j];
        if (i == HS_SUB_NONE)
            break;
        uint32_t home = rec_home(t, &t->recs[i]);
        /* i may move to the hole unless its home lies in (hole, j]. */
        uint32_t dist_home = (j - home) & t->mask;
        uint32_t dist_hole = (j - hole) & t->mask;
        if (dist_home >= dist_hole) {
            t->slots[hole] = i;
            hole = j;
        }
    }
    t->slots[hole] = HS_SUB_NONE;
}

static void wheel_unlink(hs_subtable *t, uint32_t i)
{
    hs_sub *r = &t->recs[i];
    if (t->cursor == i)
        t->cursor = r->next;
    if (r->prev != HS_SUB_NONE)
        t->recs[r->prev].next = r->next;
    else if (t->wheel[r->deadline % HS_WHEEL_SLOTS] == i)
        t->wheel[r->deadline % HS_WHEEL_SLOTS] = r->next;
    if (r->next != HS_SUB_NONE)
        t->recs[r->next].prev = r->prev;
    r->prev = r->next = HS_SUB_NONE;
}

void hs_subtable_schedule(hs_subtable *t, uint32_t i, uint32_t deadline)
{
    hs_sub *r = &t->recs[i];
    wheel_unlink(t, i);
    r->deadline = deadline;
    uint32_t *head = &t->wheel[deadline % HS_WHEEL_SLOTS];
    r->next = *head;
    if (*head != HS_SUB_NONE)
        t->recs[*head].prev = i;
    *head = i;
}

void hs_subtable_wheel_begin(hs_subtable *t, uint32_t b)
{
    t->cursor = t->wheel[b % HS_WHEEL_SLOTS];
}

uint32_t hs_subtable_wheel_next(hs_subtable *t)
{
    uint32_t i = t->cursor;
    if (i != HS_SUB_NONE)
        t->cursor = t->recs[i].next;
    return i;
}

/* Record last moves to number i: repoint its slot and its wheel links. */
static void rec_move(hs_subtable *t, uint32_t last, uint32_t i)
{
    if (t->cursor == last)
        t->cursor = i;
    t->slots[slot_of(t, last)] = i;
    hs_sub *r = &t->recs[last];
    if (r->prev != HS_SUB_NONE)
        t->recs[r->prev].next = i;
    else if (t->wheel[r->deadline % HS_WHEEL_SLOTS] == last)
        t->wheel[r->deadline % HS_WHEEL_SLOTS] = i;
    if (r->next != HS_SUB_NONE)
        t->recs[r->next].prev = i;
    t->recs[i] = *r;
}

void hs_subtable_remove(hs_subtable *t, uint32_t i)
{
    uint32_t last = t->n - 1;
    wheel_unlink(t, i);
    index_delete(t, slot_of(t, i));
    if (i != last)
        rec_move(t, last, i);
    t->n--;
}

size_t hs_subtable_bytes(const hs_subtable *t)
{
    return (size_t)t->cap * sizeof(hs_sub) +
           ((size_t)t->mask + 1) * sizeof(uint32_t);
}
