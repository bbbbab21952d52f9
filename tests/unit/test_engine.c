/*
 * test_engine.c - the detection engine end to end on small signature sets:
 * rules, one event per transition, expiry in event time, IPv6 keying,
 * subscriber choice, the subscriber cap, bounded sweeps, sigset swaps.
 */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define HOUR (3600ull * 1000)
#define T0 (1764151200000ull)   /* 2025-11-26T10:00:00Z */

/* ---- fixtures ------------------------------------------------------ */

typedef struct seen_event {
    hs_event_type type;
    uint64_t time_ms;
    char sig[32];
    char subscriber[64];
    uint32_t domains_seen;
    char json[1024];
} seen_event;

typedef struct fixture {
    hs_sigset *set;
    hs_engine *eng;
    seen_event ev[64];
    size_t n_ev;
} fixture;

static void on_event(void *ctx, const hs_event *ev)
{
    fixture *f = ctx;
    assert_true(f->n_ev < sizeof(f->ev) / sizeof(f->ev[0]));
    seen_event *s = &f->ev[f->n_ev++];
    const hs_sigset *set = hs_engine_sigset(f->eng);
    s->type = ev->type;
    s->time_ms = ev->time_ms;
    snprintf(s->sig, sizeof(s->sig), "%s", hs_sigset_sig(set, ev->sig)->id);
    hs_subscriber_format(&ev->subscriber, s->subscriber,
                         sizeof(s->subscriber));
    s->domains_seen = ev->domains_seen;
    assert_true(hs_event_format_json(ev, set, NULL, s->json,
                                     sizeof(s->json)) > 0);
}

static hs_sigset *load(const char *json)
{
    hs_sigset *s = NULL;
    char err[256];
    int rc = hs_sigset_load_buf("test.json", json, strlen(json), &s, err,
                                sizeof(err));
    if (rc < 0)
        fail_msg("sigset: %s", err);
    return s;
}

/*
 * Domains a, b, c on 192.0.2.1-3 (tcp 443), d and e sharing 192.0.2.4,
 * and signature "s" over a, b, c with the given rule members.
 */
static char *sigset_json(const char *rule)
{
    static char buf[2048];
    snprintf(buf, sizeof(buf),
             "{\"version\":1,\"domains\":["
             "{\"name\":\"a\",\"endpoints\":[{\"prefix\":\"192.0.2.1\","
             "\"ports\":[443],\"proto\":\"tcp\"}]},"
             "{\"name\":\"b\",\"endpoints\":[{\"prefix\":\"192.0.2.2\","
             "\"ports\":[443],\"proto\":\"tcp\"}]},"
             "{\"name\":\"c\",\"endpoints\":[{\"prefix\":\"192.0.2.3\","
             "\"ports\":[443],\"proto\":\"tcp\"}]},"
             "{\"name\":\"d\",\"endpoints\":[{\"prefix\":\"192.0.2.4\"}]},"
             "{\"name\":\"e\",\"endpoints\":[{\"prefix\":\"192.0.2.4\"}]},"
             "{\"name\":\"wide\",\"endpoints\":[{\"prefix\":"
             "\"198.51.100.0/24\"}]}],"
             "\"signatures\":[{\"id\":\"s\",\"level\":\"product\","
             "\"domains\":[\"a\",\"b\",\"c\"],\"rule\":{%s}},"
             "{\"id\":\"de\",\"level\":\"platform\","
             "\"domains\":[\"d\",\"e\"],\"rule\":{\"min_domains\":2}}]}",
             rule);
    return buf;
}

static void setup_conf(fixture *f, const char *json, const hs_engine_conf *c)
{
    memset(f, 0, sizeof(*f));
    f->set = load(json);
    assert_int_equal(hs_engine_new(c, f->set, on_event, f, &f->eng), 0);
}

static void setup(fixture *f, const char *json)
{
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    setup_conf(f, json, &c);
}

static void teardown(fixture *f)
{
    hs_engine_free(f->eng);
    hs_sigset_free(f->set);
}

/* One tcp flow from a subscriber port to backend port 443. */
static void flow(fixture *f, const char *sub, const char *backend,
                 uint64_t t)
{
    hs_flow fl = {.src_port = 50000, .dst_port = 443, .proto = 6,
                  .sampling = 1, .start_ms = t - 1000, .end_ms = t,
                  .packets = 3, .bytes = 300};
    assert_int_equal(hs_ip_parse(sub, &fl.src), 0);
    assert_int_equal(hs_ip_parse(backend, &fl.dst), 0);
    /* As the collector would deliver it: through a flow sink. */
    hs_flow_sink sink = {.fn = hs_engine_flows, .ctx = f->eng};
    sink.fn(sink.ctx, &fl, 1);
}

