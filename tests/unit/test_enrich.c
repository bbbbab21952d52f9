/*
 * test_enrich.c - ASN/country enrichment against MaxMind's own test
 * databases (shared/testdata/mmdb): known entries checked with mmdblookup,
 * v4 in v6 trees, v6, unknown addresses, every open error, MaxMind's
 * deliberately broken files, values only a hand-made database has (long or
 * odd names and codes), and the exact JSON members of an event.
 */
#include "testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enrich.h"

#define MMDB_DIR HS_SHARED_DIR "/testdata/mmdb/"
#define ASN_DB MMDB_DIR "GeoLite2-ASN-Test.mmdb"
#define ISP_DB MMDB_DIR "GeoIP2-ISP-Test.mmdb"
#define COUNTRY_DB MMDB_DIR "GeoLite2-Country-Test.mmdb"
#define BROKEN_POINTERS MMDB_DIR "MaxMind-DB-test-broken-pointers-24.mmdb"
#define BROKEN_TREE MMDB_DIR "MaxMind-DB-test-broken-search-tree-24.mmdb"
#define MISSING_DB MMDB_DIR "no-such-file.mmdb"
#define TEXT_FILE HS_SHARED_DIR "/testdata/README.md"

static hs_enrich *open_ok(const char *asn_db, const char *country_db)
{
    char err[512] = "";
    hs_enrich *e = NULL;
    int rc = hs_enrich_open(asn_db, country_db, &e, err, sizeof(err));
    if (rc != 0)
        fail_msg("open: %s", err);
    assert_non_null(e);
    return e;
}

static int lookup(const hs_enrich *e, const char *addr, hs_enrich_info *out)
{
    hs_ip ip;
    assert_int_equal(hs_ip_parse(addr, &ip), 0);
    return hs_enrich_lookup(e, &ip, out);
}

static void expect(const hs_enrich *e, const char *addr, uint32_t asn,
                   const char *org, const char *country)
{
    hs_enrich_info info;
    assert_int_equal(lookup(e, addr, &info), 0);
    assert_int_equal(info.asn, asn);
    assert_string_equal(info.as_org, org);
    assert_string_equal(info.country, country);
}

static void test_asn_known(void **state)
{
    (void)state;
    hs_enrich *e = open_ok(ASN_DB, NULL);
    expect(e, "1.0.0.1", 15169, "Google Inc.", "");
    expect(e, "12.81.92.1", 7018, "AT&T Services", "");
    expect(e, "1.128.0.1", 1221, "Telstra Pty Ltd", "");
    expect(e, "89.160.20.112", 29518, "Bredband2 AB", "");
    hs_enrich_close(e);
}

/* The test trees are IPv6 with IPv4 at ::/96 (and aliased at ::ffff:0:0/96
 * and 2002::/16); an hs_ip v4 address must land there. */
static void test_asn_v6_and_mapped(void **state)
{
    (void)state;
    hs_enrich *e = open_ok(ASN_DB, NULL);
    expect(e, "2600:6000::1", 237, "Merit Network Inc.", "");
    expect(e, "::1.0.0.1", 15169, "Google Inc.", "");
    expect(e, "::ffff:1.0.0.1", 15169, "Google Inc.", "");
    hs_enrich_close(e);
}

static void test_country_known(void **state)
{
    (void)state;
    hs_enrich *e = open_ok(NULL, COUNTRY_DB);
    expect(e, "2.125.160.216", 0, "", "GB");
    expect(e, "81.2.69.142", 0, "", "GB");
    expect(e, "89.160.20.112", 0, "", "SE");
    expect(e, "2a02:cf40::1", 0, "", "NO");
    expect(e, "2001:218::1", 0, "", "JP");
    hs_enrich_close(e);
}

static void test_both_databases(void **state)
{
    (void)state;
    hs_enrich *e = open_ok(ASN_DB, COUNTRY_DB);
    expect(e, "89.160.20.112", 29518, "Bredband2 AB", "SE");
    expect(e, "81.2.69.142", 0, "", "GB");
    expect(e, "1.128.0.1", 1221, "Telstra Pty Ltd", "");
    hs_enrich_close(e);
}

