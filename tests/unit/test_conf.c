/* test_conf.c - haystackd.conf: defaults, the shipped file, every key's
 * value, the syntax, every error message, loading, and reload comparison. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define SHIPPED HS_SRC_DIR "/conf/haystackd.conf"

/* Every key, as the documentation and the shipped file must list it. */
static const struct {
    const char *section, *name;
} all_keys[] = {
    {"collector", "listen"},          {"collector", "sampling_rate"},
    {"collector", "sampling_override"}, {"collector", "workers"},
    {"collector", "rcvbuf"},          {"collector", "exporters"},
    {"collector", "max_exporters"},   {"collector", "max_templates"},
    {"collector", "max_domains"},
    {"collector", "template_timeout"}, {"collector", "exporter_timeout"},
    {"signatures", "file"},           {"detect", "window"},
    {"detect", "min_domains"},        {"detect", "min_fraction"},
    {"detect", "min_hits"},           {"detect", "subscriber_prefixes"},
    {"detect", "ipv6_prefix_len"},    {"detect", "max_subscribers"},
    {"detect", "expire_interval"},    {"redis", "url"},
    {"redis", "channel"},             {"redis", "stream"},
    {"redis", "stream_maxlen"},       {"redis", "state_prefix"},
    {"redis", "state_ttl"},           {"redis", "queue_max"},
    {"output", "stdout"},             {"enrich", "asn_db"},
    {"enrich", "country_db"},         {"state", "file"},
    {"metrics", "listen"},            {"log", "level"},
};
#define N_ALL_KEYS (sizeof(all_keys) / sizeof(all_keys[0]))

static hs_conf *parse_ok(const char *text)
{
    hs_conf *c = NULL;
    char err[256] = "";
    int rc = hs_conf_parse_buf("t.conf", text, strlen(text), &c, err,
                               sizeof(err));
    if (rc != 0)
        fail_msg("unexpected error %d: %s", rc, err);
    assert_non_null(c);
    return c;
}

/* Parses text, expecting it to fail with exactly the message want. */
static void parse_fails(const char *text, const char *want)
{
    hs_conf *c = (hs_conf *)1;
    char err[512] = "";
    int rc = hs_conf_parse_buf("t.conf", text, strlen(text), &c, err,
                               sizeof(err));
    if (rc >= 0)
        fail_msg("accepted: %s", text);
    assert_int_equal(rc, -EINVAL);
    assert_null(c);
    assert_string_equal(err, want);
}

static void assert_ip(const hs_ip *ip, const char *want)
{
    char buf[64];
    assert_string_equal(hs_ip_format(ip, buf, sizeof(buf)), want);
}

static void assert_hostport(const hs_hostport *hp, const char *want)
{
    char buf[80];
    assert_string_equal(hs_hostport_format(hp, buf, sizeof(buf)), want);
}

/* Checks c against the documented defaults, field by field. */
static void assert_defaults(const hs_conf *c)
{
    assert_int_equal(c->collector.n_listen, 1);
    assert_hostport(&c->collector.listen[0], "0.0.0.0:4739");
    assert_int_equal(c->collector.sampling_rate, 1);
    assert_int_equal(c->collector.workers, 0);
    assert_true(c->collector.rcvbuf == 32ULL << 20);
    assert_int_equal(c->collector.n_exporters, 0);
    assert_null(c->collector.exporters);
    assert_int_equal(c->collector.max_exporters, 4096);
    assert_int_equal(c->collector.max_templates, 1024);
    assert_int_equal(c->collector.max_domains, 64);
    assert_true(c->collector.template_timeout_ms == 30 * 60 * 1000);
    assert_true(c->collector.exporter_timeout_ms == 3600 * 1000);
    assert_int_equal(c->collector.n_sampling_overrides, 0);

    assert_string_equal(c->signatures.file, "/etc/haystack/signatures.json");

    assert_true(c->detect.rule.window_ms == 24ULL * 3600 * 1000);
    assert_int_equal(c->detect.rule.min_domains, 1);
    assert_true(c->detect.rule.min_fraction == 0.0);
    assert_int_equal(c->detect.rule.min_hits, 1);
    assert_int_equal(c->detect.rule.set, 0);
    assert_int_equal(c->detect.n_subscriber_prefixes, 0);
    assert_int_equal(c->detect.ipv6_prefix_len, 56);
    assert_int_equal(c->detect.max_subscribers, 10000000);
    assert_true(c->detect.expire_interval_ms == 10000);

    assert_string_equal(c->redis.url, "redis://127.0.0.1:6379/0");
    assert_string_equal(c->redis.server.host, "127.0.0.1");
    assert_int_equal(c->redis.server.port, 6379);
    assert_int_equal(c->redis.server.db, 0);
    assert_null(c->redis.server.user);
    assert_null(c->redis.server.password);
    assert_string_equal(c->redis.channel, "haystack:detections");
    assert_null(c->redis.stream);
    assert_int_equal(c->redis.stream_maxlen, 100000);
    assert_string_equal(c->redis.state_prefix, "haystack:sub:");
    assert_true(c->redis.state_ttl_ms == 86400ULL * 1000);
    assert_int_equal(c->redis.queue_max, 100000);

    assert_false(c->output.to_stdout);
    assert_null(c->enrich.asn_db);
    assert_null(c->enrich.country_db);
    assert_string_equal(c->state.file, "/var/lib/haystack/state.bin");
    assert_true(c->metrics.enabled);
    assert_hostport(&c->metrics.listen, "127.0.0.1:9273");
    assert_int_equal(c->log.level, HS_LOG_INFO);
}

static void test_defaults(void **state)
{
    (void)state;
    hs_conf *c = NULL;
    assert_int_equal(hs_conf_new_default(&c), 0);
    assert_defaults(c);
    hs_conf_free(c);

    c = parse_ok("");
    assert_defaults(c);
    assert_string_equal(c->name, "t.conf");
    hs_conf_free(c);

    c = parse_ok("\n ; only comments\n# here\n[collector]\n[log]\n");
    assert_defaults(c);
    hs_conf_free(c);
}

/* The shipped file means what an empty one does, and lists every key. */
static void test_shipped_file(void **state)
{
    (void)state;
    hs_conf *c = NULL, *d = NULL;
    char err[256] = "";
    int rc = hs_conf_load(SHIPPED, &c, err, sizeof(err));
    if (rc != 0)
        fail_msg("%s", err);
    assert_defaults(c);
    assert_string_equal(c->name, SHIPPED);
    assert_int_equal(hs_conf_new_default(&d), 0);
    assert_int_equal(hs_conf_diff(c, d), 0);
    hs_conf_free(d);
    hs_conf_free(c);

    char *text = tu_read_file(SHIPPED, NULL);
    assert_non_null(text);
    for (size_t i = 0; i < N_ALL_KEYS; i++) {
        char header[64], line[64];
        snprintf(header, sizeof(header), "\n[%s]\n", all_keys[i].section);
        snprintf(line, sizeof(line), "\n%s%s =",
                 strcmp(all_keys[i].name, "sampling_override") == 0 ? ";   "
                                                                     : "",
                 all_keys[i].name);
        const char *sec = strstr(text, header);
        if (!sec)
            fail_msg("no [%s] in the shipped file", all_keys[i].section);
        const char *next = strstr(sec + 1, "\n[");
        const char *at = strstr(sec, line);
        if (!at || (next && at > next))
            fail_msg("%s of [%s] not in the shipped file", all_keys[i].name,
                     all_keys[i].section);
    }
    free(text);
}

