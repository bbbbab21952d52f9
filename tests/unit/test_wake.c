/* test_wake.c - daemon/wake.c: senders on other threads never lose a
 * wake-up (the loop always sees their last write), sends merge, and a
 * close calls back once. */
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "wake.h"

enum { SENDERS = 2, SENDS = 200000 };

typedef struct ctx {
    hs_wake wake;
    uv_timer_t deadline;
    atomic_ulong produced;   /* written by the senders before each send */
    atomic_ulong seen;       /* what the loop saw at its last wake-up */
    unsigned long calls;
    unsigned long goal;      /* produced when the senders are done */
    int closed;
    atomic_int timed_out;
} ctx;

static void on_closed(hs_wake *w)
{
    ((ctx *)w->data)->closed++;
}

static void finish(ctx *c)
{
    hs_wake_close(&c->wake, on_closed);
    uv_close((uv_handle_t *)&c->deadline, NULL);
}

static void on_wake(hs_wake *w)
{
    ctx *c = w->data;
    c->calls++;
    unsigned long now = atomic_load(&c->produced);
    atomic_store(&c->seen, now);
    if (now == c->goal)
        finish(c);
}

static void on_deadline(uv_timer_t *t)
{
    ctx *c = t->data;
    atomic_store(&c->timed_out, 1); /* a wake-up was lost */
    finish(c);
}

static void *sender(void *arg)
{
    ctx *c = arg;
    for (int i = 0; i < SENDS; i++) {
        atomic_fetch_add(&c->produced, 1);
        hs_wake_send(&c->wake);
    }
    return NULL;
}

/* Each send waits until the loop has seen it, so every send is a "last
 * send": one lost wake-up and the sender waits for the deadline. */
static void *ping_pong(void *arg)
{
    ctx *c = arg;
    for (int i = 0; i < SENDS / 10 && !atomic_load(&c->timed_out); i++) {
        unsigned long v = atomic_fetch_add(&c->produced, 1) + 1;
        hs_wake_send(&c->wake);
        while (atomic_load(&c->seen) < v && !atomic_load(&c->timed_out))
            sched_yield();
    }
    return NULL;
}

static void run(void *(*fn)(void *), int threads, unsigned long goal)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    ctx c = {0};
    c.goal = goal;
    assert_int_equal(hs_wake_init(&loop, &c.wake, on_wake, &c), 0);
    uv_timer_init(&loop, &c.deadline);
    c.deadline.data = &c;
    uv_timer_start(&c.deadline, on_deadline, 20000, 0);
    pthread_t t[SENDERS];
    for (int i = 0; i < threads; i++)
        assert_int_equal(pthread_create(&t[i], NULL, fn, &c), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    assert_false(atomic_load(&c.timed_out));
    assert_int_equal(atomic_load(&c.seen), goal);
    assert_int_equal(c.closed, 1);
    assert_true(c.calls >= 1 && c.calls <= goal);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_no_wake_up_is_lost(void **state)
{
    (void)state;
    run(sender, SENDERS, (unsigned long)SENDERS * SENDS);
}

static void test_every_send_is_seen(void **state)
{
    (void)state;
    run(ping_pong, 1, SENDS / 10);
}

static void test_sends_before_the_loop_runs_merge(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    ctx c = {0};
    c.goal = ~0ul; /* never: the deadline ends it */
    assert_int_equal(hs_wake_init(&loop, &c.wake, on_wake, &c), 0);
    uv_timer_init(&loop, &c.deadline);
    c.deadline.data = &c;
    uv_timer_start(&c.deadline, on_deadline, 100, 0);
    for (int i = 0; i < 5; i++)
        hs_wake_send(&c.wake);
    uv_run(&loop, UV_RUN_DEFAULT); /* one call, then the deadline closes */
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.closed, 1);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_wake_up_is_lost),
        cmocka_unit_test(test_every_send_is_seen),
        cmocka_unit_test(test_sends_before_the_loop_runs_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
