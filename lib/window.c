/* window.c - the bucket ring of one evidence entry (see window.h). */
#include "window.h"

#include <string.h>

#define SLOT(b) ((b) % HS_WINDOW_BUCKETS)

void hs_evidence_init(hs_evidence *ev, uint32_t domain)
{
    memset(ev, 0, sizeof(*ev));
    ev->domain = domain;
}

void hs_evidence_add(hs_evidence *ev, uint32_t b, uint32_t t_s)
{
    if (ev->hits[SLOT(b)] < HS_WINDOW_BUCKET_MAX)
        ev->hits[SLOT(b)]++;
    if (ev->first_s == 0 || t_s < ev->first_s)
        ev->first_s = t_s;
    if (t_s > ev->last_s)
        ev->last_s = t_s;
}

/*
 * Where the window (at - nb, at] meets the ring (clock - 16, clock]: from
 * *lo up to min(at, clock). False when they do not meet.
 */
static bool window_range(uint32_t clock, uint32_t at, uint32_t nb,
                         uint32_t *lo)
{
    if (nb > HS_WINDOW_BUCKETS)
        nb = HS_WINDOW_BUCKETS;
    uint64_t from = (uint64_t)at + 1 > nb ? (uint64_t)at + 1 - nb : 0;
    uint64_t ring = (uint64_t)clock + 1 > HS_WINDOW_BUCKETS
                        ? (uint64_t)clock + 1 - HS_WINDOW_BUCKETS : 0;
    if (from < ring)
        from = ring;
    if (from > clock || at < from)
        return false;
    *lo = (uint32_t)from;
    return true;
}

uint32_t hs_evidence_count(const hs_evidence *ev, uint32_t clock,
                           uint32_t at, uint32_t nb)
{
    uint32_t lo, hi = at < clock ? at : clock, n = 0;
    if (!window_range(clock, at, nb, &lo))
        return 0;
    for (uint32_t b = lo; b <= hi; b++)
        n += ev->hits[SLOT(b)];
    return n;
}

bool hs_evidence_age(hs_evidence *ev, uint32_t old_clock, uint32_t new_clock,
                     uint32_t keep)
{
    uint32_t lo;
    uint8_t kept[HS_WINDOW_BUCKETS] = {0};
    bool any = false;
    if (window_range(old_clock, new_clock, keep, &lo)) {
        for (uint32_t b = lo; b <= old_clock; b++) {
            kept[SLOT(b)] = ev->hits[SLOT(b)];
            any |= kept[SLOT(b)] != 0;
        }
    }
    memcpy(ev->hits, kept, sizeof(kept));
    return !any;
}

bool hs_evidence_span(const hs_evidence *ev, uint32_t clock, uint32_t nb,
                      uint32_t *oldest, uint32_t *newest)
{
    uint32_t lo;
    bool found = false;
    if (!window_range(clock, clock, nb, &lo))
        return false;
    for (uint32_t b = lo; b <= clock; b++) {
        if (ev->hits[SLOT(b)] == 0)
            continue;
        if (!found)
            *oldest = b;
        *newest = b;
        found = true;
    }
    return found;
}

size_t hs_evidence_position(const hs_evidence *ev, size_t n, uint32_t domain)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ev[mid].domain < domain)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const hs_evidence *hs_evidence_find(const hs_evidence *ev, size_t n,
                                    uint32_t domain)
{
    size_t i = hs_evidence_position(ev, n, domain);
    return i < n && ev[i].domain == domain ? &ev[i] : NULL;
}
