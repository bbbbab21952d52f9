/* test_flow.c - address parsing and formatting of the flow record. */
#include "testutil.h"

#include <string.h>

#include "flow.h"

static void test_ip_roundtrip(void **state)
{
    (void)state;
    const char *cases[] = {"192.0.2.1", "0.0.0.0", "255.255.255.255",
                           "2001:db8::1", "::1", "2001:db8:1:100::"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hs_ip ip;
        char buf[64];
        assert_int_equal(hs_ip_parse(cases[i], &ip), 0);
        assert_string_equal(hs_ip_format(&ip, buf, sizeof(buf)), cases[i]);
    }
}

static void test_ip_v4_host_order(void **state)
{
    (void)state;
    hs_ip ip;
    assert_int_equal(hs_ip_parse("10.1.2.3", &ip), 0);
    assert_int_equal(ip.af, HS_AF_V4);
    assert_int_equal(ip.u.v4, 0x0a010203u);
}

static void test_ip_bad(void **state)
{
    (void)state;
    hs_ip ip;
    assert_true(hs_ip_parse("300.1.1.1", &ip) < 0);
    assert_true(hs_ip_parse("", &ip) < 0);
    assert_true(hs_ip_parse("2001:db8:::1", &ip) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_roundtrip),
        cmocka_unit_test(test_ip_v4_host_order),
        cmocka_unit_test(test_ip_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
