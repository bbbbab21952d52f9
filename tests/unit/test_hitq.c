/* test_hitq.c - the hit queue between workers: order, bounds, generations,
 * and two threads passing millions of hits without loss or reordering. */
#include "testutil.h"

#include <pthread.h>
#include <string.h>

#include "hitq.h"

static hs_hit hit_no(uint64_t n)
{
    hs_hit h;
    memset(&h, 0, sizeof(h));
    h.time_ms = n;
    h.sub.key = n * 7;
    h.domain = (uint32_t)(n % 13);
    return h;
}

static void test_order_and_capacity(void **state)
{
    (void)state;
    hs_hitq *q = hs_hitq_new(5); /* rounded up to 8 */
    hs_hit in[10], out[10];
    uint32_t gen = 99;
    for (int i = 0; i < 10; i++)
        in[i] = hit_no((uint64_t)i);
    assert_int_equal(hs_hitq_pop(q, out, 10, &gen), 0);
    assert_int_equal(hs_hitq_push(q, in, 10, 1), 8); /* the rest is refused */
    assert_int_equal(hs_hitq_pop(q, out, 3, &gen), 3);
    assert_int_equal(gen, 1);
    assert_int_equal(hs_hitq_push(q, in + 8, 2, 1), 2);
    assert_int_equal(hs_hitq_push(q, in, 1, 1), 1);
    assert_int_equal(hs_hitq_push(q, in, 1, 1), 0); /* full again */
    assert_int_equal(hs_hitq_pop(q, out, 10, &gen), 8);
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[i].time_ms, 3 + i);
    assert_int_equal(out[5].time_ms, 8);
    assert_int_equal(out[6].time_ms, 9);
    assert_int_equal(out[7].time_ms, 0);
    assert_int_equal(hs_hitq_pop(q, out, 10, &gen), 0);
    hs_hitq_free(q);
}

static void test_generations_pop_apart(void **state)
{
    (void)state;
    hs_hitq *q = hs_hitq_new(16);
    hs_hit in[4] = {hit_no(1), hit_no(2), hit_no(3), hit_no(4)}, out[4];
    uint32_t gen = 0;
    hs_hitq_push(q, in, 2, 7);
    hs_hitq_push(q, in + 2, 2, 8);
    assert_int_equal(hs_hitq_pop(q, out, 4, &gen), 2);
    assert_int_equal(gen, 7);
    assert_int_equal(out[1].time_ms, 2);
    assert_int_equal(hs_hitq_pop(q, out, 4, &gen), 2);
    assert_int_equal(gen, 8);
    assert_int_equal(out[0].time_ms, 3);
    hs_hitq_free(q);
}

#define CROSS_HITS 3000000u

static void *produce(void *arg)
{
    hs_hitq *q = arg;
    hs_hit batch[32];
    uint64_t next = 0;
    while (next < CROSS_HITS) {
        size_t n = 0;
        while (n < 32 && next + n < CROSS_HITS) {
            batch[n] = hit_no(next + n);
            n++;
        }
        /* a full queue: offer the rest again (the daemon counts instead) */
        next += hs_hitq_push(q, batch, n, (uint32_t)(next / 1000000));
    }
    return NULL;
}

/* The consumer sees every hit once, in order, with its generation. */
static void test_two_threads(void **state)
{
    (void)state;
    hs_hitq *q = hs_hitq_new(1024);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, produce, q), 0);
    uint64_t expect = 0;
    hs_hit out[64];
    while (expect < CROSS_HITS) {
        uint32_t gen;
        size_t n = hs_hitq_pop(q, out, 64, &gen);
        for (size_t i = 0; i < n; i++, expect++) {
            if (out[i].time_ms != expect || out[i].sub.key != expect * 7 ||
                gen != expect / 1000000)
                fail_msg("hit %llu came as %llu (generation %u)",
                         (unsigned long long)expect,
                         (unsigned long long)out[i].time_ms, gen);
        }
    }
    pthread_join(t, NULL);
    uint32_t gen;
    assert_int_equal(hs_hitq_pop(q, out, 64, &gen), 0);
    hs_hitq_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_capacity),
        cmocka_unit_test(test_generations_pop_apart),
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
