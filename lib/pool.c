/* pool.c - size-class block pool with index handles (see pool.h). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

void hs_pool_init(hs_pool *p, size_t elem)
{
    memset(p, 0, sizeof(*p));
    p->elem = elem;
    for (unsigned c = 0; c < HS_POOL_CLASSES; c++)
        p->free_head[c] = HS_POOL_NONE;
}

void hs_pool_fini(hs_pool *p)
{
    free(p->base);
    p->base = NULL;
    p->used = p->cap = 0;
}

unsigned hs_pool_class(uint32_t n)
{
    return n <= 1 ? 0 : 32u - (unsigned)__builtin_clz(n - 1);
}

static int pool_grow(hs_pool *p, uint32_t need)
{
    uint64_t cap = p->cap ? (uint64_t)p->cap + p->cap / 2 : 1024;
    if (cap < need)
        cap = need;
    if (cap >= HS_POOL_NONE)
        cap = HS_POOL_NONE - 1;
    if (cap < need)
        return -1;
    char *nb = realloc(p->base, (size_t)cap * p->elem);
    if (!nb)
        return -1;
    p->base = nb;
    p->cap = (uint32_t)cap;
    return 0;
}

uint32_t hs_pool_alloc(hs_pool *p, unsigned cls)
{
    uint32_t n = 1u << cls, block = p->free_head[cls];
    if (block != HS_POOL_NONE) {
        /* A free block stores the next free block in its first bytes. */
        memcpy(&p->free_head[cls], hs_pool_at(p, block), sizeof(uint32_t));
    } else {
        uint64_t need = (uint64_t)p->used + n;
        if (need >= HS_POOL_NONE)
            return HS_POOL_NONE;
        if (need > p->cap && pool_grow(p, (uint32_t)need) < 0)
            return HS_POOL_NONE;
        block = p->used;
        p->used += n;
    }
    p->live += n;
    return block;
}

void hs_pool_release(hs_pool *p, uint32_t block, unsigned cls)
{
    memcpy(hs_pool_at(p, block), &p->free_head[cls], sizeof(uint32_t));
    p->free_head[cls] = block;
    p->live -= 1u << cls;
}

void hs_pool_shrink(hs_pool *p, uint32_t block, unsigned c_old,
                    unsigned c_new)
{
    /* The tail splits into blocks of 2^c_new, 2^(c_new+1), ... 2^(c_old-1)
     * elements, each starting at its own size. */
    for (unsigned c = c_new; c < c_old; c++)
        hs_pool_release(p, block + (1u << c), c);
}

size_t hs_pool_bytes(const hs_pool *p)
{
    return (size_t)p->cap * p->elem;
}
