/* test_rule.c - rule resolution and evaluation on plain structs. */
#include "testutil.h"

#include "rule.h"

static uint32_t doms[] = {1, 2, 3};

static hs_signature make_sig(uint32_t *req, uint32_t n_req)
{
    hs_signature s = {.id = "s", .name = "s", .parent = -1,
                      .domains = doms, .n_domains = 3,
                      .required = req, .n_required = n_req};
    return s;
}

static hs_rule_eff make_rule(uint32_t min_domains, double min_fraction,
                             uint32_t min_hits)
{
    hs_rule_eff r = {.min_domains = min_domains, .min_fraction = min_fraction,
                     .min_hits = min_hits, .nb = 16};
    return r;
}

/* Evidence for domains (sorted) with hits each, all in bucket 100. */
static size_t make_ev(hs_evidence *ev, const uint32_t *d, const int *hits,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        hs_evidence_init(&ev[i], d[i]);
        for (int k = 0; k < hits[i]; k++)
            hs_evidence_add(&ev[i], 100, 1000u + (uint32_t)i);
    }
    return n;
}

static bool holds(const hs_signature *s, const hs_rule_eff *r,
                  const hs_evidence *ev, size_t n)
{
    hs_verdict v;
    hs_rule_eval(s, r, ev, n, 100, 100, &v, NULL);
    return v.holds;
}

static void test_min_domains(void **state)
{
    (void)state;
    hs_signature s = make_sig(NULL, 0);
    hs_rule_eff r = make_rule(2, 0, 1);
    hs_evidence ev[3];
    uint32_t d1[] = {1}, d12[] = {1, 2}, d19[] = {1, 9};
    int h[] = {1, 1};
    assert_false(holds(&s, &r, ev, make_ev(ev, d1, h, 1)));
    /* Domain 9 is not the signature's. */
    assert_false(holds(&s, &r, ev, make_ev(ev, d19, h, 2)));
    assert_true(holds(&s, &r, ev, make_ev(ev, d12, h, 2)));
}

static void test_min_fraction(void **state)
{
    (void)state;
    hs_signature s = make_sig(NULL, 0);
    hs_evidence ev[3];
    uint32_t d12[] = {1, 2};
    int h[] = {1, 1};
    size_t n = make_ev(ev, d12, h, 2);
    hs_rule_eff r = make_rule(1, 0.6, 1);
    assert_true(holds(&s, &r, ev, n));
    r.min_fraction = 0.7;
    assert_false(holds(&s, &r, ev, n));
    r.min_fraction = 2.0 / 3.0;
    assert_true(holds(&s, &r, ev, n));
}

static void test_required(void **state)
{
    (void)state;
    uint32_t req[] = {3};
    hs_signature s = make_sig(req, 1);
    hs_rule_eff r = make_rule(1, 0, 1);
    hs_evidence ev[3];
    uint32_t d12[] = {1, 2}, d13[] = {1, 3};
    int h[] = {1, 1};
    assert_false(holds(&s, &r, ev, make_ev(ev, d12, h, 2)));
    assert_true(holds(&s, &r, ev, make_ev(ev, d13, h, 2)));
}

static void test_min_hits(void **state)
{
    (void)state;
    hs_signature s = make_sig(NULL, 0);
    hs_rule_eff r = make_rule(2, 0, 3);
    hs_evidence ev[3];
    uint32_t d12[] = {1, 2};
    int few[] = {3, 2}, enough[] = {3, 3};
    assert_false(holds(&s, &r, ev, make_ev(ev, d12, few, 2)));
    assert_true(holds(&s, &r, ev, make_ev(ev, d12, enough, 2)));
}

static void test_verdict_details(void **state)
{
    (void)state;
    hs_signature s = make_sig(NULL, 0);
    hs_rule_eff r = make_rule(1, 0, 2);
    hs_evidence ev[3];
    uint32_t d[] = {1, 2, 3};
    int h[] = {2, 1, 4};
    size_t n = make_ev(ev, d, h, 3);
    uint32_t seen[3];
    hs_verdict v;
    hs_rule_eval(&s, &r, ev, n, 100, 100, &v, seen);
    assert_true(v.holds);
    assert_int_equal(v.domains_seen, 2);
    assert_int_equal(seen[0], 1);
    assert_int_equal(seen[1], 3);
    assert_int_equal(v.hits, 7);
    assert_int_equal(v.first_s, 1000);
    assert_int_equal(v.last_s, 1002);
}

static void test_window_end(void **state)
{
    (void)state;
    hs_signature s = make_sig(NULL, 0);
    hs_rule_eff r = make_rule(1, 0, 1);
    r.nb = 4;
    hs_evidence ev[1];
    uint32_t d[] = {2};
    int h[] = {1};
    size_t n = make_ev(ev, d, h, 1);
    hs_verdict v;
    hs_rule_eval(&s, &r, ev, n, 100, 103, &v, NULL);
    assert_true(v.holds);
    hs_rule_eval(&s, &r, ev, n, 100, 104, &v, NULL);
    assert_false(v.holds);
}

static void test_resolve(void **state)
{
    (void)state;
    hs_rule defaults = {.min_domains = 2, .min_fraction = 0.5,
                        .min_hits = 3, .window_ms = 3600000};
    hs_rule own = {.min_domains = 5, .window_ms = 7200000,
                   .min_hits = 0, .set = HS_RULE_MIN_DOMAINS | HS_RULE_WINDOW};
    hs_rule_eff r;
    hs_rule_resolve(&defaults, &own, &r);
    assert_int_equal(r.min_domains, 5);
    assert_true(r.min_fraction == 0.5);
    assert_int_equal(r.min_hits, 3);
    assert_int_equal(r.window_ms, 7200000);
    hs_rule_set_width(&r, 450000);
    assert_int_equal(r.nb, 16);
    hs_rule_set_width(&r, 1000000);
    assert_int_equal(r.nb, 8);
    /* Rules that need nothing are raised to one domain, one hit. */
    hs_rule zero = {.set = HS_RULE_MIN_DOMAINS | HS_RULE_MIN_HITS};
    hs_rule_resolve(&defaults, &zero, &r);
    assert_int_equal(r.min_domains, 1);
    assert_int_equal(r.min_hits, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_min_domains),
        cmocka_unit_test(test_min_fraction),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_min_hits),
        cmocka_unit_test(test_verdict_details),
        cmocka_unit_test(test_window_end),
        cmocka_unit_test(test_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
