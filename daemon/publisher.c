/*
 * publisher.c - detection events to Redis (see publisher.h, docs/redis.md).
 *
 * Two queues of events: `waiting` (not sent yet, at most queue_max, the
 * oldest dropped first) and `in_flight` (sent, at most
 * HS_PUBLISHER_IN_FLIGHT_MAX, in the order Redis will answer). An event
 * leaves in_flight, and is freed, only when the reply to its last command
 * arrives; when the connection goes, whatever is in flight goes back to the
 * front of `waiting` and is sent again on the next connection. So nothing
 * Redis did not acknowledge is lost, at the price of a possible duplicate
 * (an event Redis executed but whose reply was cut off).
 *
 * One connection at a time moves through resolve (uv_getaddrinfo, so a
 * host name never blocks the loop), TCP connect, handshake (AUTH, SELECT,
 * PING) and ready. A single timer serves the current step: the backoff
 * delay when idle, the connect deadline while connecting, and the reply
 * deadline while events are in flight. hiredis calls back with the
 * context's `data` pointer; it is cleared whenever we let go of a context,
 * so callbacks hiredis still runs while freeing it find nothing to do.
 */
#include "publisher.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "log.h"
#include "redis_uv.h"

/* ---- events and their queues ----------------------------------------- */

typedef struct pub_event {
    bool detected;
    size_t size;            /* of the whole allocation */
    char *key;              /* state hash: prefix + subscriber, or NULL */
    char *field;            /* signature id, or NULL */
    char json[];            /* NUL-terminated; key and field follow it */
} pub_event;

/* A ring that is pushed at both ends: new events at the back, events whose
 * connection was lost back at the front. Grows by doubling up to its
 * limit, so an idle daemon with a large queue_max holds little memory. */
typedef struct evq {
    pub_event **slot;
    size_t cap, head, len, limit;
} evq;

static int evq_init(evq *q, size_t limit, size_t cap)
{
    *q = (evq){.limit = limit, .cap = cap};
    if (cap && !(q->slot = malloc(cap * sizeof(*q->slot))))
        return -ENOMEM;
    return 0;
}

static pub_event **evq_at(const evq *q, size_t i)
{
    return &q->slot[(q->head + i) % q->cap];
}

static int evq_reserve(evq *q)
{
    if (q->len < q->cap)
        return 0;
    size_t cap = q->cap ? q->cap * 2 : 64;
    if (cap > q->limit)
        cap = q->limit;
    pub_event **slot = malloc(cap * sizeof(*slot));
    if (!slot)
        return -ENOMEM;
    for (size_t i = 0; i < q->len; i++)
        slot[i] = *evq_at(q, i);
    free(q->slot);
    q->slot = slot;
    q->cap = cap;
    q->head = 0;
    return 0;
}

/* Both pushes require len < limit. */
static int evq_push_back(evq *q, pub_event *e)
{
    if (evq_reserve(q) < 0)
        return -ENOMEM;
    q->len++;
    *evq_at(q, q->len - 1) = e;
    return 0;
}

static int evq_push_front(evq *q, pub_event *e)
{
    if (evq_reserve(q) < 0)
        return -ENOMEM;
    q->head = (q->head + q->cap - 1) % q->cap;
    q->len++;
    *evq_at(q, 0) = e;
    return 0;
}

static pub_event *evq_pop_front(evq *q)
{
    pub_event *e = *evq_at(q, 0);
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return e;
}

static pub_event *evq_pop_back(evq *q)
{
    q->len--;
    return *evq_at(q, q->len);
}

static void evq_free(evq *q)
{
    while (q->len)
        free(evq_pop_front(q));
    free(q->slot);
}

/* ---- the publisher ------------------------------------------------------ */

typedef enum conn_state {
    CONN_IDLE,              /* no connection; the timer retries */
    CONN_RESOLVING,         /* uv_getaddrinfo under way */
    CONN_CONNECTING,        /* TCP connect under way */
    CONN_HANDSHAKE,         /* AUTH, SELECT, PING sent */
    CONN_READY,
} conn_state;

