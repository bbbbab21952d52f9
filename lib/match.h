/*
 * match.h - from a flow record to hits: (subscriber, grouped domain, time).
 *
 * Matching is a pure function of the flow, the signature set and a small
 * configuration, kept apart from the evidence it feeds so that matching
 * can run on one thread and the hits be sent (partitioned by subscriber
 * hash) to the threads that own the evidence.
 *
 * Both ends of a flow are looked up as a backend (destination address and
 * port, then source address and port). The subscriber is the other end;
 * with subscriber prefixes configured, it is the end inside them. A flow
 * is not counted when no end is a backend (unmatched), when both ends
 * qualify as backend and subscriber at once and nothing tells them apart
 * (ambiguous), or when the would-be subscriber is outside the configured
 * prefixes (outside).
 */
#ifndef HS_MATCH_H
#define HS_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "parse.h"
#include "sigset.h"
#include "subscriber.h"

typedef struct hs_match_conf {
    unsigned ipv6_prefix_len;          /* HS_V6_PREFIX_MIN..MAX */
    const hs_cidr *subscriber_prefixes;
    size_t n_subscriber_prefixes;      /* 0: the end that is no backend */
} hs_match_conf;

typedef struct hs_hit {
    hs_subscriber sub;
    uint32_t domain;        /* index into the sigset's domains */
    uint64_t time_ms;       /* the flow's end (or start) time */
    hs_ip backend;          /* the flow's backend end, for the event that
                             * this hit may trigger */
} hs_hit;

/* Per-caller counters, added to by hs_match_flow. */
typedef struct hs_match_stats {
    uint64_t flows;
    uint64_t flows_matched;
    uint64_t flows_unmatched;   /* no end is a backend */
    uint64_t flows_ambiguous;   /* both ends could be the subscriber */
    uint64_t flows_outside;     /* subscriber outside subscriber_prefixes */
    uint64_t hits_truncated;    /* domains beyond the caller's max */
} hs_match_stats;

/* Longest hits one flow can produce that callers should make room for. */
enum { HS_MATCH_MAX_HITS = 64 };

/*
 * Matches one flow; stores up to max hits in out and returns how many.
 * An endpoint shared by several grouped domains yields one hit for each.
 */
size_t hs_match_flow(const hs_sigset *s, const hs_match_conf *conf,
                     const hs_flow *f, hs_hit *out, size_t max,
                     hs_match_stats *st);

/* The event time of a flow: its end, or its start when the end is unset. */
static inline uint64_t hs_flow_time_ms(const hs_flow *f)
{
    return f->end_ms ? f->end_ms : f->start_ms;
}

#endif