static void test_unknown_address(void **state)
{
    (void)state;
    hs_enrich *e = open_ok(ASN_DB, COUNTRY_DB);
    expect(e, "8.8.8.8", 0, "", "");
    expect(e, "2001:db8::1", 0, "", "");
    expect(e, "0.0.0.0", 0, "", "");
    hs_ip none = {.af = HS_AF_NONE};
    hs_enrich_info info;
    assert_int_equal(hs_enrich_lookup(e, &none, &info), -EINVAL);
    assert_int_equal(info.asn, 0);
    assert_string_equal(info.as_org, "");
    assert_string_equal(info.country, "");
    hs_enrich_close(e);
}

static void test_no_databases(void **state)
{
    (void)state;
    hs_enrich *e = open_ok(NULL, NULL);
    expect(e, "1.0.0.1", 0, "", "");
    hs_enrich_close(e);
    hs_enrich_close(NULL);
}

static void test_isp_as_asn_db(void **state)
{
    (void)state;
    hs_enrich *e = open_ok(ISP_DB, NULL);
    expect(e, "1.128.0.1", 1221, "Telstra Pty Ltd", "");
    hs_enrich_close(e);
}

/* A reload opens a second handle and closes the first: they share nothing. */
static void test_handles_independent(void **state)
{
    (void)state;
    hs_enrich *old = open_ok(ASN_DB, COUNTRY_DB);
    hs_enrich *new_ = open_ok(ISP_DB, COUNTRY_DB);
    hs_enrich_close(old);
    expect(new_, "1.128.0.1", 1221, "Telstra Pty Ltd", "");
    expect(new_, "81.2.69.142", 0, "", "GB");
    hs_enrich_close(new_);
}

/* Opening fails with rc and exactly the message want, *out untouched. */
static void expect_open_error(const char *asn_db, const char *country_db,
                              int rc, const char *want)
{
    char err[512] = "";
    hs_enrich *e = NULL;
    assert_int_equal(hs_enrich_open(asn_db, country_db, &e, err, sizeof(err)),
                     rc);
    assert_null(e);
    assert_string_equal(err, want);
}

static void test_open_missing(void **state)
{
    (void)state;
    expect_open_error(MISSING_DB, NULL, -ENOENT,
                      MISSING_DB ": cannot open: No such file or directory");
    expect_open_error(ASN_DB, MISSING_DB, -ENOENT,
                      MISSING_DB ": cannot open: No such file or directory");
}

static void test_open_not_mmdb(void **state)
{
    (void)state;
    expect_open_error(NULL, TEXT_FILE, -EINVAL,
                      TEXT_FILE ": not a MaxMind DB file (The MaxMind DB "
                                "file contains invalid metadata)");
}

static void test_open_directory_or_empty(void **state)
{
    (void)state;
    expect_open_error(MMDB_DIR, NULL, -EISDIR,
                      MMDB_DIR ": cannot open: Is a directory");
    char tmp[64] = "/tmp/hs_enrich_XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    close(fd);
    char want[128];
    snprintf(want, sizeof(want), "%s: not a MaxMind DB file (empty)", tmp);
    expect_open_error(NULL, tmp, -EINVAL, want);
    unlink(tmp);
}

static void test_open_wrong_type(void **state)
{
    (void)state;
    expect_open_error(COUNTRY_DB, NULL, -EINVAL,
                      COUNTRY_DB ": database type \"GeoLite2-Country\" is "
                                 "not suitable as ASN database (want a type "
                                 "containing \"ASN\" or \"ISP\")");
    expect_open_error(NULL, ASN_DB, -EINVAL,
                      ASN_DB ": database type \"GeoLite2-ASN\" is not "
                             "suitable as country database (want a type "
                             "containing \"Country\" or \"City\")");
}

/* MaxMind's broken files say they are of type "Test", so as given they are
 * refused at open. */