struct hs_publisher {
    uv_loop_t *loop;
    char *host, *user, *password, *channel, *stream, *state_prefix;
    uint16_t port;
    uint32_t db, stream_maxlen, queue_max;
    uint64_t state_ttl_ms;
    char name[300];             /* "host:port" in messages */
    char maxlen_arg[16], ttl_arg[24]; /* stream_maxlen, state_ttl_ms */
    unsigned cmds_per_event;    /* replies that complete one event */

    conn_state state;
    redisAsyncContext *ac;
    uv_getaddrinfo_t resolve;
    uv_timer_t timer;           /* backoff, connect or reply deadline */
    uint64_t backoff_ms;
    unsigned handshake_left;    /* replies until ready */
    unsigned head_replies;      /* replies so far to in_flight's first */
    size_t in_flight_bytes;
    bool ever_ready;

    evq waiting, in_flight;
    hs_publisher_stats stats;   /* queued, in_flight, connected derived */
    hs_ratelimit rl_conn, rl_up, rl_drop, rl_reply;

    bool closing, finishing;
    uv_timer_t deadline;        /* of the flush on close */
    unsigned handles_open;
    uint64_t lost;              /* left unsent when closing ended */
    void (*done)(void *ctx);
    void *done_ctx;
};

static void on_timer(uv_timer_t *t);
static void pump(hs_publisher *p);
static void close_if_flushed(hs_publisher *p);

static size_t queued(const hs_publisher *p)
{
    return p->waiting.len + p->in_flight.len;
}

/* The queue is full and e is the oldest event: it goes. */
static void drop_oldest(hs_publisher *p, pub_event *e)
{
    free(e);
    p->stats.dropped_queue_full++;
    hs_log_rl(&p->rl_drop, HS_LOG_WARNING,
              "redis %s: queue full (%u events), dropping the oldest",
              p->name, p->queue_max);
}

static void enqueue(hs_publisher *p, pub_event *e)
{
    if (p->waiting.len >= p->queue_max)
        drop_oldest(p, evq_pop_front(&p->waiting));
    if (evq_push_back(&p->waiting, e) < 0) {
        free(e);
        p->stats.dropped_nomem++;
        hs_log_rl(&p->rl_drop, HS_LOG_ERROR, "redis %s: out of memory, "
                  "event dropped", p->name);
    }
}

/* In-flight events are older than every waiting one: with a full queue
 * they are the ones the drop-oldest rule pushes out. */
static void requeue_in_flight(hs_publisher *p)
{
    p->head_replies = 0;
    p->in_flight_bytes = 0;
    while (p->in_flight.len) {
        pub_event *e = evq_pop_back(&p->in_flight);
        if (p->waiting.len >= p->queue_max) {
            drop_oldest(p, e);
        } else if (evq_push_front(&p->waiting, e) < 0) {
            free(e);
            p->stats.dropped_nomem++;
        }
    }
}

/* ---- connection --------------------------------------------------------- */

/* Lets go of the current context: hiredis frees it (at once, or when the
 * callback it is running returns) and its late callbacks are ignored. */
static void conn_drop(hs_publisher *p)
{
    redisAsyncContext *ac = p->ac;
    p->ac = NULL;
    p->state = CONN_IDLE;
    requeue_in_flight(p);
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
}

static uint64_t next_delay(hs_publisher *p)
{
    if (p->closing)
        return HS_PUBLISHER_BACKOFF_MIN_MS;
    uint64_t delay = p->backoff_ms;
    p->backoff_ms *= 2;
    if (p->backoff_ms > HS_PUBLISHER_BACKOFF_MAX_MS)
        p->backoff_ms = HS_PUBLISHER_BACKOFF_MAX_MS;
    return delay;
}

/* Logs why there is no connection and arms the retry. */
static void retry_later(hs_publisher *p, hs_log_level level, const char *what,
                        const char *why)
{
    uint64_t delay = next_delay(p);
    p->state = CONN_IDLE;
    hs_log_rl(&p->rl_conn, level,
              "redis %s: %s: %s (retrying in %llu ms, %zu events queued)",
              p->name, what, why, (unsigned long long)delay, queued(p));
    uv_timer_start(&p->timer, on_timer, delay, 0);
}