static hs_engine_counters counters(const fixture *f)
{
    hs_engine_counters c;
    hs_engine_get_counters(f->eng, &c);
    return c;
}

typedef struct dump {
    const hs_sigset *set;
    char text[512];
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
        snprintf(d->text + n, sizeof(d->text) - n, " %s=%u",
                 hs_sigset_domain(d->set, e->domain)->name,
                 hs_evidence_count(e, v->clock, v->clock,
                                   HS_WINDOW_BUCKETS));
    }
    for (uint32_t i = 0; i < v->n_detected; i++) {
        n = strlen(d->text);
        snprintf(d->text + n, sizeof(d->text) - n, " [%s]",
                 hs_sigset_sig(d->set, v->detected[i])->id);
    }
    return 0;
}

static const char *state_of(fixture *f)
{
    static dump d;
    memset(&d, 0, sizeof(d));
    d.set = hs_engine_sigset(f->eng);
    assert_int_equal(hs_engine_foreach(f->eng, dump_sub, &d), 0);
    return d.text;
}

#define SUB "203.0.113.7"
#define A "192.0.2.1"
#define B "192.0.2.2"
#define C "192.0.2.3"

/* ---- rules --------------------------------------------------------- */

static void test_one_backend_vs_min_domains(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":2"));
    flow(&f, "203.0.113.9", A, T0);
    assert_int_equal(f.n_ev, 0);
    assert_int_equal(counters(&f).subscribers, 1);
    assert_int_equal(counters(&f).entries, 1);
    flow(&f, "203.0.113.9", B, T0 + HOUR);
    assert_int_equal(f.n_ev, 1);
    assert_int_equal(f.ev[0].type, HS_EVENT_DETECTED);
    assert_string_equal(f.ev[0].sig, "s");
    assert_string_equal(f.ev[0].subscriber, "203.0.113.9");
    assert_int_equal(f.ev[0].time_ms, T0 + HOUR);
    assert_int_equal(f.ev[0].domains_seen, 2);
    teardown(&f);
}

static void test_min_fraction(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_fraction\":0.7"));
    flow(&f, SUB, A, T0);
    flow(&f, SUB, B, T0 + 1000);
    assert_int_equal(f.n_ev, 0);      /* 2/3 < 0.7 */
    flow(&f, SUB, C, T0 + 2000);
    assert_int_equal(f.n_ev, 1);
    assert_int_equal(f.ev[0].domains_seen, 3);
    teardown(&f);
}

static void test_required(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":2,\"required\":[\"c\"]"));
    flow(&f, SUB, A, T0);
    flow(&f, SUB, B, T0 + 1000);
    assert_int_equal(f.n_ev, 0);
    flow(&f, SUB, C, T0 + 2000);
    assert_int_equal(f.n_ev, 1);
    teardown(&f);
}

static void test_min_hits(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_hits\":3"));
    flow(&f, SUB, A, T0);
    flow(&f, SUB, B, T0 + 1000);
    flow(&f, SUB, A, T0 + 2000);
    assert_int_equal(f.n_ev, 0);
    flow(&f, SUB, A, T0 + 3000);
    assert_int_equal(f.n_ev, 1);
    assert_int_equal(f.ev[0].domains_seen, 1);
    teardown(&f);
}

static void test_detected_once(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":1"));
    for (int i = 0; i < 500; i++)
        flow(&f, SUB, i % 2 ? A : B, T0 + (uint64_t)i * 60000);
    assert_int_equal(f.n_ev, 1);
    hs_engine_counters c = counters(&f);
    assert_int_equal(c.detections, 1);
    assert_int_equal(c.detected, 1);
    assert_int_equal(c.hits, 500);
    assert_int_equal(c.match.flows_matched, 500);
    teardown(&f);
}

static void test_match_apart_from_apply(void **state)
{
    (void)state;
    /* What a threaded daemon would do: match with the engine's matching
     * configuration on one thread, apply the hits on the owner's. */
    fixture f;
    setup(&f, sigset_json("\"min_domains\":2"));
    hs_flow fl[2] = {
        {.src_port = 40000, .dst_port = 443, .proto = 6, .end_ms = T0},
        {.src_port = 443, .dst_port = 40000, .proto = 6, .end_ms = T0 + 1},
    };
    assert_int_equal(hs_ip_parse("2001:db8:9:9a00::1", &fl[0].src), 0);
    assert_int_equal(hs_ip_parse(A, &fl[0].dst), 0);
    assert_int_equal(hs_ip_parse(B, &fl[1].src), 0);
    assert_int_equal(hs_ip_parse("2001:db8:9:9aff::2", &fl[1].dst), 0);
    hs_match_stats st = {0};
    hs_hit hits[2 * HS_MATCH_MAX_HITS];
    size_t n = 0;
    for (int i = 0; i < 2; i++)
        n += hs_match_flow(f.set, hs_engine_match_conf(f.eng), &fl[i],
                           hits + n, HS_MATCH_MAX_HITS, &st);
    assert_int_equal(n, 2);
    assert_int_equal(st.flows_matched, 2);
    assert_int_equal(hs_subscriber_hash(&hits[0].sub),
                     hs_subscriber_hash(&hits[1].sub));
    hs_engine_apply(f.eng, hits, n);
    assert_int_equal(f.n_ev, 1);
    assert_string_equal(f.ev[0].subscriber, "2001:db8:9:9a00::/56");
    teardown(&f);
}

