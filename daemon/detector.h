/*
 * detector.h - the detection side of the daemon: the signature set, the
 * engine shards, and the events they produce, formatted for the outputs.
 *
 * Split in two because workers share one and own the other: the stage
 * (signatures, MaxMind) is loaded once, off the loop, and read by every
 * worker; each worker's detector holds the evidence of its share of the
 * subscribers. A reload never stalls the receive path, and the evidence of
 * domains and signatures that still exist is kept.
 */
#ifndef HS_DETECTOR_H
#define HS_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "event.h"
#include "flow.h"
#include "match.h"
#include "state.h"
#include "textbuf.h"

/* One event, ready for every output. */
typedef struct hs_detection {
    const hs_event *event;
    const char *subscriber;     /* "198.51.100.7", "2001:db8:1:100::/56" */
    const char *signature;      /* signature id */
    const char *json;           /* CONTRACT.md's event object, one line */
    size_t json_len;
} hs_detection;

typedef void (*hs_detection_fn)(void *ctx, const hs_detection *d);

typedef struct hs_detector hs_detector;

/*
 * The shared half: the signature set and the MaxMind databases, read-only
 * once loaded and used by every worker at once. A reload loads the next
 * one off the loop, and workers move to it one after the other.
 */
typedef struct hs_detector_stage hs_detector_stage;

/* Thread-safe (touches no detector state): loads the signature file and
 * the databases. Returns 0 or a negative code with the reason in err. */
int hs_detector_stage_new(const hs_conf *conf, hs_detector_stage **out,
                          char *err, size_t errlen);
void hs_detector_stage_free(hs_detector_stage *st);
/* What the staged signature set holds (for -t). */
void hs_detector_stage_stats(const hs_detector_stage *st, hs_sigset_stats *out);
/* Makes next the successor of prev: one generation later, with the map
 * that carries hits matched under prev over to next (domains by name).
 * Returns 0 or -ENOMEM. */
int hs_detector_stage_follow(hs_detector_stage *next,
                             const hs_detector_stage *prev);
uint32_t hs_detector_stage_gen(const hs_detector_stage *st);

/*
 * The per-worker half: one of `shards` engine shards (the subscribers
 * hs_subscriber_shard gives this worker, with its share of
 * max_subscribers), its counters and event formatting. Uses st (not
 * owned) until hs_detector_commit moves it on.
 */
int hs_detector_new(const hs_conf *conf, const hs_detector_stage *st,
                    unsigned shards, hs_detection_fn fn, void *ctx,
                    hs_detector **out, char *err, size_t errlen);
void hs_detector_free(hs_detector *d);

/* Matches one flow against the current signatures: stores up to max hits
 * in out and returns how many. A flow stamped too far in the future is
 * dropped and counted. */
size_t hs_detector_match(hs_detector *d, const hs_flow *f, hs_hit *out,
                         size_t max);

/* Records hits (of this shard's subscribers) matched by any worker under
 * signature generation gen: the current one, or the one before it (domains
 * mapped to the current set). Older ones are counted as stale. */
void hs_detector_apply(hs_detector *d, hs_hit *hits, size_t n, uint32_t gen);

/* The generation hs_detector_match stamps its hits with. */
uint32_t hs_detector_gen(const hs_detector *d);

/* Switches to st, a successor of the current stage (not owned; it must
 * outlive the detector or its next commit). Evidence of domains and
 * signatures that remain is kept. Returns 0 or -ENOMEM (nothing changed). */
int hs_detector_commit(hs_detector *d, const hs_detector_stage *st);

/* Latest event time this shard has seen. */
uint64_t hs_detector_watermark(const hs_detector *d);
/* Ages evidence up to now_ms (event time: the latest any shard has seen),
 * refreshing the host clock used against future records; from a timer. */
void hs_detector_tick(hs_detector *d, uint64_t now_ms);

/*
 * Saves the evidence of n shards to the state file at path (state.h:
 * atomic, one file for any number of shards). Returns 0 or a negative code
 * with "PATH: why" in err.
 */
int hs_detector_save(hs_detector *const *d, size_t n, const char *path,
                     hs_state_stats *st, char *err, size_t errlen);
/*
 * Restores the evidence saved at path into n shards that have seen no
 * flow yet. No file is not an error (st->missing: a first start). A file
 * refused (-EINVAL damaged or foreign, -ENOTSUP another version or
 * ipv6_prefix_len) restores nothing; err says why.
 */
int hs_detector_restore(hs_detector *const *d, size_t n, const char *path,
                        hs_state_stats *st, char *err, size_t errlen);

/* The engine and signature metrics, summed over n shards. */
void hs_detector_render_metrics(hs_detector *const *d, size_t n, hs_textbuf *o);

#endif
