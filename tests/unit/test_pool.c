/* test_pool.c - the size-class block pool behind per-subscriber lists. */
#include "testutil.h"

#include <string.h>

#include "pool.h"

static void test_classes(void **state)
{
    (void)state;
    assert_int_equal(hs_pool_class(0), 0);
    assert_int_equal(hs_pool_class(1), 0);
    assert_int_equal(hs_pool_class(2), 1);
    assert_int_equal(hs_pool_class(3), 2);
    assert_int_equal(hs_pool_class(4), 2);
    assert_int_equal(hs_pool_class(5), 3);
    assert_int_equal(hs_pool_class(65535), 16);
}

static void test_alloc_release_reuse(void **state)
{
    (void)state;
    hs_pool p;
    hs_pool_init(&p, 8);
    uint32_t a = hs_pool_alloc(&p, 2), b = hs_pool_alloc(&p, 0);
    assert_int_not_equal(a, HS_POOL_NONE);
    assert_int_equal(b, a + 4);
    memset(hs_pool_at(&p, a), 0xab, 4 * 8);
    assert_int_equal(p.live, 5);
    hs_pool_release(&p, a, 2);
    assert_int_equal(p.live, 1);
    /* Same class: the freed block comes back; another class: new space. */
    assert_int_equal(hs_pool_alloc(&p, 2), a);
    assert_int_equal(hs_pool_alloc(&p, 1), b + 1);
    hs_pool_fini(&p);
}

static void test_growth_keeps_contents(void **state)
{
    (void)state;
    hs_pool p;
    hs_pool_init(&p, sizeof(uint32_t));
    uint32_t first = hs_pool_alloc(&p, 0);
    *(uint32_t *)hs_pool_at(&p, first) = 0xdeadbeef;
    for (int i = 0; i < 100000; i++)
        assert_int_not_equal(hs_pool_alloc(&p, 3), HS_POOL_NONE);
    assert_int_equal(*(uint32_t *)hs_pool_at(&p, first), 0xdeadbeef);
    assert_true(hs_pool_bytes(&p) >= 800001 * sizeof(uint32_t));
    hs_pool_fini(&p);
}

static void test_shrink_splits(void **state)
{
    (void)state;
    hs_pool p;
    hs_pool_init(&p, 4);
    uint32_t big = hs_pool_alloc(&p, 3);         /* 8 elements */
    ((uint32_t *)hs_pool_at(&p, big))[0] = 42;
    hs_pool_shrink(&p, big, 3, 0);              /* keep 1 */
    assert_int_equal(p.live, 1);
    assert_int_equal(((uint32_t *)hs_pool_at(&p, big))[0], 42);
    /* The tail became blocks of 1, 2 and 4 elements, reused in place. */
    assert_int_equal(hs_pool_alloc(&p, 0), big + 1);
    assert_int_equal(hs_pool_alloc(&p, 1), big + 2);
    assert_int_equal(hs_pool_alloc(&p, 2), big + 4);
    assert_int_equal(p.used, 8);
    hs_pool_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classes),
        cmocka_unit_test(test_alloc_release_reuse),
        cmocka_unit_test(test_growth_keeps_contents),
        cmocka_unit_test(test_shrink_splits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
