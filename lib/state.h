/*
 * state.h - the engine's evidence saved to a file and read back, so a
 * restart (an upgrade, a reboot) does not throw away hours of evidence.
 *
 * The file is versioned and checksummed; it names domains and signatures
 * by name and id, so a state saved under one signature file is restored
 * under another: evidence of domains and detections of signatures that
 * still exist are kept, the rest is dropped and counted. A file that is
 * not a state file, another format version, damaged, or made with another
 * ipv6_prefix_len is refused whole with a message saying which, and the
 * engine is left untouched. The format is described in state.c.
 */
#ifndef HS_STATE_H
#define HS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"

enum { HS_STATE_VERSION = 1 };

typedef struct hs_state_stats {
    bool missing;                /* restore: no file (a first start) */
    uint64_t bytes;              /* file size */
    uint64_t bucket_ms;          /* bucket width the file was made with */
    uint64_t watermark_ms;       /* event time of the save */
    uint64_t subscribers;        /* saved, or restored */
    uint64_t entries;            /* evidence entries saved, or restored */
    uint64_t detected;           /* detections saved, or restored */
    uint64_t dropped_entries;    /* their domain is not in the sigset */
    uint64_t dropped_detected;   /* their signature is not in the sigset */
    uint64_t dropped_cap;        /* subscribers beyond max_subscribers */
    uint64_t dropped_invalid;    /* subscribers the engine refused (a key
                                  * repeated or not of this configuration) */
} hs_state_stats;

/*
 * A state file covers the engines of every worker ("shards"): one file,
 * whatever the number of workers, each subscriber restored into the shard
 * hs_subscriber_shard() gives it. Shards share one sigset and
 * configuration; a single engine is the case n_shards = 1.
 */

/*
 * Writes every subscriber of the shards to path, atomically: path.tmp is
 * written, synced and renamed over path, so a crash leaves either the old
 * file or the new one. Returns 0, or a negative errno code with
 * "PATH: what failed" in err.
 */
int hs_state_save(hs_engine *const *shards, size_t n_shards,
                  const char *path, hs_state_stats *st, char *err,
                  size_t errlen);

/* Whether a save to path could create its files (the directory exists
 * and is writable), so a start can warn instead of the stop failing.
 * Returns 0 or -errno with "PATH: DIR: why" in err. */
int hs_state_check_writable(const char *path, char *err, size_t errlen);

/*
 * Reads path into fresh shards (saved subscribers already present are
 * counted in dropped_invalid). A missing file is not an error: it returns
 * 0 with st->missing set. Otherwise returns 0, -EINVAL for a file that is
 * not a state file or is damaged, -ENOTSUP for another format version or
 * ipv6_prefix_len, -ENOMEM (some subscribers may be restored), -EISDIR
 * or -ENXIO when path is not a regular file, -errno when it cannot be
 * read; err says "PATH: why" (see state.c).
 */
int hs_state_restore(hs_engine *const *shards, size_t n_shards,
                     const char *path, hs_state_stats *st,
                     char *err, size_t errlen);

/* The same from len bytes at buf (any bytes); name is used in messages. */
int hs_state_restore_buf(hs_engine *const *shards, size_t n_shards,
                         const char *name, const uint8_t *buf,
                         size_t len, hs_state_stats *st, char *err,
                         size_t errlen);

/* Rewrites the trailing checksum of a state file image of len bytes (at
 * least the trailer's 4): lets a fuzzer reach past the checksum check. */
void hs_state_seal(uint8_t *buf, size_t len);

#endif
