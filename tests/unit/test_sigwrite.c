/* test_sigwrite.c - the signature file writer: exact output of a small
 * build, escaping, rules, and that the loader haystackd uses accepts it. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigbuild.h"
#include "sigset.h"
#include "sigwrite.h"

static hs_sigbuild *small_build(void)
{
    hs_sigbuild *b = hs_sigbuild_new();
    hs_ip ip;
    assert_int_equal(hs_sigbuild_add_row(b, "cam", "cam-1", "a.example", 443), 0);
    assert_int_equal(hs_sigbuild_add_row(b, "cam", "cam-1", "b.example", 123), 0);
    assert_int_equal(hs_sigbuild_add_row(b, "hub", "hub-2", "b.example", 80), 0);
    assert_int_equal(hs_ip_parse("198.18.0.1", &ip), 0);
    assert_int_equal(hs_sigbuild_add_addr(b, "a.example", &ip), 0);
    assert_int_equal(hs_ip_parse("2001:db8::1", &ip), 0);
    assert_int_equal(hs_sigbuild_add_addr(b, "b.example", &ip), 0);
    assert_int_equal(hs_sigbuild_set_level(b, "hub", HS_LEVEL_MANUFACTURER), 0);
    assert_int_equal(hs_sigbuild_run(b), 0);
    return b;
}

static char *write_to_string(const hs_sigbuild_result *r, const hs_rule *rule,
                             size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    assert_non_null(f);
    assert_int_equal(hs_sigwrite(f, r, rule), 0);
    fclose(f);
    return text;
}

static void test_write_exact(void **state)
{
    (void)state;
    hs_sigbuild *b = small_build();
    hs_rule none = {0};
    size_t len;
    char *text = write_to_string(hs_sigbuild_result_get(b), &none, &len);
    assert_string_equal(text,
        "{\n"
        "  \"version\": 1,\n"
        "  \"comment\": \"built by haystack-sig from testbed domain lists "
        "and passive DNS: rebuild, do not edit\",\n"
        "  \"domains\": [\n"
        "    {\n"
        "      \"name\": \"a.example\",\n"
        "      \"endpoints\": [\n"
        "        {\"prefix\": \"198.18.0.1/32\", \"ports\": [443], \"proto\": \"any\"}\n"
        "      ]\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"b.example\",\n"
        "      \"endpoints\": [\n"
        "        {\"prefix\": \"2001:db8::1/128\", \"ports\": [80, 123], \"proto\": \"any\"}\n"
        "      ]\n"
        "    }\n"
        "  ],\n"
        "  \"signatures\": [\n"
        "    {\n"
        "      \"id\": \"cam\",\n"
        "      \"level\": \"product\",\n"
        "      \"comment\": \"testbed devices: cam-1\",\n"
        "      \"domains\": [\n"
        "        \"a.example\",\n"
        "        \"b.example\"\n"
        "      ]\n"
        "    },\n"
        "    {\n"
        "      \"id\": \"hub\",\n"
        "      \"level\": \"manufacturer\",\n"
        "      \"comment\": \"testbed devices: hub-2\",\n"
        "      \"domains\": [\n"
        "        \"b.example\"\n"
        "      ]\n"
        "    }\n"
        "  ]\n"
        "}\n");
    free(text);
    hs_sigbuild_free(b);
}

static void test_write_rule(void **state)
{
    (void)state;
    hs_sigbuild *b = small_build();
    hs_rule rule = {.min_domains = 2, .min_fraction = 0.25, .min_hits = 3,
                    .window_ms = 12ull * 3600 * 1000,
                    .set = HS_RULE_MIN_DOMAINS | HS_RULE_MIN_FRACTION |
                           HS_RULE_MIN_HITS | HS_RULE_WINDOW};
    size_t len;
    char *text = write_to_string(hs_sigbuild_result_get(b), &rule, &len);
    assert_non_null(strstr(text, "\"rule\": {\"min_domains\": 2, "
                                 "\"min_fraction\": 0.25, \"min_hits\": 3, "
                                 "\"window\": \"12h\"}"));
    free(text);
    rule.set = HS_RULE_WINDOW;
    rule.window_ms = 90 * 1000;
    text = write_to_string(hs_sigbuild_result_get(b), &rule, &len);
    assert_non_null(strstr(text, "\"rule\": {\"window\": \"90s\"}"));
    free(text);
    hs_sigbuild_free(b);
}

/* Names that need escaping come out as valid JSON strings. */
static void test_write_escapes(void **state)
{
    (void)state;
    hs_sigbuild *b = hs_sigbuild_new();
    hs_ip ip;
    assert_int_equal(hs_sigbuild_add_row(b, "q\"uote", "back\\slash",
                                         "a.example", 1), 0);
    assert_int_equal(hs_ip_parse("198.18.0.1", &ip), 0);
    assert_int_equal(hs_sigbuild_add_addr(b, "a.example", &ip), 0);
    assert_int_equal(hs_sigbuild_run(b), 0);
    hs_rule none = {0};
    size_t len;
    char *text = write_to_string(hs_sigbuild_result_get(b), &none, &len);
    assert_non_null(strstr(text, "\"id\": \"q\\\"uote\""));
    assert_non_null(strstr(text, "\"comment\": \"testbed devices: "
                                 "back\\\\slash\""));
    free(text);
    hs_sigbuild_free(b);
}

