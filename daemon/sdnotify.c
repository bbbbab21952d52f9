/*
 * sdnotify.c - systemd's notification protocol written out by hand: each
 * notification is one datagram of text to the AF_UNIX socket named by
 * $NOTIFY_SOCKET, a file system path or, when it starts with '@', a name
 * in the abstract namespace. The protocol is small and stable; linking
 * libsystemd for it would add a dependency for a dozen lines.
 *
 * A socket is opened per message: notifications are rare (start, reload,
 * stop, a watchdog ping every few seconds), so keeping no descriptor keeps
 * no state to leak or inherit. Sends use MSG_DONTWAIT because they run on
 * the event loop, which must never block: should the manager's queue be
 * full, a lost watchdog ping is repeated at the next tick anyway.
 */
#include "sdnotify.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HS_SD_STATE_MAX 512

/* Fills sa from $NOTIFY_SOCKET; returns the address length or -errno. */
static int notify_addr(const char *name, struct sockaddr_un *sa)
{
    size_t len = strlen(name);
    if (name[0] != '/' && name[0] != '@')
        return -EAFNOSUPPORT; /* e.g. vsock: addresses, not for us */
    if (len < 2 || len >= sizeof(sa->sun_path))
        return -EINVAL;
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, name, len);
    if (name[0] == '@')
        sa->sun_path[0] = '\0'; /* abstract: the length delimits the name */
    return (int)(offsetof(struct sockaddr_un, sun_path) + len);
}

static int notify_send(const char *name, const char *state)
{
    struct sockaddr_un sa;
    int salen = notify_addr(name, &sa);
    if (salen < 0)
        return salen;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = 1;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT,
               (struct sockaddr *)&sa, (socklen_t)salen) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

int hs_sd_notify(const char *state)
{
    const char *name = getenv("NOTIFY_SOCKET");
    if (!name || !*name)
        return 0;
    int rc = notify_send(name, state);
    if (rc < 0)
        hs_log(HS_LOG_WARNING, "sd_notify to %s: %s", name, strerror(-rc));
    return rc;
}

int hs_sd_notifyf(const char *fmt, ...)
{
    char state[HS_SD_STATE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(state, sizeof(state), fmt, ap);
    va_end(ap);
    return hs_sd_notify(state);
}

int hs_sd_notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    unsigned long long usec = (unsigned long long)ts.tv_sec * 1000000ULL +
                              (unsigned long long)ts.tv_nsec / 1000ULL;
    return hs_sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

/* A whole decimal number, nothing else; 0 for anything invalid. */
static unsigned long long env_number(const char *name)
{
    const char *s = getenv(name);
    if (!s || *s < '0' || *s > '9')
        return 0;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    return errno || *end ? 0 : v;
}

uint64_t hs_sd_watchdog_usec(void)
{
    if (getenv("WATCHDOG_PID") &&
        env_number("WATCHDOG_PID") != (unsigned long long)getpid())
        return 0; /* meant for another process (we were forked, or exec'd) */
    return env_number("WATCHDOG_USEC");
}