static void test_open_broken_as_given(void **state)
{
    (void)state;
    const char *files[] = {BROKEN_POINTERS, BROKEN_TREE};
    for (size_t i = 0; i < 2; i++) {
        char want[512];
        snprintf(want, sizeof(want),
                 "%s: database type \"Test\" is not suitable as ASN database "
                 "(want a type containing \"ASN\" or \"ISP\")",
                 files[i]);
        expect_open_error(files[i], NULL, -EINVAL, want);
    }
}

/*
 * Copies a broken file to a temporary one whose database_type "Test" is
 * overwritten in place by a same-length type that the role accepts, so
 * that the broken tree and pointers reach the lookup code.
 */
static void relabel(const char *src, const char *type4, char *tmp)
{
    size_t len;
    char *buf = tu_read_file(src, &len);
    assert_non_null(buf);
    static const char key[] = "database_type\x44Test";
    char *at = memmem(buf, len, key, sizeof(key) - 1);
    assert_non_null(at);
    memcpy(at + sizeof(key) - 5, type4, 4);
    strcpy(tmp, "/tmp/hs_enrich_XXXXXX");
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
    free(buf);
}

/* Looks up every address of 1.1.0.0/16 (where the test data lives), one
 * per /16 elsewhere and some v6 ones (an IPv4-only tree knows none); counts
 * -EBADMSG results and checks that each result is well-formed. */
