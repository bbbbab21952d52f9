/*
 * test_wireplan.c - haystack's own decoder of fixed-length records
 * (wireplan.c, and the planned path of exporter.c) against libfixbuf.
 *
 * Equivalence is the test, at two levels:
 * - record by record: for a template, the plan must classify it exactly as
 *   fbrecord classifies libfixbuf's parse of it, and a record it decodes
 *   must hold, at every offset read, the bytes libfixbuf's transcoding
 *   writes into the internal template of that classification;
 * - message by message: two collectors decode the same export, one as sent
 *   (data-only messages take the planned path), the other with a harmless
 *   template refresh added to every message, so that libfixbuf reads them
 *   all. Flows and counters must be identical.
 * Which path a message took is told by counting libfixbuf's
 * fBufNextMessage, interposed below: the planned path never calls it.
 */
#include "testutil.h"

#include <dlfcn.h>
#include <errno.h>
#include <fixbuf/public.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "collector.h"
#include "fbrecord.h"
#include "log.h"
#include "wireplan.h"

/* ---- libfixbuf, counted ------------------------------------------------ */

static unsigned fixbuf_messages;

/* Interposes libfixbuf's own (the library's call binds to this one). */
gboolean fBufNextMessage(fBuf_t *fbuf, GError **err)
{
    static gboolean (*real)(fBuf_t *, GError **);
    if (!real)
        real = (gboolean (*)(fBuf_t *, GError **))dlsym(RTLD_NEXT,
                                                         "fBufNextMessage");
    fixbuf_messages++;
    return real(fbuf, err);
}

/* ---- building templates and records ------------------------------------ */

/* A field specifier: ie with HS_ENTERPRISE_BIT set carries pen (even 0). */
typedef struct spec {
    uint16_t ie, len;
    uint32_t pen;
} spec;

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define EBIT 0x8000

/* A template record (without its set header); scope > 0: options. */
static void put_template_record(tu_msg *m, uint16_t tid, const spec *f, int n,
                                int scope)
{
    tu_put16(m, tid);
    tu_put16(m, (uint16_t)n);
    if (scope)
        tu_put16(m, (uint16_t)scope);
    for (int i = 0; i < n; i++) {
        tu_put16(m, f[i].ie);
        tu_put16(m, f[i].len);
        if (f[i].ie & EBIT)
            tu_put32(m, f[i].pen);
    }
}

static void put_template(tu_msg *m, uint16_t tid, const spec *f, int n,
                         int scope)
{
    tu_set_begin(m, scope ? 3 : 2);
    put_template_record(m, tid, f, n, scope);
    tu_set_end(m);
}

/* The same as a v9 template flowset (no options, no enterprise fields). */
static void put_v9_template(tu_msg *m, uint16_t tid, const spec *f, int n)
{
    tu_set_begin(m, 0);
    tu_put16(m, tid);
    tu_put16(m, (uint16_t)n);
    for (int i = 0; i < n; i++) {
        tu_put16(m, f[i].ie);
        tu_put16(m, f[i].len);
    }
    tu_set_end(m);
}

/* v, big-endian, in len bytes (its low ones). */
static void put_uint(tu_msg *m, uint64_t v, unsigned len)
{
    for (unsigned i = len; i-- > 0;)
        tu_put8(m, i >= 8 ? 0 : (uint8_t)(v >> (8 * i)));
}

/* One record of template f: values[i] for field i (IPv6 addresses: the
 * value repeated into 16 bytes). */
static void put_record(tu_msg *m, const spec *f, int n, const uint64_t *values)
{
    for (int i = 0; i < n; i++)
        if (f[i].len == 16)
            for (int k = 0; k < 16; k++)
                tu_put8(m, (uint8_t)(values[i] >> (8 * (k % 8))));
        else
            put_uint(m, values[i], f[i].len);
}

/* ---- record by record ---------------------------------------------------- */

static uint32_t rng_state = 2463534242u;

static uint8_t rnd8(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return (uint8_t)rng_state;
}

/* Plans template f and decodes random records with the plan and with
 * libfixbuf; both must agree on the classification and on every field. */
