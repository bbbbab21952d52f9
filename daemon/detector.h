/*
 * detector.h - the detection side of the daemon: the signature set, the
 * engine, and the events they produce, formatted for the outputs.
 *
 * The signature file is parsed off the loop (hs_detector_stage runs in a
 * libuv worker thread on reload) and swapped in on the loop thread
 * (hs_detector_commit), so a reload never stalls the receive path and the
 * evidence of domains and signatures that still exist is kept.
 */
#ifndef HS_DETECTOR_H
#define HS_DETECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "event.h"
#include "flow.h"
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

/* What a reload prepares off the loop: the new signature set. */
typedef struct hs_detector_stage hs_detector_stage;

/* Loads conf's signature file and creates the engine. Returns 0 or a
 * negative code with the reason in err. */
int hs_detector_new(const hs_conf *conf, hs_detection_fn fn, void *ctx,
                    hs_detector **out, char *err, size_t errlen);
void hs_detector_free(hs_detector *d);

/* An hs_flow_fn: match and record a batch of flows. */
void hs_detector_flows(void *d, const hs_flow *flows, size_t n);

/* Ages evidence up to the latest event time seen; from a timer. */
void hs_detector_tick(hs_detector *d);

/* Thread-safe (touches no detector state): loads the signature file. */
int hs_detector_stage_new(const hs_conf *conf, hs_detector_stage **out,
                          char *err, size_t errlen);
void hs_detector_stage_free(hs_detector_stage *st);
/* What the staged signature set holds (for -t). */
void hs_detector_stage_stats(const hs_detector_stage *st, hs_sigset_stats *out);
/* On the loop thread: switches to the staged signatures (consumes st).
 * Returns 0 or a negative code (the old set stays). */
int hs_detector_commit(hs_detector *d, hs_detector_stage *st);

/*
 * Saves the evidence to the state file at path (state.h: atomic, and
 * what st reports). Returns 0 or a negative code with "PATH: why" in err.
 */
int hs_detector_save(hs_detector *d, const char *path, hs_state_stats *st,
                     char *err, size_t errlen);
/*
 * Restores the evidence saved at path into a detector that has seen no
 * flow yet. No file is not an error (st->missing: a first start). A file
 * refused (-EINVAL damaged or foreign, -ENOTSUP another version or
 * ipv6_prefix_len) restores nothing; err says why.
 */
int hs_detector_restore(hs_detector *d, const char *path, hs_state_stats *st,
                        char *err, size_t errlen);

void hs_detector_render_metrics(const hs_detector *d, hs_textbuf *o);

#endif
