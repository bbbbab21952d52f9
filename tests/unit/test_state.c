/*
 * test_state.c - the state file: a save restored into a fresh engine is
 * the same state and emits nothing until the rules say so; every kind of
 * damaged or foreign file is refused whole with its own message; a changed
 * signature file keeps what it still names; the subscriber cap holds.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "state.h"

#define HOUR (3600ull * 1000)
#define T0 (1764151200000ull)   /* 2025-11-26T10:00:00Z */

typedef struct seen_event {
    hs_event_type type;
    uint64_t time_ms;
    char sig[32];
    char subscriber[64];
} seen_event;

typedef struct fixture {
    hs_sigset *set;
    hs_engine *eng;
    seen_event ev[32];
    size_t n_ev;
} fixture;

static char tmpdir[] = "/tmp/test_state.XXXXXX";
static char path[256];

static void on_event(void *ctx, const hs_event *ev)
{
    fixture *f = ctx;
    assert_true(f->n_ev < sizeof(f->ev) / sizeof(f->ev[0]));
    seen_event *s = &f->ev[f->n_ev++];
    s->type = ev->type;
    s->time_ms = ev->time_ms;
    snprintf(s->sig, sizeof(s->sig), "%s",
             hs_sigset_sig(hs_engine_sigset(f->eng), ev->sig)->id);
    hs_subscriber_format(&ev->subscriber, s->subscriber,
                         sizeof(s->subscriber));
}

/*
 * Domains on 192.0.2.1.. (a on .1, b on .2, ...) in the order given;
 * signature "s" over those of a, b, c present (min_domains 2, window as
 * given), and "de" over d, e (min_domains 1) or, without de, "d2" over
 * them (min_domains 2).
 */
static char *sigset_json(const char *const *names, size_t n, bool de,
                         const char *window)
{
    static char buf[4096];
    char s_domains[64] = "";
    size_t len = (size_t)snprintf(buf, sizeof(buf),
                                  "{\"version\":1,\"domains\":[");
    for (size_t i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                                "%s{\"name\":\"%s\",\"endpoints\":[{\"prefix\""
                                ":\"192.0.2.%c\"}]}", i ? "," : "", names[i],
                                names[i][0] - 'a' + '1');
        if (names[i][0] <= 'c') {
            size_t k = strlen(s_domains);
            snprintf(s_domains + k, sizeof(s_domains) - k, "%s\"%s\"",
                     k ? "," : "", names[i]);
        }
    }
    snprintf(buf + len, sizeof(buf) - len,
             "],\"signatures\":[{\"id\":\"s\",\"level\":\"product\","
             "\"domains\":[%s],\"rule\":{\"min_domains\":2%s%s}},"
             "{\"id\":\"%s\",\"level\":\"platform\",\"domains\":"
             "[\"d\",\"e\"],\"rule\":{\"min_domains\":%d}}]}",
             s_domains, window ? ",\"window\":" : "", window ? window : "",
             de ? "de" : "d2", de ? 1 : 2);
    return buf;
}

static const char *const ABCDE[] = {"a", "b", "c", "d", "e"};

static void setup_full(fixture *f, const char *json, unsigned v6_plen,
                       uint64_t max_subscribers)
{
    memset(f, 0, sizeof(*f));
    char err[256];
    if (hs_sigset_load_buf("t.json", json, strlen(json), &f->set, err,
                           sizeof(err)) < 0)
        fail_msg("sigset: %s", err);
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    c.ipv6_prefix_len = v6_plen;
    c.max_subscribers = max_subscribers;
    assert_int_equal(hs_engine_new(&c, f->set, on_event, f, &f->eng), 0);
}

static void setup(fixture *f, const char *json)
{
    setup_full(f, json, HS_V6_PREFIX_DEFAULT, 1000);
}

static void teardown(fixture *f)
{
    hs_engine_free(f->eng);
    hs_sigset_free(f->set);
}

