/*
 * bigalloc.h - allocation of large arrays backed by transparent huge pages.
 *
 * The signature set's lookup tables and the JSON arena are tens of MB,
 * touched once at build time and then read at random. With 4 KiB pages
 * that costs a page fault per page while building and a TLB miss on
 * nearly every lookup; 2 MiB pages remove both. The kernel may decline
 * (THP disabled), which is harmless: the memory is ordinary memory.
 */
#ifndef HS_BIGALLOC_H
#define HS_BIGALLOC_H

#include <stddef.h>

/* Like malloc (release with free); sizes from 2 MiB on get huge pages. */
void *hs_big_alloc(size_t size);

#endif