/* ---- time ---------------------------------------------------------- */

static void test_ages_out_once(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":1"));
    uint64_t w = hs_engine_bucket_ms(f.eng);
    assert_int_equal(w, 24 * HOUR / HS_WINDOW_BUCKETS);
    flow(&f, SUB, A, T0);
    assert_int_equal(f.n_ev, 1);
    /* Still inside the window one bucket before it ends. */
    hs_engine_advance(f.eng, T0 + 24 * HOUR - 2 * w);
    assert_int_equal(f.n_ev, 1);
    for (int i = 0; i < 10; i++)
        hs_engine_advance(f.eng, T0 + 30 * HOUR + (uint64_t)i * HOUR);
    assert_int_equal(f.n_ev, 2);
    assert_int_equal(f.ev[1].type, HS_EVENT_EXPIRED);
    assert_string_equal(f.ev[1].sig, "s");
    /* The lapse time: the boundary where the hit's bucket left. */
    uint64_t lapse = (T0 / w + HS_WINDOW_BUCKETS) * w;
    assert_int_equal(f.ev[1].time_ms, lapse);
    assert_true(lapse > T0 + 24 * HOUR - w && lapse <= T0 + 24 * HOUR);
    assert_int_equal(f.ev[1].domains_seen, 0);
    assert_non_null(strstr(f.ev[1].json, "\"domains_seen\":0,"));
    assert_non_null(strstr(f.ev[1].json,
                           "\"last_seen\":\"2025-11-26T10:00:00Z\""));
    hs_engine_counters c = counters(&f);
    assert_int_equal(c.expiries, 1);
    assert_int_equal(c.detected, 0);
    assert_int_equal(c.subscribers, 0);
    assert_int_equal(c.entries, 0);
    assert_int_equal(c.evictions, 1);
    teardown(&f);
}

static void test_expiry_time_without_advance(void **state)
{
    (void)state;
    /* A replay that never calls advance: the expiry is found when the
     * subscriber is next touched, with the time it really lapsed. */
    fixture f;
    setup(&f, sigset_json("\"min_domains\":2"));
    uint64_t w = hs_engine_bucket_ms(f.eng);
    flow(&f, SUB, A, T0);
    flow(&f, SUB, B, T0 + 10 * HOUR);
    assert_int_equal(f.n_ev, 1);
    flow(&f, SUB, A, T0 + 30 * HOUR);
    /* The first a had left at T0+24h; b (at T0+10h) is still inside the
     * window, so the new a makes the rule true again. */
    assert_int_equal(f.n_ev, 3);
    assert_int_equal(f.ev[1].type, HS_EVENT_EXPIRED);
    assert_int_equal(f.ev[1].time_ms, (T0 / w + HS_WINDOW_BUCKETS) * w);
    assert_int_equal(f.ev[1].domains_seen, 1);
    assert_int_equal(f.ev[2].type, HS_EVENT_DETECTED);
    assert_int_equal(f.ev[2].time_ms, T0 + 30 * HOUR);
    teardown(&f);
}

static void test_late_hit(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":2"));
    flow(&f, SUB, A, T0 + 48 * HOUR);
    flow(&f, SUB, B, T0);             /* two days late: out of window */
    assert_int_equal(counters(&f).hits_late, 1);
    assert_int_equal(f.n_ev, 0);
    flow(&f, SUB, B, T0 + 40 * HOUR); /* late but inside the window */
    assert_int_equal(f.n_ev, 1);
    assert_int_equal(f.ev[0].time_ms, T0 + 40 * HOUR);
    teardown(&f);
}

static void test_advance_is_bounded(void **state)
{
    (void)state;
    fixture f;
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    c.sweep_budget = 100;
    setup_conf(&f, sigset_json("\"min_domains\":3"), &c);
    char ip[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250 + 1);
        flow(&f, ip, A, T0 + (uint64_t)i);
    }
    assert_int_equal(counters(&f).subscribers, 1000);
    size_t calls = 0, n;
    while ((n = hs_engine_advance(f.eng, T0 + 50 * HOUR)) > 0) {
        assert_true(n <= 100);
        calls++;
        assert_true(calls < 100);
    }
    assert_true(calls >= 10);
    assert_int_equal(counters(&f).subscribers, 0);
    assert_int_equal(counters(&f).evictions, 1000);
    teardown(&f);
}