static unsigned scan(const hs_enrich *e)
{
    unsigned bad = 0;
    hs_enrich_info info;
    for (uint32_t i = 0; i < 0x20000; i++) {
        hs_ip ip = {.af = HS_AF_V4};
        ip.u.v4 = i < 0x10000 ? 0x01010000u | i : (i - 0x10000) << 16 | 0x0101;
        int rc = hs_enrich_lookup(e, &ip, &info);
        assert_true(rc == 0 || rc == -EBADMSG);
        bad += rc == -EBADMSG;
        assert_true(strlen(info.as_org) < sizeof(info.as_org));
        assert_true(strlen(info.country) <= 2);
    }
    const char *v6[] = {"::1.1.1.1", "2001:db8::1", "ffff::1"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(lookup(e, v6[i], &info), 0);
    return bad;
}

static void test_broken_lookup(void **state)
{
    (void)state;
    const char *files[] = {BROKEN_POINTERS, BROKEN_TREE};
    for (size_t i = 0; i < 2; i++) {
        char asn_tmp[64], country_tmp[64];
        relabel(files[i], "ASN_", asn_tmp);
        relabel(files[i], "City", country_tmp);
        hs_enrich *e = open_ok(asn_tmp, country_tmp);
        unsigned bad = scan(e);
        print_message("%s: %u of %u lookups reported corruption\n", files[i],
                      bad, 0x20000);
        assert_true(bad > 0);
        hs_enrich_close(e);
        unlink(asn_tmp);
        unlink(country_tmp);
    }
}

/*
 * A minimal MaxMind DB writer for values MaxMind's test files do not have
 * (a long organisation, odd types): an IPv4 tree of one node whose left
 * half (0.0.0.0/1) holds one data record, encoded per the MaxMind DB spec.
 */
typedef struct mm_buf {
    uint8_t b[2048];
    size_t n;
} mm_buf;

enum { MM_STRING = 2, MM_UINT16 = 5, MM_UINT32 = 6, MM_MAP = 7,
       MM_UINT64 = 9, MM_ARRAY = 11 };

static void mm_put(mm_buf *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void mm_byte(mm_buf *m, unsigned v)
{
    uint8_t b = (uint8_t)v;
    mm_put(m, &b, 1);
}

/* Control byte: type in 3 bits (extended types in a second byte), size in
 * 5 bits, 29 + one byte, or 285 + two bytes. */
static void mm_ctrl(mm_buf *m, unsigned type, size_t size)
{
    unsigned first = size < 29 ? (unsigned)size : size < 285 ? 29 : 30;
    mm_byte(m, (type <= 7 ? type : 0) << 5 | first);
    if (type > 7)
        mm_byte(m, type - 7);
    if (first == 29)
        mm_byte(m, (unsigned)(size - 29));
    if (first == 30) {
        mm_byte(m, (unsigned)((size - 285) >> 8));
        mm_byte(m, (unsigned)((size - 285) & 0xff));
    }
}

static void mm_bytes_str(mm_buf *m, const char *s, size_t len)
{
    mm_ctrl(m, MM_STRING, len);
    mm_put(m, s, len);
}

static void mm_str(mm_buf *m, const char *s)
{
    mm_bytes_str(m, s, strlen(s));
}

static void mm_uint(mm_buf *m, unsigned type, uint64_t v)
{
    uint8_t be[8];
    size_t n = 0;
    for (uint64_t x = v; x; x >>= 8)
        n++;
    for (size_t i = 0; i < n; i++)
        be[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    mm_ctrl(m, type, n);
    mm_put(m, be, n);
}

/* Writes tree + separator + data + metadata to a new temporary file. */
static void mm_write(const char *type, const mm_buf *data, char *tmp)
{
    static const uint8_t tree[6] = {0, 0, 17, 0, 0, 1}; /* data@0, empty */
    static const uint8_t zeros[16] = {0};
    mm_buf f = {.n = 0};
    mm_put(&f, tree, sizeof(tree));
    mm_put(&f, zeros, sizeof(zeros));
    mm_put(&f, data->b, data->n);
    mm_put(&f, "\xab\xcd\xefMaxMind.com", 14);
    mm_ctrl(&f, MM_MAP, 9);
    mm_str(&f, "node_count");
    mm_uint(&f, MM_UINT32, 1);
    mm_str(&f, "record_size");
    mm_uint(&f, MM_UINT16, 24);
    mm_str(&f, "ip_version");
    mm_uint(&f, MM_UINT16, 4);
    mm_str(&f, "database_type");
    mm_str(&f, type);
    mm_str(&f, "languages");
    mm_ctrl(&f, MM_ARRAY, 1);
    mm_str(&f, "en");
    mm_str(&f, "description");
    mm_ctrl(&f, MM_MAP, 1);
    mm_str(&f, "en");
    mm_str(&f, "hand-made test database");
    mm_str(&f, "binary_format_major_version");
    mm_uint(&f, MM_UINT16, 2);
    mm_str(&f, "binary_format_minor_version");
    mm_uint(&f, MM_UINT16, 0);
    mm_str(&f, "build_epoch");
    mm_uint(&f, MM_UINT64, 1606348800);
    strcpy(tmp, "/tmp/hs_enrich_XXXXXX");
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, f.b, f.n), (ssize_t)f.n);
    close(fd);
}

/* An ASN database whose only record is { number: asn (as uint16 or
 * uint32), organization: org[0..org_len) }. */
static hs_enrich *open_asn_record(unsigned num_type, uint32_t asn,
                                  const char *org, size_t org_len)
{
    mm_buf data = {.n = 0};
    mm_ctrl(&data, MM_MAP, 2);
    mm_str(&data, "autonomous_system_number");
    mm_uint(&data, num_type, asn);
    mm_str(&data, "autonomous_system_organization");
    mm_bytes_str(&data, org, org_len);
    char tmp[64];
    mm_write("Test-ASN", &data, tmp);
    hs_enrich *e = open_ok(tmp, NULL);
    unlink(tmp);
    return e;
}

/* A long name is cut to fit, before a multi-byte character rather than
 * inside it; a NUL inside a name ends it. */
static void test_org_truncated(void **state)
{
    (void)state;
    char org[200];
    memset(org, 'a', 126);
    strcpy(org + 126, "\xc3\xa9 and more after the cut");
    hs_enrich *e = open_asn_record(MM_UINT32, 64512, org, strlen(org));
    org[126] = '\0';
    expect(e, "1.2.3.4", 64512, org, "");
    expect(e, "128.0.0.1", 0, "", "");
    expect(e, "2001:db8::1", 0, "", "");
    hs_enrich_close(e);

    e = open_asn_record(MM_UINT16, 65001, "Foo\0Bar", 7);
    expect(e, "1.2.3.4", 65001, "Foo", "");
    hs_enrich_close(e);
}

/* A country database whose only record is { country: { iso_code: code } },
 * or { country: code } when flat. */
static hs_enrich *open_country_record(const char *code, bool flat)
{
    mm_buf data = {.n = 0};
    mm_ctrl(&data, MM_MAP, 1);
    mm_str(&data, "country");
    if (!flat) {
        mm_ctrl(&data, MM_MAP, 1);
        mm_str(&data, "iso_code");
    }
    mm_str(&data, code);
    char tmp[64];
    mm_write("Test-City", &data, tmp);
    hs_enrich *e = open_ok(NULL, tmp);
    unlink(tmp);
    return e;
}

/* Only two upper-case letters count as a country code; data of the wrong
 * shape is unknown, not an error. */
static void test_country_odd_values(void **state)
{
    (void)state;
    const struct {
        const char *code;
        bool flat;
        const char *want;
    } cases[] = {{"DE", false, "DE"}, {"de", false, ""}, {"DEU", false, ""},
                 {"D", false, ""},    {"DE", true, ""}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hs_enrich *e = open_country_record(cases[i].code, cases[i].flat);
        expect(e, "1.2.3.4", 0, "", cases[i].want);
        hs_enrich_close(e);
    }
}

static void test_json_exact(void **state)
{
    (void)state;
    hs_enrich_info sub = {.asn = 15169, .as_org = "Google Inc.",
                          .country = "US"};
    hs_enrich_info back = {.asn = 7018,
                           .as_org = "AT&T \"Services\"\\\n\x01\xff",
                           .country = ""};
    const char *want =
        "\"subscriber_asn\":15169,\"subscriber_as_org\":\"Google Inc.\","
        "\"subscriber_country\":\"US\",\"backend_asn\":7018,"
        "\"backend_as_org\":\"AT&T \\\"Services\\\"\\\\\\n\\u0001\xef\xbf\xbd\"";
    char buf[512];
    assert_int_equal(hs_enrich_json(&sub, &back, buf, sizeof(buf)),
                     (int)strlen(want));
    assert_string_equal(buf, want);
}

static void test_json_unknown_omitted(void **state)
{
    (void)state;
    hs_enrich_info none = {0};
    hs_enrich_info country_only = {.country = "SE"};
    char buf[64];
    assert_int_equal(hs_enrich_json(&none, NULL, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(hs_enrich_json(NULL, &country_only, buf, sizeof(buf)),
                     (int)strlen("\"backend_country\":\"SE\""));
    assert_string_equal(buf, "\"backend_country\":\"SE\"");
}

/* Every buffer shorter than output plus NUL is refused, never overrun. */
static void test_json_nospace(void **state)
{
    (void)state;
    hs_enrich_info sub = {.asn = 1221, .as_org = "Telstra \"Pty\" Ltd",
                          .country = "AU"};
    char full[256];
    int n = hs_enrich_json(&sub, &sub, full, sizeof(full));
    assert_true(n > 0);
    for (size_t len = 0; len <= (size_t)n; len++) {
        char *buf = malloc(len ? len : 1);
        assert_int_equal(hs_enrich_json(&sub, &sub, buf, len), -ENOSPC);
        if (len)
            assert_string_equal(buf, "");
        free(buf);
    }
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(hs_enrich_json(&sub, &sub, buf, (size_t)n + 1), n);
    assert_string_equal(buf, full);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_asn_known),
        cmocka_unit_test(test_asn_v6_and_mapped),
        cmocka_unit_test(test_country_known),
        cmocka_unit_test(test_both_databases),
        cmocka_unit_test(test_unknown_address),
        cmocka_unit_test(test_no_databases),
        cmocka_unit_test(test_isp_as_asn_db),
        cmocka_unit_test(test_handles_independent),
        cmocka_unit_test(test_open_missing),
        cmocka_unit_test(test_open_not_mmdb),
        cmocka_unit_test(test_open_directory_or_empty),
        cmocka_unit_test(test_open_wrong_type),
        cmocka_unit_test(test_open_broken_as_given),
        cmocka_unit_test(test_broken_lookup),
        cmocka_unit_test(test_org_truncated),
        cmocka_unit_test(test_country_odd_values),
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_json_unknown_omitted),
        cmocka_unit_test(test_json_nospace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
