/*
 * wake.h - wakes a libuv loop from another thread: an eventfd watched by
 * uv_poll, in place of uv_async_t.
 *
 * libuv 1.44 (Debian 12) makes the woken loop spin (997 pauses, then
 * sched_yield, over and over) while the sending thread is between the two
 * steps of uv_async_send. When both threads share a core, the woken loop
 * preempts the sender in exactly that window: measured, the main loop spent
 * 2.6 % of a worker's core spinning at 500 detection events a second. Here
 * the sender's only step is the write, so there is nothing to wait for.
 */
#ifndef HS_WAKE_H
#define HS_WAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

typedef struct hs_wake hs_wake;
typedef void (*hs_wake_fn)(hs_wake *w);

struct hs_wake {
    uv_poll_t poll;
    int fd;
    atomic_bool pending;    /* written to fd, not yet read back */
    bool open;              /* initialised, not closed */
    hs_wake_fn fn, closed;
    void *data;             /* the owner's */
};

/* Starts watching on loop (its thread); fn runs there after each send.
 * Returns 0 or a negative errno (then w is closed, or closing: see open). */
int hs_wake_init(uv_loop_t *loop, hs_wake *w, hs_wake_fn fn, void *data);

/* Loop thread: stops watching; closed(w) runs once the handle is closed
 * (NULL: nothing to call). Only for an open wake (w->open). */
void hs_wake_close(hs_wake *w, hs_wake_fn closed);

/* Any thread: fn will run at least once after this call. Sends that
 * arrive before fn runs are merged into one call. */
void hs_wake_send(hs_wake *w);

#endif
