/*
 * sdnotify.h - systemd's service notification protocol (sd_notify(3)),
 * without libsystemd: readiness, reload and stop states, and the watchdog.
 *
 * Every call is a no-op when the process was not started by systemd with
 * Type=notify (no $NOTIFY_SOCKET), so the daemon calls them unconditionally.
 */
#ifndef HS_SDNOTIFY_H
#define HS_SDNOTIFY_H

#include <stdint.h>

/*
 * Sends state, "KEY=VALUE" lines separated by '\n' ("READY=1\nSTATUS=...").
 * Returns 1 when sent, 0 without $NOTIFY_SOCKET, or -errno (a failure is
 * also logged: systemd waiting for a READY=1 that never comes is otherwise
 * hard to diagnose). Never blocks.
 */
int hs_sd_notify(const char *state);

/* Same, formatting state printf-style (truncated past 512 bytes). */
int hs_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with the MONOTONIC_USEC= systemd >= 253 expects with it. */
int hs_sd_notify_reloading(void);

/*
 * The watchdog interval systemd enforces (WatchdogSec=) in microseconds, or
 * 0 when there is none: WATCHDOG_USEC unset or invalid, or WATCHDOG_PID set
 * to another process than this one. Send "WATCHDOG=1" well within it
 * (conventionally every half interval).
 */
uint64_t hs_sd_watchdog_usec(void);

#endif
