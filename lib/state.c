/*
 * state.c - the state file: the engine's subscribers, saved and restored
 * (see state.h and docs/operations.md, "State file").
 *
 * Format, version 1. Every integer is little-endian.
 *
 *   offset size
 *        0    8  magic "HSSTATE\0"
 *        8    4  format version (1)
 *       12    4  flags, 0
 *       16    8  file length in bytes, checksum included
 *       24    8  bucket width in ms the rings are counted in
 *       32    8  watermark (event time of the save), unix ms
 *       40    4  ipv6_prefix_len the IPv6 keys were cut with
 *       44    4  D: domain names
 *       48    4  S: signature ids
 *       52    4  N: subscribers
 *       56       D times {u16 length, name}: domain references 0..D-1
 *                S times {u16 length, id}: signature references 0..S-1
 *                N times a subscriber:
 *                  u64 key, u8 family (4, 6), u8 prefix length,
 *                  u16 E entries, u16 H detected, u16 0, u32 clock
 *                  E times {u32 domain ref, u32 first_s, u32 last_s,
 *                           16 x u8 hit counters}, domain refs ascending
 *                  H times {u32 signature ref}
 *      end-4    4  CRC-32 (IEEE) of every byte before it
 *
 * Names rather than indices make the file outlive a signature file edit.
 * The checks run in the order a reader needs them for a clear message:
 * magic (not a state file), version, length (truncated), checksum
 * (corrupt), then every count and reference against the bytes present,
 * so no input can make the reader read out of bounds or allocate more
 * than a small multiple of the file size. The whole file is validated
 * before the engine is touched: a refused file restores nothing.
 *
 * Decisions: another bucket width is converted (rings re-bucketed by
 * time, as a reload does); another ipv6_prefix_len is refused, because
 * IPv6 keys cut at one length cannot be re-cut at another.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sigset.h"

static const uint8_t MAGIC[8] = {'H', 'S', 'S', 'T', 'A', 'T', 'E', 0};

enum {
    HEADER_LEN = 56,
    TRAILER_LEN = 4,
    SUB_LEN = 20,
    ENTRY_LEN = 12 + HS_WINDOW_BUCKETS,
    NAME_MAX_LEN = UINT16_MAX,
};

typedef struct header {
    uint32_t version, flags;
    uint64_t file_len, bucket_ms, watermark_ms;
    uint32_t v6_plen, n_domains, n_sigs, n_subs;
} header;

static void fail(char *err, size_t errlen, const char *name, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void fail(char *err, size_t errlen, const char *name, const char *fmt,
                 ...)
{
    int n = snprintf(err, errlen, "%s: ", name);
    if (n < 0 || (size_t)n >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* ---- CRC-32 -------------------------------------------------------- */

typedef struct crc32_table {
    uint32_t t[256];
} crc32_table;

static void crc32_init(crc32_table *c)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t r = i;
        for (int k = 0; k < 8; k++)
            r = (r >> 1) ^ (0xEDB88320u & (0u - (r & 1)));
        c->t[i] = r;
    }
}