static void check_against_libfixbuf(const spec *f, int n, int scope)
{
    tu_msg *m = malloc(sizeof(*m));
    tu_msg_begin_ipfix(m, 1700000000, 0, 0);
    put_template(m, 256, f, n, scope);
    size_t tmpl_off = m->set_start + 4;
    hs_wireplan plan;
    assert_int_equal(hs_wireplan_build(m->buf + tmpl_off, m->len - tmpl_off,
                                       scope > 0, &plan), 0);
    enum { RECORDS = 20 };
    tu_set_begin(m, 256);
    size_t data = m->len;
    for (uint32_t i = 0; i < RECORDS * plan.rec_len; i++)
        tu_put8(m, rnd8());
    tu_set_end(m);
    tu_msg_end(m);

    fbInfoModel_t *model = fbInfoModelAlloc();
    fBuf_t *fbuf = fBufAllocForCollection(fbSessionAlloc(model), NULL);
    fBufSetAutomaticMode(fbuf, FALSE);
    fBufSetBuffer(fbuf, m->buf, m->len);
    GError *err = NULL;
    uint16_t tid;
    assert_true(fBufNextMessage(fbuf, &err));
    fbTemplate_t *t = fBufNextCollectionTemplate(fbuf, &tid, &err);
    assert_non_null(t);
    hs_tmpl_info info;
    hs_fbrec_classify(t, &info);
    assert_memory_equal(&info, &plan.info, sizeof(info));
    assert_int_equal(hs_fbrec_add_internal(fBufGetSession(fbuf), &info, 0xF100), 0);
    for (uint32_t r = 0; r < RECORDS; r++) {
        _Alignas(8) uint8_t ours[HS_FBREC_MAX], theirs[HS_FBREC_MAX];
        size_t len = sizeof(theirs);
        assert_true(fBufSetInternalTemplate(fbuf, 0xF100, &err));
        assert_true(fBufNext(fbuf, theirs, &len, &err));
        hs_wireplan_unpack(&plan, m->buf + data + r * plan.rec_len, ours);
        for (int k = 0; k < HS_F__COUNT; k++)
            if (info.present & HS_BIT(k))
                assert_memory_equal(ours + info.off[k], theirs + info.off[k],
                                    hs_fbrec_field_len((hs_field)k));
    }
    fBufFree(fbuf);
    fbInfoModelFree(model);
    free(m);
}

static void test_plans_decode_as_libfixbuf(void **state)
{
    (void)state;
    static const spec v4_ms[] = {{8, 4, 0}, {12, 4, 0}, {7, 2, 0}, {11, 2, 0},
                                 {4, 1, 0}, {2, 8, 0}, {1, 8, 0}, {152, 8, 0},
                                 {153, 8, 0}};
    /* shortened totals (3 and 5 bytes), NTP microseconds */
    static const spec v6_us[] = {{27, 16, 0}, {28, 16, 0}, {86, 3, 0},
                                 {85, 5, 0}, {154, 8, 0}, {155, 8, 0},
                                 {7, 2, 0}, {11, 2, 0}, {4, 1, 0}};
    /* seconds, a 1-byte port, a 2-byte sampling interval in the record */
    static const spec v4_s[] = {{150, 4, 0}, {151, 4, 0}, {8, 4, 0},
                                {12, 4, 0}, {7, 1, 0}, {11, 2, 0}, {34, 2, 0},
                                {2, 1, 0}, {1, 7, 0}};
    /* uptimes with the boot time in the record, 6- and 2-byte counters */
    static const spec v4_up[] = {{22, 4, 0}, {21, 3, 0}, {160, 8, 0},
                                 {8, 4, 0}, {12, 4, 0}, {2, 6, 0}, {1, 2, 0}};
    /* every sampling element, shortened, and a boot time */
    static const spec options[] = {{143, 4, 0}, {34, 4, 0}, {50, 2, 0},
                                   {305, 1, 0}, {306, 3, 0}, {160, 8, 0}};
    /* repeated elements (the first counts), enterprise elements with our
     * numbers, and an enterprise bit with enterprise number 0 */
    static const spec odd[] = {{EBIT | 8, 4, 6871}, {8, 4, 0}, {8, 4, 0},
                               {12, 4, 0}, {EBIT | 11, 2, 0}, {11, 2, 0},
                               {EBIT | 7, 2, 9}, {1, 4, 0}, {1, 8, 0},
                               {27, 16, 0}};
    static const spec ports_only[] = {{7, 2, 0}, {11, 2, 0}, {82, 8, 0}};
    check_against_libfixbuf(v4_ms, N(v4_ms), 0);
    check_against_libfixbuf(v6_us, N(v6_us), 0);
    check_against_libfixbuf(v4_s, N(v4_s), 0);
    check_against_libfixbuf(v4_up, N(v4_up), 0);
    check_against_libfixbuf(options, N(options), 1);
    check_against_libfixbuf(odd, N(odd), 0);
    check_against_libfixbuf(ports_only, N(ports_only), 0);
}