/* The manual page documents every key. */
static void test_manual_lists_every_key(void **state)
{
    (void)state;
    char *text = tu_read_file(HS_SRC_DIR "/docs/haystackd.conf.5", NULL);
    assert_non_null(text);
    for (size_t i = 0; i < N_ALL_KEYS; i++) {
        char sec[64], key[64];
        snprintf(sec, sizeof(sec), ".SS [%s]", all_keys[i].section);
        snprintf(key, sizeof(key), ".BI \"%s = \"", all_keys[i].name);
        const char *s = strstr(text, sec);
        if (!s)
            fail_msg("section [%s] missing from the manual",
                     all_keys[i].section);
        const char *next = strstr(s + 1, ".SS ");
        const char *k = strstr(s, key);
        if (!k || (next && k > next))
            fail_msg("%s of [%s] missing from the manual", all_keys[i].name,
                     all_keys[i].section);
    }
    free(text);
}

/* The manual's EXAMPLE section is a valid configuration. */
static void test_manual_example(void **state)
{
    (void)state;
    char *text = tu_read_file(HS_SRC_DIR "/docs/haystackd.conf.5", NULL);
    assert_non_null(text);
    char *start = strstr(text, ".SH EXAMPLE\n.EX\n");
    assert_non_null(start);
    start += strlen(".SH EXAMPLE\n.EX\n");
    char *end = strstr(start, ".EE\n");
    assert_non_null(end);
    *end = '\0';
    hs_conf *c = parse_ok(start);
    assert_int_equal(c->collector.n_listen, 2);
    assert_int_equal(c->detect.rule.min_domains, 2);
    assert_string_equal(c->redis.server.password, "s3cret");
    hs_conf_free(c);
    free(text);
}

static void test_every_key_set(void **state)
{
    (void)state;
    hs_conf *c = parse_ok(
        "[collector]\n"
        "listen = 127.0.0.1:2055\n"
        "listen = [::]:4739\n"
        "sampling_rate = 1000\n"
        "workers = 4\n"
        "rcvbuf = 8m\n"
        "exporters = 192.0.2.0/24, 2001:db8:ff::/48,198.51.100.7\n"
        "max_exporters = 10\n"
        "max_templates = 64\n"
        "max_domains = 3\n"
        "template_timeout = 90\n"
        "exporter_timeout = 2d\n"
        "sampling_override = 192.0.2.1 = 100\n"
        "sampling_override = 192.0.2.1 domain 7 = 10\n"
        "[signatures]\n"
        "file = /tmp/sigs.json\n"
        "[detect]\n"
        "window = 6h\n"
        "min_domains = 2\n"
        "min_fraction = 0.25\n"
        "min_hits = 3\n"
        "subscriber_prefixes = 198.51.100.0/24\n"
        "ipv6_prefix_len = 48\n"
        "max_subscribers = 1000\n"
        "expire_interval = 1m\n"
        "[redis]\n"
        "url = redis://bob:pw@[::1]:6380/2\n"
        "channel = det\n"
        "stream = hs:events\n"
        "stream_maxlen = 500\n"
        "state_prefix = hs:sub:\n"
        "state_ttl = 12h\n"
        "queue_max = 7\n"
        "[output]\n"
        "stdout = yes\n"
        "[enrich]\n"
        "asn_db = /var/lib/GeoIP/asn.mmdb\n"
        "country_db = /var/lib/GeoIP/country.mmdb\n"
        "[state]\n"
        "file = /run/hs.state\n"
        "[metrics]\n"
        "listen = [::1]:9100\n"
        "[log]\n"
        "level = debug\n");
    assert_int_equal(c->collector.n_listen, 2);
    assert_hostport(&c->collector.listen[0], "127.0.0.1:2055");
    assert_hostport(&c->collector.listen[1], "[::]:4739");
    assert_int_equal(c->collector.sampling_rate, 1000);
    assert_int_equal(c->collector.workers, 4);
    assert_true(c->collector.rcvbuf == 8ULL << 20);
    assert_int_equal(c->collector.n_exporters, 3);
    assert_ip(&c->collector.exporters[0].addr, "192.0.2.0");
    assert_int_equal(c->collector.exporters[0].len, 24);
    assert_ip(&c->collector.exporters[1].addr, "2001:db8:ff::");
    assert_int_equal(c->collector.exporters[1].len, 48);
    assert_ip(&c->collector.exporters[2].addr, "198.51.100.7");
    assert_int_equal(c->collector.exporters[2].len, 32);
    assert_int_equal(c->collector.max_exporters, 10);
    assert_int_equal(c->collector.max_templates, 64);
    assert_int_equal(c->collector.max_domains, 3);
    assert_true(c->collector.template_timeout_ms == 90000);
    assert_true(c->collector.exporter_timeout_ms == 2 * 86400000ULL);
    assert_int_equal(c->collector.n_sampling_overrides, 2);
    const hs_sampling_override *o = c->collector.sampling_overrides;
    assert_ip(&o[0].exporter, "192.0.2.1");
    assert_false(o[0].any_domain);
    assert_int_equal(o[0].domain, 7);
    assert_int_equal(o[0].rate, 10);
    assert_ip(&o[1].exporter, "192.0.2.1");
    assert_true(o[1].any_domain);
    assert_int_equal(o[1].rate, 100);
    assert_string_equal(c->signatures.file, "/tmp/sigs.json");
    assert_true(c->detect.rule.window_ms == 6 * 3600000ULL);
    assert_int_equal(c->detect.rule.min_domains, 2);
    assert_true(c->detect.rule.min_fraction == 0.25);
    assert_int_equal(c->detect.rule.min_hits, 3);
    assert_int_equal(c->detect.n_subscriber_prefixes, 1);
    assert_ip(&c->detect.subscriber_prefixes[0].addr, "198.51.100.0");
    assert_int_equal(c->detect.ipv6_prefix_len, 48);
    assert_int_equal(c->detect.max_subscribers, 1000);
    assert_true(c->detect.expire_interval_ms == 60000);
    assert_string_equal(c->redis.url, "redis://bob:pw@[::1]:6380/2");
    assert_string_equal(c->redis.server.host, "::1");
    assert_int_equal(c->redis.server.port, 6380);
    assert_int_equal(c->redis.server.db, 2);
    assert_string_equal(c->redis.server.user, "bob");
    assert_string_equal(c->redis.server.password, "pw");
    assert_string_equal(c->redis.channel, "det");
    assert_string_equal(c->redis.stream, "hs:events");
    assert_int_equal(c->redis.stream_maxlen, 500);
    assert_string_equal(c->redis.state_prefix, "hs:sub:");
    assert_true(c->redis.state_ttl_ms == 12 * 3600000ULL);
    assert_int_equal(c->redis.queue_max, 7);
    assert_true(c->output.to_stdout);
    assert_string_equal(c->enrich.asn_db, "/var/lib/GeoIP/asn.mmdb");
    assert_string_equal(c->enrich.country_db, "/var/lib/GeoIP/country.mmdb");
    assert_string_equal(c->state.file, "/run/hs.state");
    assert_true(c->metrics.enabled);
    assert_hostport(&c->metrics.listen, "[::1]:9100");
    assert_int_equal(c->log.level, HS_LOG_DEBUG);
    hs_conf_free(c);
}

