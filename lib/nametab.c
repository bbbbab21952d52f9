/* nametab.c - interned names (see nametab.h). */
#include "nametab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NAMETAB_EMPTY UINT32_MAX

struct hs_nametab {
    char **names;       /* by index */
    uint32_t count, names_cap;
    uint32_t *slots;    /* index or NAMETAB_EMPTY; power-of-two size */
    uint32_t mask;
};

static uint64_t nametab_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static uint32_t *nametab_slot(const hs_nametab *t, const char *name)
{
    uint32_t i = (uint32_t)nametab_hash(name) & t->mask;
    while (t->slots[i] != NAMETAB_EMPTY &&
           strcmp(t->names[t->slots[i]], name) != 0)
        i = (i + 1) & t->mask;
    return &t->slots[i];
}

static int nametab_grow(hs_nametab *t)
{
    uint32_t size = (t->mask + 1) * 2;
    uint32_t *slots = malloc(size * sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    memset(slots, 0xff, size * sizeof(*slots));
    free(t->slots);
    t->slots = slots;
    t->mask = size - 1;
    for (uint32_t i = 0; i < t->count; i++)
        *nametab_slot(t, t->names[i]) = i;
    return 0;
}

hs_nametab *hs_nametab_new(void)
{
    hs_nametab *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->mask = 63;
    t->slots = malloc((t->mask + 1) * sizeof(*t->slots));
    if (!t->slots) {
        free(t);
        return NULL;
    }
    memset(t->slots, 0xff, (t->mask + 1) * sizeof(*t->slots));
    return t;
}

void hs_nametab_free(hs_nametab *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; i < t->count; i++)
        free(t->names[i]);
    free(t->names);
    free(t->slots);
    free(t);
}

int64_t hs_nametab_find(const hs_nametab *t, const char *name)
{
    uint32_t idx = *nametab_slot(t, name);
    return idx == NAMETAB_EMPTY ? -1 : (int64_t)idx;
}

int64_t hs_nametab_intern(hs_nametab *t, const char *name)
{
    uint32_t *slot = nametab_slot(t, name);
    if (*slot != NAMETAB_EMPTY)
        return *slot;
    if (t->count == UINT32_MAX - 1)
        return -ENOMEM;
    if (t->count == t->names_cap) {
        uint32_t cap = t->names_cap ? t->names_cap * 2 : 64;
        char **names = realloc(t->names, cap * sizeof(*names));
        if (!names)
            return -ENOMEM;
        t->names = names;
        t->names_cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    t->names[t->count] = copy;
    *slot = t->count++;
    /* keep the load factor at most 1/2 */
    if ((uint64_t)t->count * 2 > (uint64_t)t->mask + 1 && nametab_grow(t) < 0) {
        /* the table is as before the insert: undo it */
        *slot = NAMETAB_EMPTY;
        free(t->names[--t->count]);
        return -ENOMEM;
    }
    return t->count - 1;
}

uint32_t hs_nametab_count(const hs_nametab *t)
{
    return t->count;
}

const char *hs_nametab_name(const hs_nametab *t, uint32_t i)
{
    return t->names[i];
}