/* Plans a bare template record. */
static int build(const spec *f, int n, int scope, hs_wireplan *plan)
{
    tu_msg *m = malloc(sizeof(*m));
    m->len = 0;
    put_template_record(m, 256, f, n, scope);
    int rc = hs_wireplan_build(m->buf, m->len, scope > 0, plan);
    free(m);
    return rc;
}

static void test_plan_refusals(void **state)
{
    (void)state;
    hs_wireplan plan;
    static const spec varlen[] = {{8, 4, 0}, {12, 4, 0}, {82, 0xffff, 0}};
    static const spec long_count[] = {{8, 4, 0}, {12, 4, 0}, {1, 9, 0}};
    static const spec short_v6[] = {{27, 8, 0}, {28, 16, 0}};
    static const spec huge[] = {{8, 4, 0}, {12, 4, 0}, {200, 65530, 0}};
    static const spec ok[] = {{8, 4, 0}, {12, 4, 0}, {1, 2, 0}, {200, 300, 0}};
    assert_int_equal(build(varlen, N(varlen), 0, &plan), -EINVAL);
    assert_int_equal(plan.rec_len, 0);
    assert_int_equal(build(long_count, N(long_count), 0, &plan), -EINVAL);
    assert_int_equal(build(short_v6, N(short_v6), 0, &plan), -EINVAL);
    assert_int_equal(build(huge, N(huge), 0, &plan), -EINVAL); /* > a message */
    assert_int_equal(build(ok, N(ok), 0, &plan), 0);
    assert_int_equal(plan.rec_len, 4 + 4 + 2 + 300);
    assert_int_equal(plan.info.kind, HS_REC_FLOW);
}

/* ---- message by message ------------------------------------------------- */

#define MAX_FLOWS 1024

typedef struct side {
    hs_collector *c;
    hs_flow flows[MAX_FLOWS];
    size_t n;
} side;

static side *as_sent, *refreshed;
static tu_msg msgs[3]; /* begin(), deliver()'s copy, the test's */
static const uint16_t HARMLESS_TID = 4000;

static void capture(void *ctx, const hs_flow *flows, size_t n)
{
    side *s = ctx;
    for (size_t i = 0; i < n && s->n < MAX_FLOWS; i++)
        s->flows[s->n++] = flows[i];
}

static void deliver_to(side *s, tu_msg *m)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(4739)};
    sa.sin_addr.s_addr = htonl(0x7f000001);
    hs_collector_input(s->c, (const struct sockaddr *)&sa, m->buf, m->len, 1000);
}

/* A template set no data refers to: tid 4000, one port. */
static void put_harmless_template(tu_msg *m)
{
    static const spec port[] = {{7, 2, 0}};
    if (m->version == 10)
        put_template(m, HARMLESS_TID, port, 1, 0);
    else
        put_v9_template(m, HARMLESS_TID, port, 1);
}

/* Decodes m on both sides; planned: whether the side as sent must decode
 * it without libfixbuf. */
static void deliver(tu_msg *m, int planned)
{
    tu_msg *copy = &msgs[1];
    memcpy(copy, m, sizeof(*m));
    put_harmless_template(copy);
    tu_msg_end(copy);
    unsigned before = fixbuf_messages;
    deliver_to(as_sent, m);
    assert_int_equal(fixbuf_messages - before, planned ? 0 : 1);
    deliver_to(refreshed, copy);
    assert_int_equal(fixbuf_messages - before, planned ? 1 : 2);
}

static int setup(void **state)
{
    (void)state;
    hs_collector_conf conf;
    hs_collector_conf_init(&conf);
    as_sent = calloc(1, sizeof(*as_sent));
    refreshed = calloc(1, sizeof(*refreshed));
    as_sent->c = hs_collector_new(&conf, (hs_flow_sink){capture, as_sent});
    refreshed->c = hs_collector_new(&conf, (hs_flow_sink){capture, refreshed});
    return !as_sent->c || !refreshed->c;
}

