/* test_parse.c - the operator value syntaxes: durations, sizes, booleans,
 * integers, CIDR prefixes, ADDRESS:PORT and Redis URLs. */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "parse.h"

static void test_duration(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t ms;
    } ok[] = {
        {"0", 0},           {"90", 90000},      {"90s", 90000},
        {"15m", 900000},    {"24h", 86400000},  {"7d", 604800000},
        {"3650d", HS_DURATION_MAX_MS},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t ms = 1;
        assert_int_equal(hs_parse_duration_ms(ok[i].s, &ms, NULL), 0);
        assert_true(ms == ok[i].ms);
    }
    static const char *const bad[] = {"", "h", "-1s", "+5s", " 5s", "5s ",
                                      "5 s", "1.5h", "5ms", "5S", "5w",
                                      "0x10", "5hh"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t ms = 7;
        const char *why = NULL;
        assert_int_equal(hs_parse_duration_ms(bad[i], &ms, &why), -EINVAL);
        assert_non_null(why);
        assert_true(ms == 7);
    }
    uint64_t ms;
    const char *why = NULL;
    assert_int_equal(hs_parse_duration_ms("3651d", &ms, &why), -ERANGE);
    assert_string_equal(why, "duration too long (at most 3650d)");
    assert_int_equal(hs_parse_duration_ms("99999999999999999999999", &ms,
                                          &why), -ERANGE);
    assert_int_equal(hs_parse_duration_ms("18446744073709551615d", &ms,
                                          NULL), -ERANGE);
}

static void test_size(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t bytes;
    } ok[] = {
        {"0", 0},          {"65536", 65536},      {"512k", 512 * 1024},
        {"512K", 524288},  {"32m", 32ULL << 20},  {"32M", 32ULL << 20},
        {"1g", 1ULL << 30}, {"16G", 16ULL << 30},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t b = 1;
        assert_int_equal(hs_parse_size(ok[i].s, &b, NULL), 0);
        assert_true(b == ok[i].bytes);
    }
    static const char *const bad[] = {"", "k", "-1", "1kb", "1 k", "1t",
                                      "1.5m", "m1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t b;
        const char *why = NULL;
        assert_int_equal(hs_parse_size(bad[i], &b, &why), -EINVAL);
        assert_non_null(why);
    }
    uint64_t b;
    assert_int_equal(hs_parse_size("17179869184g", &b, NULL), -ERANGE);
    assert_int_equal(hs_parse_size("18446744073709551616", &b, NULL), -ERANGE);
    assert_int_equal(hs_parse_size("18446744073709551615", &b, NULL), 0);
    assert_true(b == UINT64_MAX);
}

static void test_bool(void **state)
{
    (void)state;
    static const char *const yes[] = {"true", "TRUE", "Yes", "on", "1"};
    static const char *const no[] = {"false", "False", "NO", "off", "0"};
    for (size_t i = 0; i < 5; i++) {
        bool v = false;
        assert_int_equal(hs_parse_bool(yes[i], &v, NULL), 0);
        assert_true(v);
        assert_int_equal(hs_parse_bool(no[i], &v, NULL), 0);
        assert_false(v);
    }
    static const char *const bad[] = {"", "y", "n", "2", "truee", "on "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bool v;
        const char *why = NULL;
        assert_int_equal(hs_parse_bool(bad[i], &v, &why), -EINVAL);
        assert_non_null(why);
    }
}

static void test_u64(void **state)
{
    (void)state;
    uint64_t v;
    const char *why;
    assert_int_equal(hs_parse_u64("42", 1, 64, &v, NULL), 0);
    assert_true(v == 42);
    assert_int_equal(hs_parse_u64("007", 0, 10, &v, NULL), 0);
    assert_true(v == 7);
    assert_int_equal(hs_parse_u64("0", 1, 64, &v, &why), -ERANGE);
    assert_string_equal(why, "out of range");
    assert_int_equal(hs_parse_u64("65", 1, 64, &v, NULL), -ERANGE);
    assert_int_equal(hs_parse_u64("-1", 0, 64, &v, &why), -EINVAL);
    assert_string_equal(why, "not a non-negative decimal integer");
    assert_int_equal(hs_parse_u64("", 0, 64, &v, NULL), -EINVAL);
    assert_int_equal(hs_parse_u64("1e3", 0, 5000, &v, NULL), -EINVAL);
    assert_int_equal(hs_parse_u64("99999999999999999999", 0, UINT64_MAX, &v,
                                  &why), -ERANGE);
    assert_string_equal(why, "number too large");
}

