/* test_subscriber.c - subscriber keys: IPv4 address, IPv6 prefix. */
#include "testutil.h"

#include <string.h>

#include "subscriber.h"

static hs_subscriber key_of(const char *addr, unsigned plen)
{
    hs_ip ip;
    hs_subscriber s;
    assert_int_equal(hs_ip_parse(addr, &ip), 0);
    hs_subscriber_from_ip(&ip, plen, &s);
    return s;
}

static void test_v4(void **state)
{
    (void)state;
    char buf[64];
    hs_subscriber s = key_of("198.51.100.7", 56);
    assert_int_equal(s.af, HS_AF_V4);
    assert_int_equal(s.key, 0xc6336407u);
    assert_string_equal(hs_subscriber_format(&s, buf, sizeof(buf)),
                        "198.51.100.7");
}

static void test_v6_prefix(void **state)
{
    (void)state;
    char buf[64];
    hs_subscriber a = key_of("2001:db8:1:1a5::1", 56);
    hs_subscriber b = key_of("2001:db8:1:1ff:abcd::9", 56);
    hs_subscriber c = key_of("2001:db8:1:200::1", 56);
    assert_true(hs_subscriber_equal(&a, &b));
    assert_false(hs_subscriber_equal(&a, &c));
    assert_int_equal(hs_subscriber_hash(&a), hs_subscriber_hash(&b));
    assert_string_equal(hs_subscriber_format(&a, buf, sizeof(buf)),
                        "2001:db8:1:100::/56");
    hs_subscriber d = key_of("2001:db8:1:1a5:ffff::1", 64);
    assert_string_equal(hs_subscriber_format(&d, buf, sizeof(buf)),
                        "2001:db8:1:1a5::/64");
    hs_subscriber e = key_of("2001:db8:1:1a5::1", 1);
    assert_string_equal(hs_subscriber_format(&e, buf, sizeof(buf)), "::/1");
}

static void test_families_apart(void **state)
{
    (void)state;
    /* The same 64-bit value under two families is two subscribers. */
    hs_subscriber v4 = key_of("198.51.100.7", 64);
    hs_subscriber v6 = {.key = v4.key, .af = HS_AF_V6, .plen = 64};
    assert_false(hs_subscriber_equal(&v4, &v6));
    assert_int_not_equal(hs_subscriber_hash(&v4), hs_subscriber_hash(&v6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4),
        cmocka_unit_test(test_v6_prefix),
        cmocka_unit_test(test_families_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