static void test_windows_per_signature(void **state)
{
    (void)state;
    /* "s" looks back 3 h, "long" 24 h over the same domain a: evidence
     * is kept for the longer one after the shorter has lapsed. */
    fixture f;
    setup(&f, "{\"version\":1,\"domains\":["
              "{\"name\":\"a\",\"endpoints\":[{\"prefix\":\"192.0.2.1\"}]}],"
              "\"signatures\":["
              "{\"id\":\"s\",\"level\":\"product\",\"domains\":[\"a\"],"
              "\"rule\":{\"window\":\"3h\"}},"
              "{\"id\":\"long\",\"level\":\"platform\",\"domains\":[\"a\"]}]}");
    uint64_t w = hs_engine_bucket_ms(f.eng);
    flow(&f, SUB, A, T0);
    assert_int_equal(f.n_ev, 2);
    hs_engine_advance(f.eng, T0 + 5 * HOUR);
    assert_int_equal(f.n_ev, 3);
    assert_string_equal(f.ev[2].sig, "s");
    assert_int_equal(f.ev[2].type, HS_EVENT_EXPIRED);
    assert_int_equal(f.ev[2].time_ms, (T0 / w + 2) * w);
    assert_string_equal(state_of(&f), "203.0.113.7: a=1 [long]");
    /* A new hit inside the long window detects "s" again. */
    flow(&f, SUB, A, T0 + 6 * HOUR);
    assert_int_equal(f.n_ev, 4);
    assert_string_equal(f.ev[3].sig, "s");
    assert_int_equal(f.ev[3].type, HS_EVENT_DETECTED);
    hs_engine_advance(f.eng, T0 + 40 * HOUR);
    assert_int_equal(f.n_ev, 6);
    assert_int_equal(counters(&f).subscribers, 0);
    teardown(&f);
}

static void test_watermark_never_goes_back(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":2"));
    flow(&f, SUB, A, T0);
    hs_engine_advance(f.eng, T0 + HOUR);
    hs_engine_advance(f.eng, T0);
    assert_int_equal(counters(&f).watermark_ms, T0 + HOUR);
    flow(&f, SUB, B, T0 + 1000);
    assert_int_equal(f.n_ev, 1);
    teardown(&f);
}

static void test_bad_hits_counted(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":1"));
    hs_hit h[2] = {
        {.sub = {.key = 1, .af = HS_AF_V4, .plen = 32}, .domain = 999,
         .time_ms = T0},
        {.sub = {.key = 1, .af = HS_AF_V4, .plen = 32}, .domain = 0,
         .time_ms = UINT64_MAX},
    };
    hs_engine_apply(f.eng, h, 2);
    hs_engine_counters c = counters(&f);
    assert_int_equal(c.hits_stale, 1);
    assert_int_equal(c.hits_bad_time, 1);
    assert_int_equal(c.hits, 0);
    assert_int_equal(c.watermark_ms, 0);
    teardown(&f);
}

/* Events of a run, in a canonical order, as text. */
static void sort_events(fixture *f)
{
    for (size_t i = 1; i < f->n_ev; i++)
        for (size_t j = i; j > 0 && strcmp(f->ev[j - 1].json,
                                           f->ev[j].json) > 0; j--) {
            seen_event tmp = f->ev[j];
            f->ev[j] = f->ev[j - 1];
            f->ev[j - 1] = tmp;
        }
}

/*
 * Pseudo-random flows over a week, quiet for 20 hours after every 60 so
 * that rules lapse mid-stream; with a timer calling advance at the flows'
 * time every third flow, or without.
 */
static void replay(fixture *f, bool with_timer)
{
    const char *subs[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3",
                          "2001:db8:5:500::1", "2001:db8:5:5ff::2"};
    const char *backends[] = {A, B, C};
    uint32_t x = 12345;
    uint64_t t = T0;
    for (int i = 0; i < 400; i++) {
        x = x * 1103515245u + 12345u;
        t += (x >> 8) % (40 * 60 * 1000) + (i % 60 == 59 ? 20 * HOUR : 0);
        flow(f, subs[(x >> 4) % 5], backends[(x >> 12) % 3], t);
        if (with_timer && i % 3 == 0)
            hs_engine_advance(f->eng, t);
    }
    while (hs_engine_advance(f->eng, t + 72 * HOUR) > 0)
        ;
}

static void test_replay_equals_live(void **state)
{
    (void)state;
    fixture live, fast;
    setup(&live, sigset_json("\"min_domains\":2,\"min_hits\":2"));
    setup(&fast, sigset_json("\"min_domains\":2,\"min_hits\":2"));
    replay(&live, true);
    replay(&fast, false);
    assert_true(live.n_ev > 4);
    assert_int_equal(live.n_ev, fast.n_ev);
    sort_events(&live);
    sort_events(&fast);
    for (size_t i = 0; i < live.n_ev; i++)
        assert_string_equal(live.ev[i].json, fast.ev[i].json);
    teardown(&live);
    teardown(&fast);
}

