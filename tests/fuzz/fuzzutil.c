/*
 * fuzzutil.c - the collector, source addresses and fake clock the datagram
 * fuzz targets share (see fuzzutil.h for the input format).
 */
#include "fuzzutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* Touches every field the collector hands out, so a record built from
 * freed or out-of-bounds memory is read (and reported by ASan) here. */
static void fuzz_sink(void *ctx, const hs_flow *flows, size_t n)
{
    uint64_t *sum = ctx;
    for (size_t i = 0; i < n; i++) {
        const hs_flow *f = &flows[i];
        *sum += f->src.af + f->dst.af + f->src_port + f->dst_port + f->proto +
                f->sampling + f->start_ms + f->end_ms + f->packets +
                f->bytes + f->exporter_id + f->obs_domain;
    }
}

static uint64_t fuzz_sum;

/* libfixbuf's GLib messages go where haystackd sends them (hs_log, rate
 * limited), then nowhere: writing thousands of lines a second to stderr
 * would slow the fuzzer down to the speed of the terminal. */
static void fuzz_log_discard(void *ctx, hs_log_level level, const char *line)
{
    (void)level;
    *(uint64_t *)ctx += strlen(line);
}

hs_collector *hs_fuzz_collector_new(void)
{
    static uint64_t log_bytes;
    hs_log_setup(HS_LOG_DEBUG, fuzz_log_discard, &log_bytes);
    hs_log_capture_glib();

    hs_collector_conf conf;
    hs_collector_conf_init(&conf);
    conf.max_exporters = HS_FUZZ_MAX_EXPORTERS;
    conf.max_templates = HS_FUZZ_MAX_TEMPLATES;
    conf.max_domains = 4;
    conf.template_timeout_ms = 10 * 60 * 1000;
    conf.exporter_timeout_ms = 30 * 60 * 1000;
    hs_flow_sink sink = {fuzz_sink, &fuzz_sum};
    hs_collector *c = hs_collector_new(&conf, sink);
    if (c == NULL)
        abort();
    return c;
}

static void fuzz_check_exporter(void *ctx, const hs_ip *addr, uint16_t port,
                                uint32_t id, const hs_exporter_stats *st)
{
    (void)ctx, (void)port, (void)id;
    uint64_t drops = 0;
    for (int i = 0; i < HS_DROP__COUNT; i++)
        drops += st->drops[i];
    if ((addr->af != HS_AF_V4 && addr->af != HS_AF_V6) ||
        st->templates > HS_FUZZ_MAX_TEMPLATES || drops != st->decode_errors)
        abort();
}

void hs_fuzz_check(const hs_collector *c)
{
    hs_collector_stats st;
    hs_collector_get_stats(c, &st);
    if (st.exporters > HS_FUZZ_MAX_EXPORTERS)
        abort();
    hs_collector_foreach_exporter(c, fuzz_check_exporter, NULL);
}

static socklen_t fuzz_source(uint8_t sel, struct sockaddr_storage *ss)
{
    uint16_t port = (uint16_t)(2055 + ((sel >> 3) & 1));
    memset(ss, 0, sizeof(*ss));
    if (sel & 0x80) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        s6->sin6_addr = in6addr_loopback;
        s6->sin6_addr.s6_addr[14] = sel & 7;
        return sizeof(*s6);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    s4->sin_addr.s_addr = htonl(0x7f000001u + (sel & 7));
    return sizeof(*s4);
}

int hs_fuzz_feed(hs_collector *c, const uint8_t *data, size_t len,
                 uint64_t *now_ms)
{
    if (len < HS_FUZZ_HEADER)
        return 0;
    uint8_t clock = data[1];
    uint64_t step = (clock & 0x3f) * 1000u;
    *now_ms += clock & 0x40 ? step * 30 : step;
    if (clock & 0x80)
        hs_collector_expire(c, *now_ms);

    struct sockaddr_storage ss;
    fuzz_source(data[0], &ss);
    size_t n = len - HS_FUZZ_HEADER;
    uint8_t *msg = malloc(n ? n : 1);
    if (msg == NULL)
        abort();
    memcpy(msg, data + HS_FUZZ_HEADER, n);
    int rc = hs_collector_input(c, (const struct sockaddr *)&ss, msg, n,
                                *now_ms);
    free(msg);
    return rc;
}
