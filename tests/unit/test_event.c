/* test_event.c - the JSON form of detection events (CONTRACT.md). */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "event.h"

static const char *set_json =
    "{\"version\":1,\"domains\":["
    "{\"name\":\"api.example.com\",\"endpoints\":[{\"prefix\":\"192.0.2.1\"}]},"
    "{\"name\":\"we\\\"ird\\\\name\",\"endpoints\":[{\"prefix\":\"192.0.2.2\"}]},"
    "{\"name\":\"ntp.example.com\",\"endpoints\":[{\"prefix\":\"192.0.2.3\"}]}],"
    "\"signatures\":["
    "{\"id\":\"echo_cat\",\"name\":\"Echo \\\"cat\\\"\",\"level\":\"product\","
    "\"parent\":\"amazon\",\"domains\":[\"api.example.com\","
    "\"we\\\"ird\\\\name\",\"ntp.example.com\"]},"
    "{\"id\":\"amazon\",\"level\":\"manufacturer\","
    "\"domains\":[\"api.example.com\"]}]}";

static hs_sigset *load(void)
{
    hs_sigset *s = NULL;
    char err[256];
    if (hs_sigset_load_buf("t.json", set_json, strlen(set_json), &s, err,
                           sizeof(err)) < 0)
        fail_msg("%s", err);
    return s;
}

static const uint32_t seen[] = {0, 1};

static hs_event fixed_event(void)
{
    hs_event ev = {
        .type = HS_EVENT_DETECTED,
        .time_ms = 1795687200123ull,       /* 2026-11-26T10:00:00.123Z */
        .subscriber = {.key = 0xc6336407u, .af = HS_AF_V4, .plen = 32},
        .sig = 0,
        .level = HS_LEVEL_PRODUCT,
        .parent = 1,
        .domains_seen = 2,
        .domains_total = 3,
        .hits = 17,
        .first_seen_ms = 1795683600000ull,
        .last_seen_ms = 1795687200000ull,
        .domains = seen,
    };
    return ev;
}

static void test_exact(void **state)
{
    (void)state;
    hs_sigset *s = load();
    hs_event ev = fixed_event();
    char buf[1024];
    int n = hs_event_format_json(&ev, s, NULL, buf, sizeof(buf));
    const char *want =
        "{\"event\":\"detected\",\"time\":\"2026-11-26T10:00:00Z\","
        "\"subscriber\":\"198.51.100.7\",\"signature\":\"echo_cat\","
        "\"level\":\"product\",\"domains_seen\":2,\"domains_total\":3,"
        "\"name\":\"Echo \\\"cat\\\"\",\"parent\":\"amazon\",\"hits\":17,"
        "\"first_seen\":\"2026-11-26T09:00:00Z\","
        "\"last_seen\":\"2026-11-26T10:00:00Z\","
        "\"domains\":[\"api.example.com\",\"we\\\"ird\\\\name\"]}";
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
    hs_sigset_free(s);
}

static void test_expired_v6_no_parent_extra(void **state)
{
    (void)state;
    hs_sigset *s = load();
    hs_event ev = fixed_event();
    ev.type = HS_EVENT_EXPIRED;
    ev.sig = 1;
    ev.level = HS_LEVEL_MANUFACTURER;
    ev.parent = -1;
    ev.domains_seen = 0;
    ev.domains_total = 1;
    ev.hits = 0;
    ev.first_seen_ms = ev.last_seen_ms = 0;     /* no evidence left */
    ev.subscriber = (hs_subscriber){.key = 0x20010db800010100ull,
                                    .af = HS_AF_V6, .plen = 56};
    char buf[1024];
    assert_true(hs_event_format_json(&ev, s, "\"asn\":64496", buf,
                                     sizeof(buf)) > 0);
    assert_string_equal(
        buf,
        "{\"event\":\"expired\",\"time\":\"2026-11-26T10:00:00Z\","
        "\"subscriber\":\"2001:db8:1:100::/56\",\"signature\":\"amazon\","
        "\"level\":\"manufacturer\",\"domains_seen\":0,\"domains_total\":1,"
        "\"name\":\"amazon\",\"hits\":0,\"domains\":[],"
        "\"asn\":64496}");
    hs_sigset_free(s);
}

static void test_too_small(void **state)
{
    (void)state;
    hs_sigset *s = load();
    hs_event ev = fixed_event();
    char buf[1024];
    int full = hs_event_format_json(&ev, s, NULL, buf, sizeof(buf));
    assert_true(full > 0);
    /* Every size short of the string and its NUL fails cleanly. */
    for (size_t len = 0; len <= (size_t)full; len++)
        assert_int_equal(hs_event_format_json(&ev, s, NULL, buf, len),
                         -ENOSPC);
    assert_int_equal(hs_event_format_json(&ev, s, NULL, buf,
                                          (size_t)full + 1), full);
    hs_sigset_free(s);
}

static void test_time_format(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(hs_time_format(0, buf, sizeof(buf)),
                        "1970-01-01T00:00:00Z");
    assert_string_equal(hs_time_format(1795687199999ull, buf, sizeof(buf)),
                        "2026-11-26T09:59:59Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),
        cmocka_unit_test(test_expired_v6_no_parent_extra),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_time_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