static void flow(fixture *f, const char *sub, char backend, uint64_t t)
{
    char dst[32];
    snprintf(dst, sizeof(dst), "192.0.2.%c", backend - 'a' + '1');
    hs_flow fl = {.src_port = 50000, .dst_port = 443, .proto = 6,
                  .sampling = 1, .start_ms = t - 1000, .end_ms = t,
                  .packets = 3, .bytes = 300};
    assert_int_equal(hs_ip_parse(sub, &fl.src), 0);
    assert_int_equal(hs_ip_parse(dst, &fl.dst), 0);
    hs_engine_flows(f->eng, &fl, 1);
}

static hs_engine_counters counters(const fixture *f)
{
    hs_engine_counters c;
    hs_engine_get_counters(f->eng, &c);
    return c;
}

/* ---- a dump of the state, by name, to compare engines -------------- */

typedef struct dump {
    const hs_sigset *set;
    char text[1024];
} dump;

static int dump_sub(void *ctx, const hs_sub_view *v)
{
    dump *d = ctx;
    char sub[64];
    size_t n = strlen(d->text);
    snprintf(d->text + n, sizeof(d->text) - n, "%s%s:", n ? "; " : "",
             hs_subscriber_format(&v->subscriber, sub, sizeof(sub)));
    for (uint32_t i = 0; i < v->n_evidence; i++) {
        const hs_evidence *e = &v->evidence[i];
        n = strlen(d->text);
        snprintf(d->text + n, sizeof(d->text) - n, " %s=%u(%u-%u)",
                 hs_sigset_domain(d->set, e->domain)->name,
                 hs_evidence_count(e, v->clock, v->clock, HS_WINDOW_BUCKETS),
                 e->first_s, e->last_s);
    }
    for (uint32_t i = 0; i < v->n_detected; i++) {
        n = strlen(d->text);
        snprintf(d->text + n, sizeof(d->text) - n, " [%s]",
                 hs_sigset_sig(d->set, v->detected[i])->id);
    }
    return 0;
}

static char *state_of(fixture *f)
{
    dump *d = calloc(1, sizeof(*d));
    assert_non_null(d);
    d->set = hs_engine_sigset(f->eng);
    assert_int_equal(hs_engine_foreach(f->eng, dump_sub, d), 0);
    char *s = strdup(d->text);
    free(d);
    return s;
}

/*
 * 10.0.0.1 detected "s" (a, b) and "de" (d); 10.0.0.2 saw a only;
 * 2001:db8:1:100::/56 saw c.
 */
static void populate(fixture *f)
{
    flow(f, "10.0.0.1", 'a', T0);
    flow(f, "10.0.0.1", 'b', T0 + 60000);
    flow(f, "10.0.0.1", 'd', T0 + 120000);
    flow(f, "10.0.0.2", 'a', T0 + 2 * HOUR);
    flow(f, "2001:db8:1:1ff::9", 'c', T0 + 3 * HOUR);
    assert_int_equal(f->n_ev, 2);
}

static void save(fixture *f, hs_state_stats *st)
{
    char err[256];
    if (hs_state_save(&f->eng, 1, path, st, err, sizeof(err)) < 0)
        fail_msg("save: %s", err);
}

static int restore(fixture *f, hs_state_stats *st, char *err, size_t len)
{
    return hs_state_restore(&f->eng, 1, path, st, err, len);
}

static uint8_t *read_saved(size_t *len)
{
    uint8_t *buf = (uint8_t *)tu_read_file(path, len);
    assert_non_null(buf);
    return buf;
}

static void write_file(const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(len ? fwrite(buf, 1, len, f) : 0, len);
    fclose(f);
}

