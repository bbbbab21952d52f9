/* test_readers.c - the signature build's readers: domain names, interned
 * names, the iot_wild CSV reader (also on the real release) and the passive
 * DNS COF reader. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dname.h"
#include "iotwild.h"
#include "nametab.h"
#include "pdns.h"

static void test_dname_normalise(void **state)
{
    (void)state;
    char out[HS_DNAME_MAX + 1];
    assert_int_equal(hs_dname_normalise("API.Amazon.COM.", 15, out), 14);
    assert_string_equal(out, "api.amazon.com");
    assert_int_equal(hs_dname_normalise("dcp.dc1.philips.com", 19, out), 19);
    assert_int_equal(hs_dname_normalise("*.transport.home.nest.com.", 26, out),
                     25);
    assert_string_equal(out, "*.transport.home.nest.com");
    assert_int_equal(hs_dname_normalise("_x-y.a1.b", 9, out), 9);
    const char *bad[] = {"", ".", "a..b", ".a", "a.b..", "a b", "a*.b",
                         "b.*.c", "*", "*.", "x\"y", "a/b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(hs_dname_normalise(bad[i], strlen(bad[i]), out),
                         -EINVAL);
    char label[70];
    memset(label, 'a', 64);
    assert_int_equal(hs_dname_normalise(label, 64, out), -EINVAL);
    assert_int_equal(hs_dname_normalise(label, 63, out), 63);
    char nul[] = "a\0b";
    assert_int_equal(hs_dname_normalise(nul, 3, out), -EINVAL);
}

static void test_dname_match(void **state)
{
    (void)state;
    assert_true(hs_dname_match("a.nest.com", "a.nest.com"));
    assert_false(hs_dname_match("a.nest.com", "b.a.nest.com"));
    assert_true(hs_dname_match("*.nest.com", "a.nest.com"));
    assert_true(hs_dname_match("*.nest.com", "b.a.nest.com"));
    assert_false(hs_dname_match("*.nest.com", "nest.com"));
    assert_false(hs_dname_match("*.nest.com", "anest.com"));
    assert_true(hs_dname_is_wildcard("*.x.y"));
    assert_false(hs_dname_is_wildcard("x.y"));
}

static void test_nametab(void **state)
{
    (void)state;
    hs_nametab *t = hs_nametab_new();
    assert_non_null(t);
    char buf[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(buf, sizeof(buf), "n%d.example", i);
        assert_int_equal(hs_nametab_intern(t, buf), i);
    }
    assert_int_equal(hs_nametab_intern(t, "n17.example"), 17);
    assert_int_equal(hs_nametab_find(t, "n4999.example"), 4999);
    assert_int_equal(hs_nametab_find(t, "n5000.example"), -1);
    assert_int_equal(hs_nametab_count(t), 5000);
    assert_string_equal(hs_nametab_name(t, 123), "n123.example");
    hs_nametab_free(t);
}

/* ---- iot_wild ---------------------------------------------------------- */

typedef struct rows {
    char text[4096];
    size_t len;
    int bad;
    char bad_lines[256];
} rows;

static int rows_row(void *ctx, const hs_iotwild_row *r)
{
    rows *c = ctx;
    c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len,
                               "%u %s %s %s %u\n", r->line, r->domain,
                               r->level, r->device, r->port);
    return 0;
}

static void rows_bad(void *ctx, unsigned line, const char *why)
{
    rows *c = ctx;
    size_t n = strlen(c->bad_lines);
    snprintf(c->bad_lines + n, sizeof(c->bad_lines) - n, "%u ", line);
    c->bad++;
}

static const hs_iotwild_ops rows_ops = {rows_row, rows_bad};