/* ---- subscribers --------------------------------------------------- */

static void test_ipv6_prefix_aggregates(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":2"));
    flow(&f, "2001:db8:1:1a5::1", A, T0);
    flow(&f, "2001:db8:1:1ff:1234::77", B, T0 + 1000);
    assert_int_equal(counters(&f).subscribers, 1);
    assert_int_equal(f.n_ev, 1);
    assert_string_equal(f.ev[0].subscriber, "2001:db8:1:100::/56");
    assert_non_null(strstr(f.ev[0].json,
                           "\"subscriber\":\"2001:db8:1:100::/56\""));
    teardown(&f);
}

static void test_subscriber_prefixes_choose_side(void **state)
{
    (void)state;
    /* 198.51.100.0/24 is itself a backend range ("wide"): without
     * subscriber prefixes a flow from it to a is ambiguous. */
    fixture f;
    setup(&f, sigset_json("\"min_domains\":1"));
    flow(&f, "198.51.100.7", A, T0);
    assert_int_equal(counters(&f).match.flows_ambiguous, 1);
    assert_int_equal(f.n_ev, 0);
    teardown(&f);

    hs_engine_conf c;
    hs_engine_conf_init(&c);
    hs_cidr p = {.len = 24};
    assert_int_equal(hs_ip_parse("198.51.100.0", &p.addr), 0);
    c.subscriber_prefixes = &p;
    c.n_subscriber_prefixes = 1;
    setup_conf(&f, sigset_json("\"min_domains\":1"), &c);
    flow(&f, "198.51.100.7", A, T0);
    assert_int_equal(f.n_ev, 1);
    assert_string_equal(f.ev[0].subscriber, "198.51.100.7");
    /* The subscriber end outside the prefixes: not counted. */
    flow(&f, "203.0.113.9", A, T0);
    hs_engine_counters k = counters(&f);
    assert_int_equal(k.match.flows_outside, 1);
    assert_int_equal(k.subscribers, 1);
    teardown(&f);
}

static void test_both_backends(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":1"));
    flow(&f, "192.0.2.4", A, T0);     /* d and e, any port */
    hs_engine_counters c = counters(&f);
    assert_int_equal(c.match.flows_ambiguous, 1);
    assert_int_equal(c.subscribers, 0);
    flow(&f, "203.0.113.9", "203.0.113.10", T0);
    assert_int_equal(counters(&f).match.flows_unmatched, 1);
    teardown(&f);
}

static void test_shared_endpoint_counts_for_each(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":1"));
    flow(&f, "203.0.113.9", "192.0.2.4", T0);
    hs_engine_counters c = counters(&f);
    assert_int_equal(c.hits, 2);
    assert_int_equal(c.entries, 2);
    assert_int_equal(f.n_ev, 1);
    assert_string_equal(f.ev[0].sig, "de");
    teardown(&f);
}

static void test_cap_evicts_idle_then_drops(void **state)
{
    (void)state;
    fixture f;
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    c.max_subscribers = 2;
    setup_conf(&f, sigset_json("\"min_domains\":2"), &c);
    flow(&f, "10.0.0.1", A, T0);
    flow(&f, "10.0.0.2", A, T0);
    assert_int_equal(counters(&f).subscribers, 2);
    /* A day later both are idle but nobody swept them yet. */
    flow(&f, "10.0.0.3", A, T0 + 25 * HOUR);
    hs_engine_counters k = counters(&f);
    assert_int_equal(k.evictions_cap, 2);
    assert_int_equal(k.subscribers, 1);
    flow(&f, "10.0.0.4", A, T0 + 25 * HOUR);
    flow(&f, "10.0.0.5", A, T0 + 25 * HOUR);
    k = counters(&f);
    assert_int_equal(k.subscribers, 2);
    assert_int_equal(k.hits_dropped_cap, 1);
    assert_int_equal(k.hits, 4);
    /* Known subscribers still get their hits at the cap. */
    flow(&f, "10.0.0.4", B, T0 + 25 * HOUR);
    assert_int_equal(f.n_ev, 1);
    assert_string_equal(f.ev[0].subscriber, "10.0.0.4");
    teardown(&f);
}

/* ---- events -------------------------------------------------------- */