/* "key =" turns off what may be off. */
static void test_empty_values_turn_off(void **state)
{
    (void)state;
    hs_conf *c = parse_ok("[redis]\nurl =\nchannel =\nstate_prefix =\n"
                          "[state]\nfile =\n[metrics]\nlisten =\n"
                          "[collector]\nexporters =\n"
                          "[detect]\nsubscriber_prefixes =   ; none\n");
    assert_null(c->redis.url);
    assert_null(c->redis.server.host);
    assert_null(c->redis.channel);
    assert_null(c->redis.state_prefix);
    assert_null(c->state.file);
    assert_false(c->metrics.enabled);
    assert_int_equal(c->collector.n_exporters, 0);
    assert_int_equal(c->detect.n_subscriber_prefixes, 0);
    hs_conf_free(c);
}

static void test_syntax(void **state)
{
    (void)state;
    /* BOM, CRLF, tabs, comments of both kinds, inline comments after a
     * blank, '#' and ';' inside values, no final newline, a section
     * header repeated and one with blanks and a comment. */
    hs_conf *c = parse_ok(
        "\xef\xbb\xbf; haystackd.conf\r\n"
        "  # indented comment\r\n"
        "[ redis ] ; the publisher\r\n"
        "\tchannel\t=\tdet#1;x   ; inline\r\n"
        "stream=s ;c\n"
        "[log]\n"
        "level = Warning # any case\n"
        "[redis]\n"
        "state_prefix = a;b#c\n"
        "[output]\n"
        "stdout = ON");
    assert_string_equal(c->redis.channel, "det#1;x");
    assert_string_equal(c->redis.stream, "s");
    assert_string_equal(c->redis.state_prefix, "a;b#c");
    assert_int_equal(c->log.level, HS_LOG_WARNING);
    assert_true(c->output.to_stdout);
    hs_conf_free(c);

    /* Prefix lists may go on over several lines. */
    c = parse_ok("[detect]\nsubscriber_prefixes = 10.0.0.0/8, 172.16.0.0/12\n"
                 "subscriber_prefixes =\n"
                 "subscriber_prefixes = 2001:db8::/32\n"
                 "[collector]\nexporters = 192.0.2.1\nexporters = 192.0.2.2\n");
    assert_int_equal(c->detect.n_subscriber_prefixes, 3);
    assert_ip(&c->detect.subscriber_prefixes[2].addr, "2001:db8::");
    assert_int_equal(c->collector.n_exporters, 2);
    assert_ip(&c->collector.exporters[1].addr, "192.0.2.2");
    hs_conf_free(c);

    /* A listen key replaces the default instead of adding to it. */
    c = parse_ok("[collector]\nlisten = 127.0.0.1:2055\n");
    assert_int_equal(c->collector.n_listen, 1);
    assert_hostport(&c->collector.listen[0], "127.0.0.1:2055");
    hs_conf_free(c);
}

static void test_fractions(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        double v;
    } cases[] = {{"0", 0}, {"1", 1}, {".5", 0.5}, {"0.25", 0.25},
                 {"1e-1", 0.1}, {"1.0", 1}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "[detect]\nmin_fraction = %s\n",
                 cases[i].s);
        hs_conf *c = parse_ok(text);
        assert_true(c->detect.rule.min_fraction == cases[i].v);
        hs_conf_free(c);
    }
}

static void test_line_length_limit(void **state)
{
    (void)state;
    /* "file = /" plus padding: exactly HS_CONF_LINE_MAX bytes is fine,
     * with a CR after it too; one more byte is not. */
    size_t n = HS_CONF_LINE_MAX;
    char *text = malloc(n + 64);
    assert_non_null(text);
    strcpy(text, "[state]\nfile = /");
    size_t start = strlen("[state]\n");
    memset(text + strlen(text), 'a', n - strlen("file = /"));
    strcpy(text + start + n, "\r\n");
    hs_conf *c = parse_ok(text);
    assert_int_equal(strlen(c->state.file), n - strlen("file = "));
    hs_conf_free(c);

    strcpy(text + start + n, "a\n");
    parse_fails(text, "t.conf:2: line too long (more than 4096 bytes)");
    free(text);
}

static void test_level_names(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int level;
    } cases[] = {
        {"error", HS_LOG_ERROR}, {"warning", HS_LOG_WARNING},
        {"info", HS_LOG_INFO},   {"debug", HS_LOG_DEBUG},
        {"DEBUG", HS_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[64];
        snprintf(text, sizeof(text), "[log]\nlevel = %s\n", cases[i].name);
        hs_conf *c = parse_ok(text);
        assert_int_equal(c->log.level, cases[i].level);
        hs_conf_free(c);
    }
}

static void test_structure_errors(void **state)
{
    (void)state;
    parse_fails("[collector]\n[bogus]\n", "t.conf:2: unknown section [bogus]");
    parse_fails("[Collector]\n", "t.conf:1: unknown section [Collector]");
    parse_fails("[]\n", "t.conf:1: unknown section []");
    parse_fails("\n[collector\n",
                "t.conf:2: section header without closing ']'");
    parse_fails("[collector] x\n",
                "t.conf:1: section header without closing ']'");
    parse_fails("listen = 0.0.0.0:4739\n",
                "t.conf:1: key 'listen' before any [section]");
    parse_fails("[detect]\nwindows = 1h\n",
                "t.conf:2: unknown key 'windows' in [detect]");
    parse_fails("[detect]\nlisten = 0.0.0.0:1\n",
                "t.conf:2: unknown key 'listen' in [detect]");
    parse_fails("[detect]\nwindow 1h\n",
                "t.conf:2: missing '=' (expected 'key = value')");
    parse_fails("[detect]\n= 1h\n", "t.conf:2: missing key name before '='");
    parse_fails("[detect]\nwindow = 1h\n\nwindow = 2h\n",
                "t.conf:4: duplicate key 'window' in [detect] (first set on "
                "line 2)");
    parse_fails("[detect]\nwindow = 1h\n[redis]\n[detect]\nwindow = 1h\n",
                "t.conf:5: duplicate key 'window' in [detect] (first set on "
                "line 2)");
    parse_fails("[redis]\nurl =\nurl =\n",
                "t.conf:3: duplicate key 'url' in [redis] (first set on "
                "line 2)");
    parse_fails("[detect]\nwindow =\n", "t.conf:2: window: missing value");
    parse_fails("[detect]\nwindow = ; comment\n",
                "t.conf:2: window: missing value");
    parse_fails("[signatures]\nfile =\n", "t.conf:2: file: missing value");
    parse_fails("[collector]\nlisten =\n", "t.conf:2: listen: missing value");
    parse_fails("[collector]\nsampling_override =\n",
                "t.conf:2: sampling_override: missing value");
}

