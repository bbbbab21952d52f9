/*
 * publisher.h - detection events to Redis: PUBLISH on a channel, XADD to a
 * stream, and the current detections per subscriber in a hash.
 *
 * It runs on the daemon's libuv loop with hiredis's asynchronous API, so a
 * publish only copies the event into a bounded queue and returns: the
 * receive path never waits for Redis. While Redis is away the queue holds
 * events (dropping the oldest when full, counted) and the connection is
 * retried with exponential backoff; each event is retried until Redis
 * acknowledges it (at-least-once). Closing flushes what is queued, bounded
 * in time. Key names and formats are in docs/redis.md.
 */
#ifndef HS_PUBLISHER_H
#define HS_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "conf.h"

/* Events sent and not yet acknowledged, at most (and at most this many
 * bytes of them): a slow Redis makes events wait in the queue, not in
 * hiredis's buffers. */
#define HS_PUBLISHER_IN_FLIGHT_MAX 1024
#define HS_PUBLISHER_IN_FLIGHT_BYTES (4 * 1024 * 1024)
/* Reconnect delays: doubled after every failure, reset once connected. */
#define HS_PUBLISHER_BACKOFF_MIN_MS 100
#define HS_PUBLISHER_BACKOFF_MAX_MS 10000
/* A connection (TCP, AUTH, SELECT, PING) must be ready within this... */
#define HS_PUBLISHER_CONNECT_TIMEOUT_MS 5000
/* ...and an event sent must be answered within this, or it is dropped and
 * made again (a stopped or wedged server). */
#define HS_PUBLISHER_REPLY_TIMEOUT_MS 5000
/* hs_publisher_close gives up on what is still queued after this. */
#define HS_PUBLISHER_CLOSE_TIMEOUT_MS 2000
/* Longest event accepted, names included (events are a few hundred
 * bytes): with queue_max, what bounds the queue's memory. */
#define HS_PUBLISHER_EVENT_MAX (64 * 1024)

/* Strings are copied by hs_publisher_new; NULL or "" means off. */
typedef struct hs_publisher_conf {
    const char *host;           /* name or address (no brackets) */
    uint16_t port;
    uint32_t db;                /* SELECT db when not 0 */
    const char *user;           /* AUTH user password (Redis 6+ ACL) */
    const char *password;       /* AUTH password when user is NULL */
    const char *channel;        /* PUBLISH channel */
    const char *stream;         /* XADD key */
    uint32_t stream_maxlen;     /* MAXLEN ~ this; 0: never trimmed */
    const char *state_prefix;   /* hash key = prefix + subscriber */
    uint64_t state_ttl_ms;      /* PEXPIRE on every change; 0: none */
    uint32_t queue_max;         /* events held while Redis cannot take them */
} hs_publisher_conf;

typedef struct hs_publisher_stats {
    uint64_t published;         /* events Redis acknowledged */
    uint64_t queued;            /* events held now, in flight included */
    uint64_t in_flight;         /* sent, reply pending */
    uint64_t dropped_queue_full; /* oldest events pushed out of a full queue */
    uint64_t dropped_invalid;   /* refused by hs_publisher_publish */
    uint64_t dropped_nomem;
    uint64_t errors;            /* error replies to event commands */
    uint64_t connect_failures;  /* refused, timed out, AUTH/SELECT rejected */
    uint64_t reconnects;        /* connections made after the first one */
    bool connected;             /* ready to send now */
} hs_publisher_stats;

typedef struct hs_publisher hs_publisher;

/*
 * Fills out from c's [redis] section; the strings point into c (the
 * publisher copies them, so c may be freed after hs_publisher_new). Only
 * meaningful when c->redis.url is set: no url, no publisher.
 */
void hs_publisher_conf_from(const hs_conf *c, hs_publisher_conf *out);

/*
 * Starts connecting on loop and returns at once; events published before
 * the connection is up are queued. Returns 0, or -EINVAL (no host, or none
 * of channel, stream and state_prefix set) or -ENOMEM with a message in err.
 * Sets SIGPIPE to be ignored in the process: hiredis writes with write(2),
 * and a connection Redis closed must be an error, not the end of the daemon.
 */
int hs_publisher_new(uv_loop_t *loop, const hs_publisher_conf *conf,
                     hs_publisher **out, char *err, size_t errlen);

/*
 * Queues one event: json (len bytes, the engine's formatted object) for the
 * channel and the stream; subscriber and signature_id name the hash and its
 * field, which a detected event sets to json and an expired one deletes.
 * Never blocks; a full queue drops its oldest event. An event without json,
 * longer than HS_PUBLISHER_EVENT_MAX, or without subscriber or signature
 * while state is kept is refused and counted as dropped_invalid.
 */
void hs_publisher_publish(hs_publisher *p, const char *subscriber,
                          const char *signature_id, bool detected,
                          const char *json, size_t len);

void hs_publisher_get_stats(const hs_publisher *p, hs_publisher_stats *out);

/*
 * Sends what is queued (reconnecting at once if Redis is away), waiting at
 * most HS_PUBLISHER_CLOSE_TIMEOUT_MS; what is left then is logged as lost.
 * Then closes the connection, frees p and calls done(ctx), always later
 * from the loop, never from inside this call. Events published meanwhile
 * join the flush while it lasts; p must not be used once done has run.
 */
void hs_publisher_close(hs_publisher *p, void (*done)(void *ctx), void *ctx);

#endif
