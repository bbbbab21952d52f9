/* test_window.c - the bucket ring of one evidence entry. */
#include "testutil.h"

#include "window.h"

static void test_count_in_window(void **state)
{
    (void)state;
    hs_evidence ev;
    hs_evidence_init(&ev, 7);
    hs_evidence_add(&ev, 95, 1000);
    hs_evidence_add(&ev, 100, 2000);
    hs_evidence_add(&ev, 100, 2001);
    assert_int_equal(ev.domain, 7);
    /* clock 100: window of 16 ending at 100 is (84, 100]. */
    assert_int_equal(hs_evidence_count(&ev, 100, 100, 16), 3);
    assert_int_equal(hs_evidence_count(&ev, 100, 100, 4), 2);
    assert_int_equal(hs_evidence_count(&ev, 100, 100, 1), 2);
    /* Later window ends: buckets past the clock are empty. */
    assert_int_equal(hs_evidence_count(&ev, 100, 110, 16), 3);
    assert_int_equal(hs_evidence_count(&ev, 100, 111, 16), 2);
    assert_int_equal(hs_evidence_count(&ev, 100, 115, 16), 2);
    assert_int_equal(hs_evidence_count(&ev, 100, 116, 16), 0);
}

static void test_first_last(void **state)
{
    (void)state;
    hs_evidence ev;
    hs_evidence_init(&ev, 0);
    hs_evidence_add(&ev, 10, 5000);
    hs_evidence_add(&ev, 9, 4000);   /* late, still in the ring */
    hs_evidence_add(&ev, 10, 5100);
    assert_int_equal(ev.first_s, 4000);
    assert_int_equal(ev.last_s, 5100);
}

static void test_saturates(void **state)
{
    (void)state;
    hs_evidence ev;
    hs_evidence_init(&ev, 0);
    for (int i = 0; i < 1000; i++)
        hs_evidence_add(&ev, 40, 1);
    assert_int_equal(hs_evidence_count(&ev, 40, 40, 16),
                     HS_WINDOW_BUCKET_MAX);
}

static void test_age(void **state)
{
    (void)state;
    hs_evidence ev;
    hs_evidence_init(&ev, 0);
    hs_evidence_add(&ev, 95, 1);
    hs_evidence_add(&ev, 100, 2);
    /* To clock 105 keeping 8 buckets, (97, 105]: 95 goes, 100 stays. */
    assert_false(hs_evidence_age(&ev, 100, 105, 8));
    assert_int_equal(hs_evidence_count(&ev, 105, 105, 16), 1);
    /* A new hit lands in the slot that held bucket 95: no stale count. */
    assert_false(hs_evidence_age(&ev, 105, 111, 16));
    hs_evidence_add(&ev, 111, 3);
    assert_int_equal(hs_evidence_count(&ev, 111, 111, 16), 2);
    assert_false(hs_evidence_age(&ev, 111, 116, 16));
    assert_true(hs_evidence_age(&ev, 116, 127, 16));
    assert_int_equal(hs_evidence_count(&ev, 127, 127, 16), 0);
}

static void test_age_long_jump(void **state)
{
    (void)state;
    hs_evidence ev;
    hs_evidence_init(&ev, 0);
    hs_evidence_add(&ev, 3, 1);
    assert_true(hs_evidence_age(&ev, 3, 4000000000u, 16));
}

static void test_span(void **state)
{
    (void)state;
    hs_evidence ev;
    uint32_t oldest = 0, newest = 0;
    hs_evidence_init(&ev, 0);
    assert_false(hs_evidence_span(&ev, 50, 16, &oldest, &newest));
    hs_evidence_add(&ev, 40, 1);
    hs_evidence_add(&ev, 47, 1);
    hs_evidence_add(&ev, 44, 1);
    assert_true(hs_evidence_span(&ev, 50, 16, &oldest, &newest));
    assert_int_equal(oldest, 40);
    assert_int_equal(newest, 47);
    assert_true(hs_evidence_span(&ev, 50, 8, &oldest, &newest));
    assert_int_equal(oldest, 44);
    assert_false(hs_evidence_span(&ev, 50, 3, &oldest, &newest));
}

static void test_early_buckets(void **state)
{
    (void)state;
    /* Bucket numbers near zero must not wrap. */
    hs_evidence ev;
    hs_evidence_init(&ev, 0);
    hs_evidence_add(&ev, 0, 1);
    hs_evidence_add(&ev, 2, 1);
    assert_int_equal(hs_evidence_count(&ev, 2, 2, 16), 2);
    assert_int_equal(hs_evidence_count(&ev, 2, 2, 2), 1);
    assert_false(hs_evidence_age(&ev, 2, 3, 16));
    assert_int_equal(hs_evidence_count(&ev, 3, 3, 16), 2);
}

static void test_find_sorted(void **state)
{
    (void)state;
    hs_evidence ev[3];
    hs_evidence_init(&ev[0], 2);
    hs_evidence_init(&ev[1], 5);
    hs_evidence_init(&ev[2], 9);
    assert_int_equal(hs_evidence_position(ev, 3, 0), 0);
    assert_int_equal(hs_evidence_position(ev, 3, 5), 1);
    assert_int_equal(hs_evidence_position(ev, 3, 6), 2);
    assert_int_equal(hs_evidence_position(ev, 3, 10), 3);
    assert_ptr_equal(hs_evidence_find(ev, 3, 9), &ev[2]);
    assert_null(hs_evidence_find(ev, 3, 4));
    assert_null(hs_evidence_find(ev, 0, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_in_window),
        cmocka_unit_test(test_first_last),
        cmocka_unit_test(test_saturates),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_age_long_jump),
        cmocka_unit_test(test_span),
        cmocka_unit_test(test_early_buckets),
        cmocka_unit_test(test_find_sorted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
