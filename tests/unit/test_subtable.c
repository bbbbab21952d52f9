/* test_subtable.c - subscriber records: key index and deadline wheel. */
#include "testutil.h"

#include <stdlib.h>

#include "subtable.h"

enum { N = 20000 };

static hs_subscriber sub_n(uint32_t n)
{
    hs_subscriber s = {.key = 0x0a000000u + n, .af = HS_AF_V4, .plen = 32};
    return s;
}

static void test_add_find_remove(void **state)
{
    (void)state;
    hs_subtable *t = hs_subtable_new();
    assert_non_null(t);
    for (uint32_t n = 0; n < N; n++) {
        hs_subscriber s = sub_n(n);
        uint32_t idx;
        assert_int_equal(hs_subtable_find(t, &s), HS_SUB_NONE);
        assert_int_equal(hs_subtable_add(t, &s, &idx), 0);
        assert_int_equal(idx, n);
    }
    assert_int_equal(hs_subtable_count(t), N);
    /* Remove every odd key, in a scrambled order. */
    for (uint32_t k = 0; k < N; k++) {
        uint32_t n = (k * 7919u) % N;
        if (n % 2 == 0)
            continue;
        hs_subscriber s = sub_n(n);
        uint32_t idx = hs_subtable_find(t, &s);
        assert_int_not_equal(idx, HS_SUB_NONE);
        hs_subtable_remove(t, idx);
    }
    assert_int_equal(hs_subtable_count(t), N / 2);
    for (uint32_t n = 0; n < N; n++) {
        hs_subscriber s = sub_n(n), got;
        uint32_t idx = hs_subtable_find(t, &s);
        if (n % 2) {
            assert_int_equal(idx, HS_SUB_NONE);
            continue;
        }
        assert_int_not_equal(idx, HS_SUB_NONE);
        hs_subtable_subscriber(t, idx, &got);
        assert_true(hs_subscriber_equal(&got, &s));
    }
    hs_subtable_free(t);
}

/* Walks the list of bucket b and returns how many records it had. */
static uint32_t walk(hs_subtable *t, uint32_t b)
{
    uint32_t n = 0;
    hs_subtable_wheel_begin(t, b);
    while (hs_subtable_wheel_next(t) != HS_SUB_NONE)
        n++;
    return n;
}

static void test_wheel(void **state)
{
    (void)state;
    hs_subtable *t = hs_subtable_new();
    for (uint32_t n = 0; n < 100; n++) {
        hs_subscriber s = sub_n(n);
        uint32_t idx;
        assert_int_equal(hs_subtable_add(t, &s, &idx), 0);
        hs_subtable_schedule(t, idx, 1000 + n % 4);
    }
    assert_int_equal(walk(t, 1000), 25);
    assert_int_equal(walk(t, 1000 + HS_WHEEL_SLOTS), 25);
    /* Rescheduling moves a record between lists. */
    hs_subtable_schedule(t, 0, 1001);
    assert_int_equal(walk(t, 1000), 24);
    assert_int_equal(walk(t, 1001), 26);
    hs_subtable_free(t);
}

static void test_wheel_walk_survives_removal(void **state)
{
    (void)state;
    hs_subtable *t = hs_subtable_new();
    for (uint32_t n = 0; n < 50; n++) {
        hs_subscriber s = sub_n(n);
        uint32_t idx;
        assert_int_equal(hs_subtable_add(t, &s, &idx), 0);
        hs_subtable_schedule(t, idx, 7 + (n % 2) * HS_WHEEL_SLOTS / 2);
    }
    /* Remove every record the walk returns, and reschedule a few onto
     * the same list: every record is returned once, none twice. */
    uint32_t seen = 0;
    hs_subtable_wheel_begin(t, 7);
    for (uint32_t idx; (idx = hs_subtable_wheel_next(t)) != HS_SUB_NONE;) {
        seen++;
        if (seen % 5 == 0)
            hs_subtable_schedule(t, idx, 7 + HS_WHEEL_SLOTS);
        else
            hs_subtable_remove(t, idx);
    }
    assert_int_equal(seen, 25);
    assert_int_equal(hs_subtable_count(t), 30);
    assert_int_equal(walk(t, 7), 5);
    /* The records of the other list were moved around but are intact. */
    assert_int_equal(walk(t, 7 + HS_WHEEL_SLOTS / 2), 25);
    hs_subtable_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_remove),
        cmocka_unit_test(test_wheel),
        cmocka_unit_test(test_wheel_walk_survives_removal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