static void test_iotwild_quirks(void **state)
{
    (void)state;
    const char csv[] =
        "\xef\xbb\xbf" "domain,detection_level,device,grouped_domain,domain_id,port\r\n"
        "API.Example.COM.,echo_cat,echodot,api.example.com.,1,443.0\r\n"
        "dcp.dc1.philips.com,t-philips-hub,t-philips-hub,x,2,80\n"
        "*.transport.home.nest.com.,nest-tstat,nest-tstat,y,0,9543\n"
        "\"q.example.com.\",\"a\"\"b\",,z,3,443\n"      /* 5: bad level */
        "\n"
        "bad..name.,l,d,g,4,443\n"                       /* 7 */
        "ok.example.,l,d,g,4,443.5\n"                    /* 8: float port */
        "ok.example.,l,d,g,4,0\n"                        /* 9 */
        "ok.example.,l,d,g,4,65536\n"                    /* 10 */
        "ok.example.,l,d,g,4\n"                          /* 11: short */
        "ok.example.,l,d,g,4,1,extra\n"                  /* 12 */
        "\"unterminated,l,d,g,4,1\n"                     /* 13 */
        "ok.example.,,d,g,4,1\n"                         /* 14: no level */
        "\"ok.example.\",l,,g,4,65535";                   /* no newline */
    rows c = {0};
    char err[128] = "";
    assert_int_equal(hs_iotwild_parse(csv, sizeof(csv) - 1, &rows_ops, &c,
                                      err, sizeof(err)), 4);
    assert_string_equal(c.text,
                        "2 api.example.com echo_cat echodot 443\n"
                        "3 dcp.dc1.philips.com t-philips-hub t-philips-hub 80\n"
                        "4 *.transport.home.nest.com nest-tstat nest-tstat 9543\n"
                        "15 ok.example l  65535\n");
    assert_string_equal(c.bad_lines, "5 7 8 9 10 11 12 13 14 ");
}

static void test_iotwild_columns_by_name(void **state)
{
    (void)state;
    const char csv[] = "port,extra,detection_level,domain\n443,x,lvl,a.b.\n";
    rows c = {0};
    char err[128] = "";
    assert_int_equal(hs_iotwild_parse(csv, sizeof(csv) - 1, &rows_ops, &c,
                                      err, sizeof(err)), 1);
    assert_string_equal(c.text, "2 a.b lvl  443\n");
}

static void test_iotwild_bad_header(void **state)
{
    (void)state;
    rows c = {0};
    char err[160] = "";
    const char nohdr[] = "a.b.,lvl,dev,g,1,443\n";
    assert_int_equal(hs_iotwild_parse(nohdr, sizeof(nohdr) - 1, &rows_ops,
                                      &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "no column domain"));
    assert_int_equal(hs_iotwild_parse("", 0, &rows_ops, &c, err,
                                      sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "empty"));
    const char twice[] = "domain,domain,detection_level,port\n";
    assert_int_equal(hs_iotwild_parse(twice, sizeof(twice) - 1, &rows_ops,
                                      &c, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "twice"));
}

static int stop_row(void *ctx, const hs_iotwild_row *r)
{
    return -ENOMEM;
}

static void test_iotwild_callback_stops(void **state)
{
    (void)state;
    const char csv[] = "domain,detection_level,port\na.b,l,1\nc.d,l,2\n";
    hs_iotwild_ops ops = {stop_row, NULL};
    char err[64];
    assert_int_equal(hs_iotwild_parse(csv, sizeof(csv) - 1, &ops, NULL, err,
                                      sizeof(err)), -ENOMEM);
}

typedef struct release_count {
    int rows, bad, wildcard;
} release_count;

static int release_row(void *ctx, const hs_iotwild_row *r)
{
    release_count *c = ctx;
    c->rows++;
    c->wildcard += hs_dname_is_wildcard(r->domain);
    assert_true(r->port > 0);
    return 0;
}

static void release_bad(void *ctx, unsigned line, const char *why)
{
    ((release_count *)ctx)->bad++;
}

/* The three CSVs of the public release read without a single bad row. */
static void test_iotwild_release(void **state)
{
    (void)state;
    const char *files[] = {"alexa_enabled.csv", "other_devices.csv",
                           "samsung_IoT.csv"};
    const int expect[] = {132, 228, 52};
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/testdata/iot_wild/%s",
                 HS_SHARED_DIR, files[i]);
        size_t len;
        char *buf = tu_read_file(path, &len);
        assert_non_null(buf);
        release_count c = {0};
        hs_iotwild_ops ops = {release_row, release_bad};
        char err[128];
        assert_int_equal(hs_iotwild_parse(buf, len, &ops, &c, err,
                                          sizeof(err)), expect[i]);
        assert_int_equal(c.bad, 0);
        assert_int_equal(c.wildcard, i == 2 ? 1 : 0);
        free(buf);
    }
}

