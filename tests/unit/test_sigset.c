/* test_sigset.c - loading, validating and looking up a signature file. */
#include "testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigset.h"

#define EXAMPLE HS_SRC_DIR "/tests/data/signatures-example.json"

static hs_sigset *load_example(void)
{
    hs_sigset *s;
    char err[256];
    int rc = hs_sigset_load(EXAMPLE, &s, err, sizeof(err));
    if (rc)
        fail_msg("%s", err);
    return s;
}

static const hs_signature *sig_by_id(const hs_sigset *s, const char *id)
{
    int32_t i = hs_sigset_find_sig(s, id);
    assert_true(i >= 0);
    return hs_sigset_sig(s, (uint32_t)i);
}

static uint32_t dom(const hs_sigset *s, const char *name)
{
    int32_t i = hs_sigset_find_domain(s, name);
    assert_true(i >= 0);
    return (uint32_t)i;
}

static void test_example_structure(void **state)
{
    (void)state;
    hs_sigset *s = load_example();
    hs_sigset_stats st;
    hs_sigset_get_stats(s, &st);
    assert_int_equal(st.signatures, 4);
    assert_int_equal(st.domains, 8);
    assert_int_equal(st.prefixes, 11);
    assert_int_equal(hs_sigset_n_sigs(s), 4);
    assert_int_equal(hs_sigset_n_domains(s), 8);
    assert_null(hs_sigset_sig(s, 4));
    assert_null(hs_sigset_domain(s, 8));
    assert_int_equal(hs_sigset_find_sig(s, "nope"), -1);
    assert_int_equal(hs_sigset_find_domain(s, "nope"), -1);

    const hs_signature *alexa = sig_by_id(s, "alexa_enabled");
    assert_string_equal(alexa->name, "Alexa-enabled device");
    assert_int_equal(alexa->level, HS_LEVEL_PLATFORM);
    assert_int_equal(alexa->parent, -1);
    assert_int_equal(alexa->n_domains, 3);
    assert_int_equal(alexa->rule.set, HS_RULE_MIN_DOMAINS | HS_RULE_WINDOW);
    assert_int_equal(alexa->rule.min_domains, 2);
    assert_int_equal(alexa->rule.window_ms, 24 * 3600 * 1000ull);

    const hs_signature *amazon = sig_by_id(s, "amazon");
    assert_int_equal(amazon->level, HS_LEVEL_MANUFACTURER);
    assert_int_equal(amazon->parent, hs_sigset_find_sig(s, "alexa_enabled"));
    assert_int_equal(amazon->rule.set, HS_RULE_MIN_FRACTION);
    assert_true(amazon->rule.min_fraction == 0.6);

    const hs_signature *echo = sig_by_id(s, "echo_cat");
    assert_string_equal(hs_level_name(echo->level), "product");
    assert_int_equal(echo->parent, hs_sigset_find_sig(s, "amazon"));
    assert_int_equal(echo->rule.set, HS_RULE_MIN_DOMAINS | HS_RULE_MIN_HITS |
                                         HS_RULE_WINDOW);
    assert_int_equal(echo->rule.min_hits, 2);
    assert_int_equal(echo->rule.window_ms, 43200 * 1000ull);
    assert_int_equal(echo->n_required, 1);
    assert_int_equal(echo->required[0], dom(s, "avs-alexa-eu.amazon.com"));
    for (uint32_t k = 1; k < echo->n_domains; k++)
        assert_true(echo->domains[k - 1] < echo->domains[k]);

    const hs_signature *firetv = sig_by_id(s, "firetv_cat");
    assert_int_equal(firetv->rule.set, 0);
    assert_int_equal(firetv->n_required, 0);

    /* api.amazonalexa.com is in all four signatures, ascending. */
    const hs_domain *api = hs_sigset_domain(s, dom(s, "api.amazonalexa.com"));
    assert_int_equal(api->n_sigs, 4);
    for (uint32_t k = 0; k < 4; k++)
        assert_int_equal(api->sigs[k], k);
    const hs_domain *kin = hs_sigset_domain(
        s, dom(s, "kinesis.eu-west-1.amazonaws.com"));
    assert_int_equal(kin->n_sigs, 1);
    assert_int_equal(kin->sigs[0], hs_sigset_find_sig(s, "echo_cat"));
    hs_sigset_free(s);
}