/* The checksum as a writer of the format computes it. */
static uint32_t crc32_of(const uint8_t *p, size_t len)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put_le(uint8_t *p, uint64_t v, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void reseal(uint8_t *buf, size_t len)
{
    put_le(buf + len - 4, crc32_of(buf, len - 4), 4);
}

/* Restores buf into a fresh engine: expects refusal with msg, nothing
 * restored. */
static void expect_refused(const uint8_t *buf, size_t len, int code,
                           const char *msg)
{
    fixture f;
    setup(&f, sigset_json(ABCDE, 5, true, NULL));
    hs_state_stats st;
    char err[256] = "";
    int rc = hs_state_restore_buf(&f.eng, 1, "state.bin", buf, len, &st, err,
                                  sizeof(err));
    if (rc != code || !strstr(err, msg))
        fail_msg("len %zu: got %d \"%s\", want %d \"%s\"", len, rc, err, code,
                 msg);
    assert_int_equal(counters(&f).subscribers, 0);
    assert_int_equal(f.n_ev, 0);
    teardown(&f);
}

/* ---- round trip ---------------------------------------------------- */

static void test_round_trip_is_silent(void **state)
{
    (void)state;
    fixture a, b;
    setup(&a, sigset_json(ABCDE, 5, true, NULL));
    populate(&a);
    hs_state_stats st;
    save(&a, &st);
    assert_int_equal(st.subscribers, 3);
    assert_int_equal(st.entries, 5);
    assert_int_equal(st.detected, 2);
    assert_true(access(path, F_OK) == 0);
    char tmp[300];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    assert_true(access(tmp, F_OK) != 0);

    setup(&b, sigset_json(ABCDE, 5, true, NULL));
    char err[256];
    assert_int_equal(restore(&b, &st, err, sizeof(err)), 0);
    assert_false(st.missing);
    assert_int_equal(st.subscribers, 3);
    assert_int_equal(st.entries, 5);
    assert_int_equal(st.detected, 2);
    assert_int_equal(st.dropped_entries + st.dropped_detected +
                         st.dropped_cap + st.dropped_invalid, 0);
    assert_int_equal(b.n_ev, 0);   /* announced before the save */
    char *sa = state_of(&a), *sb = state_of(&b);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
    hs_engine_counters ca = counters(&a), cb = counters(&b);
    assert_int_equal(cb.watermark_ms, ca.watermark_ms);
    assert_int_equal(cb.entries, ca.entries);
    assert_int_equal(cb.detected, ca.detected);

    /* The evidence survived: 10.0.0.2's second domain detects. */
    flow(&a, "10.0.0.2", 'c', T0 + 4 * HOUR);
    flow(&b, "10.0.0.2", 'c', T0 + 4 * HOUR);
    assert_int_equal(b.n_ev, 1);
    assert_string_equal(b.ev[0].subscriber, "10.0.0.2");
    assert_string_equal(b.ev[0].sig, "s");

    /* And both engines expire the same things at the same event times. */
    for (uint64_t t = T0 + 5 * HOUR; t < T0 + 60 * HOUR; t += HOUR) {
        hs_engine_advance(a.eng, t);
        hs_engine_advance(b.eng, t);
    }
    assert_int_equal(b.n_ev, 4);
    assert_int_equal(a.n_ev, b.n_ev + 2);
    for (size_t i = 0; i < b.n_ev; i++) {
        assert_int_equal(a.ev[i + 2].type, b.ev[i].type);
        assert_int_equal(a.ev[i + 2].time_ms, b.ev[i].time_ms);
        assert_string_equal(a.ev[i + 2].sig, b.ev[i].sig);
        assert_string_equal(a.ev[i + 2].subscriber, b.ev[i].subscriber);
    }
    assert_int_equal(counters(&b).subscribers, 0);
    teardown(&a);
    teardown(&b);
}

static void test_missing_file_is_a_first_start(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json(ABCDE, 5, true, NULL));
    unlink(path);
    hs_state_stats st;
    char err[256];
    assert_int_equal(restore(&f, &st, err, sizeof(err)), 0);
    assert_true(st.missing);
    assert_int_equal(counters(&f).subscribers, 0);
    teardown(&f);
}

/* An empty engine saves a valid file that restores to nothing. */
static void test_empty_state(void **state)
{
    (void)state;
    fixture a, b;
    setup(&a, sigset_json(ABCDE, 5, true, NULL));
    setup(&b, sigset_json(ABCDE, 5, true, NULL));
    hs_state_stats st;
    save(&a, &st);
    char err[256];
    assert_int_equal(restore(&b, &st, err, sizeof(err)), 0);
    assert_int_equal(st.subscribers, 0);
    teardown(&a);
    teardown(&b);
}