/* ---- passive DNS ------------------------------------------------------- */

typedef struct recs {
    char text[2048];
    size_t len;
    char bad[512];
} recs;

static int recs_addr(void *ctx, const char *rrname, const hs_ip *ip)
{
    recs *c = ctx;
    char a[64];
    c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len,
                               "%s %s\n", rrname, hs_ip_format(ip, a, 64));
    return 0;
}

static int recs_cname(void *ctx, const char *rrname, const char *target)
{
    recs *c = ctx;
    c->len += (size_t)snprintf(c->text + c->len, sizeof(c->text) - c->len,
                               "%s -> %s\n", rrname, target);
    return 0;
}

static void recs_bad(void *ctx, unsigned long line, const char *why)
{
    recs *c = ctx;
    size_t n = strlen(c->bad);
    snprintf(c->bad + n, sizeof(c->bad) - n, "%lu:%s\n", line, why);
}

static const hs_pdns_ops recs_ops = {recs_addr, recs_cname, recs_bad};

static void test_pdns_lines(void **state)
{
    (void)state;
    const char in[] =
        "{\"rrname\":\"A.Example.com.\",\"rrtype\":\"A\",\"rdata\":[\"192.0.2.1\",\"192.0.2.2\"],"
        "\"time_first\":1600000000,\"time_last\":1600086400,\"count\":12}\n"
        "{\"rrname\":\"b.example.com.\",\"rrtype\":\"aaaa\",\"rdata\":\"2001:db8::1\"}\r\n"
        "{\"rrname\":\"c.example.com\",\"rrtype\":\"CNAME\",\"rdata\":\"Edge.CDN.net.\"}\n"
        "\n"
        "{\"rrname\":\"c.example.com\",\"rrtype\":\"MX\",\"rdata\":\"10 mx.example.com.\"}\n"
        "not json\n"                                                              /* 6 */
        "[1,2]\n"                                                                 /* 7 */
        "{\"rrname\":\"d.example\",\"rrtype\":\"A\"}\n"                           /* 8 */
        "{\"rrname\":\"d.example\",\"rrtype\":\"A\",\"rdata\":[\"192.0.2.3\",\"2001:db8::2\"]}\n" /* 9 */
        "{\"rrname\":\"d.example\",\"rrtype\":\"AAAA\",\"rdata\":\"192.0.2.3\"}\n" /* 10 */
        "{\"rrname\":\"d example\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.3\"}\n"   /* 11 */
        "{\"rrname\":\"d.example\",\"rrtype\":\"CNAME\",\"rdata\":[\"a..b\"]}\n"  /* 12 */
        "{\"rrname\":\"d.example\",\"rrtype\":\"A\",\"rdata\":[]}\n"              /* 13 */
        "{\"rrname\":\"d.example\",\"rrtype\":\"A\",\"rdata\":[7]}\n"             /* 14 */
        "{\"rrname\":\"d.example\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.3\\u0000\"}\n" /* 15 */
        "{\"rrname\":1,\"rrtype\":\"A\",\"rdata\":\"192.0.2.3\"}";               /* 16 */
    recs c = {0};
    hs_pdns_stats st;
    assert_int_equal(hs_pdns_parse(in, sizeof(in) - 1, &recs_ops, &c, &st), 0);
    assert_string_equal(c.text, "a.example.com 192.0.2.1\n"
                                "a.example.com 192.0.2.2\n"
                                "b.example.com 2001:db8::1\n"
                                "c.example.com -> edge.cdn.net\n");
    assert_int_equal(st.lines, 15);
    assert_int_equal(st.used, 3);
    assert_int_equal(st.ignored, 1);
    assert_int_equal(st.bad, 11);
    assert_string_equal(c.bad,
        "6:not valid JSON\n"
        "7:not a JSON object\n"
        "8:rrname, rrtype (strings) and rdata are required\n"
        "9:A rdata is not an IPv4 address\n"
        "10:AAAA rdata is not an IPv6 address\n"
        "11:rrname is not a host name\n"
        "12:CNAME rdata is not a host name\n"
        "13:rdata is empty\n"
        "14:rdata value is not a string\n"
        "15:rdata is not an IP address\n"
        "16:rrname, rrtype (strings) and rdata are required\n");
}

