/* test_json.c - the strict JSON reader and the string escaper. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Parses a copy of s in an exactly sized heap block, so ASan catches any
 * read past the end (the parser must never rely on a NUL terminator). */
static int parse_exact(const char *s, size_t len, hs_json_doc **doc,
                       hs_json_error *err)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    int rc = hs_json_parse(copy, len, doc, err);
    free(copy);
    return rc;
}

static hs_json_doc *parse_ok(const char *s)
{
    hs_json_doc *doc = NULL;
    hs_json_error err = {0};
    int rc = parse_exact(s, strlen(s), &doc, &err);
    if (rc != 0)
        fail_msg("parse of %s failed: %u:%u: %s", s, err.line, err.col,
                 err.msg);
    return doc;
}

static void test_literals(void **state)
{
    (void)state;
    hs_json_doc *doc = parse_ok(" [true, false, null] ");
    const hs_json *root = hs_json_root(doc);
    assert_int_equal(root->type, HS_JSON_ARRAY);
    assert_int_equal(hs_json_len(root), 3);
    assert_int_equal(hs_json_at(root, 0)->type, HS_JSON_BOOL);
    assert_true(hs_json_at(root, 0)->u.b);
    assert_false(hs_json_at(root, 1)->u.b);
    assert_int_equal(hs_json_at(root, 2)->type, HS_JSON_NULL);
    assert_null(hs_json_at(root, 3));
    hs_json_free(doc);

    doc = parse_ok("null");
    assert_int_equal(hs_json_root(doc)->type, HS_JSON_NULL);
    hs_json_free(doc);

    /* Empty containers before any entry was collected (found by fuzzing:
     * no arithmetic on the still-NULL scratch arrays). */
    doc = parse_ok("[]");
    assert_int_equal(hs_json_root(doc)->type, HS_JSON_ARRAY);
    assert_int_equal(hs_json_len(hs_json_root(doc)), 0);
    hs_json_free(doc);
    doc = parse_ok("{}");
    assert_int_equal(hs_json_root(doc)->type, HS_JSON_OBJECT);
    assert_int_equal(hs_json_len(hs_json_root(doc)), 0);
    hs_json_free(doc);
}

static void test_object_order_and_get(void **state)
{
    (void)state;
    hs_json_doc *doc = parse_ok("{\"z\":1,\"a\":{\"inner\":[]},\"m\":\"x\"}");
    const hs_json *root = hs_json_root(doc);
    assert_int_equal(hs_json_len(root), 3);
    assert_string_equal(hs_json_member_at(root, 0)->key, "z");
    assert_string_equal(hs_json_member_at(root, 1)->key, "a");
    assert_string_equal(hs_json_member_at(root, 2)->key, "m");
    assert_null(hs_json_member_at(root, 3));
    assert_string_equal(hs_json_str(hs_json_get(root, "m")), "x");
    const hs_json *a = hs_json_get(root, "a");
    assert_int_equal(a->type, HS_JSON_OBJECT);
    assert_int_equal(hs_json_get(a, "inner")->type, HS_JSON_ARRAY);
    assert_int_equal(hs_json_len(hs_json_get(a, "inner")), 0);
    assert_null(hs_json_get(root, "missing"));
    assert_null(hs_json_get(hs_json_get(root, "m"), "m"));
    assert_null(hs_json_str(a));
    assert_null(hs_json_at(root, 0));
    assert_null(hs_json_member_at(hs_json_get(a, "inner"), 0));
    hs_json_free(doc);
}

