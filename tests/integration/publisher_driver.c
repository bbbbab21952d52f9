/*
 * publisher_driver.c - runs daemon/publisher.c on its own libuv loop, driven
 * line by line on stdin, so the integration tests (publisher_*.py) can put
 * it against a real redis-server they start, stop and restart.
 *
 *   publisher_driver CONF      ([redis] of a haystackd.conf)
 *
 * Commands, each answered by one line on stdout:
 *   publish N detected|expired SUBSCRIBER SIGNATURE [PAD]  -> "ok FIRST LAST"
 *       N events numbered by "seq" (FIRST..LAST, counting from 1 over the
 *       driver's life), in the CONTRACT.md event format, with a "pad"
 *       field of PAD bytes when given (large events)
 *   invalid                    -> "ok": two events the publisher must refuse
 *   stats                      -> hs_publisher_stats as a JSON object
 *   close                      -> "closed" once hs_publisher_close is done;
 *                                 the driver then exits 0
 * End of input closes too. Logs go to stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "conf.h"
#include "log.h"
#include "publisher.h"

#define LINE_MAX_LEN 4096

typedef struct driver {
    uv_loop_t loop;
    uv_pipe_t in;
    hs_publisher *pub;
    char line[LINE_MAX_LEN];
    size_t len;
    uint64_t seq;
    bool closing;
    int exit_code;
} driver;

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void reply(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void publish(driver *d, unsigned long n, const char *kind,
                    const char *sub, const char *sig, size_t pad)
{
    bool detected = strcmp(kind, "expired") != 0;
    uint64_t first = d->seq + 1;
    size_t size = 512 + pad;
    char *json = malloc(size);
    char *padding = calloc(1, pad + 1);
    if (!json || !padding) {
        reply("error out of memory");
        exit(1);
    }
    memset(padding, 'x', pad);
    for (unsigned long i = 0; i < n; i++) {
        int len = snprintf(json, size,
                           "{\"event\":\"%s\",\"time\":\"2026-11-26T10:00:00Z\","
                           "\"subscriber\":\"%s\",\"signature\":\"%s\","
                           "\"level\":\"product\",\"domains_seen\":1,"
                           "\"domains_total\":1,\"seq\":%" PRIu64 "%s%s%s}",
                           detected ? "detected" : "expired", sub, sig, ++d->seq,
                           pad ? ",\"pad\":\"" : "", padding, pad ? "\"" : "");
        hs_publisher_publish(d->pub, sub, sig, detected, json, (size_t)len);
    }
    free(json);
    free(padding);
    reply("ok %" PRIu64 " %" PRIu64, first, d->seq);
}

static void stats(driver *d)
{
    hs_publisher_stats s;
    hs_publisher_get_stats(d->pub, &s);
    reply("{\"published\":%" PRIu64 ",\"queued\":%" PRIu64
          ",\"in_flight\":%" PRIu64 ",\"dropped_queue_full\":%" PRIu64
          ",\"dropped_invalid\":%" PRIu64 ",\"dropped_nomem\":%" PRIu64
          ",\"errors\":%" PRIu64 ",\"connect_failures\":%" PRIu64
          ",\"reconnects\":%" PRIu64 ",\"connected\":%s}",
          s.published, s.queued, s.in_flight, s.dropped_queue_full,
          s.dropped_invalid, s.dropped_nomem, s.errors, s.connect_failures,
          s.reconnects, s.connected ? "true" : "false");
}

static void on_closed(void *ctx)
{
    driver *d = ctx;
    d->pub = NULL;
    reply("closed");
}

static void start_close(driver *d)
{
    if (d->closing)
        return;
    d->closing = true;
    uv_read_stop((uv_stream_t *)&d->in);
    uv_close((uv_handle_t *)&d->in, NULL);
    hs_publisher_close(d->pub, on_closed, d);
}

static void command(driver *d, char *line)
{
    char *argv[6];
    int argc = 0;
    for (char *tok = strtok(line, " \t"); tok && argc < 6; tok = strtok(NULL, " \t"))
        argv[argc++] = tok;
    if ((argc == 5 || argc == 6) && !strcmp(argv[0], "publish")) {
        publish(d, strtoul(argv[1], NULL, 10), argv[2], argv[3], argv[4],
                argc == 6 ? strtoul(argv[5], NULL, 10) : 0);
    } else if (argc == 1 && !strcmp(argv[0], "invalid")) {
        hs_publisher_publish(d->pub, "198.51.100.7", "sig", true, "{}", 0);
        hs_publisher_publish(d->pub, NULL, "sig", true, "{}", 2);
        reply("ok");
    } else if (argc == 1 && !strcmp(argv[0], "stats")) {
        stats(d);
    } else if (argc == 1 && !strcmp(argv[0], "close")) {
        start_close(d);
    } else {
        reply("error unknown command");
        d->exit_code = 1;
    }
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char chunk[LINE_MAX_LEN];
    (void)h;
    (void)hint;
    *buf = uv_buf_init(chunk, sizeof(chunk));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    driver *d = s->data;
    if (n < 0) {
        start_close(d);
        return;
    }
    for (ssize_t i = 0; i < n && !d->closing; i++) {
        if (buf->base[i] != '\n') {
            if (d->len + 1 >= sizeof(d->line)) {
                reply("error line too long");
                d->exit_code = 1;
                start_close(d);
                return;
            }
            d->line[d->len++] = buf->base[i];
            continue;
        }
        d->line[d->len] = '\0';
        d->len = 0;
        command(d, d->line);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: publisher_driver CONF\n");
        return 2;
    }
    hs_log_setup(HS_LOG_DEBUG, NULL, NULL);
    char err[1024];
    hs_conf *conf = NULL;
    if (hs_conf_load(argv[1], &conf, err, sizeof(err)) < 0 || !conf->redis.url) {
        fprintf(stderr, "%s\n", conf ? "[redis] url is empty" : err);
        hs_conf_free(conf);
        return 2;
    }
    driver d = {0};
    uv_loop_init(&d.loop);
    hs_publisher_conf pc;
    hs_publisher_conf_from(conf, &pc);
    int rc = hs_publisher_new(&d.loop, &pc, &d.pub, err, sizeof(err));
    hs_conf_free(conf); /* the publisher keeps copies */
    if (rc < 0) {
        fprintf(stderr, "%s\n", err);
        uv_loop_close(&d.loop);
        return 2;
    }
    uv_pipe_init(&d.loop, &d.in, 0);
    uv_pipe_open(&d.in, 0);
    d.in.data = &d;
    uv_read_start((uv_stream_t *)&d.in, on_alloc, on_read);
    uv_run(&d.loop, UV_RUN_DEFAULT);
    uv_loop_close(&d.loop);
    return d.exit_code;
}