static void test_control_characters(void **state)
{
    (void)state;
    static const char with_nul[] = "[log]\nlevel = in\0fo\n";
    hs_conf *c = (hs_conf *)1;
    char err[128];
    assert_int_equal(hs_conf_parse_buf("n.conf", with_nul,
                                       sizeof(with_nul) - 1, &c, err,
                                       sizeof(err)),
                     -EINVAL);
    assert_null(c);
    assert_string_equal(err,
                        "n.conf:2: control character or NUL byte in line");
    parse_fails("[log]\nlevel = in\x1b[0mfo\n",
                "t.conf:2: control character or NUL byte in line");
    parse_fails("[log]\r\rlevel = info\n",
                "t.conf:1: control character or NUL byte in line");
    parse_fails("[log]\nlevel = info\x7f\n",
                "t.conf:2: control character or NUL byte in line");
}

static void test_value_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        /* durations */
        {"[detect]\nwindow = 1w\n",
         "t.conf:2: window = 1w: unknown duration unit (use s, m, h or d)"},
        {"[detect]\nwindow = -1h\n",
         "t.conf:2: window = -1h: not a duration (a number with s, m, h or "
         "d)"},
        {"[detect]\nwindow = 0\n",
         "t.conf:2: window = 0: out of range (1s..3650d)"},
        {"[detect]\nwindow = 3651d\n",
         "t.conf:2: window = 3651d: duration too long (at most 3650d)"},
        {"[collector]\ntemplate_timeout = 0s\n",
         "t.conf:2: template_timeout = 0s: out of range (1s..3650d)"},
        {"[collector]\nexporter_timeout = forever\n",
         "t.conf:2: exporter_timeout = forever: not a duration (a number "
         "with s, m, h or d)"},
        {"[detect]\nexpire_interval = 0\n",
         "t.conf:2: expire_interval = 0: out of range (1s..3650d)"},
        {"[redis]\nstate_ttl = 1 d\n",
         "t.conf:2: state_ttl = 1 d: unknown duration unit (use s, m, h or "
         "d)"},
        /* sizes */
        {"[collector]\nrcvbuf = 32mb\n",
         "t.conf:2: rcvbuf = 32mb: unknown size unit (use k, m or g)"},
        {"[collector]\nrcvbuf = 2g\n",
         "t.conf:2: rcvbuf = 2g: out of range (4096..1073741824 bytes)"},
        {"[collector]\nrcvbuf = 1k\n",
         "t.conf:2: rcvbuf = 1k: out of range (4096..1073741824 bytes)"},
        {"[collector]\nrcvbuf = big\n",
         "t.conf:2: rcvbuf = big: not a size (a number with k, m or g)"},
        /* integers */
        {"[collector]\nsampling_rate = 0\n",
         "t.conf:2: sampling_rate = 0: out of range (1..4294967295)"},
        {"[collector]\nsampling_rate = 4294967296\n",
         "t.conf:2: sampling_rate = 4294967296: out of range "
         "(1..4294967295)"},
        {"[collector]\nsampling_rate = 1:1000\n",
         "t.conf:2: sampling_rate = 1:1000: not a non-negative decimal "
         "integer"},
        {"[collector]\nworkers = 257\n",
         "t.conf:2: workers = 257: out of range (0..256)"},
        {"[collector]\nworkers = -1\n",
         "t.conf:2: workers = -1: not a non-negative decimal integer"},
        {"[collector]\nmax_exporters = 0\n",
         "t.conf:2: max_exporters = 0: out of range (1..1000000)"},
        {"[collector]\nmax_templates = 65536\n",
         "t.conf:2: max_templates = 65536: out of range (1..65535)"},
        {"[detect]\nmin_domains = 0\n",
         "t.conf:2: min_domains = 0: out of range (1..4294967295)"},
        {"[detect]\nmin_hits = 0\n",
         "t.conf:2: min_hits = 0: out of range (1..4294967295)"},
        {"[detect]\nipv6_prefix_len = 0\n",
         "t.conf:2: ipv6_prefix_len = 0: out of range (1..64)"},
        {"[detect]\nipv6_prefix_len = 65\n",
         "t.conf:2: ipv6_prefix_len = 65: out of range (1..64)"},
        {"[detect]\nipv6_prefix_len = /56\n",
         "t.conf:2: ipv6_prefix_len = /56: not a non-negative decimal "
         "integer"},
        {"[detect]\nmax_subscribers = 99999999999999999999\n",
         "t.conf:2: max_subscribers = 99999999999999999999: number too "
         "large"},
        {"[redis]\nstream_maxlen = 0\n",
         "t.conf:2: stream_maxlen = 0: out of range (1..4294967295)"},
        {"[redis]\nqueue_max = 10000001\n",
         "t.conf:2: queue_max = 10000001: out of range (1..10000000)"},
        /* fractions */
        {"[detect]\nmin_fraction = 1.5\n",
         "t.conf:2: min_fraction = 1.5: not a number between 0 and 1"},
        {"[detect]\nmin_fraction = -0.1\n",
         "t.conf:2: min_fraction = -0.1: not a number between 0 and 1"},
        {"[detect]\nmin_fraction = nan\n",
         "t.conf:2: min_fraction = nan: not a number between 0 and 1"},
        {"[detect]\nmin_fraction = 0.5x\n",
         "t.conf:2: min_fraction = 0.5x: not a number between 0 and 1"},
        {"[detect]\nmin_fraction = 50%\n",
         "t.conf:2: min_fraction = 50%: not a number between 0 and 1"},
        {"[detect]\nmin_fraction = 0x1p-1\n",
         "t.conf:2: min_fraction = 0x1p-1: not a number between 0 and 1"},
        {"[detect]\nmin_fraction = +0.5\n",
         "t.conf:2: min_fraction = +0.5: not a number between 0 and 1"},
        {"[detect]\nmin_fraction = .\n",
         "t.conf:2: min_fraction = .: not a number between 0 and 1"},
        {"[detect]\nmin_fraction = 1e999\n",
         "t.conf:2: min_fraction = 1e999: not a number between 0 and 1"},
        /* booleans, levels */
        {"[output]\nstdout = maybe\n",
         "t.conf:2: stdout = maybe: not a boolean (true/false, yes/no, "
         "on/off, 1/0)"},
        {"[log]\nlevel = verbose\n",
         "t.conf:2: level = verbose: not a log level (error, warning, info "
         "or debug)"},
        {"[log]\nlevel = warn\n",
         "t.conf:2: level = warn: not a log level (error, warning, info or "
         "debug)"},
        /* addresses */
        {"[collector]\nlisten = 4739\n",
         "t.conf:2: listen = 4739: expected ADDRESS:PORT"},
        {"[collector]\nlisten = :::4739\n",
         "t.conf:2: listen = :::4739: IPv6 addresses need brackets: "
         "[ADDRESS]:PORT"},
        {"[collector]\nlisten = 0.0.0.0:4739\nlisten = 0.0.0.0:4739\n",
         "t.conf:3: listen = 0.0.0.0:4739: address already listed"},
        {"[collector]\nlisten = [::]:4739\nlisten = [0::0]:4739\n",
         "t.conf:3: listen = [0::0]:4739: address already listed"},
        {"[metrics]\nlisten = 9273\n",
         "t.conf:2: listen = 9273: expected ADDRESS:PORT"},
        {"[metrics]\nlisten = 127.0.0.1:0\n",
         "t.conf:2: listen = 127.0.0.1:0: port is not a number in 1..65535"},
        /* prefix lists */
        {"[collector]\nexporters = 192.0.2.1/24\n",
         "t.conf:2: exporters = 192.0.2.1/24: address has bits set past the "
         "prefix length"},
        {"[detect]\nsubscriber_prefixes = 10.0.0.0/8,,192.168.0.0/16\n",
         "t.conf:2: subscriber_prefixes = 10.0.0.0/8,,192.168.0.0/16: empty "
         "item in the comma-separated list"},
        {"[detect]\nsubscriber_prefixes = 10.0.0.0/8,\n",
         "t.conf:2: subscriber_prefixes = 10.0.0.0/8,: empty item in the "
         "comma-separated list"},
        {"[detect]\nsubscriber_prefixes = 10.0.0.0/8 192.168.0.0/16\n",
         "t.conf:2: subscriber_prefixes = 10.0.0.0/8 192.168.0.0/16: prefix "
         "length is not a number"},
        {"[detect]\nsubscriber_prefixes = 2001:db8::/129\n",
         "t.conf:2: subscriber_prefixes = 2001:db8::/129: prefix length "
         "above 128"},
        /* sampling overrides */
        {"[collector]\nsampling_override = 192.0.2.1 100\n",
         "t.conf:2: sampling_override = 192.0.2.1 100: expected EXPORTER "
         "[domain ID] = RATE"},
        {"[collector]\nsampling_override = = 100\n",
         "t.conf:2: sampling_override = = 100: expected EXPORTER [domain ID] "
         "= RATE"},
        {"[collector]\nsampling_override = 192.0.2.1 odid 7 = 100\n",
         "t.conf:2: sampling_override = 192.0.2.1 odid 7 = 100: expected "
         "EXPORTER [domain ID] = RATE"},
        {"[collector]\nsampling_override = 192.0.2.1 domain = 100\n",
         "t.conf:2: sampling_override = 192.0.2.1 domain = 100: expected "
         "EXPORTER [domain ID] = RATE"},
        {"[collector]\nsampling_override = 192.0.2.1 domain 7 x = 100\n",
         "t.conf:2: sampling_override = 192.0.2.1 domain 7 x = 100: "
         "expected EXPORTER [domain ID] = RATE"},
        {"[collector]\nsampling_override = 192.0.2.0/24 = 100\n",
         "t.conf:2: sampling_override = 192.0.2.0/24 = 100: exporter is not "
         "an IPv4 or IPv6 address"},
        {"[collector]\nsampling_override = 192.0.2.1 domain -1 = 100\n",
         "t.conf:2: sampling_override = 192.0.2.1 domain -1 = 100: domain "
         "is not a number in 0..4294967295"},
        {"[collector]\nsampling_override = 192.0.2.1 = 0\n",
         "t.conf:2: sampling_override = 192.0.2.1 = 0: rate is not a number "
         "in 1..4294967295"},
        {"[collector]\nsampling_override = 192.0.2.1 =\n",
         "t.conf:2: sampling_override = 192.0.2.1 =: rate is not a number "
         "in 1..4294967295"},
        {"[collector]\nsampling_override = 192.0.2.1 = 1 = 2\n",
         "t.conf:2: sampling_override = 192.0.2.1 = 1 = 2: rate is not a "
         "number in 1..4294967295"},
        {"[collector]\nsampling_override = 192.0.2.1 = 10\n"
         "sampling_override = 192.0.2.1 domain 3 = 10\n"
         "sampling_override = 192.0.2.1 = 20\n",
         "t.conf:4: sampling_override = 192.0.2.1 = 20: this exporter (and "
         "domain) already has an override"},
        {"[collector]\nsampling_override = 2001:db8::1 domain 3 = 10\n"
         "sampling_override = 2001:db8:0::1 domain 3 = 20\n",
         "t.conf:3: sampling_override = 2001:db8:0::1 domain 3 = 20: this "
         "exporter (and domain) already has an override"},
        /* redis */
        {"[redis]\nurl = 127.0.0.1:6379\n",
         "t.conf:2: url = 127.0.0.1:6379: not a redis:// URL"},
        {"[redis]\nurl = rediss://127.0.0.1:6379\n",
         "t.conf:2: url = rediss://127.0.0.1:6379: TLS (rediss://) is not "
         "supported"},
        {"[redis]\nurl = redis://h/db1\n",
         "t.conf:2: url = redis://h/db1: database is not a number "
         "(redis://HOST:PORT/DB)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        parse_fails(cases[i].text, cases[i].want);
}