static void test_numbers(void **state)
{
    (void)state;
    hs_json_doc *doc = parse_ok(
        "[0, -0, 42, -17, 9223372036854775807, -9223372036854775808,"
        " 9223372036854775808, -9223372036854775809,"
        " 184467440737095516150, 1.5, -2.25e2, 1E3, 1e-400, 0.1]");
    const hs_json *r = hs_json_root(doc);
    int64_t i;
    assert_true(hs_json_int(hs_json_at(r, 0), &i));
    assert_int_equal(i, 0);
    assert_true(hs_json_int(hs_json_at(r, 1), &i));
    assert_int_equal(i, 0);
    assert_true(hs_json_int(hs_json_at(r, 2), &i));
    assert_int_equal(i, 42);
    assert_true(hs_json_int(hs_json_at(r, 3), &i));
    assert_int_equal(i, -17);
    assert_true(hs_json_int(hs_json_at(r, 4), &i));
    assert_true(i == INT64_MAX);
    assert_true(hs_json_int(hs_json_at(r, 5), &i));
    assert_true(i == INT64_MIN);
    /* Integers beyond int64 are kept as doubles. */
    assert_false(hs_json_int(hs_json_at(r, 6), &i));
    assert_true(hs_json_num(hs_json_at(r, 6)) == 9223372036854775808.0);
    assert_false(hs_json_int(hs_json_at(r, 7), &i));
    assert_true(hs_json_num(hs_json_at(r, 7)) < -9.2e18);
    assert_false(hs_json_int(hs_json_at(r, 8), &i));
    assert_true(hs_json_num(hs_json_at(r, 8)) > 1.8e20);
    assert_false(hs_json_int(hs_json_at(r, 9), &i));
    assert_true(hs_json_num(hs_json_at(r, 9)) == 1.5);
    assert_true(hs_json_num(hs_json_at(r, 10)) == -225.0);
    /* An exponent makes a non-integer even when the value is whole. */
    assert_false(hs_json_int(hs_json_at(r, 11), &i));
    assert_true(hs_json_num(hs_json_at(r, 11)) == 1000.0);
    assert_true(hs_json_num(hs_json_at(r, 12)) == 0.0);
    assert_true(hs_json_num(hs_json_at(r, 13)) == 0.1);
    assert_true(hs_json_num(hs_json_at(r, 2)) == 42.0);
    assert_true(hs_json_num(hs_json_get(r, "x")) == 0.0);
    hs_json_free(doc);

    /* A number longer than any stack buffer. */
    char big[600] = "0.";
    memset(big + 2, '5', sizeof(big) - 3);
    big[sizeof(big) - 1] = '\0';
    doc = parse_ok(big);
    assert_true(hs_json_num(hs_json_root(doc)) > 0.55);
    hs_json_free(doc);
}

static void test_strings(void **state)
{
    (void)state;
    hs_json_doc *doc = parse_ok(
        "[\"plain\", \"\", \"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\","
        " \"\\u00e9\\u20AC\", \"\\ud83d\\ude00\", \"caf\xc3\xa9 \xf0\x9f\x98\x80\","
        " \"nul\\u0000in\"]");
    const hs_json *r = hs_json_root(doc);
    assert_string_equal(hs_json_str(hs_json_at(r, 0)), "plain");
    assert_int_equal(hs_json_len(hs_json_at(r, 0)), 5);
    assert_string_equal(hs_json_str(hs_json_at(r, 1)), "");
    assert_string_equal(hs_json_str(hs_json_at(r, 2)), "q\"b\\s/\b\f\n\r\t");
    assert_string_equal(hs_json_str(hs_json_at(r, 3)), "\xc3\xa9\xe2\x82\xac");
    assert_string_equal(hs_json_str(hs_json_at(r, 4)), "\xf0\x9f\x98\x80");
    assert_string_equal(hs_json_str(hs_json_at(r, 5)),
                        "caf\xc3\xa9 \xf0\x9f\x98\x80");
    const hs_json *nul = hs_json_at(r, 6);
    assert_int_equal(hs_json_len(nul), 6);
    assert_memory_equal(hs_json_str(nul), "nul\0in", 7);
    hs_json_free(doc);
}

static void test_keys_with_escapes(void **state)
{
    (void)state;
    hs_json_doc *doc = parse_ok("{\"k\\u00e9y\":1, \"a\\u0000b\":2}");
    const hs_json *r = hs_json_root(doc);
    int64_t i;
    assert_true(hs_json_int(hs_json_get(r, "k\xc3\xa9y"), &i));
    assert_int_equal(i, 1);
    /* A key holding NUL is not found by its C-string prefix. */
    assert_null(hs_json_get(r, "a"));
    assert_int_equal(hs_json_member_at(r, 1)->key_len, 3);
    hs_json_free(doc);
}