static const char *family_json =
    "{\"version\":1,\"domains\":["
    "{\"name\":\"a\",\"endpoints\":[{\"prefix\":\"192.0.2.1\"}]},"
    "{\"name\":\"b\",\"endpoints\":[{\"prefix\":\"192.0.2.2\"}]}],"
    "\"signatures\":["
    "{\"id\":\"prod\",\"name\":\"A product\",\"level\":\"product\","
    "\"parent\":\"maker\",\"domains\":[\"a\",\"b\"],"
    "\"rule\":{\"min_domains\":2}},"
    "{\"id\":\"maker\",\"level\":\"manufacturer\",\"domains\":[\"a\"]}]}";

static void test_parent_in_events(void **state)
{
    (void)state;
    fixture f;
    setup(&f, family_json);
    flow(&f, SUB, A, T0);
    flow(&f, SUB, A, T0 + 60000);
    flow(&f, SUB, B, T0 + 120000);
    assert_int_equal(f.n_ev, 2);
    assert_string_equal(f.ev[0].sig, "maker");
    assert_null(strstr(f.ev[0].json, "\"parent\""));
    assert_string_equal(f.ev[1].sig, "prod");
    assert_string_equal(
        f.ev[1].json,
        "{\"event\":\"detected\",\"time\":\"2025-11-26T10:02:00Z\","
        "\"subscriber\":\"203.0.113.7\",\"signature\":\"prod\","
        "\"level\":\"product\",\"domains_seen\":2,\"domains_total\":2,"
        "\"name\":\"A product\",\"parent\":\"maker\",\"hits\":3,"
        "\"first_seen\":\"2025-11-26T10:00:00Z\","
        "\"last_seen\":\"2025-11-26T10:02:00Z\",\"domains\":[\"a\",\"b\"],"
        "\"backend\":\"192.0.2.2\"}");
    teardown(&f);
}

/* ---- swapping the signature set ------------------------------------ */

static void test_swap_keeps_evidence(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":3"));
    flow(&f, SUB, A, T0);
    flow(&f, SUB, A, T0 + 1000);
    flow(&f, SUB, B, T0 + 2000);
    flow(&f, "203.0.113.9", "192.0.2.4", T0 + 3000);   /* d+e: "de" */
    assert_int_equal(f.n_ev, 1);
    assert_string_equal(state_of(&f),
                        "203.0.113.7: a=2 b=1; 203.0.113.9: d=1 e=1 [de]");
    /* New set: b is gone, x is new, a moved; "de" is gone; "s" now
     * needs a and c only. c on a new address. */
    hs_sigset *next = load(
        "{\"version\":1,\"domains\":["
        "{\"name\":\"x\",\"endpoints\":[{\"prefix\":\"192.0.2.9\"}]},"
        "{\"name\":\"c\",\"endpoints\":[{\"prefix\":\"192.0.2.33\"}]},"
        "{\"name\":\"a\",\"endpoints\":[{\"prefix\":\"192.0.2.1\"}]},"
        "{\"name\":\"d\",\"endpoints\":[{\"prefix\":\"192.0.2.4\"}]}],"
        "\"signatures\":[{\"id\":\"s\",\"level\":\"product\","
        "\"domains\":[\"x\",\"c\",\"a\"],\"rule\":{\"min_domains\":2}}]}");
    assert_int_equal(hs_engine_swap_sigset(f.eng, next), 0);
    /* "de" ended with an expired event, named from the old set. */
    assert_int_equal(f.n_ev, 2);
    assert_int_equal(f.ev[1].type, HS_EVENT_EXPIRED);
    assert_string_equal(f.ev[1].sig, "de");
    assert_int_equal(f.ev[1].time_ms, T0 + 3000);
    hs_sigset_free(f.set);
    f.set = next;
    assert_string_equal(state_of(&f),
                        "203.0.113.7: a=2; 203.0.113.9: d=1");
    /* a's evidence from before the swap counts with the new c. */
    flow(&f, SUB, "192.0.2.33", T0 + HOUR);
    assert_int_equal(f.n_ev, 3);
    assert_int_equal(f.ev[2].type, HS_EVENT_DETECTED);
    assert_string_equal(f.ev[2].sig, "s");
    assert_int_equal(f.ev[2].domains_seen, 2);
    teardown(&f);
}

