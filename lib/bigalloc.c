/* bigalloc.c - large arrays on transparent huge pages (see bigalloc.h). */
#include "bigalloc.h"

#include <stdlib.h>
#include <sys/mman.h>

enum { HUGE_PAGE = 2 * 1024 * 1024 };

void *hs_big_alloc(size_t size)
{
    if (size < HUGE_PAGE)
        return malloc(size ? size : 1);
    void *p;
    size_t rounded = (size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
    if (rounded < size || posix_memalign(&p, HUGE_PAGE, rounded) != 0)
        return NULL;
    madvise(p, rounded, MADV_HUGEPAGE); /* advice only; failure is fine */
    return p;
}