static int teardown(void **state)
{
    (void)state;
    hs_collector_free(as_sent->c);
    hs_collector_free(refreshed->c);
    free(as_sent);
    free(refreshed);
    return 0;
}

/* A first message, the harmless template alone, so that the side as sent
 * has it too: both then keep the same templates. */
static void begin(int version, uint32_t seq, uint32_t domain)
{
    tu_msg *m = &msgs[0];
    if (version == 10)
        tu_msg_begin_ipfix(m, 1700000000, seq, domain);
    else
        tu_msg_begin_v9(m, 1000, 1700000000, seq, domain);
    put_harmless_template(m);
    tu_msg_end(m);
    deliver(m, 0);
}

static void assert_flow_equal(const hs_flow *a, const hs_flow *b)
{
    assert_int_equal(a->src.af, b->src.af);
    assert_int_equal(a->dst.af, b->dst.af);
    if (a->src.af == HS_AF_V4) {
        assert_int_equal(a->src.u.v4, b->src.u.v4);
        assert_int_equal(a->dst.u.v4, b->dst.u.v4);
    } else {
        assert_memory_equal(a->src.u.v6, b->src.u.v6, 16);
        assert_memory_equal(a->dst.u.v6, b->dst.u.v6, 16);
    }
    assert_int_equal(a->src_port, b->src_port);
    assert_int_equal(a->dst_port, b->dst_port);
    assert_int_equal(a->proto, b->proto);
    assert_int_equal(a->sampling, b->sampling);
    assert_int_equal(a->start_ms, b->start_ms);
    assert_int_equal(a->end_ms, b->end_ms);
    assert_int_equal(a->packets, b->packets);
    assert_int_equal(a->bytes, b->bytes);
    assert_int_equal(a->exporter_id, b->exporter_id);
    assert_int_equal(a->obs_domain, b->obs_domain);
}

/* Both sides decoded the same flows and counted the same; returns the
 * counters. */
static hs_exporter_stats assert_sides_equal(size_t n_flows)
{
    assert_int_equal(as_sent->n, n_flows);
    assert_int_equal(refreshed->n, n_flows);
    for (size_t i = 0; i < n_flows; i++)
        assert_flow_equal(&as_sent->flows[i], &refreshed->flows[i]);
    hs_collector_stats a, b;
    hs_collector_get_stats(as_sent->c, &a);
    hs_collector_get_stats(refreshed->c, &b);
    assert_memory_equal(&a.total, &b.total, sizeof(a.total));
    return a.total;
}

/* IPv4, millisecond times, a 4-byte octetDeltaCount. */
static const spec v4_ms[] = {{8, 4, 0}, {12, 4, 0}, {7, 2, 0}, {11, 2, 0},
                             {4, 1, 0}, {2, 8, 0}, {1, 4, 0}, {152, 8, 0},
                             {153, 8, 0}};

static void put_v4_ms(tu_msg *m, uint32_t i)
{
    uint64_t v[] = {0x64400001 + i, 0xc6120005, 40000 + i, 443, 6, 3 + i,
                    0xfedcba98u - i, 1700000000000ull + i, 1700000000500ull + i};
    put_record(m, v4_ms, N(v4_ms), v);
}

/* Template and records, then records only, then records with trailing
 * bytes that are no whole record, then the same ID with another layout. */