typedef struct lookup_case {
    const char *addr;
    uint16_t port;
    uint8_t proto;
    const char *domains[2];
} lookup_case;

/* The table of docs/signatures.md "How a flow is matched". */
static const lookup_case doc_lookups[] = {
    {"192.0.2.5", 443, 6, {"avs-alexa-eu.amazon.com"}},
    {"192.0.2.5", 443, 17, {"spectrum.s3.amazonaws.com"}},
    {"192.0.2.32", 80, 6, {"device-metrics-us.amazon.com"}},
    {"192.0.2.32", 8080, 6, {NULL}},
    {"203.0.113.130", 443, 6, {"a4k.amazon.com", "atv-ext-eu.amazon.com"}},
    {"203.0.113.130", 8443, 6, {"a4k.amazon.com"}},
    {"2001:db8:a1e:5::1", 5353, 17, {"atv-ext-eu.amazon.com"}},
    {"2001:db8:a1e:6::1", 443, 6, {"avs-alexa-eu.amazon.com"}},
    {"198.51.100.200", 123, 17, {"ntp.amazon.com"}},
    {"198.51.100.200", 123, 6, {NULL}},
    {"198.51.100.1", 443, 6, {NULL}},
};

static void test_example_lookups(void **state)
{
    (void)state;
    hs_sigset *s = load_example();
    for (size_t i = 0; i < sizeof(doc_lookups) / sizeof(doc_lookups[0]); i++) {
        const lookup_case *c = &doc_lookups[i];
        hs_ip ip;
        assert_int_equal(hs_ip_parse(c->addr, &ip), 0);
        uint32_t out[4];
        size_t n = hs_sigset_lookup(s, &ip, c->port, c->proto, out, 4);
        size_t want = c->domains[0] ? (c->domains[1] ? 2 : 1) : 0;
        if (n != want)
            fail_msg("%s %u/%u: %zu domains, want %zu", c->addr, c->port,
                     c->proto, n, want);
        for (size_t k = 0; k < want; k++) {
            bool found = false;
            for (size_t m = 0; m < n; m++)
                found |= out[m] == dom(s, c->domains[k]);
            if (!found)
                fail_msg("%s %u/%u: %s not hit", c->addr, c->port, c->proto,
                         c->domains[k]);
        }
    }
    hs_sigset_free(s);
}

static void test_example_in_docs_is_identical(void **state)
{
    (void)state;
    char *example = tu_read_file(EXAMPLE, NULL);
    char *docs = tu_read_file(HS_SRC_DIR "/docs/signatures.md", NULL);
    assert_non_null(example);
    assert_non_null(docs);
    char *block = strstr(docs, "```json\n");
    assert_non_null(block);
    block += strlen("```json\n");
    char *end = strstr(block, "```");
    assert_non_null(end);
    *end = '\0';
    assert_string_equal(block, example);
    free(example);
    free(docs);
}

static void test_rule_merge(void **state)
{
    (void)state;
    hs_rule defaults = {.min_domains = 1, .min_fraction = 0.25, .min_hits = 1,
                        .window_ms = 86400000};
    hs_rule own = {.min_domains = 3, .min_fraction = 0.9, .min_hits = 7,
                   .window_ms = 1000,
                   .set = HS_RULE_MIN_DOMAINS | HS_RULE_WINDOW};
    hs_rule r = hs_rule_merge(&own, &defaults);
    assert_int_equal(r.min_domains, 3);
    assert_true(r.min_fraction == 0.25);
    assert_int_equal(r.min_hits, 1);
    assert_int_equal(r.window_ms, 1000);
    assert_int_equal(r.set, own.set);
    own.set = HS_RULE_MIN_FRACTION | HS_RULE_MIN_HITS;
    r = hs_rule_merge(&own, &defaults);
    assert_int_equal(r.min_domains, 1);
    assert_true(r.min_fraction == 0.9);
    assert_int_equal(r.min_hits, 7);
    assert_int_equal(r.window_ms, 86400000);
}

