/*
 * redis_uv.c - hiredis's event hooks on a uv_poll_t (see redis_uv.h).
 *
 * hiredis asks for read and write interest through the hooks; the poll
 * handle follows the union of both. The handle outlives the context by one
 * loop turn (uv_close is asynchronous), so the watcher forgets the context
 * in cleanup and the poll callback checks for that after every call into
 * hiredis, which may free the context.
 */
#include "redis_uv.h"

#include <errno.h>
#include <stdlib.h>

typedef struct watcher {
    redisAsyncContext *ac;      /* NULL once hiredis let go */
    uv_poll_t poll;
    int events;                 /* UV_READABLE | UV_WRITABLE wanted */
} watcher;

static void on_poll(uv_poll_t *h, int status, int events)
{
    watcher *w = h->data;
    if (status < 0)
        events = UV_READABLE; /* reading makes hiredis see the error */
    if (w->ac && (events & UV_READABLE))
        redisAsyncHandleRead(w->ac);
    if (w->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(w->ac);
}

static void watch(watcher *w, int events)
{
    w->events = events;
    if (events)
        uv_poll_start(&w->poll, events, on_poll);
    else
        uv_poll_stop(&w->poll);
}

static void add_read(void *data)
{
    watcher *w = data;
    watch(w, w->events | UV_READABLE);
}

static void del_read(void *data)
{
    watcher *w = data;
    watch(w, w->events & ~UV_READABLE);
}

static void add_write(void *data)
{
    watcher *w = data;
    watch(w, w->events | UV_WRITABLE);
}

static void del_write(void *data)
{
    watcher *w = data;
    watch(w, w->events & ~UV_WRITABLE);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void cleanup(void *data)
{
    watcher *w = data;
    w->ac = NULL;
    uv_close((uv_handle_t *)&w->poll, on_closed);
}

int hs_redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    if (ac->ev.data)
        return -EEXIST;
    watcher *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    int rc = uv_poll_init(loop, &w->poll, ac->c.fd);
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->ac = ac;
    w->poll.data = w;
    ac->ev.data = w;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return 0;
}