/* Continues a CRC (start with 0) over len more bytes. */
static uint32_t crc32_add(const crc32_table *c, uint32_t crc, const void *p,
                          size_t len)
{
    const uint8_t *b = p;
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = c->t[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* ---- writing ------------------------------------------------------- */

/* Fields are a few bytes each: they are gathered in buf, and the
 * checksum and the write take whole buffers. */
typedef struct writer {
    FILE *f;
    crc32_table crc_tab;
    uint32_t crc;
    uint64_t len;
    size_t used;
    uint8_t buf[1 << 16];
} writer;

static void flush(writer *w)
{
    fwrite(w->buf, 1, w->used, w->f);
    w->crc = crc32_add(&w->crc_tab, w->crc, w->buf, w->used);
    w->used = 0;
}

static void put(writer *w, const void *p, size_t len)
{
    const uint8_t *b = p;
    w->len += len;
    while (len > 0) {
        if (w->used == sizeof(w->buf))
            flush(w);
        size_t n = sizeof(w->buf) - w->used < len ? sizeof(w->buf) - w->used
                                                  : len;
        memcpy(w->buf + w->used, b, n);
        w->used += n;
        b += n;
        len -= n;
    }
}

static void put_le(writer *w, uint64_t v, size_t bytes)
{
    uint8_t b[8];
    for (size_t i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, bytes);
}

static void put_name(writer *w, const char *s)
{
    size_t n = strlen(s);
    put_le(w, n, 2);
    put(w, s, n);
}

static int put_sub(void *ctx, const hs_sub_view *v)
{
    writer *w = ctx;
    put_le(w, v->subscriber.key, 8);
    put_le(w, v->subscriber.af, 1);
    put_le(w, v->subscriber.plen, 1);
    put_le(w, v->n_evidence, 2);
    put_le(w, v->n_detected, 2);
    put_le(w, 0, 2);
    put_le(w, v->clock, 4);
    for (uint32_t i = 0; i < v->n_evidence; i++) {
        const hs_evidence *ev = &v->evidence[i];
        put_le(w, ev->domain, 4);
        put_le(w, ev->first_s, 4);
        put_le(w, ev->last_s, 4);
        put(w, ev->hits, HS_WINDOW_BUCKETS);
    }
    for (uint32_t i = 0; i < v->n_detected; i++)
        put_le(w, v->detected[i], 4);
    return 0;
}

/* The counting pass: the header needs the totals before the records. */
static int count_sub(void *ctx, const hs_sub_view *v)
{
    hs_state_stats *st = ctx;
    st->subscribers++;
    st->entries += v->n_evidence;
    st->detected += v->n_detected;
    return 0;
}

static int names_len(const hs_sigset *s, uint64_t *len)
{
    for (uint32_t i = 0; i < hs_sigset_n_domains(s); i++) {
        size_t n = strlen(hs_sigset_domain(s, i)->name);
        if (n == 0 || n > NAME_MAX_LEN)
            return -ENAMETOOLONG;
        *len += 2 + n;
    }
    for (uint32_t i = 0; i < hs_sigset_n_sigs(s); i++) {
        size_t n = strlen(hs_sigset_sig(s, i)->id);
        if (n == 0 || n > NAME_MAX_LEN)
            return -ENAMETOOLONG;
        *len += 2 + n;
    }
    return 0;
}

/* The engines a file covers (state.h). */
typedef struct shard_set {
    hs_engine *const *e;
    size_t n;
} shard_set;

static void write_all(writer *w, const shard_set *sh, const header *h)
{
    const hs_sigset *s = hs_engine_sigset(sh->e[0]);
    put(w, MAGIC, sizeof(MAGIC));
    put_le(w, h->version, 4);
    put_le(w, h->flags, 4);
    put_le(w, h->file_len, 8);
    put_le(w, h->bucket_ms, 8);
    put_le(w, h->watermark_ms, 8);
    put_le(w, h->v6_plen, 4);
    put_le(w, h->n_domains, 4);
    put_le(w, h->n_sigs, 4);
    put_le(w, h->n_subs, 4);
    for (uint32_t i = 0; i < h->n_domains; i++)
        put_name(w, hs_sigset_domain(s, i)->name);
    for (uint32_t i = 0; i < h->n_sigs; i++)
        put_name(w, hs_sigset_sig(s, i)->id);
    for (size_t i = 0; i < sh->n; i++)
        hs_engine_foreach(sh->e[i], put_sub, w);
    flush(w);
    put_le(w, w->crc, 4);
    flush(w);
}

/* The directory a path is in ("." for a bare name). */
static void dir_of(const char *path, char *dir, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, len, ".");
    else
        snprintf(dir, len, "%.*s", (int)(slash - path + (slash == path)), path);
}

/* Makes the rename itself durable. */
static void sync_dir(const char *path)
{
    char dir[4096];
    dir_of(path, dir, sizeof(dir));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int write_file(writer *w, const shard_set *sh, const header *h,
                      const char *tmp)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    w->f = fdopen(fd, "wb");
    if (!w->f) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    write_all(w, sh, h);
    int rc = 0;
    if (fflush(w->f) != 0 || ferror(w->f) || fsync(fd) != 0)
        rc = errno ? -errno : -EIO;
    if (fclose(w->f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && w->len != h->file_len)
        rc = -EIO;
    return rc;
}

/* The latest event time any shard has seen. */
static uint64_t watermark_of(const shard_set *sh)
{
    uint64_t wm = 0;
    for (size_t i = 0; i < sh->n; i++) {
        hs_engine_counters c;
        hs_engine_get_counters(sh->e[i], &c);
        wm = c.watermark_ms > wm ? c.watermark_ms : wm;
    }
    return wm;
}

int hs_state_save(hs_engine *const *shards, size_t n_shards,
                  const char *path, hs_state_stats *st, char *err,
                  size_t errlen)
{
    const shard_set sh = {shards, n_shards};
    const hs_engine *e = sh.e[0];
    const hs_sigset *s = hs_engine_sigset(e);
    memset(st, 0, sizeof(*st));
    for (size_t i = 0; i < sh.n; i++)  /* also ends a reload's moves */
        hs_engine_foreach(sh.e[i], count_sub, st);
    header h = {.version = HS_STATE_VERSION,
                .bucket_ms = hs_engine_bucket_ms(e),
                .watermark_ms = watermark_of(&sh),
                .v6_plen = hs_engine_match_conf(e)->ipv6_prefix_len,
                .n_domains = hs_sigset_n_domains(s),
                .n_sigs = hs_sigset_n_sigs(s),
                .n_subs = (uint32_t)st->subscribers};
    h.file_len = HEADER_LEN + TRAILER_LEN + st->subscribers * SUB_LEN +
                 st->entries * ENTRY_LEN + st->detected * 4;
    if (names_len(s, &h.file_len) < 0) {
        fail(err, errlen, path, "a domain or signature name is empty or "
                                "longer than %d bytes", NAME_MAX_LEN);
        return -ENAMETOOLONG;
    }
    st->bytes = h.file_len;
    st->bucket_ms = h.bucket_ms;
    st->watermark_ms = h.watermark_ms;
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        fail(err, errlen, path, "path too long");
        return -ENAMETOOLONG;
    }
    writer *w = calloc(1, sizeof(*w));
    if (!w) {
        fail(err, errlen, path, "out of memory");
        return -ENOMEM;
    }
    crc32_init(&w->crc_tab);
    int rc = write_file(w, &sh, &h, tmp);
    free(w);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc < 0) {
        fail(err, errlen, path, "cannot write the state file: %s",
             strerror(-rc));
        unlink(tmp);
        return rc;
    }
    sync_dir(path);
    return 0;
}