static void conn_failed(hs_publisher *p, hs_log_level level, const char *what,
                        const char *why)
{
    p->stats.connect_failures++;
    retry_later(p, level, what, why);
}

static void conn_lost(hs_publisher *p, const char *why)
{
    retry_later(p, HS_LOG_WARNING, "connection lost", why);
}

static void conn_ready(hs_publisher *p)
{
    p->state = CONN_READY;
    uv_timer_stop(&p->timer);
    p->backoff_ms = HS_PUBLISHER_BACKOFF_MIN_MS;
    if (p->ever_ready)
        p->stats.reconnects++;
    p->ever_ready = true;
    hs_log_rl(&p->rl_up, HS_LOG_INFO, "redis %s: connected, %zu events queued",
              p->name, queued(p));
    pump(p);
    close_if_flushed(p);
}

/* A refusal during the handshake is almost always the configuration. */
static const char *refusal_hint(const char *reply)
{
    if (!strncmp(reply, "NOAUTH", 6) || !strncmp(reply, "WRONGPASS", 9) ||
        strstr(reply, "password"))
        return "Check the user and password in [redis] url.";
    if (strstr(reply, "DB index"))
        return "Check the database number in [redis] url.";
    return "";
}

static void on_handshake_reply(redisAsyncContext *ac, void *r, void *cmd)
{
    hs_publisher *p = ac->data;
    redisReply *reply = r;
    if (!p || !reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        const char *hint = refusal_hint(reply->str);
        size_t len = strlen(reply->str);
        bool stop = len && reply->str[len - 1] == '.';
        char why[512];
        snprintf(why, sizeof(why), "%s%s%s", reply->str,
                 !*hint ? "" : stop ? " " : ". ", hint);
        char what[32];
        snprintf(what, sizeof(what), "%s refused", (const char *)cmd);
        conn_drop(p);
        conn_failed(p, HS_LOG_ERROR, what, why);
        return;
    }
    if (--p->handshake_left == 0)
        conn_ready(p);
}

static void handshake_send(hs_publisher *p, const char *cmd, int argc,
                           const char **argv)
{
    p->handshake_left++;
    redisAsyncCommandArgv(p->ac, on_handshake_reply, (void *)cmd, argc, argv,
                          NULL);
}

/* AUTH and SELECT as the URL says, then PING, which also tells a server
 * that needs a password we did not give (NOAUTH) or that is still loading
 * its data (LOADING) from one ready to take events. */
static void handshake_start(hs_publisher *p)
{
    p->state = CONN_HANDSHAKE;
    p->handshake_left = 0;
    if (p->password && p->user)
        handshake_send(p, "AUTH", 3,
                       (const char *[]){"AUTH", p->user, p->password});
    else if (p->password)
        handshake_send(p, "AUTH", 2, (const char *[]){"AUTH", p->password});
    if (p->db) {
        char db[16];
        snprintf(db, sizeof(db), "%u", p->db);
        handshake_send(p, "SELECT", 2, (const char *[]){"SELECT", db});
    }
    handshake_send(p, "PING", 1, (const char *[]){"PING"});
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    hs_publisher *p = ac->data;
    if (!p)
        return;
    if (status != REDIS_OK) {
        p->ac = NULL; /* hiredis frees it after this callback */
        conn_failed(p, HS_LOG_WARNING, "cannot connect", ac->c.errstr);
        return;
    }
    handshake_start(p);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    hs_publisher *p = ac->data;
    if (!p)
        return;
    p->ac = NULL; /* hiredis frees it after this callback */
    requeue_in_flight(p);
    const char *why = status == REDIS_OK ? "closed" : ac->c.errstr;
    if (p->state == CONN_READY)
        conn_lost(p, why);
    else /* e.g. "max number of clients reached" right after accept */
        conn_failed(p, HS_LOG_WARNING, "cannot connect", why);
}

