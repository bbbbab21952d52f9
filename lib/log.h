/*
 * log.h - one logger for the library, libfixbuf's GLib messages and the
 * daemon.
 *
 * Levels are syslog priorities so journald understands the "<N>" prefix.
 * Anything that can be triggered by a datagram goes through a rate limiter
 * (hs_log_rl): a flood of bad input must not become a flood of log lines.
 * Thread-safe.
 */
#ifndef HS_LOG_H
#define HS_LOG_H

#include <stdint.h>

typedef enum hs_log_level {
    HS_LOG_ERROR = 3,
    HS_LOG_WARNING = 4,
    HS_LOG_INFO = 6,
    HS_LOG_DEBUG = 7,
} hs_log_level;

/* Receives each formatted line (without newline). */
typedef void (*hs_log_fn)(void *ctx, hs_log_level level, const char *line);

/* Lines above max are discarded; fn NULL writes to stderr (with a "<N>"
 * prefix when journald captures stderr, a timestamp otherwise). */
void hs_log_setup(hs_log_level max, hs_log_fn fn, void *ctx);

/* "error", "warning", "info", "debug". */
const char *hs_log_level_name(hs_log_level level);

/* Parses "error", "warning", "info", "debug"; returns 0 or -EINVAL. */
int hs_log_level_parse(const char *s, hs_log_level *out);

void hs_log(hs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A rate limiter for one kind of message: at most HS_LOG_RL_BURST lines per
 * HS_LOG_RL_INTERVAL_MS, then one line saying how many were suppressed. */
#define HS_LOG_RL_BURST 10
#define HS_LOG_RL_INTERVAL_MS 60000
typedef struct hs_ratelimit {
    uint64_t window_start_ms;
    uint32_t count;
    uint32_t suppressed;
} hs_ratelimit;

void hs_log_rl(hs_ratelimit *rl, hs_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Routes GLib's (libfixbuf's) messages through hs_log_rl, so they are
 * limited too and never abort the process. */
void hs_log_capture_glib(void);

/* Lines written since start (for tests and metrics). */
uint64_t hs_log_lines(void);

#endif