static void test_cidr(void **state)
{
    (void)state;
    hs_cidr c;
    assert_int_equal(hs_parse_cidr("192.0.2.0/24", &c, NULL), 0);
    assert_int_equal(c.addr.af, HS_AF_V4);
    assert_int_equal(c.addr.u.v4, 0xc0000200u);
    assert_int_equal(c.len, 24);
    assert_int_equal(hs_parse_cidr("192.0.2.7", &c, NULL), 0);
    assert_int_equal(c.len, 32);
    assert_int_equal(hs_parse_cidr("0.0.0.0/0", &c, NULL), 0);
    assert_int_equal(c.len, 0);
    assert_int_equal(hs_parse_cidr("2001:db8:1:100::/56", &c, NULL), 0);
    assert_int_equal(c.addr.af, HS_AF_V6);
    assert_int_equal(c.len, 56);
    assert_int_equal(hs_parse_cidr("::/0", &c, NULL), 0);
    assert_int_equal(hs_parse_cidr("2001:db8::1", &c, NULL), 0);
    assert_int_equal(c.len, 128);

    static const struct {
        const char *s;
        int rc;
        const char *why;
    } bad[] = {
        {"192.0.2.1/24", -EINVAL, "address has bits set past the prefix length"},
        {"2001:db8::1/64", -EINVAL, "address has bits set past the prefix length"},
        {"192.0.2.0/33", -ERANGE, "prefix length above 32"},
        {"::/129", -ERANGE, "prefix length above 128"},
        {"192.0.2.0/", -EINVAL, "prefix length is not a number"},
        {"192.0.2.0/-1", -EINVAL, "prefix length is not a number"},
        {"192.0.2.0/2 4", -EINVAL, "prefix length is not a number"},
        {"192.0.2/24", -EINVAL, "not an IPv4 or IPv6 address"},
        {"example.com/24", -EINVAL, "not an IPv4 or IPv6 address"},
        {"/24", -EINVAL, "not an address or ADDRESS/LENGTH prefix"},
        {"", -EINVAL, "not an address or ADDRESS/LENGTH prefix"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;
        assert_int_equal(hs_parse_cidr(bad[i].s, &c, &why), bad[i].rc);
        assert_string_equal(why, bad[i].why);
    }
    char longaddr[100];
    memset(longaddr, '1', sizeof(longaddr) - 1);
    longaddr[sizeof(longaddr) - 1] = '\0';
    assert_int_equal(hs_parse_cidr(longaddr, &c, NULL), -EINVAL);
}

static void test_cidr_contains(void **state)
{
    (void)state;
    hs_cidr c;
    hs_ip ip;
    assert_int_equal(hs_parse_cidr("198.51.100.0/22", &c, NULL), 0);
    hs_ip_parse("198.51.103.255", &ip);
    assert_true(hs_cidr_contains(&c, &ip));
    hs_ip_parse("198.51.104.0", &ip);
    assert_false(hs_cidr_contains(&c, &ip));
    hs_ip_parse("::ffff:198.51.100.1", &ip);
    assert_false(hs_cidr_contains(&c, &ip)); /* other family */

    assert_int_equal(hs_parse_cidr("0.0.0.0/0", &c, NULL), 0);
    hs_ip_parse("203.0.113.9", &ip);
    assert_true(hs_cidr_contains(&c, &ip));

    assert_int_equal(hs_parse_cidr("2001:db8:1:100::/57", &c, NULL), 0);
    hs_ip_parse("2001:db8:1:17f:ffff::1", &ip);
    assert_true(hs_cidr_contains(&c, &ip));
    hs_ip_parse("2001:db8:1:180::", &ip);
    assert_false(hs_cidr_contains(&c, &ip));
    assert_int_equal(hs_parse_cidr("2001:db8::/32", &c, NULL), 0);
    hs_ip_parse("2001:db9::", &ip);
    assert_false(hs_cidr_contains(&c, &ip));
    assert_int_equal(hs_parse_cidr("::/0", &c, NULL), 0);
    assert_true(hs_cidr_contains(&c, &ip));
}

static void test_hostport(void **state)
{
    (void)state;
    static const char *const ok[] = {"0.0.0.0:4739", "127.0.0.1:2055",
                                     "[::]:4739", "[2001:db8::1]:65535",
                                     "[::ffff:192.0.2.1]:1"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        hs_hostport hp;
        char buf[80];
        assert_int_equal(hs_parse_hostport(ok[i], &hp, NULL), 0);
        assert_string_equal(hs_hostport_format(&hp, buf, sizeof(buf)), ok[i]);
    }
    hs_hostport hp;
    assert_int_equal(hs_parse_hostport("10.1.2.3:9273", &hp, NULL), 0);
    assert_int_equal(hp.ip.af, HS_AF_V4);
    assert_int_equal(hp.ip.u.v4, 0x0a010203u);
    assert_int_equal(hp.port, 9273);

    static const struct {
        const char *s;
        const char *why;
    } bad[] = {
        {"0.0.0.0", "expected ADDRESS:PORT"},
        {"4739", "expected ADDRESS:PORT"},
        {":4739", "not a numeric IPv4 or IPv6 address"},
        {"localhost:4739", "not a numeric IPv4 or IPv6 address"},
        {"::1:4739", "IPv6 addresses need brackets: [ADDRESS]:PORT"},
        {"[::1]", "expected [IPV6]:PORT"},
        {"[::1:4739", "expected [IPV6]:PORT"},
        {"[::1]4739", "expected [IPV6]:PORT"},
        {"[127.0.0.1]:4739", "brackets are for IPv6 addresses only"},
        {"[]:4739", "not a numeric IPv4 or IPv6 address"},
        {"0.0.0.0:0", "port is not a number in 1..65535"},
        {"0.0.0.0:65536", "port is not a number in 1..65535"},
        {"0.0.0.0:", "port is not a number in 1..65535"},
        {"0.0.0.0:47x", "port is not a number in 1..65535"},
        {"[::]:-1", "port is not a number in 1..65535"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;
        assert_true(hs_parse_hostport(bad[i].s, &hp, &why) < 0);
        assert_string_equal(why, bad[i].why);
    }
    char longaddr[120];
    memset(longaddr, '1', sizeof(longaddr));
    memcpy(longaddr + 100, ":4739", 6);
    assert_int_equal(hs_parse_hostport(longaddr, &hp, NULL), -EINVAL);
    longaddr[0] = '[';
    memcpy(longaddr + 100, "]:4739", 7);
    assert_int_equal(hs_parse_hostport(longaddr, &hp, NULL), -EINVAL);
}

static void test_hostport_equal(void **state)
{
    (void)state;
    hs_hostport a, b;
    hs_parse_hostport("[::]:4739", &a, NULL);
    hs_parse_hostport("[0::0]:4739", &b, NULL);
    assert_true(hs_hostport_equal(&a, &b));
    hs_parse_hostport("[::]:4740", &b, NULL);
    assert_false(hs_hostport_equal(&a, &b));
    hs_parse_hostport("0.0.0.0:4739", &b, NULL);
    assert_false(hs_hostport_equal(&a, &b));
    hs_parse_hostport("0.0.0.0:4739", &a, NULL);
    assert_true(hs_hostport_equal(&a, &b));
}

static void expect_url(const char *s, const char *host, uint16_t port,
                       uint32_t db, const char *user, const char *password)
{
    hs_redis_url u;
    const char *why = NULL;
    int rc = hs_parse_redis_url(s, &u, &why);
    if (rc != 0)
        fail_msg("%s: %s", s, why);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_int_equal(u.db, db);
    if (user)
        assert_string_equal(u.user, user);
    else
        assert_null(u.user);
    if (password)
        assert_string_equal(u.password, password);
    else
        assert_null(u.password);
    hs_redis_url_clear(&u);
    assert_null(u.host);
}

static void test_redis_url(void **state)
{
    (void)state;
    expect_url("redis://127.0.0.1:6379/0", "127.0.0.1", 6379, 0, NULL, NULL);
    expect_url("redis://localhost", "localhost", 6379, 0, NULL, NULL);
    expect_url("REDIS://cache.example.net:7000/", "cache.example.net", 7000,
               0, NULL, NULL);
    expect_url("redis://[::1]:6380/3", "::1", 6380, 3, NULL, NULL);
    expect_url("redis://[2001:db8::5]", "2001:db8::5", 6379, 0, NULL, NULL);
    expect_url("redis://alice:s3cret@10.0.0.1:6379/2", "10.0.0.1", 6379, 2,
               "alice", "s3cret");
    expect_url("redis://:s3cret@10.0.0.1", "10.0.0.1", 6379, 0, NULL,
               "s3cret");
    expect_url("redis://s3cret@10.0.0.1", "10.0.0.1", 6379, 0, NULL,
               "s3cret");
    expect_url("redis://alice:@10.0.0.1", "10.0.0.1", 6379, 0, "alice",
               NULL);
    expect_url("redis://al%69ce:p%40ss%3Aw%2fd@h", "h", 6379, 0, "alice",
               "p@ss:w/d");
    expect_url("redis://:p@ss@h:1/15", "h", 1, 15, NULL, "p@ss");

    static const struct {
        const char *s;
        const char *why;
    } bad[] = {
        {"", "not a redis:// URL"},
        {"127.0.0.1:6379", "not a redis:// URL"},
        {"unix:///run/redis.sock", "not a redis:// URL"},
        {"http://127.0.0.1", "not a redis:// URL"},
        {"rediss://127.0.0.1", "TLS (rediss://) is not supported"},
        {"redis://", "missing or bad host name"},
        {"redis:///0", "missing or bad host name"},
        {"redis://:pw@", "missing or bad host name"},
        {"redis://ho st", "missing or bad host name"},
        {"redis://h_st", "missing or bad host name"},
        {"redis://h:0", "port is not a number in 1..65535"},
        {"redis://h:65536", "port is not a number in 1..65535"},
        {"redis://h:", "port is not a number in 1..65535"},
        {"redis://h:12345678/0", "port is not a number in 1..65535"},
        {"redis://h:63x79", "port is not a number in 1..65535"},
        {"redis://[::1", "missing ']' after IPv6 address"},
        {"redis://[::1]6379", "expected ':PORT' after ']'"},
        {"redis://[10.0.0.1]", "bad IPv6 address in brackets"},
        {"redis://[zz]:1", "bad IPv6 address in brackets"},
        {"redis://h/x", "database is not a number (redis://HOST:PORT/DB)"},
        {"redis://h/0?timeout=1",
         "database is not a number (redis://HOST:PORT/DB)"},
        {"redis://h/-1", "database is not a number (redis://HOST:PORT/DB)"},
        {"redis://h/2147483648",
         "database is not a number (redis://HOST:PORT/DB)"},
        {"redis://u:p%4@h", "bad %XX escape in user or password"},
        {"redis://u:p%@h", "bad %XX escape in user or password"},
        {"redis://u%zz:p@h", "bad %XX escape in user or password"},
        {"redis://u:p%00@h", "bad %XX escape in user or password"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        hs_redis_url u;
        const char *why = NULL;
        if (hs_parse_redis_url(bad[i].s, &u, &why) != -EINVAL)
            fail_msg("accepted %s", bad[i].s);
        assert_string_equal(why, bad[i].why);
        assert_null(u.host);
        assert_null(u.user);
        assert_null(u.password);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration),
        cmocka_unit_test(test_size),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_cidr),
        cmocka_unit_test(test_cidr_contains),
        cmocka_unit_test(test_hostport),
        cmocka_unit_test(test_hostport_equal),
        cmocka_unit_test(test_redis_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