static void test_too_many_listen(void **state)
{
    (void)state;
    char text[64 * 32 + 64] = "[collector]\n";
    for (int i = 1; i <= 65; i++) {
        char line[40];
        snprintf(line, sizeof(line), "listen = 127.0.0.1:%d\n", 1000 + i);
        strcat(text, line);
    }
    parse_fails(text, "t.conf:66: listen = 127.0.0.1:1065: too many listen "
                      "addresses (at most 64)");
}

/* Thousands of overrides: the index grows, and still finds every repeat. */
static void test_many_overrides(void **state)
{
    (void)state;
    size_t cap = 3000 * 64 + 64, len = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    len += (size_t)sprintf(text, "[collector]\n");
    for (unsigned i = 0; i < 3000; i++) {
        len += (size_t)sprintf(text + len,
                               "sampling_override = 2001:db8::%x%s = %u\n",
                               i / 2, i % 2 ? " domain 9" : "", i + 1);
    }
    hs_conf *c = parse_ok(text);
    assert_int_equal(c->collector.n_sampling_overrides, 3000);
    for (size_t i = 0; i < 3000; i++) {
        const hs_sampling_override *o = &c->collector.sampling_overrides[i];
        /* domain ones (odd lines) first, each half in file order */
        unsigned line = i < 1500 ? 2 * (unsigned)i + 1 : 2 * (unsigned)(i - 1500);
        assert_int_equal(o->any_domain, i >= 1500);
        assert_int_equal(o->rate, line + 1);
    }
    hs_conf_free(c);

    for (unsigned dup = 0; dup < 3000; dup += 997) {
        size_t l = len + (size_t)sprintf(text + len,
                                         "sampling_override = 2001:db8::%x%s "
                                         "= 1\n",
                                         dup / 2, dup % 2 ? " domain 9" : "");
        char want[160];
        snprintf(want, sizeof(want),
                 "t.conf:3002: sampling_override = 2001:db8::%x%s = 1: this "
                 "exporter (and domain) already has an override",
                 dup / 2, dup % 2 ? " domain 9" : "");
        text[l] = '\0';
        parse_fails(text, want);
    }
    free(text);
}

