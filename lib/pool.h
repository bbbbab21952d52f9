/*
 * pool.h - blocks of 2^k fixed-size elements carved out of one array and
 * named by a 32-bit index.
 *
 * Per-subscriber lists (evidence entries, detected signatures) are tiny and
 * change size rarely, but there are millions of them: a malloc each would
 * cost a header and a pointer per list and fragment the heap. A pool keeps
 * one free list per block size, hands out 4-byte handles instead of
 * pointers, and grows its array with realloc (which large arrays turn into
 * an mremap, not a copy). Handles survive growth; pointers from
 * hs_pool_at() do not.
 */
#ifndef HS_POOL_H
#define HS_POOL_H

#include <stddef.h>
#include <stdint.h>

enum { HS_POOL_CLASSES = 17 };    /* blocks of 1 .. 65536 elements */
#define HS_POOL_NONE UINT32_MAX

typedef struct hs_pool {
    char *base;
    size_t elem;                  /* element size, >= 4 */
    uint32_t used, cap;           /* in elements */
    uint32_t free_head[HS_POOL_CLASSES];
    uint64_t live;                /* elements in handed-out blocks */
} hs_pool;

void hs_pool_init(hs_pool *p, size_t elem);
void hs_pool_fini(hs_pool *p);

/* The class of the smallest block holding n elements. */
unsigned hs_pool_class(uint32_t n);

/* A block of 2^cls elements, or HS_POOL_NONE when out of memory. */
uint32_t hs_pool_alloc(hs_pool *p, unsigned cls);
void hs_pool_release(hs_pool *p, uint32_t block, unsigned cls);
/* Keeps the first 2^c_new elements of a block of class c_old > c_new and
 * frees the rest; never fails, never moves the kept part. */
void hs_pool_shrink(hs_pool *p, uint32_t block, unsigned c_old,
                    unsigned c_new);

static inline void *hs_pool_at(const hs_pool *p, uint32_t block)
{
    return p->base + (size_t)block * p->elem;
}

/* Bytes the pool's array occupies (allocated, not necessarily touched). */
size_t hs_pool_bytes(const hs_pool *p);

#endif
