/*
 * rule.h - when a signature holds for one subscriber.
 *
 * A signature holds when at least min_domains of its grouped domains have
 * >= min_hits hits inside its window, that many are at least min_fraction
 * of all its domains, and every required domain is among them. Fields the
 * signature file leaves unset come from the [detect] defaults. Evaluation
 * works on a subscriber's evidence entries (sorted by domain) at a given
 * bucket, so the engine can ask "did it still hold at that boundary?".
 */
#ifndef HS_RULE_H
#define HS_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sigset.h"
#include "window.h"

/* A signature's rule with the defaults applied and the window in buckets. */
typedef struct hs_rule_eff {
    uint32_t min_domains;   /* >= 1 */
    double min_fraction;
    uint32_t min_hits;      /* >= 1 */
    uint64_t window_ms;
    uint32_t nb;            /* window in buckets, 1..HS_WINDOW_BUCKETS */
} hs_rule_eff;

/* A signature's own rule over the defaults (hs_rule_merge), made usable:
 * min_domains and min_hits of 0 count as 1. */
void hs_rule_resolve(const hs_rule *defaults, const hs_rule *own,
                     hs_rule_eff *out);
/* Sets out->nb for a bucket width. */
void hs_rule_set_width(hs_rule_eff *r, uint64_t width_ms);

typedef struct hs_verdict {
    bool holds;
    uint32_t domains_seen;   /* domains with >= min_hits in the window */
    uint64_t hits;           /* hits in the window over all its domains */
    uint32_t first_s, last_s;/* first and last hit on any of its domains
                              * with evidence; 0 when there is none */
} hs_verdict;

/*
 * Evaluates sig over evidence ev[0..n) (sorted by domain) whose rings are
 * aged to clock, for the window ending at bucket at. When seen is not NULL
 * it receives the indices of the domains seen (room for sig->n_domains).
 */
void hs_rule_eval(const hs_signature *sig, const hs_rule_eff *r,
                  const hs_evidence *ev, size_t n, uint32_t clock,
                  uint32_t at, hs_verdict *v, uint32_t *seen);

#endif