static void test_first_error_wins(void **state)
{
    (void)state;
    parse_fails("[detect]\nwindow = 1x\nbogus = 1\n[nope]\n",
                "t.conf:2: window = 1x: unknown duration unit (use s, m, h "
                "or d)");
    parse_fails("[nope]\nwindow = 1x\n", "t.conf:1: unknown section [nope]");
}

static void test_error_buffer(void **state)
{
    (void)state;
    static const char text[] = "[detect]\nwindow = 1x\n";
    hs_conf *c;
    char err[12];
    memset(err, 'Z', sizeof(err));
    assert_int_equal(hs_conf_parse_buf("t.conf", text, sizeof(text) - 1, &c,
                                       err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "t.conf:2: w"); /* truncated, terminated */
    assert_int_equal(hs_conf_parse_buf("a-very-long-file-name.conf", text,
                                       sizeof(text) - 1, &c, err,
                                       sizeof(err)),
                     -EINVAL);
    assert_int_equal(strlen(err), sizeof(err) - 1);
    assert_int_equal(hs_conf_parse_buf("t.conf", text, sizeof(text) - 1, &c,
                                       NULL, 0),
                     -EINVAL);
    assert_null(c);
}

static void test_buffer_size_limit(void **state)
{
    (void)state;
    size_t big = HS_CONF_FILE_MAX + 1;
    char *text = malloc(big);
    assert_non_null(text);
    memset(text, '\n', big);
    hs_conf *c = (hs_conf *)1;
    char err[128];
    assert_int_equal(hs_conf_parse_buf("b.conf", text, big, &c, err,
                                       sizeof(err)),
                     -EFBIG);
    assert_null(c);
    assert_string_equal(err, "b.conf: larger than 1048576 bytes");
    assert_int_equal(hs_conf_parse_buf("b.conf", text, big - 1, &c, err,
                                       sizeof(err)),
                     0);
    hs_conf_free(c);
    free(text);
}

/* Writes text to a new temporary file; returns its malloc'd path. */
static char *write_temp(const char *text, size_t len)
{
    char *path = strdup("/tmp/test_conf.XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_load(void **state)
{
    (void)state;
    hs_conf *c = (hs_conf *)1;
    char err[256];
    assert_int_equal(hs_conf_load("/nonexistent/haystackd.conf", &c, err,
                                  sizeof(err)),
                     -ENOENT);
    assert_null(c);
    assert_string_equal(err, "/nonexistent/haystackd.conf: cannot open: No "
                             "such file or directory");

    assert_int_equal(hs_conf_load("/tmp", &c, err, sizeof(err)), -EISDIR);
    assert_string_equal(err, "/tmp: cannot read: Is a directory");

    static const char good[] = "[log]\nlevel = error\n";
    char *path = write_temp(good, sizeof(good) - 1);
    assert_int_equal(hs_conf_load(path, &c, err, sizeof(err)), 0);
    assert_int_equal(c->log.level, HS_LOG_ERROR);
    assert_string_equal(c->name, path);
    hs_conf_free(c);
    unlink(path);
    free(path);

    static const char bad[] = "[log]\n\nlevel = loud\n";
    path = write_temp(bad, sizeof(bad) - 1);
    assert_int_equal(hs_conf_load(path, &c, err, sizeof(err)), -EINVAL);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: level = loud: not a log level "
             "(error, warning, info or debug)", path);
    assert_string_equal(err, want);
    unlink(path);
    free(path);

    /* Just over the size limit, all of it comment lines. */
    size_t big = HS_CONF_FILE_MAX + 1;
    char *text = malloc(big);
    assert_non_null(text);
    for (size_t i = 0; i < big; i++)
        text[i] = (i % 64 == 63) ? '\n' : ';';
    path = write_temp(text, big);
    assert_int_equal(hs_conf_load(path, &c, err, sizeof(err)), -EFBIG);
    snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
    assert_string_equal(err, want);
    unlink(path);
    free(path);
    path = write_temp(text, big - 1); /* exactly the limit: fine */
    assert_int_equal(hs_conf_load(path, &c, err, sizeof(err)), 0);
    hs_conf_free(c);
    unlink(path);
    free(path);
    free(text);
}

/* The defaults of [collector] are the collector's own. */
static void test_collector_settings_default(void **state)
{
    (void)state;
    hs_collector_conf want, got;
    hs_collector_conf_init(&want);
    hs_conf *c = parse_ok("");
    hs_conf_collector(c, &got);
    assert_int_equal(got.default_sampling, want.default_sampling);
    assert_int_equal(got.max_exporters, want.max_exporters);
    assert_int_equal(got.max_templates, want.max_templates);
    assert_int_equal(got.max_domains, want.max_domains);
    assert_true(got.template_timeout_ms == want.template_timeout_ms);
    assert_true(got.exporter_timeout_ms == want.exporter_timeout_ms);
    assert_int_equal(got.n_overrides, 0);
    hs_conf_free(c);
}

static void test_collector_settings(void **state)
{
    (void)state;
    hs_conf *c = parse_ok("[collector]\nsampling_rate = 64\n"
                          "max_exporters = 9\nmax_templates = 8\n"
                          "max_domains = 7\ntemplate_timeout = 6\n"
                          "exporter_timeout = 5\n"
                          "sampling_override = 192.0.2.1 = 100\n"
                          "sampling_override = 192.0.2.1 domain 7 = 10\n"
                          "sampling_override = 2001:db8::9 = 3\n"
                          "sampling_override = 2001:db8::9 domain 0 = 5\n");
    hs_collector_conf cc;
    hs_conf_collector(c, &cc);
    assert_int_equal(cc.default_sampling, 64);
    assert_int_equal(cc.max_exporters, 9);
    assert_int_equal(cc.max_templates, 8);
    assert_int_equal(cc.max_domains, 7);
    assert_true(cc.template_timeout_ms == 6000);
    assert_true(cc.exporter_timeout_ms == 5000);
    assert_ptr_equal(cc.overrides, c->collector.sampling_overrides);
    assert_int_equal(cc.n_allowed, 0);
    assert_int_equal(cc.n_overrides, 4);
    /* Domain-specific first (in file order), then whole exporters. */
    static const struct {
        const char *ip;
        int any;
        uint32_t domain, rate;
    } want[] = {
        {"192.0.2.1", 0, 7, 10},
        {"2001:db8::9", 0, 0, 5},
        {"192.0.2.1", 1, 0, 100},
        {"2001:db8::9", 1, 0, 3},
    };
    for (size_t i = 0; i < 4; i++) {
        hs_ip ip;
        hs_ip_parse(want[i].ip, &ip);
        /* byte-equal, padding included: the collector uses memcmp */
        assert_memory_equal(&cc.overrides[i].exporter, &ip, sizeof(ip));
        assert_int_equal(cc.overrides[i].any_domain, want[i].any);
        assert_int_equal(cc.overrides[i].domain, want[i].domain);
        assert_int_equal(cc.overrides[i].rate, want[i].rate);
    }
    hs_conf_free(c);
}

static hs_flow last_flow;

static void keep_last(void *ctx, const hs_flow *flows, size_t n)
{
    (void)ctx;
    if (n > 0)
        last_flow = flows[n - 1];
}

/* One NetFlow v9 datagram (template and one record) from ip, source_id. */
static uint32_t sampling_seen(hs_collector *col, const char *ip,
                              uint32_t source_id)
{
    static const uint16_t fields[][2] = {{8, 4}, {12, 4}, {7, 2}, {11, 2},
                                         {4, 1}};
    tu_msg *m = malloc(sizeof(*m));
    assert_non_null(m);
    tu_msg_begin_v9(m, 1000, 1700000000, 0, source_id);
    tu_set_begin(m, 0);
    tu_put16(m, 256);
    tu_put16(m, 5);
    for (int i = 0; i < 5; i++) {
        tu_put16(m, fields[i][0]);
        tu_put16(m, fields[i][1]);
    }
    tu_set_end(m);
    tu_set_begin(m, 256);
    tu_put32(m, 0xc0000201);
    tu_put32(m, 0xc6336407);
    tu_put16(m, 443);
    tu_put16(m, 50000);
    tu_put8(m, 6);
    tu_set_end(m);
    tu_msg_end(m);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(2055)};
    inet_pton(AF_INET, ip, &sa.sin_addr);
    memset(&last_flow, 0, sizeof(last_flow));
    assert_int_equal(hs_collector_input(col, (struct sockaddr *)&sa, m->buf,
                                        m->len, 1000),
                     1);
    free(m);
    return last_flow.sampling;
}

/* [collector] exporters is the collector's list of allowed sources. */
static void test_collector_allowed_sources(void **state)
{
    (void)state;
    hs_conf *c = parse_ok("[collector]\nexporters = 192.0.2.0/24\n"
                          "exporters = 2001:db8:ff::/48\n");
    hs_collector_conf cc;
    hs_conf_collector(c, &cc);
    assert_ptr_equal(cc.allowed, c->collector.exporters);
    assert_int_equal(cc.n_allowed, 2);
    hs_conf_free(c);
}

/* What the file says is what the collector applies, most specific first. */
static void test_collector_applies_overrides(void **state)
{
    (void)state;
    hs_conf *c = parse_ok("[collector]\nsampling_rate = 7\n"
                          "sampling_override = 127.0.0.9 = 100\n"
                          "sampling_override = 127.0.0.9 domain 5 = 5\n");
    hs_collector_conf cc;
    hs_conf_collector(c, &cc);
    hs_collector *col = hs_collector_new(&cc, (hs_flow_sink){keep_last, NULL});
    assert_non_null(col);
    assert_int_equal(sampling_seen(col, "127.0.0.9", 5), 5);
    assert_int_equal(sampling_seen(col, "127.0.0.9", 6), 100);
    assert_int_equal(sampling_seen(col, "127.0.0.8", 5), 7);
    hs_collector_free(col);
    hs_conf_free(c);
}

static unsigned diff_of(const char *a, const char *b)
{
    hs_conf *x = parse_ok(a), *y = parse_ok(b);
    unsigned d = hs_conf_diff(x, y);
    assert_int_equal(hs_conf_diff(y, x), d);
    hs_conf_free(x);
    hs_conf_free(y);
    return d;
}

static void test_listen_changed(void **state)
{
    (void)state;
    hs_conf *a = parse_ok("[collector]\nlisten = 0.0.0.0:4739\n"
                          "listen = [::]:4739\n");
    hs_conf *same = parse_ok("[collector]\nlisten = [0::]:4739\n"
                             "listen = 0.0.0.0:4739 ; reordered\n");
    hs_conf *fewer = parse_ok("[collector]\nlisten = 0.0.0.0:4739\n");
    hs_conf *moved = parse_ok("[collector]\nlisten = 0.0.0.0:4739\n"
                              "listen = [::]:4740\n");
    assert_false(hs_conf_listen_changed(a, same));
    assert_true(hs_conf_listen_changed(a, fewer));
    assert_true(hs_conf_listen_changed(fewer, a));
    assert_true(hs_conf_listen_changed(a, moved));
    assert_int_equal(hs_conf_diff(a, same), 0);
    assert_int_equal(hs_conf_diff(a, moved), HS_CONF_DIFF_LISTEN);
    hs_conf_free(a);
    hs_conf_free(same);
    hs_conf_free(fewer);
    hs_conf_free(moved);
}

static void test_diff(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned bit;
    } cases[] = {
        {"[collector]\nworkers = 2\n", HS_CONF_DIFF_SOCKETS},
        {"[collector]\nrcvbuf = 1m\n", HS_CONF_DIFF_SOCKETS},
        {"[collector]\nsampling_rate = 2\n", HS_CONF_DIFF_COLLECTOR},
        {"[collector]\nexporters = 10.0.0.0/8\n", HS_CONF_DIFF_COLLECTOR},
        {"[collector]\nmax_exporters = 1\n", HS_CONF_DIFF_COLLECTOR},
        {"[collector]\nmax_templates = 1\n", HS_CONF_DIFF_COLLECTOR},
        {"[collector]\nmax_domains = 1\n", HS_CONF_DIFF_COLLECTOR},
        {"[collector]\ntemplate_timeout = 1m\n", HS_CONF_DIFF_COLLECTOR},
        {"[collector]\nexporter_timeout = 1m\n", HS_CONF_DIFF_COLLECTOR},
        {"[collector]\nsampling_override = ::1 = 2\n",
         HS_CONF_DIFF_COLLECTOR},
        {"[signatures]\nfile = /x.json\n", HS_CONF_DIFF_SIGNATURES},
        {"[detect]\nwindow = 1h\n", HS_CONF_DIFF_DETECT},
        {"[detect]\nmin_domains = 2\n", HS_CONF_DIFF_DETECT},
        {"[detect]\nmin_fraction = 0.5\n", HS_CONF_DIFF_DETECT},
        {"[detect]\nmin_hits = 2\n", HS_CONF_DIFF_DETECT},
        {"[detect]\nsubscriber_prefixes = ::/0\n", HS_CONF_DIFF_DETECT},
        {"[detect]\nipv6_prefix_len = 64\n", HS_CONF_DIFF_DETECT},
        {"[detect]\nmax_subscribers = 5\n", HS_CONF_DIFF_DETECT},
        {"[detect]\nexpire_interval = 5s\n", HS_CONF_DIFF_DETECT},
        {"[redis]\nurl =\n", HS_CONF_DIFF_REDIS},
        {"[redis]\nchannel = c\n", HS_CONF_DIFF_REDIS},
        {"[redis]\nstream = s\n", HS_CONF_DIFF_REDIS},
        {"[redis]\nstream_maxlen = 5\n", HS_CONF_DIFF_REDIS},
        {"[redis]\nstate_prefix =\n", HS_CONF_DIFF_REDIS},
        {"[redis]\nstate_ttl = 1h\n", HS_CONF_DIFF_REDIS},
        {"[redis]\nqueue_max = 5\n", HS_CONF_DIFF_REDIS},
        {"[output]\nstdout = true\n", HS_CONF_DIFF_OUTPUT},
        {"[enrich]\nasn_db = /a.mmdb\n", HS_CONF_DIFF_ENRICH},
        {"[enrich]\ncountry_db = /c.mmdb\n", HS_CONF_DIFF_ENRICH},
        {"[state]\nfile = /s\n", HS_CONF_DIFF_STATE},
        {"[metrics]\nlisten =\n", HS_CONF_DIFF_METRICS},
        {"[metrics]\nlisten = 127.0.0.1:9274\n", HS_CONF_DIFF_METRICS},
        {"[log]\nlevel = debug\n", HS_CONF_DIFF_LOG},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned d = diff_of("", cases[i].text);
        if (d != cases[i].bit)
            fail_msg("%s: diff %#x, want %#x", cases[i].text, d,
                     cases[i].bit);
        assert_int_equal(diff_of(cases[i].text, cases[i].text), 0);
    }
    assert_int_equal(diff_of("[collector]\nsampling_override = ::1 = 2\n",
                             "[collector]\nsampling_override = ::1 = 3\n"),
                     HS_CONF_DIFF_COLLECTOR);
    assert_int_equal(diff_of("[metrics]\nlisten =\n", "[metrics]\nlisten =\n"),
                     0);
}