static void test_ipfix_v4_layout_padding_reuse(void **state)
{
    (void)state;
    tu_msg *m = &msgs[2];
    begin(10, 0, 0);
    tu_msg_begin_ipfix(m, 1700000000, 0, 0);
    put_template(m, 256, v4_ms, N(v4_ms), 0);
    tu_set_begin(m, 256);
    put_v4_ms(m, 0);
    put_v4_ms(m, 1);
    tu_set_end(m);
    tu_msg_end(m);
    deliver(m, 0);
    for (uint32_t k = 0; k < 2; k++) {
        tu_msg_begin_ipfix(m, 1700000001, 2 + 3 * k, 0);
        tu_set_begin(m, 256);
        for (uint32_t i = 0; i < 3; i++)
            put_v4_ms(m, 2 + 3 * k + i);
        for (uint32_t pad = 0; pad < 5 * k; pad++)
            tu_put8(m, 0xee);
        tu_set_end(m);
        tu_msg_end(m);
        deliver(m, 1);
    }
    /* 256 again, destination first and no times */
    static const spec other[] = {{12, 4, 0}, {8, 4, 0}, {11, 2, 0}};
    tu_msg_begin_ipfix(m, 1700000002, 8, 0);
    put_template(m, 256, other, N(other), 0);
    tu_msg_end(m);
    deliver(m, 0);
    tu_msg_begin_ipfix(m, 1700000003, 8, 0);
    tu_set_begin(m, 256);
    put_record(m, other, N(other), (uint64_t[]){0xc0000201, 0x0a000002, 8883});
    tu_set_end(m);
    tu_msg_end(m);
    deliver(m, 1);

    hs_exporter_stats st = assert_sides_equal(9);
    const hs_flow *f = &as_sent->flows[7];
    assert_int_equal(f->src.u.v4, 0x64400001 + 7);
    assert_int_equal(f->bytes, 0xfedcba98u - 7);
    assert_int_equal(f->start_ms, 1700000000007ull);
    assert_int_equal(f->end_ms, 1700000000507ull);
    f = &as_sent->flows[8];
    assert_int_equal(f->dst.u.v4, 0xc0000201);
    assert_int_equal(f->start_ms, 1700000003000ull);
    assert_int_equal(st.templates_changed, 1);
    assert_int_equal(st.sequence_gaps, 0);
}

/* IPv6, NTP microseconds, shortened totals; a set too short for a record
 * and a set of an unknown template between the records. */
static void test_ipfix_v6_short_and_unknown_sets(void **state)
{
    (void)state;
    static const spec v6[] = {{27, 16, 0}, {28, 16, 0}, {7, 2, 0}, {11, 2, 0},
                              {4, 1, 0}, {86, 4, 0}, {85, 2, 0}, {154, 8, 0},
                              {155, 8, 0}};
    const uint64_t ntp = (1700000000ull + 2208988800ull) << 32 | 0x80000000u;
    tu_msg *m = &msgs[2];
    begin(10, 0, 3);
    tu_msg_begin_ipfix(m, 1700000000, 0, 3);
    put_template(m, 300, v6, N(v6), 0);
    tu_msg_end(m);
    deliver(m, 0);
    for (uint32_t k = 0; k < 3; k++) {
        tu_msg_begin_ipfix(m, 1700000001, 4 * k, 3);
        tu_set_begin(m, 300);
        for (uint32_t i = 0; i < 2; i++)
            put_record(m, v6, N(v6), (uint64_t[]){0x20010db8 + i, 0x20010db9,
                       50000, 443, 17, 10 + k, 1200 + i, ntp, ntp + (1ull << 32)});
        tu_set_end(m);
        tu_set_begin(m, k == 1 ? 301 : 300); /* 301: unknown */
        for (uint32_t i = 0; i < (k == 2 ? 10u : 66u); i++) /* 10: too short */
            tu_put8(m, (uint8_t)i);
        tu_set_end(m);
        tu_set_begin(m, 300);
        put_record(m, v6, N(v6), (uint64_t[]){1, 2, 3, 4, 6, 5, 6, ntp, ntp});
        tu_set_end(m);
        tu_msg_end(m);
        deliver(m, 1);
    }
    hs_exporter_stats st = assert_sides_equal(10);
    assert_int_equal(as_sent->flows[0].src.af, HS_AF_V6);
    assert_int_equal(as_sent->flows[0].start_ms, 1700000000500ull);
    assert_int_equal(as_sent->flows[0].end_ms, 1700000001500ull);
    assert_int_equal(as_sent->flows[1].bytes, 1201);
    assert_int_equal(as_sent->flows[1].packets, 10);
    assert_int_equal(st.unknown_template_sets, 1);
    /* 4 + 3 records, then 8: after an unknown set the count is unknown */
    assert_int_equal(st.sequence_gaps, 0);
}

/* Seconds, a sampling interval inside the flow records, records of a
 * template without flows, and sequence gaps (IPFIX counts records). */