static void test_pdns_read_file(void **state)
{
    (void)state;
    char text[] = "{\"rrname\":\"x.example\",\"rrtype\":\"A\",\"rdata\":\"198.18.0.1\"}\n"
                  "garbage\n";
    FILE *f = fmemopen(text, strlen(text), "r");
    assert_non_null(f);
    recs c = {0};
    hs_pdns_stats st;
    assert_int_equal(hs_pdns_read(f, &recs_ops, &c, &st), 0);
    fclose(f);
    assert_string_equal(c.text, "x.example 198.18.0.1\n");
    assert_int_equal(st.lines, 2);
    assert_int_equal(st.bad, 1);
    assert_string_equal(c.bad, "2:not valid JSON\n");
}

static void test_pdns_long_line(void **state)
{
    (void)state;
    size_t n = HS_PDNS_LINE_MAX + 1;
    char *line = malloc(n);
    assert_non_null(line);
    memset(line, ' ', n);
    const char *why = NULL;
    assert_int_equal(hs_pdns_parse_line(line, n, &recs_ops, NULL, &why),
                     -EINVAL);
    assert_non_null(strstr(why, "longer"));
    free(line);
}

static int ignore_row(void *ctx, const hs_iotwild_row *r)
{
    return 0;
}

static int ignore_addr(void *ctx, const char *rrname, const hs_ip *ip)
{
    return 0;
}

static int ignore_cname(void *ctx, const char *rrname, const char *target)
{
    return 0;
}

/* Random mutations of good input never crash, leak or hang either reader
 * (a deterministic, bounded smoke fuzz; ASan watches). */
static void test_readers_random(void **state)
{
    (void)state;
    static const char csv_seed[] =
        "domain,detection_level,device,grouped_domain,domain_id,port\n"
        "\"a.b.\",lvl,dev,g,1,443.0\n*.x.y.,l,d,g,2,80\n";
    static const char pdns_seed[] =
        "{\"rrname\":\"a.b.\",\"rrtype\":\"A\",\"rdata\":[\"198.18.0.1\"]}\n"
        "{\"rrname\":\"c.d\",\"rrtype\":\"CNAME\",\"rdata\":\"a.b.\"}\n";
    static const char alphabet[] = ",\".\n\r*:[]{}\\0a9 \xff";
    hs_iotwild_ops iops = {ignore_row, NULL};
    hs_pdns_ops pops = {ignore_addr, ignore_cname, NULL};
    uint32_t x = 12345;
    char buf[256], err[128];
    for (int round = 0; round < 20000; round++) {
        const char *seed = round & 1 ? pdns_seed : csv_seed;
        size_t len = strlen(seed);
        memcpy(buf, seed, len);
        for (int k = 0; k < 1 + round % 8; k++) {
            x = x * 1103515245u + 12345u;
            size_t at = (x >> 8) % len;
            buf[at] = alphabet[(x >> 20) % (sizeof(alphabet) - 1)];
            if ((x >> 4) % 5 == 0)
                len = at + 1; /* truncate */
        }
        hs_pdns_stats st;
        if (round & 1) {
            assert_int_equal(hs_pdns_parse(buf, len, &pops, NULL, &st), 0);
        } else {
            int rc = hs_iotwild_parse(buf, len, &iops, NULL, err, sizeof(err));
            assert_true(rc >= 0 || rc == -EINVAL);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dname_normalise),
        cmocka_unit_test(test_dname_match),
        cmocka_unit_test(test_nametab),
        cmocka_unit_test(test_iotwild_quirks),
        cmocka_unit_test(test_iotwild_columns_by_name),
        cmocka_unit_test(test_iotwild_bad_header),
        cmocka_unit_test(test_iotwild_callback_stops),
        cmocka_unit_test(test_iotwild_release),
        cmocka_unit_test(test_pdns_lines),
        cmocka_unit_test(test_pdns_read_file),
        cmocka_unit_test(test_pdns_long_line),
        cmocka_unit_test(test_readers_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