static void conn_open(hs_publisher *p, const char *ip)
{
    redisAsyncContext *ac = redisAsyncConnect(ip, p->port);
    if (!ac) {
        conn_failed(p, HS_LOG_ERROR, "cannot connect", "out of memory");
        return;
    }
    int rc = ac->err ? 0 : hs_redis_uv_attach(ac, p->loop);
    if (ac->err || rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", ac->err ? ac->c.errstr : uv_strerror(rc));
        redisAsyncFree(ac);
        conn_failed(p, HS_LOG_WARNING, "cannot connect", why);
        return;
    }
    ac->data = p;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    p->ac = ac;
    p->state = CONN_CONNECTING;
    uv_timer_start(&p->timer, on_timer, HS_PUBLISHER_CONNECT_TIMEOUT_MS, 0);
}

/* IPv4 first when a name has both, as hiredis and redis-cli do. */
static void first_address(const struct addrinfo *res, char *ip, size_t len)
{
    const struct addrinfo *pick = res;
    for (const struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            pick = a;
            break;
        }
    }
    if (pick->ai_family == AF_INET)
        uv_ip4_name((const struct sockaddr_in *)pick->ai_addr, ip, len);
    else
        uv_ip6_name((const struct sockaddr_in6 *)pick->ai_addr, ip, len);
}

static void free_if_closed(hs_publisher *p);

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    hs_publisher *p = req->data;
    p->state = CONN_IDLE;
    if (p->finishing) {
        uv_freeaddrinfo(res);
        free_if_closed(p);
        return;
    }
    if (status < 0) {
        conn_failed(p, HS_LOG_WARNING, "cannot resolve", uv_strerror(status));
        return;
    }
    char ip[INET6_ADDRSTRLEN];
    first_address(res, ip, sizeof(ip));
    uv_freeaddrinfo(res);
    conn_open(p, ip);
}

static void conn_start(hs_publisher *p)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", p->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(p->loop, &p->resolve, on_resolved, p->host, port,
                            &hints);
    if (rc < 0) {
        conn_failed(p, HS_LOG_WARNING, "cannot resolve", uv_strerror(rc));
        return;
    }
    p->state = CONN_RESOLVING;
}

/* The one timer, read by state: backoff over, connect took too long, or
 * events in flight got no reply (a stopped or wedged server). */
static void on_timer(uv_timer_t *t)
{
    hs_publisher *p = t->data;
    char why[64];
    switch (p->state) {
    case CONN_IDLE:
        conn_start(p);
        break;
    case CONN_CONNECTING:
    case CONN_HANDSHAKE:
        snprintf(why, sizeof(why), "no answer in %d ms",
                 HS_PUBLISHER_CONNECT_TIMEOUT_MS);
        conn_drop(p);
        conn_failed(p, HS_LOG_WARNING, "cannot connect", why);
        break;
    case CONN_READY:
        snprintf(why, sizeof(why), "no reply in %d ms",
                 HS_PUBLISHER_REPLY_TIMEOUT_MS);
        conn_drop(p);
        conn_lost(p, why);
        break;
    case CONN_RESOLVING:
        break;
    }
}

/* ---- sending ------------------------------------------------------------ */

static void ack_first(hs_publisher *p)
{
    pub_event *e = evq_pop_front(&p->in_flight);
    p->in_flight_bytes -= e->size;
    free(e);
    p->head_replies = 0;
    p->stats.published++;
    if (p->in_flight.len)
        uv_timer_start(&p->timer, on_timer, HS_PUBLISHER_REPLY_TIMEOUT_MS, 0);
    else
        uv_timer_stop(&p->timer);
    pump(p);
    close_if_flushed(p);
}

/* Replies come in command order, so the first in-flight event is complete
 * once it has cmds_per_event of them. An error reply (a key of another
 * type, a missing ACL permission) is counted: sending again would not help. */
static void on_event_reply(redisAsyncContext *ac, void *r, void *cmd)
{
    hs_publisher *p = ac->data;
    redisReply *reply = r;
    if (!p || !reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        p->stats.errors++;
        hs_log_rl(&p->rl_reply, HS_LOG_WARNING, "redis %s: %s failed: %s",
                  p->name, (const char *)cmd, reply->str);
    }
    if (++p->head_replies == p->cmds_per_event)
        ack_first(p);
}