typedef struct bad_case {
    const char *text;
    uint32_t line, col;
    const char *msg;    /* a substring of the message */
} bad_case;

static const bad_case bad_cases[] = {
    {"", 1, 1, "unexpected end of input"},
    {"   \n  ", 2, 3, "unexpected end of input"},
    {"[1,]", 1, 4, "expected a value, got ']'"},
    {"[1 2]", 1, 4, "expected ',' or ']' in array"},
    {"{\"a\":1,}", 1, 8, "expected a string key"},
    {"{\"a\" 1}", 1, 6, "expected ':'"},
    {"{a:1}", 1, 2, "expected a string key"},
    {"{\"a\":1 \"b\":2}", 1, 8, "expected ',' or '}' in object"},
    {"[1]]", 1, 4, "trailing ']'"},
    {"1 2", 1, 3, "trailing '2'"},
    {"tru", 1, 1, "invalid literal (expected true)"},
    {"nulL", 1, 1, "invalid literal"},
    {"True", 1, 1, "expected a value, got 'T'"},
    {"01", 1, 1, "leading zero"},
    {"-", 1, 1, "digit expected"},
    {"-a", 1, 1, "digit expected"},
    {"1.", 1, 1, "digit expected after '.'"},
    {".5", 1, 1, "expected a value, got '.'"},
    {"1e", 1, 1, "digit expected in exponent"},
    {"1e+", 1, 1, "digit expected in exponent"},
    {"+1", 1, 1, "expected a value, got '+'"},
    {"1e999", 1, 1, "number out of range"},
    {"-1e999", 1, 1, "number out of range"},
    {"NaN", 1, 1, "expected a value"},
    {"\"abc", 1, 5, "unterminated string"},
    {"\"abc\\", 1, 5, "unterminated string"},
    {"[\"a\tb\"]", 1, 4, "control character 0x09"},
    {"\"a\nb\"", 1, 3, "control character 0x0a"},
    {"\"\\x\"", 1, 2, "invalid escape '\\' followed by 'x'"},
    {"\"\\u12\"", 1, 2, "4 hex digits expected"},
    {"\"\\u12G4\"", 1, 2, "4 hex digits expected"},
    {"\"\\udc00\"", 1, 2, "lone low surrogate"},
    {"\"\\ud800\"", 1, 2, "without low surrogate"},
    {"\"\\ud800\\u0041\"", 1, 2, "without low surrogate"},
    {"\"\\ud800x\"", 1, 2, "without low surrogate"},
    {"\"\xff\"", 1, 2, "invalid UTF-8"},
    {"\"\xc3\"", 1, 2, "invalid UTF-8"},
    {"\"\xc0\xaf\"", 1, 2, "invalid UTF-8"},            /* overlong */
    {"\"\xe0\x80\xaf\"", 1, 2, "invalid UTF-8"},        /* overlong */
    {"\"\xed\xa0\x80\"", 1, 2, "invalid UTF-8"},        /* surrogate */
    {"\"\xf4\x90\x80\x80\"", 1, 2, "invalid UTF-8"},    /* > U+10FFFF */
    {"\"\xf0\x9f\x98\"", 1, 2, "invalid UTF-8"},        /* truncated */
    {"\xef\xbb\xbf{}", 1, 1, "expected a value, got byte 0xef"},
    {"{\"a\":1,\"b\":2,\"a\":3}", 1, 14, "duplicate key \"a\""},
    {"[\n  {\"x\": 1},\n  {\"x\": [1, @]}\n]", 3, 13, "got '@'"},
    {"{\"\xc3\xa9\xc3\xa9\": x}", 1, 8, "got 'x'"},   /* columns count chars */
    {"// comment\n{}", 1, 1, "got '/'"},
    {"[1,\r\n2,\r\n]", 3, 1, "got ']'"},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case *c = &bad_cases[i];
        hs_json_doc *doc = (hs_json_doc *)1;
        hs_json_error err = {0};
        int rc = parse_exact(c->text, strlen(c->text), &doc, &err);
        if (rc != -EINVAL || doc != NULL || err.line != c->line ||
            err.col != c->col || !strstr(err.msg, c->msg))
            fail_msg("case %zu (%s): rc %d at %u:%u \"%s\", want %u:%u \"%s\"",
                     i, c->text, rc, err.line, err.col, err.msg, c->line,
                     c->col, c->msg);
    }
}