int hs_state_check_writable(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    dir_of(path, dir, sizeof(dir));
    if (access(dir, W_OK | X_OK) == 0)
        return 0;
    int rc = -errno;
    fail(err, errlen, path, "%s: %s", dir, strerror(-rc));
    return rc;
}

/* ---- reading ------------------------------------------------------- */

typedef struct reader {
    const uint8_t *p;
    size_t len, off;             /* len: bytes before the checksum */
} reader;

static bool has(const reader *r, uint64_t n)
{
    return r->off <= r->len && n <= r->len - r->off;
}

static uint64_t get_le(reader *r, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[r->off + i] << (8 * i);
    r->off += bytes;
    return v;
}

/*
 * Magic, version, length and checksum: the envelope. Fills h on success.
 * The messages are the ones state.h promises.
 */
static int check_envelope(const char *name, const uint8_t *buf, size_t len,
                          header *h, char *err, size_t errlen)
{
    size_t m = len < sizeof(MAGIC) ? len : sizeof(MAGIC);
    if (m > 0 && memcmp(buf, MAGIC, m) != 0) {
        fail(err, errlen, name, "not a haystack state file");
        return -EINVAL;
    }
    reader r = {buf, len, sizeof(MAGIC)};
    if (has(&r, 4)) {
        h->version = (uint32_t)get_le(&r, 4);
        if (h->version != HS_STATE_VERSION) {
            fail(err, errlen, name, "state format version %u, this haystackd "
                 "reads %d", h->version, HS_STATE_VERSION);
            return -ENOTSUP;
        }
    }
    if (len < HEADER_LEN + TRAILER_LEN) {
        fail(err, errlen, name, "truncated (%zu bytes)", len);
        return -EINVAL;
    }
    h->flags = (uint32_t)get_le(&r, 4);
    h->file_len = get_le(&r, 8);
    if (h->file_len > len) {
        fail(err, errlen, name, "truncated (%zu of %llu bytes)", len,
             (unsigned long long)h->file_len);
        return -EINVAL;
    }
    if (h->file_len < len) {
        fail(err, errlen, name, "corrupt: %llu bytes past the end",
             (unsigned long long)(len - h->file_len));
        return -EINVAL;
    }
    crc32_table t;
    crc32_init(&t);
    reader tail = {buf, len, len - TRAILER_LEN};
    if (crc32_add(&t, 0, buf, len - TRAILER_LEN) != get_le(&tail, 4)) {
        fail(err, errlen, name, "checksum mismatch (corrupt)");
        return -EINVAL;
    }
    h->bucket_ms = get_le(&r, 8);
    h->watermark_ms = get_le(&r, 8);
    h->v6_plen = (uint32_t)get_le(&r, 4);
    h->n_domains = (uint32_t)get_le(&r, 4);
    h->n_sigs = (uint32_t)get_le(&r, 4);
    h->n_subs = (uint32_t)get_le(&r, 4);
    return 0;
}