static int command(hs_publisher *p, const char *name, int argc,
                   const char **argv)
{
    int rc = redisAsyncCommandArgv(p->ac, on_event_reply, (void *)name, argc,
                                   argv, NULL);
    return rc == REDIS_OK ? 0 : -EIO;
}

static int send_stream(hs_publisher *p, const pub_event *e)
{
    if (!p->stream_maxlen)
        return command(p, "XADD", 5, (const char *[]){"XADD", p->stream, "*",
                                                      "event", e->json});
    return command(p, "XADD", 8, (const char *[]){"XADD", p->stream, "MAXLEN",
                                                  "~", p->maxlen_arg, "*",
                                                  "event", e->json});
}

static int send_state(hs_publisher *p, const pub_event *e)
{
    int rc = e->detected
        ? command(p, "HSET", 4, (const char *[]){"HSET", e->key, e->field, e->json})
        : command(p, "HDEL", 3, (const char *[]){"HDEL", e->key, e->field});
    if (rc == 0 && p->state_ttl_ms)
        rc = command(p, "PEXPIRE", 3,
                     (const char *[]){"PEXPIRE", e->key, p->ttl_arg});
    return rc;
}

/* The commands of one event, in the order cmds_per_event counts them. */
static int send_event(hs_publisher *p, const pub_event *e)
{
    int rc = 0;
    if (p->channel)
        rc = command(p, "PUBLISH", 3,
                     (const char *[]){"PUBLISH", p->channel, e->json});
    if (p->stream && rc == 0)
        rc = send_stream(p, e);
    if (p->state_prefix && rc == 0)
        rc = send_state(p, e);
    return rc;
}

/* Moves waiting events to the connection while it is ready and the number
 * in flight allows. hiredis only appends to its buffer here; the socket is
 * written when the loop finds it writable. */
static void pump(hs_publisher *p)
{
    while (p->state == CONN_READY && p->waiting.len &&
           p->in_flight.len < HS_PUBLISHER_IN_FLIGHT_MAX &&
           p->in_flight_bytes < HS_PUBLISHER_IN_FLIGHT_BYTES) {
        pub_event *e = evq_pop_front(&p->waiting);
        evq_push_back(&p->in_flight, e); /* preallocated: cannot fail */
        p->in_flight_bytes += e->size;
        if (send_event(p, e) < 0) {
            conn_drop(p);
            conn_lost(p, "cannot queue a command (out of memory)");
            return;
        }
    }
    if (p->in_flight.len && !uv_is_active((uv_handle_t *)&p->timer))
        uv_timer_start(&p->timer, on_timer, HS_PUBLISHER_REPLY_TIMEOUT_MS, 0);
}

/* ---- events in ---------------------------------------------------------- */

/* Copies an event with its hash key and field; -EINVAL when it cannot be
 * published (see hs_publisher_publish), -ENOMEM. */
static int event_new(const hs_publisher *p, const char *subscriber,
                     const char *signature_id, bool detected, const char *json,
                     size_t len, pub_event **out)
{
    size_t plen = p->state_prefix ? strlen(p->state_prefix) : 0;
    size_t slen = subscriber ? strnlen(subscriber, HS_PUBLISHER_EVENT_MAX) : 0;
    size_t flen = signature_id ? strnlen(signature_id, HS_PUBLISHER_EVENT_MAX) : 0;
    if (!json || len == 0 || memchr(json, '\0', len))
        return -EINVAL;
    if (p->state_prefix && (slen == 0 || flen == 0))
        return -EINVAL;
    if (len + plen + slen + flen > HS_PUBLISHER_EVENT_MAX)
        return -EINVAL;
    size_t size = sizeof(pub_event) + len + plen + slen + flen + 3;
    pub_event *e = malloc(size);
    if (!e)
        return -ENOMEM;
    e->detected = detected;
    e->size = size;
    memcpy(e->json, json, len);
    e->json[len] = '\0';
    e->key = e->field = NULL;
    if (p->state_prefix) {
        e->key = e->json + len + 1;
        memcpy(e->key, p->state_prefix, plen);
        memcpy(e->key + plen, subscriber, slen);
        e->key[plen + slen] = '\0';
        e->field = e->key + plen + slen + 1;
        memcpy(e->field, signature_id, flen);
        e->field[flen] = '\0';
    }
    *out = e;
    return 0;
}