/* ---- refused files ------------------------------------------------- */

/* A saved state of the populate() engine, read back into memory. */
static uint8_t *saved_state(size_t *len)
{
    fixture f;
    setup(&f, sigset_json(ABCDE, 5, true, NULL));
    populate(&f);
    hs_state_stats st;
    save(&f, &st);
    teardown(&f);
    return read_saved(len);
}

static void test_foreign_file(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = saved_state(&len);
    buf[0] = '{';
    expect_refused(buf, len, -EINVAL, "state.bin: not a haystack state file");
    expect_refused((const uint8_t *)"HSX", 3, -EINVAL,
                   "not a haystack state file");
    expect_refused(NULL, 0, -EINVAL, "state.bin: truncated (0 bytes)");
    free(buf);
    /* From a file: an empty one (the read path cannot map it) and a
     * directory. */
    fixture f;
    setup(&f, sigset_json(ABCDE, 5, true, NULL));
    hs_state_stats st;
    char err[512];
    write_file(NULL, 0);
    assert_int_equal(restore(&f, &st, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "state.bin: truncated (0 bytes)"));
    assert_int_equal(hs_state_restore(&f.eng, 1, tmpdir, &st, err, sizeof(err)),
                     -EISDIR);
    assert_non_null(strstr(err, ": not a regular file"));
    teardown(&f);
}

static void test_other_version(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = saved_state(&len);
    put_le(buf + 8, 2, 4);
    reseal(buf, len);
    expect_refused(buf, len, -ENOTSUP,
                   "state.bin: state format version 2, this haystackd reads 1");
    /* Decided on the version alone, whatever follows. */
    expect_refused(buf, 12, -ENOTSUP, "state format version 2");
    free(buf);
}

static void test_truncated_anywhere(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = saved_state(&len);
    for (size_t n = 0; n < len; n++)
        expect_refused(buf, n, -EINVAL, "state.bin: truncated");
    free(buf);
}

static void test_flipped_bytes(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = saved_state(&len);
    /* Past the version and the length field, the checksum catches all. */
    for (size_t i = 24; i < len; i++) {
        buf[i] ^= 0x10;
        expect_refused(buf, len, -EINVAL,
                       "state.bin: checksum mismatch (corrupt)");
        buf[i] ^= 0x10;
    }
    buf[20] ^= 1;   /* the length field */
    expect_refused(buf, len, -EINVAL, "state.bin: ");
    buf[20] ^= 1;
    uint8_t *longer = malloc(len + 3);
    memcpy(longer, buf, len);
    memset(longer + len, 0, 3);
    expect_refused(longer, len + 3, -EINVAL, "corrupt: 3 bytes past the end");
    free(longer);
    free(buf);
}

/* Offsets in the saved file: the header, then names a..e, s, de. */
enum { OFF_NDOM = 44, OFF_NSIG = 48, OFF_NSUB = 52, OFF_NAMES = 56 };

static size_t first_sub_offset(void)
{
    return OFF_NAMES + 5 * 3 + (2 + 1) + (2 + 2);
}