/* What the header claims, against the file and the engine. */
static int check_header(const char *name, const header *h, size_t len,
                        const hs_engine *e, char *err, size_t errlen)
{
    unsigned plen = hs_engine_match_conf(e)->ipv6_prefix_len;
    uint64_t body = len - HEADER_LEN - TRAILER_LEN;
    const char *what = NULL;
    if (h->flags != 0)
        what = "unknown flags";
    else if (h->bucket_ms == 0 || h->watermark_ms / 1000 > UINT32_MAX ||
             h->watermark_ms / h->bucket_ms > UINT32_MAX - 2 * HS_WINDOW_BUCKETS)
        what = "bucket width or watermark out of range";
    else if (h->v6_plen < HS_V6_PREFIX_MIN || h->v6_plen > HS_V6_PREFIX_MAX)
        what = "ipv6_prefix_len out of range";
    else if (2ull * h->n_domains + 2ull * h->n_sigs +
                 (uint64_t)SUB_LEN * h->n_subs > body)
        what = "counts larger than the file";
    if (what) {
        fail(err, errlen, name, "corrupt: %s", what);
        return -EINVAL;
    }
    if (h->v6_plen != plen) {
        fail(err, errlen, name, "made with ipv6_prefix_len %u, configured %u: "
             "not restored", h->v6_plen, plen);
        return -ENOTSUP;
    }
    return 0;
}

/*
 * Reads count names into map: the index of each in the current sigset by
 * name (domains) or id (signatures), or -1.
 */
static int read_names(reader *r, const hs_sigset *s, bool domains,
                      uint32_t count, int32_t *map, char *name)
{
    for (uint32_t i = 0; i < count; i++) {
        if (!has(r, 2))
            return -EINVAL;
        size_t n = (size_t)get_le(r, 2);
        if (n == 0 || !has(r, n) || memchr(r->p + r->off, 0, n))
            return -EINVAL;
        memcpy(name, r->p + r->off, n);
        name[n] = '\0';
        r->off += n;
        map[i] = domains ? hs_sigset_find_domain(s, name)
                         : hs_sigset_find_sig(s, name);
    }
    return 0;
}

/* One subscriber record's fixed part. */
typedef struct sub_rec {
    hs_subscriber sub;
    uint32_t n_ev, n_det, clock;
    size_t ev_off, det_off;      /* where its entries and refs start */
} sub_rec;