void hs_publisher_publish(hs_publisher *p, const char *subscriber,
                          const char *signature_id, bool detected,
                          const char *json, size_t len)
{
    pub_event *e;
    int rc = event_new(p, subscriber, signature_id, detected, json, len, &e);
    if (rc < 0) {
        if (rc == -ENOMEM)
            p->stats.dropped_nomem++;
        else
            p->stats.dropped_invalid++;
        hs_log_rl(&p->rl_drop, HS_LOG_ERROR, "redis %s: event dropped: %s",
                  p->name, rc == -ENOMEM ? "out of memory"
                                         : "empty, too long or unnamed");
        return;
    }
    if (p->finishing) { /* the flush is over: too late */
        free(e);
        p->lost++;
        return;
    }
    enqueue(p, e);
    pump(p);
}

void hs_publisher_get_stats(const hs_publisher *p, hs_publisher_stats *out)
{
    *out = p->stats;
    out->queued = queued(p);
    out->in_flight = p->in_flight.len;
    out->connected = p->state == CONN_READY;
}

/* ---- life cycle --------------------------------------------------------- */

void hs_publisher_conf_from(const hs_conf *c, hs_publisher_conf *out)
{
    *out = (hs_publisher_conf){
        .host = c->redis.server.host,
        .port = c->redis.server.port,
        .db = c->redis.server.db,
        .user = c->redis.server.user,
        .password = c->redis.server.password,
        .channel = c->redis.channel,
        .stream = c->redis.stream,
        .stream_maxlen = c->redis.stream_maxlen,
        .state_prefix = c->redis.state_prefix,
        .state_ttl_ms = c->redis.state_ttl_ms,
        .queue_max = c->redis.queue_max,
    };
}

/* A copy, or NULL for NULL and "" (both mean off); *ok turns false when
 * memory runs out. */
static char *copy_opt(const char *s, bool *ok)
{
    if (!s || !*s)
        return NULL;
    char *c = strdup(s);
    if (!c)
        *ok = false;
    return c;
}

static void publisher_free(hs_publisher *p)
{
    evq_free(&p->waiting);
    evq_free(&p->in_flight);
    free(p->host);
    free(p->user);
    free(p->password);
    free(p->channel);
    free(p->stream);
    free(p->state_prefix);
    free(p);
}

static int copy_conf(hs_publisher *p, const hs_publisher_conf *c)
{
    bool ok = true;
    p->host = copy_opt(c->host, &ok);
    p->user = copy_opt(c->user, &ok);
    p->password = copy_opt(c->password, &ok);
    p->channel = copy_opt(c->channel, &ok);
    p->stream = copy_opt(c->stream, &ok);
    p->state_prefix = copy_opt(c->state_prefix, &ok);
    p->port = c->port;
    p->db = c->db;
    p->stream_maxlen = c->stream_maxlen;
    p->state_ttl_ms = c->state_ttl_ms;
    p->queue_max = c->queue_max;
    snprintf(p->maxlen_arg, sizeof(p->maxlen_arg), "%u", p->stream_maxlen);
    snprintf(p->ttl_arg, sizeof(p->ttl_arg), "%llu",
             (unsigned long long)p->state_ttl_ms);
    p->cmds_per_event = (p->channel != NULL) + (p->stream != NULL) +
                        (p->state_prefix ? 1 + (p->state_ttl_ms != 0) : 0);
    bool v6 = strchr(c->host, ':') != NULL; /* check_conf: host is set */
    snprintf(p->name, sizeof(p->name), v6 ? "[%s]:%u" : "%s:%u", c->host,
             c->port);
    return ok ? 0 : -ENOMEM;
}