static void test_embedded_nul_byte_rejected(void **state)
{
    (void)state;
    hs_json_doc *doc;
    hs_json_error err;
    assert_int_equal(parse_exact("[1]\0", 4, &doc, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "byte 0x00"));
    assert_int_equal(parse_exact("\"a\0\"", 4, &doc, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "control character 0x00"));
    /* err is optional. */
    assert_int_equal(parse_exact("[", 1, &doc, NULL), -EINVAL);
    /* (NULL, 0) is an empty document. */
    assert_int_equal(hs_json_parse(NULL, 0, &doc, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unexpected end of input"));
}

static char *nested(size_t depth, char open, char close)
{
    char *s = malloc(2 * depth + 1);
    assert_non_null(s);
    memset(s, open, depth);
    memset(s + depth, close, depth);
    s[2 * depth] = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    (void)state;
    char *ok = nested(HS_JSON_MAX_DEPTH, '[', ']');
    hs_json_doc *doc = parse_ok(ok);
    hs_json_free(doc);
    free(ok);

    char *deep = nested(HS_JSON_MAX_DEPTH + 1, '[', ']');
    hs_json_error err;
    assert_int_equal(parse_exact(deep, strlen(deep), &doc, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "nesting deeper"));
    assert_int_equal(err.col, HS_JSON_MAX_DEPTH + 1);
    free(deep);

    /* Hostile depth without closing brackets must not recurse unbounded. */
    char *open = malloc(100000);
    assert_non_null(open);
    for (size_t i = 0; i < 100000; i++)
        open[i] = i % 2 ? '[' : '{';
    open[0] = '[';
    assert_int_equal(parse_exact(open, 100000, &doc, &err), -EINVAL);
    free(open);
}

static void test_large_object_duplicates(void **state)
{
    (void)state;
    /* More members than the pairwise check handles: the sorting path. */
    char buf[4096];
    size_t n = 0;
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\"k%d\":%d,", i, i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\"k7\":0,\"k3\":0}");
    hs_json_doc *doc;
    hs_json_error err;
    assert_int_equal(parse_exact(buf, n, &doc, &err), -EINVAL);
    /* The first repetition in document order is reported. */
    assert_non_null(strstr(err.msg, "duplicate key \"k7\""));

    /* The same size without repetitions parses. */
    n = (size_t)snprintf(buf, sizeof(buf), "{");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s\"k%d\":%d",
                              i ? "," : "", i, i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "}");
    doc = parse_ok(buf);
    int64_t v;
    assert_true(hs_json_int(hs_json_get(hs_json_root(doc), "k99"), &v));
    assert_int_equal(v, 99);
    assert_int_equal(hs_json_len(hs_json_root(doc)), 100);
    hs_json_free(doc);
}

static void test_large_array(void **state)
{
    (void)state;
    enum { N = 200000 };
    char *buf = malloc(N * 8 + 2);
    assert_non_null(buf);
    size_t n = 0;
    buf[n++] = '[';
    for (int i = 0; i < N; i++)
        n += (size_t)sprintf(buf + n, "%s%d", i ? "," : "", i);
    buf[n++] = ']';
    hs_json_doc *doc;
    hs_json_error err;
    assert_int_equal(hs_json_parse(buf, n, &doc, &err), 0);
    const hs_json *r = hs_json_root(doc);
    assert_int_equal(hs_json_len(r), N);
    int64_t v;
    assert_true(hs_json_int(hs_json_at(r, N - 1), &v));
    assert_int_equal(v, N - 1);
    hs_json_free(doc);
    free(buf);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(hs_json_type_name(HS_JSON_OBJECT), "object");
    assert_string_equal(hs_json_type_name(HS_JSON_BOOL), "boolean");
    assert_string_equal(hs_json_type_name((hs_json_type)99), "invalid");
}