static void test_missing_file(void **state)
{
    (void)state;
    hs_sigset *s = (hs_sigset *)1;
    char err[256];
    assert_int_equal(hs_sigset_load("/nonexistent/sigs.json", &s, err,
                                    sizeof(err)), -ENOENT);
    assert_null(s);
    assert_string_equal(err, "/nonexistent/sigs.json: cannot read: "
                             "No such file or directory");
    assert_int_equal(hs_sigset_load("/", &s, err, sizeof(err)), -EISDIR);
    assert_string_equal(err, "/: cannot read: Is a directory");
}

/* ---- every validation error ---- */

#define DOM_A "{\"name\":\"a\",\"endpoints\":[{\"prefix\":\"192.0.2.0/24\"}]}"
#define DOM_B "{\"name\":\"b\",\"endpoints\":[{\"prefix\":\"2001:db8::/32\"}]}"
#define SIG_X(extra) \
    "{\"id\":\"x\",\"level\":\"product\",\"domains\":[\"a\",\"b\"]" extra "}"
#define FILE_OF(doms, sigs) \
    "{\"version\":1,\"domains\":[" doms "],\"signatures\":[" sigs "]}"
#define WITH_ENDPOINT(ep) \
    FILE_OF("{\"name\":\"a\",\"endpoints\":[" ep "]}", "")
#define WITH_RULE(rule) FILE_OF(DOM_A "," DOM_B, SIG_X(",\"rule\":" rule))

typedef struct error_case {
    const char *json;
    const char *error;  /* without the "t.json: " prefix */
} error_case;