static int check_conf(const hs_publisher_conf *c, char *err, size_t errlen)
{
    if (!c->host || !*c->host) {
        snprintf(err, errlen, "[redis] url: no host");
        return -EINVAL;
    }
    if ((!c->channel || !*c->channel) && (!c->stream || !*c->stream) &&
        (!c->state_prefix || !*c->state_prefix)) {
        snprintf(err, errlen, "[redis]: channel, stream and state_prefix are "
                              "all empty: nothing to publish");
        return -EINVAL;
    }
    if (c->queue_max == 0) {
        snprintf(err, errlen, "[redis] queue_max: must be at least 1");
        return -EINVAL;
    }
    return 0;
}

int hs_publisher_new(uv_loop_t *loop, const hs_publisher_conf *conf,
                     hs_publisher **out, char *err, size_t errlen)
{
    int rc = check_conf(conf, err, errlen);
    if (rc < 0)
        return rc;
    hs_publisher *p = calloc(1, sizeof(*p));
    if (!p)
        goto nomem;
    p->loop = loop;
    if (copy_conf(p, conf) < 0 || evq_init(&p->waiting, conf->queue_max, 0) < 0 ||
        evq_init(&p->in_flight, HS_PUBLISHER_IN_FLIGHT_MAX,
                 HS_PUBLISHER_IN_FLIGHT_MAX) < 0)
        goto nomem;
    /* hiredis writes with write(2): without this, writing to a connection
     * Redis has just closed would kill the process with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    p->backoff_ms = HS_PUBLISHER_BACKOFF_MIN_MS;
    p->resolve.data = p;
    uv_timer_init(loop, &p->timer);
    uv_timer_init(loop, &p->deadline);
    p->timer.data = p->deadline.data = p;
    p->handles_open = 2;
    conn_start(p);
    *out = p;
    return 0;
nomem:
    if (p)
        publisher_free(p);
    snprintf(err, errlen, "[redis]: out of memory");
    return -ENOMEM;
}

/* The end of a close: handles closed, resolver done; then done(ctx). */
static void free_if_closed(hs_publisher *p)
{
    if (p->handles_open || p->state == CONN_RESOLVING)
        return;
    hs_log(HS_LOG_INFO, "redis %s: publisher closed, %llu events published, "
           "%llu lost", p->name, (unsigned long long)p->stats.published,
           (unsigned long long)p->lost);
    void (*done)(void *) = p->done;
    void *ctx = p->done_ctx;
    publisher_free(p);
    if (done)
        done(ctx);
}

static void on_handle_closed(uv_handle_t *h)
{
    hs_publisher *p = h->data;
    p->handles_open--;
    free_if_closed(p);
}

/* Flushed or out of time: whatever is still queued is lost. */
static void finish(hs_publisher *p)
{
    p->finishing = true;
    if (p->ac)
        conn_drop(p); /* requeues what was in flight */
    p->lost += queued(p);
    if (p->lost)
        hs_log(HS_LOG_WARNING, "redis %s: closing with %llu events unsent",
               p->name, (unsigned long long)p->lost);
    if (p->state == CONN_RESOLVING)
        uv_cancel((uv_req_t *)&p->resolve);
    uv_close((uv_handle_t *)&p->timer, on_handle_closed);
    uv_close((uv_handle_t *)&p->deadline, on_handle_closed);
}

static void close_if_flushed(hs_publisher *p)
{
    if (p->closing && !p->finishing && queued(p) == 0)
        finish(p);
}

static void on_deadline(uv_timer_t *t)
{
    hs_publisher *p = t->data;
    if (!p->finishing)
        finish(p);
}

void hs_publisher_close(hs_publisher *p, void (*done)(void *ctx), void *ctx)
{
    p->closing = true;
    p->done = done;
    p->done_ctx = ctx;
    uv_timer_start(&p->deadline, on_deadline, HS_PUBLISHER_CLOSE_TIMEOUT_MS, 0);
    close_if_flushed(p);
    if (!p->finishing && p->state == CONN_IDLE) {
        uv_timer_stop(&p->timer); /* no backoff left: try now */
        conn_start(p);
    }
}
