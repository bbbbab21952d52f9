/*
 * event.h - what the engine reports: a signature's rule became true for a
 * subscriber (detected) or stopped holding (expired), and its JSON form.
 *
 * The JSON object is the operator contract (CONTRACT.md, "Events"): event,
 * time, subscriber, signature, level, domains_seen, domains_total first, in
 * that order, then name, parent (when the signature has one), hits,
 * first_seen and last_seen (when there is evidence), domains, backend (for
 * detected: the address whose hit made the rule true), then any extra
 * fields the caller adds (enrichment).
 */
#ifndef HS_EVENT_H
#define HS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "sigset.h"
#include "subscriber.h"

typedef enum hs_event_type {
    HS_EVENT_DETECTED = 0,
    HS_EVENT_EXPIRED = 1,
} hs_event_type;

typedef struct hs_event {
    hs_event_type type;
    uint64_t time_ms;           /* event time (from the flow records) */
    hs_subscriber subscriber;
    uint32_t sig;               /* index into the sigset's signatures */
    hs_level level;
    int32_t parent;             /* signature index, or -1 */
    uint32_t domains_seen;      /* domains counted as seen in the window */
    uint32_t domains_total;     /* the signature's domains */
    uint64_t hits;              /* hits in the window on its domains */
    uint64_t first_seen_ms;     /* first and last hit on any of its domains
                                 * still in evidence (1 s resolution); 0:
                                 * no evidence left */
    uint64_t last_seen_ms;
    const uint32_t *domains;    /* the domains seen: domains_seen indices */
    const hs_ip *backend;       /* detected: the backend address of the hit
                                 * that made the rule true; else NULL */
} hs_event;

/* Called for every event; the event is only valid during the call, and
 * the callback must not call back into the engine that emits it. */
typedef void (*hs_event_fn)(void *ctx, const hs_event *ev);

const char *hs_event_type_name(hs_event_type t);

/* Formats t as RFC 3339 UTC with second resolution ("...T10:00:00Z"). */
char *hs_time_format(uint64_t time_ms, char *buf, size_t len);

/*
 * Writes the event as one JSON object (no newline) into buf, naming
 * signatures and domains from s. extra, when not NULL or empty, is a
 * string of further members (`"asn":64496,"cc":"DE"`) appended before the
 * closing brace. Returns the length written, or -ENOSPC when buf is too
 * small (buf then holds a truncated, unusable string).
 */
int hs_event_format_json(const hs_event *ev, const hs_sigset *s,
                         const char *extra, char *buf, size_t len);

#endif