static void test_ipfix_seconds_ignored_and_sequence(void **state)
{
    (void)state;
    static const spec v4_s[] = {{150, 4, 0}, {151, 4, 0}, {8, 4, 0},
                                {12, 4, 0}, {34, 2, 0}, {2, 4, 0}, {1, 4, 0}};
    static const spec ports[] = {{7, 2, 0}, {11, 2, 0}};
    tu_msg *m = &msgs[2];
    begin(10, 100, 0);
    tu_msg_begin_ipfix(m, 1700000000, 100, 0);
    put_template(m, 256, v4_s, N(v4_s), 0);
    put_template(m, 257, ports, N(ports), 0);
    tu_msg_end(m);
    deliver(m, 0);
    static const uint32_t seqs[] = {100, 103, 110, 104};
    for (uint32_t k = 0; k < 4; k++) {
        tu_msg_begin_ipfix(m, 1700000010, seqs[k], 0);
        tu_set_begin(m, 256);
        for (uint32_t i = 0; i < 2; i++)
            put_record(m, v4_s, N(v4_s), (uint64_t[]){1699999990 + i, 1700000000,
                       0x0a000001, 0x08080808, k ? 64 : 0, 5, 500});
        tu_set_end(m);
        tu_set_begin(m, 257);
        put_record(m, ports, N(ports), (uint64_t[]){1, 2});
        tu_set_end(m);
        tu_msg_end(m);
        deliver(m, 1);
    }
    hs_exporter_stats st = assert_sides_equal(8);
    assert_int_equal(as_sent->flows[1].start_ms, 1699999991000ull);
    assert_int_equal(as_sent->flows[0].sampling, 1);
    assert_int_equal(as_sent->flows[2].sampling, 64);
    assert_int_equal(st.ignored_records, 4);
    assert_int_equal(st.sequence_gaps, 2);
    assert_int_equal(st.sequence_lost, 4);
}

/* softflowd's IPFIX: uptimes, the boot time and the sampling rate in an
 * options record that arrives in a message without templates, before and
 * after the flows it applies to. */
static void test_ipfix_boot_time_and_sampling_options(void **state)
{
    (void)state;
    static const spec opts[] = {{143, 4, 0}, {160, 8, 0}, {305, 4, 0},
                                {306, 4, 0}};
    static const spec rate34[] = {{143, 4, 0}, {34, 4, 0}};
    static const spec rate50[] = {{143, 4, 0}, {50, 2, 0}};
    static const spec v4_up[] = {{8, 4, 0}, {12, 4, 0}, {22, 4, 0}, {21, 4, 0}};
    const uint64_t boot = 1799999000000ull;
    tu_msg *m = &msgs[2];
    begin(10, 0, 0);
    tu_msg_begin_ipfix(m, 1800000000, 0, 0);
    put_template(m, 300, opts, N(opts), 1);
    put_template(m, 302, rate34, N(rate34), 1);
    put_template(m, 303, rate50, N(rate50), 1);
    put_template(m, 301, v4_up, N(v4_up), 0);
    tu_msg_end(m);
    deliver(m, 0);
    static const uint32_t seqs[] = {0, 2, 5, 8}; /* records so far */
    for (uint32_t k = 0; k < 4; k++) {
        tu_msg_begin_ipfix(m, 1800000000 + k, seqs[k], 0);
        tu_set_begin(m, 301);
        put_record(m, v4_up, N(v4_up), (uint64_t[]){0x64400001, 0xc6120005,
                   990000 + k, 995500});
        tu_set_end(m);
        if (k == 1) {
            tu_set_begin(m, 300);
            put_record(m, opts, N(opts), (uint64_t[]){1, boot, 1, 99});
            tu_set_end(m);
        } else if (k >= 2) {
            tu_set_begin(m, k == 2 ? 302 : 303);
            put_record(m, k == 2 ? rate34 : rate50, 2, (uint64_t[]){1, 1000 + k});
            tu_set_end(m);
        }
        tu_set_begin(m, 301);
        put_record(m, v4_up, N(v4_up), (uint64_t[]){0x64400002, 0xc6120005,
                   990000 + k, 995500});
        tu_set_end(m);
        tu_msg_end(m);
        deliver(m, 1);
    }
    hs_exporter_stats st = assert_sides_equal(8);
    assert_int_equal(as_sent->flows[0].start_ms, 1800000000000ull); /* no boot yet */
    assert_int_equal(as_sent->flows[3].start_ms, boot + 990001);
    assert_int_equal(as_sent->flows[3].sampling, 100);
    assert_int_equal(as_sent->flows[5].sampling, 1002);
    assert_int_equal(as_sent->flows[7].sampling, 1003);
    assert_int_equal(st.options_records, 3);
    assert_int_equal(st.sequence_gaps, 0);
}

