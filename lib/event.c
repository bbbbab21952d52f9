/* event.c - detection events and their JSON form (see event.h). */
#include "event.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "json.h"

const char *hs_event_type_name(hs_event_type t)
{
    return t == HS_EVENT_DETECTED ? "detected" : "expired";
}

char *hs_time_format(uint64_t time_ms, char *buf, size_t len)
{
    time_t t = (time_t)(time_ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) ||
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
        if (len > 0)
            buf[0] = '\0';
    }
    return buf;
}

/* An append-only writer into a caller's buffer that remembers overflow. */
typedef struct out {
    char *buf;
    size_t len, pos;
    bool full;
} out;

static void put_raw(out *o, const char *s, size_t n)
{
    if (o->full || o->pos + n >= o->len) {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->pos, s, n);
    o->pos += n;
    o->buf[o->pos] = '\0';
}

static void put_fmt(out *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    put_raw(o, tmp, (size_t)n);
}

static void put_str(out *o, const char *s)
{
    put_raw(o, "\"", 1);
    if (!o->full) {
        size_t room = o->len - o->pos;
        size_t n = hs_json_escape(o->buf + o->pos, room, s, strlen(s));
        if (n >= room)
            o->full = true;
        else
            o->pos += n;
    }
    put_raw(o, "\"", 1);
}

/* ,"key": */
static void put_key(out *o, const char *key)
{
    if (o->pos > 1)
        put_raw(o, ",", 1);
    put_str(o, key);
    put_raw(o, ":", 1);
}

static void put_time(out *o, const char *key, uint64_t ms)
{
    char ts[32];
    put_key(o, key);
    put_str(o, hs_time_format(ms, ts, sizeof(ts)));
}

static void put_domains(out *o, const hs_event *ev, const hs_sigset *s)
{
    put_key(o, "domains");
    put_raw(o, "[", 1);
    for (uint32_t i = 0; i < ev->domains_seen; i++) {
        if (i > 0)
            put_raw(o, ",", 1);
        put_str(o, hs_sigset_domain(s, ev->domains[i])->name);
    }
    put_raw(o, "]", 1);
}

int hs_event_format_json(const hs_event *ev, const hs_sigset *s,
                         const char *extra, char *buf, size_t len)
{
    const hs_signature *sig = hs_sigset_sig(s, ev->sig);
    char sub[64];
    out o = {.buf = buf, .len = len};
    put_raw(&o, "{", 1);
    put_key(&o, "event");
    put_str(&o, hs_event_type_name(ev->type));
    put_time(&o, "time", ev->time_ms);
    put_key(&o, "subscriber");
    put_str(&o, hs_subscriber_format(&ev->subscriber, sub, sizeof(sub)));
    put_key(&o, "signature");
    put_str(&o, sig->id);
    put_key(&o, "level");
    put_str(&o, hs_level_name(ev->level));
    put_key(&o, "domains_seen");
    put_fmt(&o, "%" PRIu32, ev->domains_seen);
    put_key(&o, "domains_total");
    put_fmt(&o, "%" PRIu32, ev->domains_total);
    put_key(&o, "name");
    put_str(&o, sig->name);
    if (ev->parent >= 0) {
        put_key(&o, "parent");
        put_str(&o, hs_sigset_sig(s, (uint32_t)ev->parent)->id);
    }
    put_key(&o, "hits");
    put_fmt(&o, "%" PRIu64, ev->hits);
    if (ev->last_seen_ms != 0) {
        put_time(&o, "first_seen", ev->first_seen_ms);
        put_time(&o, "last_seen", ev->last_seen_ms);
    }
    put_domains(&o, ev, s);
    if (ev->backend) {
        char a[64];
        put_key(&o, "backend");
        put_str(&o, hs_ip_format(ev->backend, a, sizeof(a)));
    }
    if (extra && extra[0]) {
        put_raw(&o, ",", 1);
        put_raw(&o, extra, strlen(extra));
    }
    put_raw(&o, "}", 1);
    return o.full ? -ENOSPC : (int)o.pos;
}
