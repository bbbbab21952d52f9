/*
 * nametab.h - interned names: each distinct string gets a dense index
 * 0, 1, 2, ... in the order first seen.
 *
 * The signature build keeps per-name data (addresses, CNAME targets, marks)
 * in plain arrays indexed by these numbers, so a graph of millions of
 * passive DNS names is a few arrays rather than a web of pointers. Open
 * addressing with linear probing; the table owns copies of the names.
 */
#ifndef HS_NAMETAB_H
#define HS_NAMETAB_H

#include <stdint.h>

typedef struct hs_nametab hs_nametab;

hs_nametab *hs_nametab_new(void);
void hs_nametab_free(hs_nametab *t);

/* Index of name, added when new. Returns >= 0, or -ENOMEM. */
int64_t hs_nametab_intern(hs_nametab *t, const char *name);
/* Index of name, or -1 when absent. */
int64_t hs_nametab_find(const hs_nametab *t, const char *name);
uint32_t hs_nametab_count(const hs_nametab *t);
/* The name with index i (< count). */
const char *hs_nametab_name(const hs_nametab *t, uint32_t i);

#endif
