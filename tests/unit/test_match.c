/* test_match.c - from flow records to hits, without the engine. */
#include "testutil.h"

#include <string.h>

#include "match.h"

static const char *set_json =
    "{\"version\":1,\"domains\":["
    "{\"name\":\"a\",\"endpoints\":[{\"prefix\":\"192.0.2.0/28\","
    "\"ports\":[443],\"proto\":\"tcp\"},{\"prefix\":\"2001:db8:a::/48\"}]},"
    "{\"name\":\"b\",\"endpoints\":[{\"prefix\":\"192.0.2.0/28\","
    "\"ports\":[443],\"proto\":\"tcp\"}]},"
    "{\"name\":\"ntp\",\"endpoints\":[{\"prefix\":\"198.51.100.1\","
    "\"ports\":[123],\"proto\":\"udp\"}]}],"
    "\"signatures\":[{\"id\":\"s\",\"level\":\"platform\","
    "\"domains\":[\"a\",\"b\",\"ntp\"]}]}";

static hs_sigset *set;

static int setup(void **state)
{
    (void)state;
    char err[256];
    return hs_sigset_load_buf("m.json", set_json, strlen(set_json), &set,
                              err, sizeof(err));
}

static int teardown(void **state)
{
    (void)state;
    hs_sigset_free(set);
    return 0;
}

static hs_flow mkflow(const char *src, uint16_t sport, const char *dst,
                      uint16_t dport, uint8_t proto)
{
    hs_flow f = {.src_port = sport, .dst_port = dport, .proto = proto,
                 .start_ms = 1000, .end_ms = 2000};
    assert_int_equal(hs_ip_parse(src, &f.src), 0);
    assert_int_equal(hs_ip_parse(dst, &f.dst), 0);
    return f;
}

static const hs_match_conf plain = {.ipv6_prefix_len = 56};

static void test_either_direction(void **state)
{
    (void)state;
    hs_match_stats st = {0};
    hs_hit h[8];
    char buf[64];
    /* Subscriber to backend: both domains of the shared /28. */
    hs_flow f = mkflow("203.0.113.5", 40000, "192.0.2.3", 443, 6);
    assert_int_equal(hs_match_flow(set, &plain, &f, h, 8, &st), 2);
    assert_string_equal(hs_subscriber_format(&h[0].sub, buf, sizeof(buf)),
                        "203.0.113.5");
    assert_int_equal(h[0].domain, (uint32_t)hs_sigset_find_domain(set, "a"));
    assert_int_equal(h[1].domain, (uint32_t)hs_sigset_find_domain(set, "b"));
    assert_int_equal(h[0].time_ms, 2000);
    /* The reply direction: backend to subscriber. */
    f = mkflow("198.51.100.1", 123, "203.0.113.6", 123, 17);
    f.end_ms = 0;
    assert_int_equal(hs_match_flow(set, &plain, &f, h, 8, &st), 1);
    assert_string_equal(hs_subscriber_format(&h[0].sub, buf, sizeof(buf)),
                        "203.0.113.6");
    assert_int_equal(h[0].time_ms, 1000);   /* no end time: start */
    /* Wrong protocol: nothing. */
    f = mkflow("203.0.113.5", 40000, "198.51.100.1", 123, 6);
    assert_int_equal(hs_match_flow(set, &plain, &f, h, 8, &st), 0);
    assert_int_equal(st.flows, 3);
    assert_int_equal(st.flows_matched, 2);
    assert_int_equal(st.flows_unmatched, 1);
}

static void test_v6_and_truncation(void **state)
{
    (void)state;
    hs_match_stats st = {0};
    hs_hit h[1];
    char buf[64];
    hs_flow f = mkflow("2001:db8:77:42ff::1", 5000, "2001:db8:a:1::1", 80, 6);
    assert_int_equal(hs_match_flow(set, &plain, &f, h, 1, &st), 1);
    assert_string_equal(hs_subscriber_format(&h[0].sub, buf, sizeof(buf)),
                        "2001:db8:77:4200::/56");
    f = mkflow("203.0.113.5", 40000, "192.0.2.3", 443, 6);
    assert_int_equal(hs_match_flow(set, &plain, &f, h, 1, &st), 1);
    assert_int_equal(st.hits_truncated, 1);
}

static void test_prefixes_pick_subscriber(void **state)
{
    (void)state;
    hs_cidr p = {.len = 24};
    assert_int_equal(hs_ip_parse("203.0.113.0", &p.addr), 0);
    hs_match_conf c = {.ipv6_prefix_len = 56, .subscriber_prefixes = &p,
                       .n_subscriber_prefixes = 1};
    hs_match_stats st = {0};
    hs_hit h[8];
    hs_flow f = mkflow("203.0.113.5", 40000, "192.0.2.3", 443, 6);
    assert_int_equal(hs_match_flow(set, &c, &f, h, 8, &st), 2);
    f = mkflow("192.0.2.3", 443, "203.0.113.5", 40000, 6);
    assert_int_equal(hs_match_flow(set, &c, &f, h, 8, &st), 2);
    f = mkflow("192.0.2.3", 443, "198.18.0.1", 40000, 6);
    assert_int_equal(hs_match_flow(set, &c, &f, h, 8, &st), 0);
    assert_int_equal(st.flows_outside, 1);
    assert_int_equal(st.flows_matched, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_either_direction),
        cmocka_unit_test(test_v6_and_truncation),
        cmocka_unit_test(test_prefixes_pick_subscriber),
    };
    return cmocka_run_group_tests_name("match", tests, setup, teardown);
}