static int read_sub(reader *r, const header *h, sub_rec *s)
{
    if (!has(r, SUB_LEN))
        return -EINVAL;
    s->sub.key = get_le(r, 8);
    s->sub.af = (uint8_t)get_le(r, 1);
    s->sub.plen = (uint8_t)get_le(r, 1);
    s->n_ev = (uint32_t)get_le(r, 2);
    s->n_det = (uint32_t)get_le(r, 2);
    uint32_t zero = (uint32_t)get_le(r, 2);
    s->clock = (uint32_t)get_le(r, 4);
    bool v4 = s->sub.af == HS_AF_V4 && s->sub.plen == 32;
    bool v6 = s->sub.af == HS_AF_V6 && s->sub.plen == h->v6_plen;
    if (zero != 0 || (!v4 && !v6) ||
        (uint64_t)s->clock * h->bucket_ms > h->watermark_ms ||
        !has(r, (uint64_t)s->n_ev * ENTRY_LEN + (uint64_t)s->n_det * 4))
        return -EINVAL;
    s->ev_off = r->off;
    s->det_off = r->off + (size_t)s->n_ev * ENTRY_LEN;
    r->off = s->det_off + (size_t)s->n_det * 4;
    return 0;
}

/* Pass 1: every record in bounds, references valid, domains ascending. */
static int check_subs(reader r, const header *h)
{
    for (uint32_t i = 0; i < h->n_subs; i++) {
        sub_rec s;
        if (read_sub(&r, h, &s) < 0)
            return -EINVAL;
        reader ev = {r.p, r.len, s.ev_off};
        int64_t prev = -1;
        for (uint32_t k = 0; k < s.n_ev; k++) {
            uint32_t d = (uint32_t)get_le(&ev, 4);
            if (d >= h->n_domains || (int64_t)d <= prev)
                return -EINVAL;
            prev = d;
            ev.off += ENTRY_LEN - 4;
        }
        reader det = {r.p, r.len, s.det_off};
        for (uint32_t k = 0; k < s.n_det; k++)
            if (get_le(&det, 4) >= h->n_sigs)
                return -EINVAL;
    }
    return r.off == r.len ? 0 : -EINVAL;
}

/* Scratch for one subscriber's view, sized for the largest record. */
typedef struct scratch {
    hs_evidence ev[UINT16_MAX];
    uint32_t det[UINT16_MAX];
} scratch;

/* Builds the view of a record in current indices, dropping the names the
 * sigset lacks. */
static void view_of(reader *r, const sub_rec *s, const int32_t *dmap,
                    const int32_t *smap, scratch *sc, hs_sub_view *v,
                    hs_state_stats *st)
{
    *v = (hs_sub_view){.subscriber = s->sub, .clock = s->clock,
                       .evidence = sc->ev, .detected = sc->det};
    r->off = s->ev_off;
    for (uint32_t k = 0; k < s->n_ev; k++) {
        int32_t d = dmap[get_le(r, 4)];
        hs_evidence *ev = &sc->ev[v->n_evidence];
        ev->first_s = (uint32_t)get_le(r, 4);
        ev->last_s = (uint32_t)get_le(r, 4);
        memcpy(ev->hits, r->p + r->off, HS_WINDOW_BUCKETS);
        r->off += HS_WINDOW_BUCKETS;
        if (d < 0) {
            st->dropped_entries++;
            continue;
        }
        ev->domain = (uint32_t)d;
        v->n_evidence++;
    }
    for (uint32_t k = 0; k < s->n_det; k++) {
        int32_t sig = smap[get_le(r, 4)];
        if (sig < 0)
            st->dropped_detected++;
        else
            sc->det[v->n_detected++] = (uint32_t)sig;
    }
}

/* Pass 2: hands every subscriber to the engine. */
static int apply_subs(reader r, const header *h, const shard_set *sh,
                      const int32_t *dmap, const int32_t *smap,
                      hs_state_stats *st)
{
    scratch *sc = malloc(sizeof(*sc));
    if (!sc)
        return -ENOMEM;
    for (size_t i = 0; i < sh->n; i++)
        hs_engine_advance(sh->e[i], h->watermark_ms);
    int rc = 0;
    for (uint32_t i = 0; i < h->n_subs && rc == 0; i++) {
        sub_rec s;
        hs_sub_view v;
        read_sub(&r, h, &s);
        size_t next = r.off;
        view_of(&r, &s, dmap, smap, sc, &v, st);
        r.off = next;
        hs_engine *e = sh->e[hs_subscriber_shard(&v.subscriber, (unsigned)sh->n)];
        rc = hs_engine_restore(e, &v, h->bucket_ms);
        if (rc == 0) {
            st->subscribers++;
            st->entries += v.n_evidence;
            st->detected += v.n_detected;
        } else if (rc == -ENOSPC)
            st->dropped_cap++;
        else if (rc != -ENOMEM)
            st->dropped_invalid++;
        rc = rc == -ENOMEM ? rc : 0;
    }
    free(sc);
    return rc;
}