static void test_escape(void **state)
{
    (void)state;
    char out[128];
    const char in[] = "a\"b\\c\n\t\x01\x7f/\xc3\xa9";
    size_t n = hs_json_escape(out, sizeof(out), in, sizeof(in) - 1);
    assert_string_equal(out, "a\\\"b\\\\c\\n\\t\\u0001\x7f/\xc3\xa9");
    assert_int_equal(n, strlen(out));

    /* The escaped text parses back to the original. */
    char quoted[300];
    snprintf(quoted, sizeof(quoted), "\"%s\"", out);
    hs_json_doc *doc = parse_ok(quoted);
    assert_string_equal(hs_json_str(hs_json_root(doc)), in);
    hs_json_free(doc);

    /* Every control character, and a NUL inside the input. */
    char ctl[33];
    for (int i = 0; i < 32; i++)
        ctl[i] = (char)i;
    char big[256];
    n = hs_json_escape(big, sizeof(big), ctl, 32);
    assert_true(n < sizeof(big));
    snprintf(quoted, sizeof(quoted), "\"%s\"", big);
    doc = parse_ok(quoted);
    assert_int_equal(hs_json_len(hs_json_root(doc)), 32);
    assert_memory_equal(hs_json_str(hs_json_root(doc)), ctl, 32);
    hs_json_free(doc);
}

static void test_escape_invalid_utf8_and_truncation(void **state)
{
    (void)state;
    char out[64];
    size_t n = hs_json_escape(out, sizeof(out), "a\xff" "b\xc3", 4);
    assert_string_equal(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd");
    assert_int_equal(n, 8);

    /* Truncation never splits an escape and reports the full length. */
    n = hs_json_escape(out, 4, "ab\"c", 4);
    assert_int_equal(n, 5);
    assert_string_equal(out, "ab");
    n = hs_json_escape(out, 1, "abc", 3);
    assert_int_equal(n, 3);
    assert_string_equal(out, "");
    assert_int_equal(hs_json_escape(NULL, 0, "abc\n", 4), 5);
    n = hs_json_escape(out, 4, "abc", 3);
    assert_int_equal(n, 3);
    assert_string_equal(out, "abc");
}

/* Mutated and random inputs: each must give a document or an error, never
 * a crash, leak or sanitizer report. A small, fixed-seed stand-in for the
 * libFuzzer target. */
static void test_mutations(void **state)
{
    (void)state;
    const char *seed = "{\"version\":1,\"a\":[1,-2.5e3,\"x\\u00e9\\ud83d"
                       "\\ude00\",true,false,null,{\"b\":{}}],\"c\":\"\xc3\xa9\"}";
    size_t len = strlen(seed);
    unsigned rnd = 12345;
    int ok = 0;
    for (int iter = 0; iter < 20000; iter++) {
        char buf[128];
        memcpy(buf, seed, len);
        size_t n = len;
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            rnd = rnd * 1103515245u + 12345u;
            size_t pos = (rnd >> 8) % n;
            rnd = rnd * 1103515245u + 12345u;
            if (rnd % 3 == 0 && n > 1) {
                n = pos + 1; /* truncate */
            } else {
                buf[pos] = (char)(rnd >> 16);
            }
        }
        hs_json_doc *doc;
        hs_json_error err;
        if (parse_exact(buf, n, &doc, &err) == 0) {
            ok++;
            hs_json_free(doc);
        } else {
            assert_true(err.line >= 1 && err.col >= 1 && err.msg[0]);
        }
    }
    assert_true(ok > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_object_order_and_get),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_keys_with_escapes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_embedded_nul_byte_rejected),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_large_object_duplicates),
        cmocka_unit_test(test_large_array),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_escape_invalid_utf8_and_truncation),
        cmocka_unit_test(test_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
