/*
 * log.c - leveled, rate-limited logging (see log.h).
 */
#include "log.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static hs_log_level log_max = HS_LOG_INFO;
static hs_log_fn log_fn;
static void *log_ctx;
static uint64_t log_lines;

const char *hs_log_level_name(hs_log_level level)
{
    switch (level) {
    case HS_LOG_ERROR: return "error";
    case HS_LOG_WARNING: return "warning";
    case HS_LOG_INFO: return "info";
    default: return "debug";
    }
}

int hs_log_level_parse(const char *s, hs_log_level *out)
{
    static const hs_log_level all[] = {HS_LOG_ERROR, HS_LOG_WARNING, HS_LOG_INFO,
                                       HS_LOG_DEBUG};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (strcasecmp(s, hs_log_level_name(all[i])) == 0) {
            *out = all[i];
            return 0;
        }
    }
    return -EINVAL;
}

void hs_log_setup(hs_log_level max, hs_log_fn fn, void *ctx)
{
    pthread_mutex_lock(&log_lock);
    log_max = max;
    log_fn = fn;
    log_ctx = ctx;
    pthread_mutex_unlock(&log_lock);
}

static void write_stderr(hs_log_level level, const char *line)
{
    if (getenv("JOURNAL_STREAM")) {
        fprintf(stderr, "<%d>%s\n", (int)level, line);
        return;
    }
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s %s: %s\n", ts, hs_log_level_name(level), line);
}

static void emit(hs_log_level level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    if (log_fn)
        log_fn(log_ctx, level, line);
    else
        write_stderr(level, line);
    log_lines++;
}

void hs_log(hs_log_level level, const char *fmt, ...)
{
    pthread_mutex_lock(&log_lock);
    if (level <= log_max) {
        va_list ap;
        va_start(ap, fmt);
        emit(level, fmt, ap);
        va_end(ap);
    }
    pthread_mutex_unlock(&log_lock);
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void emit_line(hs_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
}

void hs_log_rl(hs_ratelimit *rl, hs_log_level level, const char *fmt, ...)
{
    pthread_mutex_lock(&log_lock);
    if (level > log_max)
        goto out;
    uint64_t now = monotonic_ms();
    if (now - rl->window_start_ms >= HS_LOG_RL_INTERVAL_MS) {
        if (rl->suppressed)
            emit_line(level, "(%u similar messages suppressed)", rl->suppressed);
        rl->window_start_ms = now;
        rl->count = 0;
        rl->suppressed = 0;
    }
    if (rl->count >= HS_LOG_RL_BURST) {
        rl->suppressed++;
        goto out;
    }
    rl->count++;
    va_list ap;
    va_start(ap, fmt);
    emit(level, fmt, ap);
    va_end(ap);
out:
    pthread_mutex_unlock(&log_lock);
}

static hs_ratelimit glib_rl;

static void glib_handler(const gchar *domain, GLogLevelFlags flags,
                         const gchar *message, gpointer data)
{
    (void)data;
    hs_log_level level = (flags & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
                             ? HS_LOG_ERROR
                         : (flags & G_LOG_LEVEL_WARNING) ? HS_LOG_WARNING
                         : (flags & G_LOG_LEVEL_DEBUG)   ? HS_LOG_DEBUG
                                                         : HS_LOG_INFO;
    hs_log_rl(&glib_rl, level, "%s: %s", domain ? domain : "libfixbuf",
              message);
}

void hs_log_capture_glib(void)
{
    g_log_set_default_handler(glib_handler, NULL);
    /* never let a libfixbuf warning become fatal (G_DEBUG=fatal-warnings) */
    g_log_set_always_fatal((GLogLevelFlags)G_LOG_FATAL_MASK & ~G_LOG_LEVEL_WARNING &
                           ~G_LOG_LEVEL_CRITICAL);
}

uint64_t hs_log_lines(void)
{
    pthread_mutex_lock(&log_lock);
    uint64_t n = log_lines;
    pthread_mutex_unlock(&log_lock);
    return n;
}