static void test_swap_changes_window(void **state)
{
    (void)state;
    fixture f;
    setup(&f, sigset_json("\"min_domains\":1"));
    flow(&f, SUB, A, T0);
    flow(&f, SUB, A, T0 + 20 * HOUR);
    assert_int_equal(f.n_ev, 1);
    /* Two days: the bucket width doubles; hits keep being counted. */
    hs_sigset *next = load(sigset_json("\"window\":\"48h\""));
    assert_int_equal(hs_engine_swap_sigset(f.eng, next), 0);
    hs_sigset_free(f.set);
    f.set = next;
    assert_int_equal(hs_engine_bucket_ms(f.eng), 48 * HOUR / 16);
    assert_string_equal(state_of(&f), "203.0.113.7: a=2 [s]");
    /* At 40 h the first hit would be gone from a 24 h window. */
    hs_engine_advance(f.eng, T0 + 40 * HOUR);
    assert_string_equal(state_of(&f), "203.0.113.7: a=2 [s]");
    assert_int_equal(f.n_ev, 1);
    /* Under a 1 h rule (90-minute buckets again) the last hit, 20 h ago,
     * no longer counts: the detection ends when the record moves to the
     * new set, here at the next advance, and the subscriber goes. */
    next = load(sigset_json("\"window\":\"1h\""));
    assert_int_equal(hs_engine_swap_sigset(f.eng, next), 0);
    hs_sigset_free(f.set);
    f.set = next;
    assert_int_equal(f.n_ev, 1);
    assert_int_equal(hs_engine_bucket_ms(f.eng), 24 * HOUR / 16);
    hs_engine_advance(f.eng, T0 + 40 * HOUR);
    assert_int_equal(f.n_ev, 2);
    assert_int_equal(f.ev[1].type, HS_EVENT_EXPIRED);
    assert_true(f.ev[1].time_ms > T0 + 20 * HOUR &&
                f.ev[1].time_ms <= T0 + 40 * HOUR);
    hs_engine_advance(f.eng, T0 + 40 * HOUR);
    assert_string_equal(state_of(&f), "");
    teardown(&f);
}

/* Per domain name: how many subscribers hold evidence for it. */
typedef struct tally {
    const hs_sigset *set;
    uint32_t subs, a, b, c;
} tally;

static int tally_sub(void *ctx, const hs_sub_view *v)
{
    tally *t = ctx;
    t->subs++;
    for (uint32_t i = 0; i < v->n_evidence; i++) {
        const char *name = hs_sigset_domain(t->set, v->evidence[i].domain)->name;
        t->a += strcmp(name, "a") == 0;
        t->b += strcmp(name, "b") == 0;
        t->c += strcmp(name, "c") == 0;
        if (i > 0)
            assert_true(v->evidence[i - 1].domain < v->evidence[i].domain);
    }
    return 0;
}

/* The address of the n-th test subscriber, 10.1.0.1 on. */
static const char *subscriber_n(char *buf, int n)
{
    snprintf(buf, 32, "10.1.%d.%d", n / 200, n % 200 + 1);
    return buf;
}

static void test_swap_migrates_incrementally(void **state)
{
    (void)state;
    fixture f;
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    c.sweep_budget = 16;
    setup_conf(&f, sigset_json("\"min_domains\":3"), &c);
    char ip[32];
    for (int i = 0; i < 300; i++) {
        flow(&f, subscriber_n(ip, i), A, T0);
        if (i % 2)
            flow(&f, subscriber_n(ip, i), B, T0 + 10 * HOUR);
    }
    /* Same names, other indices, one domain more: every record moves. */
    hs_sigset *next = load(
        "{\"version\":1,\"domains\":["
        "{\"name\":\"x\",\"endpoints\":[{\"prefix\":\"192.0.2.9\"}]},"
        "{\"name\":\"c\",\"endpoints\":[{\"prefix\":\"192.0.2.3\"}]},"
        "{\"name\":\"b\",\"endpoints\":[{\"prefix\":\"192.0.2.2\"}]},"
        "{\"name\":\"a\",\"endpoints\":[{\"prefix\":\"192.0.2.1\"}]}],"
        "\"signatures\":[{\"id\":\"s\",\"level\":\"product\","
        "\"domains\":[\"a\",\"b\",\"c\",\"x\"],"
        "\"rule\":{\"min_domains\":3}}]}");
    assert_int_equal(hs_engine_swap_sigset(f.eng, next), 0);
    hs_sigset_free(f.set);
    f.set = next;
    /* A day later the subscribers with only a are idle; they are removed
     * while the migration is under way, 16 records per call, and hits on
     * c arrive in between: for 20 with b and 20 idle ones. */
    for (int i = 0; i < 40; i++) {
        assert_true(hs_engine_advance(f.eng, T0 + 25 * HOUR) <= 16);
        flow(&f, subscriber_n(ip, 7 * i), C, T0 + 25 * HOUR);
    }
    tally t = {.set = f.set};
    assert_int_equal(hs_engine_foreach(f.eng, tally_sub, &t), 0);
    assert_int_equal(t.subs, 150 + 20);
    assert_int_equal(t.a, 0);
    assert_int_equal(t.b, 150);
    assert_int_equal(t.c, 40);
    /* With b and c the rule holds for the 20 that got both. */
    assert_int_equal(f.n_ev, 0);
    assert_int_equal(counters(&f).subscribers, 170);
    teardown(&f);
}

/* Totals over hs_engine_foreach, to hold against the counters. */
typedef struct totals {
    uint64_t subs, entries, held;
} totals;