/* A small deterministic generator (PCG-style LCG, upper bits). */
static uint32_t next_random(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*seed >> 33);
}

#define PICK(seed, arr) (arr[next_random(seed) % (sizeof(arr) / sizeof(arr[0]))])

/*
 * Appends one random line to buf: mostly "key = value" for a key of the
 * section in force (a header first when the key needs another section),
 * sometimes a wrong header, key or value, sometimes with a stray byte.
 */
static void random_line(uint64_t *seed, char *buf, size_t cap, size_t *len,
                        int *section)
{
    static const char *const sections[] = {
        "collector", "detect", "redis", "metrics", "log", "output", "state",
        "enrich", "signatures"};
    static const char *const junk_lines[] = {
        "[bogus]", "[collector", "[ detect ] ; c", "= 1", "window",
        "bogus = 1", "; comment", "", "\xef\xbb\xbf"};
    static const char *const values[] = {
        "", "0", "1", "65", "24h", "1x", "32m", "5g", "0.5", "1e308", "-1",
        "[::]:4739", "0.0.0.0:1", "::1:5", "[::1]", "10.0.0.0/8",
        "10.0.0.1/8", "::/0,", ",", "192.0.2.1 domain 4 = 9",
        "192.0.2.1 = 7", "2001:db8::1 domain x = 1", "redis://u:p%41@[::1]:1/2",
        "redis://h:0", "redis://[::1", "%zz", "=", " ; c", " #x", "debug",
        "on", "\xff\xfe", "/path", "99999999999999999999999"};
    char line[256];
    int n = 0;
    unsigned pick = next_random(seed) % N_ALL_KEYS;
    int want = 0;
    while (strcmp(sections[want], all_keys[pick].section) != 0)
        want++;
    if (next_random(seed) % 10 == 0) {
        n = snprintf(line, sizeof(line), "%s", PICK(seed, junk_lines));
    } else {
        if (want != *section)
            n = snprintf(line, sizeof(line), "[%s]\n", sections[want]);
        *section = want;
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%s = %s%s",
                      all_keys[pick].name, PICK(seed, values),
                      next_random(seed) % 4 ? "" : PICK(seed, values));
    }
    if (n > 0 && next_random(seed) % 40 == 0)
        line[next_random(seed) % (unsigned)n] =
            (char)next_random(seed); /* a stray byte, NUL included */
    const char *eol = next_random(seed) % 8 ? "\n" : "\r\n";
    if (*len + (size_t)n + 2 <= cap) {
        memcpy(buf + *len, line, (size_t)n);
        *len += (size_t)n;
        memcpy(buf + *len, eol, strlen(eol));
        *len += strlen(eol);
    }
}