/* What the writer writes, the loader reads: also a group of two and a rule
 * whose min_domains had to be capped. */
static void test_write_loads(void **state)
{
    (void)state;
    hs_sigbuild *b = hs_sigbuild_new();
    hs_ip ip;
    assert_int_equal(hs_ip_parse("198.18.0.7", &ip), 0);
    assert_int_equal(hs_sigbuild_add_row(b, "s", "d", "x.example", 443), 0);
    assert_int_equal(hs_sigbuild_add_row(b, "s", "d", "y.example", 80), 0);
    assert_int_equal(hs_sigbuild_add_addr(b, "x.example", &ip), 0);
    assert_int_equal(hs_sigbuild_add_addr(b, "y.example", &ip), 0);
    assert_int_equal(hs_sigbuild_run(b), 0);
    hs_rule rule = {.min_domains = 5, .window_ms = 3600000,
                    .set = HS_RULE_MIN_DOMAINS | HS_RULE_WINDOW};
    size_t len;
    char *text = write_to_string(hs_sigbuild_result_get(b), &rule, &len);
    assert_non_null(strstr(text, "\"comment\": \"grouped (shared addresses): "
                                 "x.example, y.example\""));
    assert_non_null(strstr(text, "\"rule\": {\"min_domains\": 1, "
                                 "\"window\": \"1h\"}"));
    hs_sigset *s;
    char err[256];
    assert_int_equal(hs_sigset_load_buf("t", text, len, &s, err, sizeof(err)),
                     0);
    hs_sigset_stats st;
    hs_sigset_get_stats(s, &st);
    assert_int_equal(st.signatures, 1);
    assert_int_equal(st.domains, 1);
    assert_int_equal(st.prefixes, 1);
    const hs_signature *sig = hs_sigset_sig(s, 0);
    assert_string_equal(sig->id, "s");
    assert_int_equal(sig->level, HS_LEVEL_PRODUCT);
    assert_int_equal(sig->rule.min_domains, 1);
    assert_int_equal(sig->rule.window_ms, 3600000);
    uint32_t hit[4];
    assert_int_equal(hs_sigset_lookup(s, &ip, 80, 17, hit, 4), 1);
    assert_int_equal(hs_sigset_lookup(s, &ip, 443, 6, hit, 4), 1);
    assert_int_equal(hs_sigset_lookup(s, &ip, 22, 6, hit, 4), 0);
    hs_sigset_free(s);
    free(text);
    hs_sigbuild_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_exact),
        cmocka_unit_test(test_write_rule),
        cmocka_unit_test(test_write_escapes),
        cmocka_unit_test(test_write_loads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