static int add_totals(void *ctx, const hs_sub_view *v)
{
    totals *t = ctx;
    t->subs++;
    t->entries += v->n_evidence;
    t->held += v->n_detected;
    for (uint32_t i = 0; i < v->n_evidence; i++)
        assert_true(hs_evidence_count(&v->evidence[i], v->clock, v->clock,
                                      HS_WINDOW_BUCKETS) > 0);
    return 0;
}

static void check_totals(fixture *f)
{
    totals t = {0};
    assert_int_equal(hs_engine_foreach(f->eng, add_totals, &t), 0);
    hs_engine_counters c = counters(f);
    assert_int_equal(t.subs, c.subscribers);
    assert_int_equal(t.entries, c.entries);
    assert_int_equal(t.held, c.detected);
    assert_int_equal(c.detections - c.expiries, c.detected);
}

static void test_random_operations_stay_consistent(void **state)
{
    (void)state;
    /* Hits, late hits, timer calls, reloads that change rules and
     * windows, and the cap, in a random order: the counters always agree
     * with the state, and no sanitizer complains. */
    const char *rules[] = {"\"min_domains\":2",
                           "\"min_domains\":1,\"window\":\"3h\"",
                           "\"min_hits\":2,\"window\":\"48h\""};
    const char *backends[] = {A, B, C, "192.0.2.4"};
    fixture f;
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    c.max_subscribers = 40;
    c.sweep_budget = 7;
    setup_conf(&f, sigset_json(rules[0]), &c);
    uint32_t x = 99;
    uint64_t t = T0;
    char ip[32];
    for (int i = 0; i < 3000; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t r = x >> 8;
        if (r % 100 < 80) {
            uint64_t when = r % 7 == 0 ? t - (r % 30) * HOUR : t;
            flow(&f, subscriber_n(ip, (int)(r / 100 % 60)),
                 backends[r / 7 % 4], when);
            t += r % (20 * 60 * 1000);
        } else if (r % 100 < 97) {
            hs_engine_advance(f.eng, t);
        } else {
            hs_sigset *next = load(sigset_json(rules[r / 100 % 3]));
            assert_int_equal(hs_engine_swap_sigset(f.eng, next), 0);
            hs_sigset_free(f.set);
            f.set = next;
        }
        if (f.n_ev > 48)
            f.n_ev = 0;         /* the events are not the point here */
        if (i % 100 == 0)
            check_totals(&f);
    }
    check_totals(&f);
    hs_engine_counters k = counters(&f);
    assert_true(k.hits_dropped_cap > 0 && k.evictions_cap > 0);
    assert_true(k.hits_late > 0 && k.expiries > 0);
    teardown(&f);
}

static void test_bad_conf(void **state)
{
    (void)state;
    hs_sigset *s = load(sigset_json("\"min_domains\":1"));
    hs_engine *e = NULL;
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    c.ipv6_prefix_len = 65;
    assert_int_equal(hs_engine_new(&c, s, on_event, NULL, &e), -EINVAL);
    hs_engine_conf_init(&c);
    c.max_subscribers = 0;
    assert_int_equal(hs_engine_new(&c, s, on_event, NULL, &e), -EINVAL);
    hs_engine_conf_init(&c);
    c.min_fraction = 1.5;
    assert_int_equal(hs_engine_new(&c, s, on_event, NULL, &e), -EINVAL);
    hs_engine_conf_init(&c);
    assert_int_equal(hs_engine_new(&c, s, NULL, NULL, &e), -EINVAL);
    assert_null(e);
    hs_sigset_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_backend_vs_min_domains),
        cmocka_unit_test(test_min_fraction),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_min_hits),
        cmocka_unit_test(test_detected_once),
        cmocka_unit_test(test_match_apart_from_apply),
        cmocka_unit_test(test_ages_out_once),
        cmocka_unit_test(test_expiry_time_without_advance),
        cmocka_unit_test(test_late_hit),
        cmocka_unit_test(test_advance_is_bounded),
        cmocka_unit_test(test_windows_per_signature),
        cmocka_unit_test(test_watermark_never_goes_back),
        cmocka_unit_test(test_bad_hits_counted),
        cmocka_unit_test(test_replay_equals_live),
        cmocka_unit_test(test_ipv6_prefix_aggregates),
        cmocka_unit_test(test_subscriber_prefixes_choose_side),
        cmocka_unit_test(test_both_backends),
        cmocka_unit_test(test_shared_endpoint_counts_for_each),
        cmocka_unit_test(test_cap_evicts_idle_then_drops),
        cmocka_unit_test(test_parent_in_events),
        cmocka_unit_test(test_swap_keeps_evidence),
        cmocka_unit_test(test_swap_changes_window),
        cmocka_unit_test(test_swap_migrates_incrementally),
        cmocka_unit_test(test_random_operations_stay_consistent),
        cmocka_unit_test(test_bad_conf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
