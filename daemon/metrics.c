/*
 * metrics.c - HTTP endpoint for Prometheus (see metrics.h).
 *
 * Each connection reads at most HS_HTTP_MAX_REQUEST bytes until the blank
 * line that ends the request headers, answers once and closes: no
 * keep-alive, no body parsing. Connections past HS_HTTP_MAX_CONN are closed
 * at once and a timer drops any that stays longer than HS_HTTP_TIMEOUT_MS.
 */
#include "metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HS_HTTP_MAX_REQUEST 8192
#define HS_HTTP_MAX_CONN 16
#define HS_HTTP_TIMEOUT_MS 5000

typedef struct conn conn;

struct hs_metrics {
    uv_tcp_t listener;
    hs_metrics_render_fn fn;
    void *ctx;
    conn *conns;            /* open connections */
    unsigned n_conn;
    int listener_closed;
};

struct conn {
    conn *next, *prev;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write;
    hs_metrics *m;
    char req[HS_HTTP_MAX_REQUEST];
    size_t len;
    hs_textbuf resp;
    int handles_open;
    int answered;
};

/* m is freed once its listener and every connection have closed. */
static void maybe_free(hs_metrics *m)
{
    if (m->listener_closed && m->n_conn == 0)
        free(m);
}

static void conn_closed(uv_handle_t *h)
{
    conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    hs_metrics *m = c->m;
    if (c->prev)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    m->n_conn--;
    hs_textbuf_free(&c->resp);
    free(c);
    maybe_free(m);
}

static void conn_close(conn *c)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
    uv_close((uv_handle_t *)&c->timer, conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    conn_close(w->data);
}

static void respond(conn *c, const char *status, const char *type,
                    const char *body, size_t body_len)
{
    hs_textbuf_printf(&c->resp,
                      "HTTP/1.0 %s\r\nContent-Type: %s\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      status, type, body_len);
    size_t head = c->resp.len;
    hs_textbuf_printf(&c->resp, "%.*s", (int)body_len, body);
    if (c->resp.failed || c->resp.len != head + body_len) {
        conn_close(c);
        return;
    }
    c->answered = 1;
    uv_buf_t buf = uv_buf_init(c->resp.data, (unsigned)c->resp.len);
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written) < 0)
        conn_close(c);
}

static void handle_request(conn *c)
{
    static const char text[] = "text/plain; version=0.0.4; charset=utf-8";
    if (strncmp(c->req, "GET /metrics ", 13) == 0 ||
        strncmp(c->req, "GET / ", 6) == 0) {
        hs_textbuf body = {0};
        c->m->fn(c->m->ctx, &body);
        if (body.failed) {
            hs_textbuf_free(&body);
            respond(c, "500 Internal Server Error", text, "", 0);
            return;
        }
        respond(c, "200 OK", text, body.data ? body.data : "", body.len);
        hs_textbuf_free(&body);
    } else if (strncmp(c->req, "GET ", 4) == 0) {
        respond(c, "404 Not Found", text, "not found\n", 10);
    } else {
        respond(c, "405 Method Not Allowed", text, "GET only\n", 9);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = h->data;
    *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    conn *c = s->data;
    if (nread < 0 || c->answered) {
        if (nread < 0)
            conn_close(c);
        return;
    }
    c->len += (size_t)nread;
    c->req[c->len] = '\0';
    if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n")) {
        uv_read_stop(s);
        handle_request(c);
    } else if (c->len >= sizeof(c->req) - 1) {
        uv_read_stop(s);
        respond(c, "431 Request Header Fields Too Large", "text/plain", "", 0);
    }
}

static void on_timeout(uv_timer_t *t)
{
    conn_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
    hs_metrics *m = server->data;
    if (status < 0)
        return;
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->m = m;
    c->next = m->conns;
    if (m->conns)
        m->conns->prev = c;
    m->conns = c;
    m->n_conn++;
    uv_tcp_init(server->loop, &c->tcp);
    uv_timer_init(server->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles_open = 2;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0 || m->n_conn > HS_HTTP_MAX_CONN) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, on_timeout, HS_HTTP_TIMEOUT_MS, 0);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int hs_metrics_open(uv_loop_t *loop, const hs_hostport *addr,
                    hs_metrics_render_fn fn, void *ctx, hs_metrics **out,
                    char *err, size_t errlen)
{
    hs_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->fn = fn;
    m->ctx = ctx;
    struct sockaddr_storage ss = {0};
    if (addr->ip.af == HS_AF_V4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(addr->port);
        in->sin_addr.s_addr = htonl(addr->ip.u.v4);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(addr->port);
        memcpy(in6->sin6_addr.s6_addr, addr->ip.u.v6, 16);
    }
    uv_tcp_init(loop, &m->listener);
    m->listener.data = m;
    int rc = uv_tcp_bind(&m->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&m->listener, 64, on_connection);
    if (rc < 0) {
        char a[64];
        snprintf(err, errlen, "metrics listen %s: %s",
                 hs_hostport_format(addr, a, sizeof(a)), uv_strerror(rc));
        hs_metrics_close(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    hs_metrics *m = h->data;
    m->listener_closed = 1;
    maybe_free(m);
}

void hs_metrics_close(hs_metrics *m)
{
    if (!m)
        return;
    for (conn *c = m->conns; c; c = c->next)
        conn_close(c);
    uv_close((uv_handle_t *)&m->listener, listener_closed);
}
