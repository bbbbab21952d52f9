/* wake.c - cross-thread loop wake-ups over an eventfd (see wake.h). */
#include "wake.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

/*
 * The fences pair a sender's data with the flag: a sender that finds
 * pending set (no write) made its data visible before a loop that clears
 * the flag reads the data; one that finds it clear writes the eventfd.
 */
static void on_readable(uv_poll_t *h, int status, int events)
{
    (void)status;
    (void)events;
    hs_wake *w = h->data;
    uint64_t count;
    while (read(w->fd, &count, sizeof(count)) < 0 && errno == EINTR)
        ;
    atomic_store(&w->pending, 0);
    atomic_thread_fence(memory_order_seq_cst);
    w->fn(w);
}

int hs_wake_init(uv_loop_t *loop, hs_wake *w, hs_wake_fn fn, void *data)
{
    w->fn = fn;
    w->closed = NULL;
    w->data = data;
    w->open = false;
    atomic_init(&w->pending, 0);
    w->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->fd < 0)
        return -errno;
    int rc = uv_poll_init(loop, &w->poll, w->fd);
    if (rc < 0) {
        close(w->fd);
        w->fd = -1;
        return rc;
    }
    w->poll.data = w;
    w->open = true;
    rc = uv_poll_start(&w->poll, UV_READABLE, on_readable);
    if (rc < 0)
        hs_wake_close(w, NULL);
    return rc;
}

void hs_wake_send(hs_wake *w)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_exchange(&w->pending, 1))
        return;
    uint64_t one = 1;
    while (write(w->fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

static void on_closed(uv_handle_t *h)
{
    hs_wake *w = h->data;
    close(w->fd);
    w->fd = -1;
    if (w->closed)
        w->closed(w);
}

void hs_wake_close(hs_wake *w, hs_wake_fn closed)
{
    w->closed = closed;
    w->open = false;
    uv_close((uv_handle_t *)&w->poll, on_closed);
}