/* NetFlow v9: uptimes against the header's, 32-bit counters, sampling
 * options in a later packet, the sequence (counting packets) with a gap,
 * and a variable-length template, whose records only libfixbuf reads. */
static void test_v9_uptime_options_and_varlen(void **state)
{
    (void)state;
    static const spec v9[] = {{8, 4, 0}, {12, 4, 0}, {7, 2, 0}, {11, 2, 0},
                              {4, 1, 0}, {2, 4, 0}, {1, 4, 0}, {22, 4, 0},
                              {21, 4, 0}};
    tu_msg *m = &msgs[2];
    begin(9, 0, 0);
    tu_msg_begin_v9(m, 100000, 1700000000, 1, 0);
    put_v9_template(m, 256, v9, N(v9));
    tu_set_begin(m, 1); /* options: scope system (4 bytes), samplingInterval */
    tu_put16(m, 257);
    tu_put16(m, 4);
    tu_put16(m, 4);
    tu_put16(m, 1);
    tu_put16(m, 4);
    tu_put16(m, 34);
    tu_put16(m, 4);
    tu_set_end(m);
    tu_msg_end(m);
    deliver(m, 0);
    static const uint32_t seqs[] = {2, 3, 6};
    for (uint32_t k = 0; k < 3; k++) {
        tu_msg_begin_v9(m, 100000 + 1000 * k, 1700000001 + k, seqs[k], 0);
        if (k == 1) {
            tu_set_begin(m, 257);
            put_uint(m, 0, 4);
            put_uint(m, 512, 4);
            tu_set_end(m);
        }
        tu_set_begin(m, 256);
        for (uint32_t i = 0; i < 3; i++)
            put_record(m, v9, N(v9), (uint64_t[]){0x0a000001 + i, 0x08080808,
                       50000, 53, 17, 1, 80, 95000 + i, 99000 + 1000 * k});
        tu_set_end(m);
        tu_msg_end(m);
        deliver(m, 1);
    }
    /* interfaceName (82) is variable-length: libfixbuf on both sides */
    static const spec varlen[] = {{8, 4, 0}, {12, 4, 0}, {82, 0xffff, 0}};
    tu_msg_begin_ipfix(m, 1700000010, 0, 0);
    put_template(m, 258, varlen, N(varlen), 0);
    tu_msg_end(m);
    deliver(m, 0);
    tu_msg_begin_ipfix(m, 1700000011, 0, 0);
    tu_set_begin(m, 258);
    put_uint(m, 0x0a000009, 4);
    put_uint(m, 0x08080404, 4);
    tu_put8(m, 3);
    put_uint(m, 0x657468, 3);
    tu_set_end(m);
    tu_msg_end(m);
    deliver(m, 0);

    hs_exporter_stats st = assert_sides_equal(10);
    assert_int_equal(as_sent->flows[0].start_ms, 1700000001000ull - 5000);
    assert_int_equal(as_sent->flows[2].sampling, 1);
    assert_int_equal(as_sent->flows[3].sampling, 512);
    assert_int_equal(as_sent->flows[8].end_ms, 1700000002000ull);
    assert_int_equal(as_sent->flows[9].src.u.v4, 0x0a000009);
    assert_int_equal(st.sequence_gaps, 2); /* 3 -> 6, and v9 -> IPFIX */
    assert_int_equal(st.options_records, 1);
}

int main(void)
{
    hs_log_capture_glib(); /* libfixbuf's complaints about missing templates */
    hs_log_setup(HS_LOG_ERROR, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plans_decode_as_libfixbuf),
        cmocka_unit_test(test_plan_refusals),
        cmocka_unit_test_setup_teardown(test_ipfix_v4_layout_padding_reuse,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipfix_v6_short_and_unknown_sets,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipfix_seconds_ignored_and_sequence,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipfix_boot_time_and_sampling_options,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_v9_uptime_options_and_varlen,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
