/*
 * metrics.h - the Prometheus text endpoint ([metrics] listen): a minimal
 * HTTP/1.0 server on the daemon's loop that answers GET /metrics with what
 * the render callback writes. Loopback by default; bounded in connections,
 * request size and time, so a scraper (or anything else) cannot hold it.
 */
#ifndef HS_METRICS_H
#define HS_METRICS_H

#include <stddef.h>
#include <uv.h>

#include "parse.h"
#include "textbuf.h"

typedef void (*hs_metrics_render_fn)(void *ctx, hs_textbuf *out);

typedef struct hs_metrics hs_metrics;

int hs_metrics_open(uv_loop_t *loop, const hs_hostport *addr,
                    hs_metrics_render_fn fn, void *ctx, hs_metrics **out,
                    char *err, size_t errlen);
void hs_metrics_close(hs_metrics *m);

#endif