static int restore_body(reader *r, const header *h, const shard_set *sh,
                        hs_state_stats *st)
{
    const hs_sigset *s = hs_engine_sigset(sh->e[0]);
    int32_t *dmap = malloc(((size_t)h->n_domains + 1) * sizeof(*dmap));
    int32_t *smap = malloc(((size_t)h->n_sigs + 1) * sizeof(*smap));
    char *name = malloc(NAME_MAX_LEN + 1);
    int rc = dmap && smap && name ? 0 : -ENOMEM;
    if (rc == 0 && (read_names(r, s, true, h->n_domains, dmap, name) < 0 ||
                    read_names(r, s, false, h->n_sigs, smap, name) < 0 ||
                    check_subs(*r, h) < 0))
        rc = -EINVAL;
    if (rc == 0)
        rc = apply_subs(*r, h, sh, dmap, smap, st);
    free(dmap);
    free(smap);
    free(name);
    return rc;
}

int hs_state_restore_buf(hs_engine *const *shards, size_t n_shards,
                         const char *name, const uint8_t *buf, size_t len,
                         hs_state_stats *st, char *err, size_t errlen)
{
    const shard_set sh = {shards, n_shards};
    header h = {0};
    memset(st, 0, sizeof(*st));
    st->bytes = len;
    int rc = check_envelope(name, buf, len, &h, err, errlen);
    if (rc == 0)
        rc = check_header(name, &h, len, sh.e[0], err, errlen);
    if (rc < 0)
        return rc;
    st->bucket_ms = h.bucket_ms;
    st->watermark_ms = h.watermark_ms;
    reader r = {buf, len - TRAILER_LEN, HEADER_LEN};
    rc = restore_body(&r, &h, &sh, st);
    if (rc == -EINVAL)
        fail(err, errlen, name, "corrupt: a count or reference is out of "
                                "range");
    else if (rc < 0)
        fail(err, errlen, name, "out of memory");
    return rc;
}

int hs_state_restore(hs_engine *const *shards, size_t n_shards,
                     const char *path, hs_state_stats *st, char *err,
                     size_t errlen)
{
    memset(st, 0, sizeof(*st));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        st->missing = true;
        return 0;
    }
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int rc = -errno;
        fail(err, errlen, path, "%s", strerror(-rc));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        fail(err, errlen, path, "not a regular file");
        return S_ISDIR(sb.st_mode) ? -EISDIR : -ENXIO;
    }
    if (sb.st_size == 0) {       /* mmap refuses empty files */
        close(fd);
        return hs_state_restore_buf(shards, n_shards, path,
                                    (const uint8_t *)"", 0, st, err, errlen);
    }
    /* Mapped, not read: a state of millions of subscribers is not
     * duplicated in memory while it is restored. */
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) {
        int rc = -errno;
        fail(err, errlen, path, "%s", strerror(-rc));
        return rc;
    }
    int rc = hs_state_restore_buf(shards, n_shards, path, map,
                                  (size_t)sb.st_size, st, err, errlen);
    munmap(map, (size_t)sb.st_size);
    return rc;
}

void hs_state_seal(uint8_t *buf, size_t len)
{
    if (len < TRAILER_LEN)
        return;
    crc32_table t;
    crc32_init(&t);
    uint32_t crc = crc32_add(&t, 0, buf, len - TRAILER_LEN);
    for (int i = 0; i < TRAILER_LEN; i++)
        buf[len - TRAILER_LEN + (size_t)i] = (uint8_t)(crc >> (8 * i));
}