static const error_case error_cases[] = {
    /* syntax */
    {"{\"version\":1,\n \"domains\":[}", "2:13: expected a value, got '}'"},
    {"", "1:1: unexpected end of input, value expected"},
    /* top level */
    {"[]", "must be an object, not array"},
    {"{\"domains\":[],\"signatures\":[]}", "missing \"version\""},
    {"{\"version\":2,\"domains\":[],\"signatures\":[]}",
     "version: unsupported version (this haystack reads version 1)"},
    {"{\"version\":1.0,\"domains\":[],\"signatures\":[]}",
     "version: unsupported version (this haystack reads version 1)"},
    {"{\"version\":\"1\",\"domains\":[],\"signatures\":[]}",
     "version: must be a number, not string"},
    {"{\"version\":1,\"signatures\":[]}", "missing \"domains\""},
    {"{\"version\":1,\"domains\":[]}", "missing \"signatures\""},
    {"{\"version\":1,\"domains\":{},\"signatures\":[]}",
     "domains: must be an array, not object"},
    {"{\"version\":1,\"domains\":[],\"signatures\":[],\"sigs\":[]}",
     "sigs: unknown key (expected version, domains, signatures, comment)"},
    {"{\"version\":1,\"domains\":[],\"signatures\":[],\"comment\":1}",
     "comment: must be a string, not number"},
    /* domains */
    {FILE_OF("1", ""), "domains[0]: must be an object, not number"},
    {FILE_OF("{\"endpoints\":[]}", ""), "domains[0]: missing \"name\""},
    {FILE_OF("{\"name\":\"\",\"endpoints\":[{\"prefix\":\"::/0\"}]}", ""),
     "domains[0].name: must not be empty"},
    {FILE_OF("{\"name\":\"a\\u0007\",\"endpoints\":[{\"prefix\":\"::/0\"}]}",
             ""),
     "domains[0].name: must not contain control characters"},
    {FILE_OF("{\"name\":\"a\\u0000b\",\"endpoints\":[{\"prefix\":\"::/0\"}]}",
             ""),
     "domains[0].name: must not contain NUL characters"},
    {WITH_ENDPOINT("{\"prefix\":\"10.0.0.0/8\\u0000junk\"}"),
     "domains[0].endpoints[0].prefix: must not contain NUL characters"},
    {FILE_OF(DOM_A, "{\"id\":\"x\",\"level\":\"product\",\"domains\":"
                    "[\"a\\u0000\"]}"),
     "signatures[0].domains[0]: must not contain NUL characters"},
    {FILE_OF("{\"name\":\"a\"}", ""), "domains[0]: missing \"endpoints\""},
    {FILE_OF("{\"name\":\"a\",\"endpoints\":[]}", ""),
     "domains[0].endpoints: must list at least one endpoint"},
    {FILE_OF("{\"name\":\"a\",\"endpoint\":[]}", ""),
     "domains[0].endpoint: unknown key (expected name, endpoints, comment)"},
    {FILE_OF(DOM_A "," DOM_B "," DOM_A, ""),
     "domains[2].name: duplicate domain \"a\" (also domains[0])"},
    /* endpoints */
    {WITH_ENDPOINT("\"192.0.2.0/24\""),
     "domains[0].endpoints[0]: must be an object, not string"},
    {WITH_ENDPOINT("{}"), "domains[0].endpoints[0]: missing \"prefix\""},
    {WITH_ENDPOINT("{\"prefix\":\"192.0.2.0/24\",\"port\":[1]}"),
     "domains[0].endpoints[0].port: unknown key (expected prefix, ports, "
     "proto, comment)"},
    {WITH_ENDPOINT("{\"prefix\":\"10.0.0.1/8\"}"),
     "domains[0].endpoints[0].prefix: host bits set in 10.0.0.1/8 "
     "(the network is 10.0.0.0/8)"},
    {WITH_ENDPOINT("{\"prefix\":\"2001:db8::1/48\"}"),
     "domains[0].endpoints[0].prefix: host bits set in 2001:db8::1/48 "
     "(the network is 2001:db8::/48)"},
    {WITH_ENDPOINT("{\"prefix\":\"192.0.2.0/33\"}"),
     "domains[0].endpoints[0].prefix: invalid prefix length in "
     "\"192.0.2.0/33\" (0 to 32)"},
    {WITH_ENDPOINT("{\"prefix\":\"2001:db8::/129\"}"),
     "domains[0].endpoints[0].prefix: invalid prefix length in "
     "\"2001:db8::/129\" (0 to 128)"},
    {WITH_ENDPOINT("{\"prefix\":\"192.0.2.0/\"}"),
     "domains[0].endpoints[0].prefix: invalid prefix length in "
     "\"192.0.2.0/\" (0 to 32)"},
    {WITH_ENDPOINT("{\"prefix\":\"192.0.2.0/024\"}"),
     "domains[0].endpoints[0].prefix: invalid prefix length in "
     "\"192.0.2.0/024\" (0 to 32)"},
    {WITH_ENDPOINT("{\"prefix\":\"192.0.2.0/2x\"}"),
     "domains[0].endpoints[0].prefix: invalid prefix length in "
     "\"192.0.2.0/2x\" (0 to 32)"},
    {WITH_ENDPOINT("{\"prefix\":\"192.0.2/24\"}"),
     "domains[0].endpoints[0].prefix: invalid address in \"192.0.2/24\""},
    {WITH_ENDPOINT("{\"prefix\":\"example.com\"}"),
     "domains[0].endpoints[0].prefix: invalid address in \"example.com\""},
    {WITH_ENDPOINT("{\"prefix\":\"\"}"),
     "domains[0].endpoints[0].prefix: invalid address in \"\""},
    {WITH_ENDPOINT("{\"prefix\":24}"),
     "domains[0].endpoints[0].prefix: must be a string, not number"},
    {WITH_ENDPOINT("{\"prefix\":\"::/0\",\"ports\":443}"),
     "domains[0].endpoints[0].ports: must be an array, not number"},
    {WITH_ENDPOINT("{\"prefix\":\"::/0\",\"ports\":[443,0]}"),
     "domains[0].endpoints[0].ports[1]: must be a port number from 1 to "
     "65535"},
    {WITH_ENDPOINT("{\"prefix\":\"::/0\",\"ports\":[65536]}"),
     "domains[0].endpoints[0].ports[0]: must be a port number from 1 to "
     "65535"},
    {WITH_ENDPOINT("{\"prefix\":\"::/0\",\"ports\":[\"443\"]}"),
     "domains[0].endpoints[0].ports[0]: must be a port number from 1 to "
     "65535"},
    {WITH_ENDPOINT("{\"prefix\":\"::/0\",\"ports\":[44.3]}"),
     "domains[0].endpoints[0].ports[0]: must be a port number from 1 to "
     "65535"},
    {WITH_ENDPOINT("{\"prefix\":\"::/0\",\"proto\":\"icmp\"}"),
     "domains[0].endpoints[0].proto: must be \"tcp\", \"udp\" or \"any\""},
    {WITH_ENDPOINT("{\"prefix\":\"::/0\",\"proto\":6}"),
     "domains[0].endpoints[0].proto: must be a string, not number"},
    /* signatures */
    {FILE_OF(DOM_A, "[]"), "signatures[0]: must be an object, not array"},
    {FILE_OF(DOM_A, "{\"level\":\"product\",\"domains\":[\"a\"]}"),
     "signatures[0]: missing \"id\""},
    {FILE_OF(DOM_A, "{\"id\":\"x\",\"domains\":[\"a\"]}"),
     "signatures[0]: missing \"level\""},
    {FILE_OF(DOM_A, "{\"id\":\"x\",\"level\":\"product\"}"),
     "signatures[0]: missing \"domains\""},
    {FILE_OF(DOM_A, "{\"id\":\"x\",\"level\":\"device\",\"domains\":[\"a\"]}"),
     "signatures[0].level: must be \"platform\", \"manufacturer\" or "
     "\"product\""},
    {FILE_OF(DOM_A, "{\"id\":\"x y\",\"level\":\"product\",\"domains\":[\"a\"]}"),
     "signatures[0].id: \"x y\": an id may hold only letters, digits, '_', "
     "'-' and '.'"},
    {FILE_OF(DOM_A, "{\"id\":\"\",\"level\":\"product\",\"domains\":[\"a\"]}"),
     "signatures[0].id: must not be empty"},
    {FILE_OF(DOM_A, "{\"id\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                    "xxxxxxxxxxxxxxxxxxxx\",\"level\":\"product\","
                    "\"domains\":[\"a\"]}"),
     "signatures[0].id: longer than 64 bytes"},
    {FILE_OF(DOM_A, SIG_X("") "," SIG_X("")),
     "signatures[0].domains[1]: unknown domain \"b\" (not in \"domains\")"},
    {FILE_OF(DOM_A "," DOM_B, SIG_X("") "," SIG_X("")),
     "signatures[1].id: duplicate id \"x\" (also signatures[0])"},
    {FILE_OF(DOM_A, "{\"id\":\"x\",\"level\":\"product\",\"domains\":[\"a\"]},"
                    "{\"id\":\"y\",\"name\":\"x\",\"level\":\"product\","
                    "\"domains\":[\"a\"]}"),
     "signatures[1].name: duplicate name \"x\" (also signatures[0])"},
    {FILE_OF(DOM_A, "{\"id\":\"x\",\"level\":\"product\",\"domains\":[]}"),
     "signatures[0].domains: must list at least one domain"},
    {FILE_OF(DOM_A, "{\"id\":\"x\",\"level\":\"product\",\"domains\":[\"a\","
                    "\"a\"]}"),
     "signatures[0].domains: lists domain \"a\" twice"},
    {FILE_OF(DOM_A, "{\"id\":\"x\",\"level\":\"product\",\"domains\":[1]}"),
     "signatures[0].domains[0]: must be a string, not number"},
    {FILE_OF(DOM_A "," DOM_B, SIG_X(",\"Rule\":{}")),
     "signatures[0].Rule: unknown key (expected id, name, level, parent, "
     "domains, rule, comment)"},
    {FILE_OF(DOM_A "," DOM_B, SIG_X(",\"rule\":[]")),
     "signatures[0].rule: must be an object, not array"},
    /* parents */
    {FILE_OF(DOM_A "," DOM_B, SIG_X(",\"parent\":\"nope\"")),
     "signatures[0].parent: unknown signature \"nope\""},
    {FILE_OF(DOM_A "," DOM_B, SIG_X(",\"parent\":\"x\"")),
     "signatures[0].parent: cycle: \"x\" is its own ancestor"},
    {FILE_OF(DOM_A,
             "{\"id\":\"p\",\"level\":\"platform\",\"domains\":[\"a\"]},"
             "{\"id\":\"x\",\"level\":\"product\",\"domains\":[\"a\"],"
             "\"parent\":\"y\"},"
             "{\"id\":\"y\",\"level\":\"product\",\"domains\":[\"a\"],"
             "\"parent\":\"z\"},"
             "{\"id\":\"z\",\"level\":\"product\",\"domains\":[\"a\"],"
             "\"parent\":\"x\"}"),
     "signatures[1].parent: cycle: \"x\" is its own ancestor"},
    /* rules */
    {WITH_RULE("{\"min_domain\":1}"),
     "signatures[0].rule.min_domain: unknown key (expected min_domains, "
     "min_fraction, required, min_hits, window, comment)"},
    {WITH_RULE("{\"min_domains\":0}"),
     "signatures[0].rule.min_domains: must be an integer from 1 to 2 (the "
     "signature's domains)"},
    {WITH_RULE("{\"min_domains\":3}"),
     "signatures[0].rule.min_domains: must be an integer from 1 to 2 (the "
     "signature's domains)"},
    {WITH_RULE("{\"min_domains\":1.5}"),
     "signatures[0].rule.min_domains: must be an integer from 1 to 2 (the "
     "signature's domains)"},
    {WITH_RULE("{\"min_fraction\":1.01}"),
     "signatures[0].rule.min_fraction: must be a number between 0 and 1"},
    {WITH_RULE("{\"min_fraction\":-0.1}"),
     "signatures[0].rule.min_fraction: must be a number between 0 and 1"},
    {WITH_RULE("{\"min_fraction\":\"0.5\"}"),
     "signatures[0].rule.min_fraction: must be a number between 0 and 1"},
    {WITH_RULE("{\"min_hits\":0}"),
     "signatures[0].rule.min_hits: must be a positive integer"},
    {WITH_RULE("{\"min_hits\":4294967296}"),
     "signatures[0].rule.min_hits: must be a positive integer"},
    {WITH_RULE("{\"window\":\"24x\"}"),
     "signatures[0].rule.window: must be a duration such as \"90s\", "
     "\"30m\", \"24h\", \"7d\", or a number of seconds"},
    {WITH_RULE("{\"window\":\"h\"}"),
     "signatures[0].rule.window: must be a duration such as \"90s\", "
     "\"30m\", \"24h\", \"7d\", or a number of seconds"},
    {WITH_RULE("{\"window\":\"24hh\"}"),
     "signatures[0].rule.window: must be a duration such as \"90s\", "
     "\"30m\", \"24h\", \"7d\", or a number of seconds"},
    {WITH_RULE("{\"window\":1.5}"),
     "signatures[0].rule.window: must be a duration such as \"90s\", "
     "\"30m\", \"24h\", \"7d\", or a number of seconds"},
    {WITH_RULE("{\"window\":\"0s\"}"),
     "signatures[0].rule.window: must be from 1s to 365d"},
    {WITH_RULE("{\"window\":\"366d\"}"),
     "signatures[0].rule.window: must be from 1s to 365d"},
    {WITH_RULE("{\"window\":-5}"),
     "signatures[0].rule.window: must be from 1s to 365d"},
    {WITH_RULE("{\"window\":\"999999999999d\"}"),
     "signatures[0].rule.window: must be from 1s to 365d"},
    {WITH_RULE("{\"required\":\"a\"}"),
     "signatures[0].rule.required: must be an array, not string"},
    {WITH_RULE("{\"required\":[\"c\"]}"),
     "signatures[0].rule.required[0]: unknown domain \"c\" (not in "
     "\"domains\")"},
    {WITH_RULE("{\"required\":[\"a\",\"a\"]}"),
     "signatures[0].rule.required: lists domain \"a\" twice"},
    {FILE_OF(DOM_A "," DOM_B,
             "{\"id\":\"x\",\"level\":\"product\",\"domains\":[\"a\"],"
             "\"rule\":{\"required\":[\"b\"]}}"),
     "signatures[0].rule.required: \"b\" is not one of the signature's "
     "domains"},
};