/* A valid checksum over lying counts: found by the bounds checks. */
static void test_counts_that_lie(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = saved_state(&len);
    uint8_t *bad = malloc(len);
    struct {
        size_t off, bytes;
        uint64_t value;
        const char *msg;
    } cases[] = {
        {OFF_NDOM, 4, UINT32_MAX, "corrupt: counts larger than the file"},
        {OFF_NSUB, 4, UINT32_MAX, "corrupt: counts larger than the file"},
        {OFF_NSUB, 4, 4, "corrupt: a count or reference"},
        {OFF_NSUB, 4, 2, "corrupt: a count or reference"},
        {OFF_NDOM, 4, 4, "corrupt: a count or reference"},
        {OFF_NSIG, 4, 1, "corrupt: a count or reference"},
        {OFF_NAMES, 2, 0, "corrupt: a count or reference"},
        {OFF_NAMES, 2, 60000, "corrupt: a count or reference"},
        {12, 4, 1, "corrupt: unknown flags"},
        {24, 8, 0, "corrupt: bucket width"},
        {first_sub_offset() + 10, 2, 60000, "corrupt: a count or reference"},
        {first_sub_offset() + 12, 2, 60000, "corrupt: a count or reference"},
        {first_sub_offset() + 8, 1, 5, "corrupt: a count or reference"},
        {first_sub_offset() + 16, 4, UINT32_MAX, "corrupt: a count or ref"},
        {first_sub_offset() + 20, 4, 99, "corrupt: a count or reference"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memcpy(bad, buf, len);
        put_le(bad + cases[i].off, cases[i].value, cases[i].bytes);
        reseal(bad, len);
        expect_refused(bad, len, -EINVAL, cases[i].msg);
    }
    free(bad);
    free(buf);
}

static void test_other_ipv6_prefix_len(void **state)
{
    (void)state;
    fixture a, b;
    setup_full(&a, sigset_json(ABCDE, 5, true, NULL), 48, 1000);
    populate(&a);
    hs_state_stats st;
    save(&a, &st);
    setup(&b, sigset_json(ABCDE, 5, true, NULL));
    char err[256];
    assert_int_equal(restore(&b, &st, err, sizeof(err)), -ENOTSUP);
    char want[400];
    snprintf(want, sizeof(want), "%s: made with ipv6_prefix_len 48, "
             "configured 56: not restored", path);
    assert_string_equal(err, want);
    assert_int_equal(counters(&b).subscribers, 0);
    teardown(&a);
    teardown(&b);
}

/* ---- another signature file or configuration ----------------------- */

static void test_changed_signatures_map_by_name(void **state)
{
    (void)state;
    fixture a, b;
    setup(&a, sigset_json(ABCDE, 5, true, NULL));
    populate(&a);
    hs_state_stats st;
    save(&a, &st);
    /* b is gone, the rest renumbered, signature "de" removed. */
    static const char *const ECDA[] = {"e", "c", "d", "a"};
    setup(&b, sigset_json(ECDA, 4, false, NULL));
    char err[256];
    assert_int_equal(restore(&b, &st, err, sizeof(err)), 0);
    assert_int_equal(st.dropped_entries, 1);
    assert_int_equal(st.dropped_detected, 1);
    char *s = state_of(&b);
    /* 10.0.0.1 still holds "s": without b it has a and d, below
     * min_domains 2, so "s" lapses now with an expired event. */
    assert_null(strstr(s, "b="));
    assert_non_null(strstr(s, "10.0.0.1:"));
    assert_non_null(strstr(s, " a=1"));
    assert_non_null(strstr(s, " d=1"));
    assert_non_null(strstr(s, " c=1"));
    assert_null(strstr(s, "[de]"));
    assert_null(strstr(s, "[s]"));
    free(s);
    assert_int_equal(b.n_ev, 1);
    assert_int_equal(b.ev[0].type, HS_EVENT_EXPIRED);
    assert_string_equal(b.ev[0].sig, "s");
    assert_string_equal(b.ev[0].subscriber, "10.0.0.1");
    /* At a bucket boundary after the save's last look at the record. */
    assert_in_range(b.ev[0].time_ms, T0 + 120000, counters(&a).watermark_ms);
    /* Remaining evidence still counts: c with a detects for 10.0.0.2. */
    flow(&b, "10.0.0.2", 'c', T0 + 4 * HOUR);
    assert_int_equal(b.n_ev, 2);
    assert_string_equal(b.ev[1].sig, "s");
    teardown(&a);
    teardown(&b);
}

/* A longer window means wider buckets: the rings are re-bucketed by time
 * and the detection holds until the new window has passed. */
static void test_bucket_width_converted(void **state)
{
    (void)state;
    fixture a, b;
    setup(&a, sigset_json(ABCDE, 5, true, NULL));
    populate(&a);
    hs_state_stats st;
    save(&a, &st);
    setup(&b, sigset_json(ABCDE, 5, true, "\"48h\""));
    assert_int_equal(hs_engine_bucket_ms(b.eng), 2 * 24 * HOUR / 16);
    char err[256];
    assert_int_equal(restore(&b, &st, err, sizeof(err)), 0);
    assert_int_equal(st.subscribers, 3);
    assert_int_equal(st.bucket_ms, 24 * HOUR / 16);
    assert_int_equal(b.n_ev, 0);
    hs_engine_advance(b.eng, T0 + 30 * HOUR);
    assert_int_equal(b.n_ev, 1);    /* "de" has the default 24 h window */
    assert_string_equal(b.ev[0].sig, "de");
    for (uint64_t t = T0 + 31 * HOUR; t < T0 + 60 * HOUR; t += HOUR)
        hs_engine_advance(b.eng, t);
    assert_int_equal(b.n_ev, 2);
    assert_string_equal(b.ev[1].sig, "s");
    uint64_t w = hs_engine_bucket_ms(b.eng);
    assert_int_equal(b.ev[1].time_ms, (T0 / w + 16) * w);
    teardown(&a);
    teardown(&b);
}

static void test_max_subscribers(void **state)
{
    (void)state;
    fixture a, b;
    setup(&a, sigset_json(ABCDE, 5, true, NULL));
    populate(&a);
    hs_state_stats st;
    save(&a, &st);
    setup_full(&b, sigset_json(ABCDE, 5, true, NULL), HS_V6_PREFIX_DEFAULT, 2);
    char err[256];
    assert_int_equal(restore(&b, &st, err, sizeof(err)), 0);
    assert_int_equal(st.subscribers, 2);
    assert_int_equal(st.dropped_cap, 1);
    assert_int_equal(counters(&b).subscribers, 2);
    assert_int_equal(b.n_ev, 0);
    teardown(&a);
    teardown(&b);
}

/* Restoring into an engine that already tracks the subscribers. */
static void test_restore_twice(void **state)
{
    (void)state;
    fixture a;
    setup(&a, sigset_json(ABCDE, 5, true, NULL));
    populate(&a);
    hs_state_stats st;
    save(&a, &st);
    char err[256];
    assert_int_equal(restore(&a, &st, err, sizeof(err)), 0);
    assert_int_equal(st.subscribers, 0);
    assert_int_equal(st.dropped_invalid, 3);
    assert_int_equal(counters(&a).subscribers, 3);
    teardown(&a);
}

static void test_unwritable_path(void **state)
{
    (void)state;
    fixture a;
    setup(&a, sigset_json(ABCDE, 5, true, NULL));
    hs_state_stats st;
    char err[256];
    assert_int_equal(hs_state_save(&a.eng, 1, "/nonexistent/dir/state", &st, err,
                                   sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/dir/state: cannot write"));
    assert_int_equal(hs_state_check_writable("/nonexistent/dir/state", err,
                                             sizeof(err)), -ENOENT);
    assert_string_equal(err, "/nonexistent/dir/state: /nonexistent/dir: "
                             "No such file or directory");
    assert_int_equal(hs_state_check_writable(path, err, sizeof(err)), 0);
    teardown(&a);
}

/* ---- hostile input -------------------------------------------------- */

typedef struct totals {
    uint64_t subs, entries, detected;
} totals;

static int add_totals(void *ctx, const hs_sub_view *v)
{
    totals *t = ctx;
    t->subs++;
    t->entries += v->n_evidence;
    t->detected += v->n_detected;
    return 0;
}

/* Whatever a restore did, the engine's counters agree with its records. */
static void check_consistent(fixture *f)
{
    totals t = {0};
    assert_int_equal(hs_engine_foreach(f->eng, add_totals, &t), 0);
    hs_engine_counters c = counters(f);
    assert_int_equal(c.subscribers, t.subs);
    assert_int_equal(c.entries, t.entries);
    assert_int_equal(c.detected, t.detected);
}

/*
 * What a fuzzer would find past the checksum: random bytes changed and
 * the file resealed. Any outcome is fine but a crash (ASan/UBSan run
 * these), a leak, or an engine out of step with itself.
 */
static void test_resealed_mutations(void **state)
{
    (void)state;
    size_t len;
    uint8_t *buf = saved_state(&len);
    uint8_t *bad = malloc(len);
    unsigned seed = 12345;
    for (int round = 0; round < 3000; round++) {
        memcpy(bad, buf, len);
        int n = 1 + (int)(rand_r(&seed) % 4);
        for (int k = 0; k < n; k++) {
            size_t at = 12 + (size_t)rand_r(&seed) % (len - 16);
            if (at >= 16 && at < 24)
                continue;                    /* keep the length field */
            bad[at] = (uint8_t)rand_r(&seed);
        }
        reseal(bad, len);
        fixture f;
        setup(&f, sigset_json(ABCDE, 5, true, NULL));
        hs_state_stats st;
        char err[256];
        int rc = hs_state_restore_buf(&f.eng, 1, "m", bad, len, &st, err,
                                      sizeof(err));
        if (rc < 0)
            assert_int_equal(counters(&f).subscribers, 0);
        check_consistent(&f);
        hs_engine_advance(f.eng, T0 + 100 * HOUR);
        check_consistent(&f);
        assert_int_equal(counters(&f).subscribers, 0);
        teardown(&f);
    }
    free(bad);
    free(buf);
}

/* The engine's own checks, for callers other than the state file. */
static void test_engine_refuses_bad_views(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json(ABCDE, 5, true, NULL));
    hs_engine_advance(f.eng, T0);
    uint64_t w = hs_engine_bucket_ms(f.eng);
    hs_evidence ev[2];
    hs_evidence_init(&ev[0], 0);
    hs_evidence_init(&ev[1], 1);
    uint32_t clock = (uint32_t)(T0 / w);
    hs_evidence_add(&ev[0], clock, (uint32_t)(T0 / 1000));
    uint32_t det[2] = {0, 0};
    hs_sub_view good = {.subscriber = {.key = 0x0a000001, .af = HS_AF_V4,
                                       .plen = 32},
                        .clock = clock, .evidence = ev, .n_evidence = 2,
                        .detected = det, .n_detected = 0};
    hs_sub_view v = good;
    v.subscriber.plen = 24;
    assert_int_equal(hs_engine_restore(f.eng, &v, w), -EINVAL);
    v = good;
    v.subscriber.key = 1ull << 40;
    assert_int_equal(hs_engine_restore(f.eng, &v, w), -EINVAL);
    v = good;
    v.subscriber = (hs_subscriber){.key = 1, .af = HS_AF_V6, .plen = 56};
    assert_int_equal(hs_engine_restore(f.eng, &v, w), -EINVAL);  /* unmasked */
    v = good;
    v.clock = clock + 1;                                /* past the watermark */
    assert_int_equal(hs_engine_restore(f.eng, &v, w), -EINVAL);
    v = good;
    assert_int_equal(hs_engine_restore(f.eng, &v, 0), -EINVAL);
    v = good;
    ev[1].domain = 5;                                   /* out of range */
    assert_int_equal(hs_engine_restore(f.eng, &v, w), -EINVAL);
    ev[1].domain = 0;                                   /* repeated */
    assert_int_equal(hs_engine_restore(f.eng, &v, w), -EINVAL);
    ev[1].domain = 1;
    v.n_detected = 2;                                   /* repeated */
    assert_int_equal(hs_engine_restore(f.eng, &v, w), -EINVAL);
    det[1] = 2;                                         /* out of range */
    assert_int_equal(hs_engine_restore(f.eng, &v, w), -EINVAL);
    check_consistent(&f);
    assert_int_equal(counters(&f).subscribers, 0);
    /* The good one, once; ev[1] has no hits and is aged away. */
    assert_int_equal(hs_engine_restore(f.eng, &good, w), 0);
    assert_int_equal(hs_engine_restore(f.eng, &good, w), -EEXIST);
    check_consistent(&f);
    assert_int_equal(counters(&f).entries, 1);
    assert_int_equal(f.n_ev, 0);
    teardown(&f);
}

static int group_setup(void **state)
{
    (void)state;
    if (!mkdtemp(tmpdir))
        return -1;
    snprintf(path, sizeof(path), "%s/state.bin", tmpdir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    unlink(path);
    return rmdir(tmpdir);
}

/* Every subscriber of a shard must be one hs_subscriber_shard gives it. */
typedef struct shard_check {
    unsigned shard, n, seen;
} shard_check;

static int check_shard(void *ctx, const hs_sub_view *v)
{
    shard_check *c = ctx;
    assert_int_equal(hs_subscriber_shard(&v->subscriber, c->n), c->shard);
    c->seen++;
    return 0;
}

/* "; "-separated subscribers in sorted order: shards list them apart. */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted(char *dumped)
{
    char *part[16], *save = NULL;
    size_t n = 0;
    for (char *p = strtok_r(dumped, ";", &save); p && n < 16;
         p = strtok_r(NULL, ";", &save))
        part[n++] = p + (*p == ' ');
    qsort(part, n, sizeof(part[0]), cmp_str);
    static char out[1024];
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s|", part[i]);
    return out;
}

/* One engine saved, restored into two shards (workers), saved from them
 * and restored into one again: nothing lost, each subscriber where its
 * hash puts it, and the same state at the end. */
static void test_shards_split_and_merge(void **state)
{
    (void)state;
    fixture a, s0, s1, b;
    setup(&a, sigset_json(ABCDE, 5, true, NULL));
    populate(&a);
    hs_state_stats st;
    save(&a, &st);
    setup(&s0, sigset_json(ABCDE, 5, true, NULL));
    setup(&s1, sigset_json(ABCDE, 5, true, NULL));
    hs_engine *two[2] = {s0.eng, s1.eng};
    char err[256];
    assert_int_equal(hs_state_restore(two, 2, path, &st, err, sizeof(err)), 0);
    assert_int_equal(st.subscribers, 3);
    assert_int_equal(st.entries, 5);
    assert_int_equal(st.detected, 2);
    shard_check c0 = {0, 2, 0}, c1 = {1, 2, 0};
    hs_engine_foreach(s0.eng, check_shard, &c0);
    hs_engine_foreach(s1.eng, check_shard, &c1);
    assert_int_equal(c0.seen + c1.seen, 3);
    assert_true(c0.seen > 0 && c1.seen > 0); /* both shards used */
    assert_int_equal(counters(&s0).watermark_ms, counters(&a).watermark_ms);
    assert_int_equal(counters(&s1).watermark_ms, counters(&a).watermark_ms);

    assert_int_equal(hs_state_save(two, 2, path, &st, err, sizeof(err)), 0);
    assert_int_equal(st.subscribers, 3);
    setup(&b, sigset_json(ABCDE, 5, true, NULL));
    assert_int_equal(restore(&b, &st, err, sizeof(err)), 0);
    assert_int_equal(st.subscribers, 3);
    char *sa = state_of(&a), *sb = state_of(&b);
    char want[1024];
    snprintf(want, sizeof(want), "%s", sorted(sa));
    assert_string_equal(sorted(sb), want);
    assert_int_equal(counters(&b).watermark_ms, counters(&a).watermark_ms);
    assert_int_equal(a.n_ev, 2);
    assert_int_equal(s0.n_ev + s1.n_ev + b.n_ev, 0); /* nothing re-announced */
    free(sa);
    free(sb);
    teardown(&a);
    teardown(&s0);
    teardown(&s1);
    teardown(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_is_silent),
        cmocka_unit_test(test_missing_file_is_a_first_start),
        cmocka_unit_test(test_empty_state),
        cmocka_unit_test(test_foreign_file),
        cmocka_unit_test(test_other_version),
        cmocka_unit_test(test_truncated_anywhere),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_counts_that_lie),
        cmocka_unit_test(test_other_ipv6_prefix_len),
        cmocka_unit_test(test_changed_signatures_map_by_name),
        cmocka_unit_test(test_bucket_width_converted),
        cmocka_unit_test(test_max_subscribers),
        cmocka_unit_test(test_restore_twice),
        cmocka_unit_test(test_unwritable_path),
        cmocka_unit_test(test_resealed_mutations),
        cmocka_unit_test(test_engine_refuses_bad_views),
        cmocka_unit_test(test_shards_split_and_merge),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