/*
 * The buffer form meets untrusted bytes (it is fuzzed): generate mostly
 * well-formed files of random keys, values and stray bytes, and require a
 * configuration or a "t.conf:LINE: ..." error every time, with ASan and
 * UBSan watching for leaks and overruns. Deterministic, 20000 inputs.
 */
static void test_random_inputs(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char buf[2048];
    unsigned accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = 0;
        int section = -1;
        unsigned lines = next_random(&seed) % 12;
        for (unsigned i = 0; i < lines; i++)
            random_line(&seed, buf, sizeof(buf), &len, &section);
        if (len > 0 && next_random(&seed) % 4 == 0)
            len--; /* no final newline, or a lone CR */
        hs_conf *c = NULL;
        char err[256];
        int rc = hs_conf_parse_buf("t.conf", buf, len, &c, err, sizeof(err));
        if (rc == 0) {
            assert_non_null(c);
            assert_true(c->collector.n_listen >= 1);
            assert_true(c->detect.rule.min_fraction <= 1.0);
            accepted++;
            hs_conf_free(c);
        } else {
            assert_int_equal(rc, -EINVAL);
            assert_null(c);
            assert_memory_equal(err, "t.conf:", 7);
        }
    }
    assert_true(accepted > 500); /* the generator reaches the setters */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_shipped_file),
        cmocka_unit_test(test_manual_lists_every_key),
        cmocka_unit_test(test_manual_example),
        cmocka_unit_test(test_every_key_set),
        cmocka_unit_test(test_empty_values_turn_off),
        cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_fractions),
        cmocka_unit_test(test_line_length_limit),
        cmocka_unit_test(test_level_names),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_too_many_listen),
        cmocka_unit_test(test_many_overrides),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_buffer_size_limit),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_collector_settings_default),
        cmocka_unit_test(test_collector_settings),
        cmocka_unit_test(test_collector_allowed_sources),
        cmocka_unit_test(test_collector_applies_overrides),
        cmocka_unit_test(test_listen_changed),
        cmocka_unit_test(test_diff),
        cmocka_unit_test(test_random_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