static void test_validation_errors(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        const error_case *c = &error_cases[i];
        hs_sigset *s = (hs_sigset *)1;
        char err[512], want[512];
        int rc = hs_sigset_load_buf("t.json", c->json, strlen(c->json), &s,
                                    err, sizeof(err));
        bool syntax = c->error[0] >= '0' && c->error[0] <= '9';
        snprintf(want, sizeof(want), "t.json%s%s", syntax ? ":" : ": ",
                 c->error);
        if (rc != -EINVAL || s != NULL || strcmp(err, want) != 0) {
            print_error("case %zu: rc %d\n got: %s\nwant: %s\n", i, rc, err,
                        want);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static hs_sigset *load_ok(const char *json)
{
    hs_sigset *s;
    char err[512];
    if (hs_sigset_load_buf("t.json", json, strlen(json), &s, err,
                           sizeof(err)) != 0)
        fail_msg("%s", err);
    return s;
}

static void test_empty_set(void **state)
{
    (void)state;
    hs_sigset *s = load_ok("{\"version\":1,\"comment\":\"c\",\"domains\":[],"
                           "\"signatures\":[]}");
    hs_sigset_stats st;
    hs_sigset_get_stats(s, &st);
    assert_int_equal(st.signatures + st.domains + st.prefixes, 0);
    hs_ip ip;
    assert_int_equal(hs_ip_parse("192.0.2.1", &ip), 0);
    uint32_t out[1];
    assert_int_equal(hs_sigset_lookup(s, &ip, 443, 6, out, 1), 0);
    hs_sigset_free(s);
}

static void test_optional_forms(void **state)
{
    (void)state;
    /* Comments everywhere, any port/proto, a parent defined later, bare
     * second windows, an unreferenced domain, repeated ports. */
    hs_sigset *s = load_ok(FILE_OF(
        "{\"name\":\"a\",\"comment\":\"c\",\"endpoints\":[{\"prefix\":"
        "\"0.0.0.0/0\",\"ports\":[],\"proto\":\"any\",\"comment\":\"\"}]},"
        "{\"name\":\"b\",\"endpoints\":[{\"prefix\":\"192.0.2.7\","
        "\"ports\":[443,443,80],\"proto\":\"udp\"}]},"
        "{\"name\":\"unused\",\"endpoints\":[{\"prefix\":\"::1\"}]}",
        "{\"id\":\"x\",\"level\":\"product\",\"parent\":\"y\","
        "\"domains\":[\"b\",\"a\"],\"comment\":\"c\",\"rule\":{\"comment\":"
        "\"c\",\"window\":\"90\",\"min_fraction\":0,\"required\":[]}},"
        "{\"id\":\"y\",\"level\":\"platform\",\"domains\":[\"a\"],"
        "\"rule\":{\"window\":\"30m\",\"min_fraction\":1}},"
        "{\"id\":\"z\",\"level\":\"manufacturer\",\"domains\":[\"a\"],"
        "\"rule\":{\"window\":\"7d\",\"min_hits\":3}}"));
    const hs_signature *x = sig_by_id(s, "x");
    assert_string_equal(x->name, "x");
    assert_int_equal(x->parent, 1);
    assert_int_equal(x->rule.window_ms, 90000);
    assert_int_equal(x->rule.set, HS_RULE_WINDOW | HS_RULE_MIN_FRACTION);
    assert_int_equal(x->n_required, 0);
    assert_int_equal(x->domains[0], 0);
    assert_int_equal(x->domains[1], 1);
    assert_int_equal(sig_by_id(s, "y")->rule.window_ms, 1800000);
    assert_true(sig_by_id(s, "y")->rule.min_fraction == 1.0);
    assert_int_equal(sig_by_id(s, "z")->rule.window_ms, 7 * 86400000ull);
    assert_int_equal(sig_by_id(s, "z")->level, HS_LEVEL_MANUFACTURER);
    assert_int_equal(hs_sigset_domain(s, dom(s, "unused"))->n_sigs, 0);

    hs_ip ip;
    uint32_t out[2];
    assert_int_equal(hs_ip_parse("192.0.2.7", &ip), 0);
    assert_int_equal(hs_sigset_lookup(s, &ip, 80, 17, out, 2), 1);
    assert_int_equal(out[0], dom(s, "b"));
    assert_int_equal(hs_sigset_lookup(s, &ip, 80, 6, out, 2), 1);
    assert_int_equal(out[0], dom(s, "a"));
    hs_sigset_free(s);
}

/* Every truncation of the example fails cleanly (no crash, no leak). */
static void test_truncated_example(void **state)
{
    (void)state;
    size_t len;
    char *text = tu_read_file(EXAMPLE, &len);
    assert_non_null(text);
    for (size_t n = 0; n < len; n += 7) {
        hs_sigset *s;
        char err[256];
        int rc = hs_sigset_load_buf("t.json", text, n, &s, err, sizeof(err));
        assert_int_equal(rc, -EINVAL);
        assert_null(s);
        assert_true(strncmp(err, "t.json:", 7) == 0);
    }
    free(text);
}

/* Random byte edits of the example: each load ends in a set or an error,
 * never a crash, leak or sanitizer report (a fixed-seed stand-in for the
 * fuzzer). Edits that keep the file valid must give a consistent set. */
static void test_mutated_example(void **state)
{
    (void)state;
    size_t len;
    char *text = tu_read_file(EXAMPLE, &len);
    assert_non_null(text);
    char *buf = malloc(len);
    assert_non_null(buf);
    uint32_t rnd = 7;
    int loaded = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, text, len);
        for (int e = 0; e <= iter % 3; e++) {
            rnd = rnd * 1103515245u + 12345u;
            size_t pos = (rnd >> 4) % len;
            rnd = rnd * 1103515245u + 12345u;
            /* Mostly plausible characters, so edits get past the parser. */
            static const char pick[] = "0123456789./:\"abcdefx{}[],- ";
            buf[pos] = rnd % 4 ? pick[(rnd >> 8) % (sizeof(pick) - 1)]
                               : (char)(rnd >> 16);
        }
        hs_sigset *s;
        char err[256];
        if (hs_sigset_load_buf("t.json", buf, len, &s, err, sizeof(err))) {
            assert_null(s);
            assert_true(strncmp(err, "t.json:", 7) == 0);
            continue;
        }
        loaded++;
        for (uint32_t i = 0; i < hs_sigset_n_sigs(s); i++) {
            const hs_signature *sig = hs_sigset_sig(s, i);
            assert_true(sig->n_domains > 0);
            assert_true(sig->parent < (int32_t)hs_sigset_n_sigs(s));
        }
        hs_sigset_free(s);
    }
    assert_true(loaded > 0);
    free(buf);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_structure),
        cmocka_unit_test(test_example_lookups),
        cmocka_unit_test(test_example_in_docs_is_identical),
        cmocka_unit_test(test_rule_merge),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_validation_errors),
        cmocka_unit_test(test_empty_set),
        cmocka_unit_test(test_optional_forms),
        cmocka_unit_test(test_truncated_example),
        cmocka_unit_test(test_mutated_example),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
