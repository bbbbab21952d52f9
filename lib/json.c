/*
 * json.c - strict RFC 8259 parser building a read-only DOM in an arena.
 *
 * Recursive descent over a length-bounded buffer (no NUL terminator read).
 * The entries of an array or object are first collected on a scratch stack
 * and copied into the arena contiguously when the container closes, so a
 * node is 16 bytes, items are indexable and nothing is linked. Line and
 * column are computed only when an error is reported, which keeps the
 * scanning loops tight. Every input, however hostile, ends in a document or
 * an error: nesting is capped, sizes are checked, no byte past len is read.
 */
#include "json.h"

#include "bigalloc.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arena: a list of blocks, each at least twice the previous, freed at once. */
typedef struct hs_json_block {
    struct hs_json_block *next;
    size_t used, cap;
    unsigned char data[];
} hs_json_block;

struct hs_json_doc {
    hs_json_block *blocks;
    hs_json root;
};

enum { ARENA_MIN_BLOCK = 64 * 1024, ARENA_MAX_BLOCK = 16 * 1024 * 1024 };

static void *arena_alloc(hs_json_doc *doc, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    hs_json_block *b = doc->blocks;
    if (!b || b->cap - b->used < n) {
        /* Whole powers of two, so big blocks fill their huge pages. */
        size_t size = b ? 2 * (sizeof(*b) + b->cap) : ARENA_MIN_BLOCK;
        if (size > ARENA_MAX_BLOCK)
            size = ARENA_MAX_BLOCK;
        if (size - sizeof(*b) < n)
            size = sizeof(*b) + n;
        hs_json_block *nb = hs_big_alloc(size);
        if (!nb)
            return NULL;
        nb->next = b;
        nb->used = 0;
        nb->cap = size - sizeof(*nb);
        doc->blocks = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static void *arena_dup(hs_json_doc *doc, const void *src, size_t n)
{
    void *p = arena_alloc(doc, n ? n : 1);
    if (p && n)
        memcpy(p, src, n);
    return p;
}

/* A growable scratch array; the parser keeps three of them. */
typedef struct scratch {
    void *data;
    size_t n, cap, size;
} scratch;

static void *scratch_push(scratch *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        void *nd = realloc(s->data, cap * s->size);
        if (!nd)
            return NULL;
        s->data = nd;
        s->cap = cap;
    }
    return (unsigned char *)s->data + s->n++ * s->size;
}

/* Entry i of s; NULL while s has no storage yet (an empty first array or
 * object): arithmetic on a null pointer is undefined, even adding 0. */
static void *scratch_at(const scratch *s, size_t i)
{
    return s->data ? (unsigned char *)s->data + i * s->size : NULL;
}

typedef struct parser {
    const unsigned char *start, *p, *end;
    hs_json_doc *doc;
    scratch vals;           /* hs_json: items of the open arrays */
    scratch mems;           /* hs_json_member: members of the open objects */
    scratch text;           /* char: a string being unescaped */
    unsigned depth;
    const unsigned char *err_at;
    char msg[sizeof(((hs_json_error *)0)->msg)];
} parser;

__attribute__((format(printf, 3, 4)))
static int fail(parser *ps, const unsigned char *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->msg, sizeof(ps->msg), fmt, ap);
    va_end(ap);
    ps->err_at = at;
    return -EINVAL;
}

static int fail_nomem(parser *ps)
{
    fail(ps, ps->p, "out of memory");
    return -ENOMEM;
}

/* Describes the byte at p for a message: 'x', end of input, or 0x07. */
static const char *describe(const parser *ps, const unsigned char *p,
                            char *buf, size_t len)
{
    if (p >= ps->end)
        snprintf(buf, len, "end of input");
    else if (*p >= 0x21 && *p < 0x7f)
        snprintf(buf, len, "'%c'", *p);
    else
        snprintf(buf, len, "byte 0x%02x", *p);
    return buf;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' ||
                               *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

/* Length of the valid UTF-8 sequence at p (shortest form, no surrogates,
 * at most U+10FFFF), or 0 when invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

static size_t utf8_put(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *out)
{
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Decodes the \u escape at p (pointing at 'u'), joining surrogate pairs.
 * Returns the bytes consumed after the backslash, or a negative error. */
static int unescape_u(parser *ps, const unsigned char *p, uint32_t *cp)
{
    uint32_t hi, lo;
    if (hex4(p + 1, ps->end, &hi))
        return fail(ps, p - 1, "invalid \\u escape: 4 hex digits expected");
    if (hi >= 0xdc00 && hi <= 0xdfff)
        return fail(ps, p - 1, "invalid \\u escape: lone low surrogate");
    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = hi;
        return 5;
    }
    if (ps->end - p < 7 || p[5] != '\\' || p[6] != 'u' ||
        hex4(p + 7, ps->end, &lo) || lo < 0xdc00 || lo > 0xdfff)
        return fail(ps, p - 1, "invalid \\u escape: high surrogate without "
                               "low surrogate");
    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
    return 11;
}

static int text_append(parser *ps, const unsigned char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char *c = scratch_push(&ps->text);
        if (!c)
            return fail_nomem(ps);
        *c = src[i];
    }
    return 0;
}

/* The general string path: escapes and non-ASCII, unescaped into ps->text. */
static int unescape_string(parser *ps, const unsigned char *p)
{
    ps->text.n = 0;
    for (;;) {
        if (p >= ps->end)
            return fail(ps, p, "unterminated string");
        unsigned c = *p;
        if (c == '"') {
            ps->p = p + 1;
            return 0;
        }
        if (c < 0x20)
            return fail(ps, p, "control character 0x%02x in string "
                               "(must be escaped)", c);
        unsigned char out[4];
        size_t n_out, used;
        if (c == '\\') {
            if (p + 1 >= ps->end)
                return fail(ps, p, "unterminated string");
            used = 2;
            n_out = 1;
            switch (p[1]) {
            case '"': out[0] = '"'; break;
            case '\\': out[0] = '\\'; break;
            case '/': out[0] = '/'; break;
            case 'b': out[0] = '\b'; break;
            case 'f': out[0] = '\f'; break;
            case 'n': out[0] = '\n'; break;
            case 'r': out[0] = '\r'; break;
            case 't': out[0] = '\t'; break;
            case 'u': {
                uint32_t cp = 0;
                int rc = unescape_u(ps, p + 1, &cp);
                if (rc < 0)
                    return rc;
                used = 1 + (size_t)rc;
                n_out = utf8_put(cp, out);
                break;
            }
            default: {
                char d[24];
                return fail(ps, p, "invalid escape '\\' followed by %s",
                            describe(ps, p + 1, d, sizeof(d)));
            }
            }
            int rc = text_append(ps, out, n_out);
            if (rc)
                return rc;
            p += used;
            continue;
        }
        used = utf8_len(p, ps->end);
        if (used == 0)
            return fail(ps, p, "invalid UTF-8 in string");
        int rc = text_append(ps, p, used);
        if (rc)
            return rc;
        p += used;
    }
}

static int parse_string(parser *ps, const char **s, uint32_t *len)
{
    const unsigned char *p = ps->p + 1, *begin = p;
    /* Fast path: plain ASCII up to the closing quote is copied as is. */
    while (p < ps->end && *p != '"' && *p != '\\' && *p >= 0x20 && *p < 0x80)
        p++;
    const unsigned char *src = begin;
    size_t n;
    if (p < ps->end && *p == '"') {
        n = (size_t)(p - begin);
        ps->p = p + 1;
    } else {
        int rc = unescape_string(ps, begin);
        if (rc)
            return rc;
        src = ps->text.data;
        n = ps->text.n;
    }
    char *out = arena_alloc(ps->doc, n + 1);
    if (!out)
        return fail_nomem(ps);
    if (n)
        memcpy(out, src, n);
    out[n] = '\0';
    *s = out;
    *len = (uint32_t)n; /* the document is < 4 GiB, so is every string */
    return 0;
}

static bool is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* Converts a validated non-integer number token with strtod. JSON numbers
 * use '.', the "C" locale's decimal point, which haystack never changes. */
static int number_to_double(parser *ps, const unsigned char *s, size_t n,
                            double *out)
{
    char small[64];
    char *buf = small;
    if (n >= sizeof(small)) {
        buf = malloc(n + 1);
        if (!buf)
            return fail_nomem(ps);
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    if (isinf(*out))
        return fail(ps, s, "number out of range");
    return 0;
}

static int parse_number(parser *ps, hs_json *out)
{
    const unsigned char *s = ps->p, *p = s, *end = ps->end;
    bool neg = *p == '-';
    if (neg)
        p++;
    if (!is_digit(p, end))
        return fail(ps, s, "invalid number: digit expected");
    uint64_t mag = 0;
    bool overflow = false;
    if (*p == '0') {
        p++;
        if (is_digit(p, end))
            return fail(ps, s, "invalid number: leading zero");
    } else {
        for (; is_digit(p, end); p++) {
            unsigned d = *p - '0';
            if (mag > (UINT64_MAX - d) / 10)
                overflow = true;
            else
                mag = mag * 10 + d;
        }
    }
    bool is_int = true;
    if (p < end && *p == '.') {
        p++;
        if (!is_digit(p, end))
            return fail(ps, s, "invalid number: digit expected after '.'");
        while (is_digit(p, end))
            p++;
        is_int = false;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, end))
            return fail(ps, s, "invalid number: digit expected in exponent");
        while (is_digit(p, end))
            p++;
        is_int = false;
    }
    ps->p = p;
    out->type = HS_JSON_NUMBER;
    const uint64_t int64_max = (uint64_t)INT64_MAX;
    if (is_int && !overflow && mag <= int64_max + (neg ? 1 : 0)) {
        out->is_int = 1;
        if (!neg)
            out->u.i = (int64_t)mag;
        else if (mag == int64_max + 1)
            out->u.i = INT64_MIN;
        else
            out->u.i = -(int64_t)mag;
        return 0;
    }
    return number_to_double(ps, s, (size_t)(p - s), &out->u.d);
}

static int parse_literal(parser *ps, const char *word, hs_json *out)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, ps->p, "invalid literal (expected %s)", word);
    ps->p += n;
    if (word[0] == 'n') {
        out->type = HS_JSON_NULL;
    } else {
        out->type = HS_JSON_BOOL;
        out->u.b = word[0] == 't';
    }
    return 0;
}

static int parse_value(parser *ps, hs_json *out);

static int enter(parser *ps)
{
    if (++ps->depth > HS_JSON_MAX_DEPTH)
        return fail(ps, ps->p, "nesting deeper than %d levels",
                    HS_JSON_MAX_DEPTH);
    ps->p++;
    return 0;
}

/* After an entry: ',' continues (1), the closing bracket ends (0). */
static int next_entry(parser *ps, char close, const char *what)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
        ps->p++;
        return 1;
    }
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    char d[24];
    return fail(ps, ps->p, "expected ',' or '%c' in %s, got %s", close, what,
                describe(ps, ps->p, d, sizeof(d)));
}

static int parse_array(parser *ps, hs_json *out)
{
    int rc = enter(ps);
    if (rc)
        return rc;
    size_t base = ps->vals.n;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
    } else {
        do {
            hs_json v = {0};
            rc = parse_value(ps, &v);
            if (rc)
                return rc;
            hs_json *slot = scratch_push(&ps->vals);
            if (!slot)
                return fail_nomem(ps);
            *slot = v;
        } while ((rc = next_entry(ps, ']', "array")) == 1);
        if (rc)
            return rc;
    }
    size_t n = ps->vals.n - base;
    out->type = HS_JSON_ARRAY;
    out->len = (uint32_t)n;
    out->u.items = arena_dup(ps->doc, scratch_at(&ps->vals, base),
                             n * sizeof(hs_json));
    if (!out->u.items)
        return fail_nomem(ps);
    ps->vals.n = base;
    ps->depth--;
    return 0;
}

static int cmp_member(const void *a, const void *b)
{
    const hs_json_member *x = a, *y = b;
    uint32_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    if (x->key_len != y->key_len)
        return x->key_len < y->key_len ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static bool same_key(const hs_json_member *x, const hs_json_member *y)
{
    return x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0;
}

/* Rejects an object whose members m[0..n) repeat a key: pairwise for the
 * usual small object, by sorting a copy for big ones (no quadratic time). */
static int check_duplicates(parser *ps, const hs_json_member *m, size_t n)
{
    hs_json_member *sorted = NULL;
    const hs_json_member *dup = NULL;
    if (n <= 16) {
        for (size_t i = 1; i < n && !dup; i++)
            for (size_t j = 0; j < i && !dup; j++)
                if (same_key(&m[i], &m[j]))
                    dup = &m[i];
    } else {
        sorted = malloc(n * sizeof(*sorted));
        if (!sorted)
            return fail_nomem(ps);
        memcpy(sorted, m, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), cmp_member);
        /* The first repetition in document order is the one reported. */
        for (size_t i = 1; i < n; i++)
            if (same_key(&sorted[i], &sorted[i - 1]) &&
                (!dup || sorted[i].offset < dup->offset))
                dup = &sorted[i];
    }
    int rc = 0;
    if (dup)
        rc = fail(ps, ps->start + dup->offset, "duplicate key \"%.60s\"",
                  dup->key);
    free(sorted);
    return rc;
}

static int parse_member(parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != '"') {
        char d[24];
        return fail(ps, ps->p, "expected a string key in object, got %s",
                    describe(ps, ps->p, d, sizeof(d)));
    }
    hs_json_member m = {.offset = (uint32_t)(ps->p - ps->start)};
    int rc = parse_string(ps, &m.key, &m.key_len);
    if (rc)
        return rc;
    skip_ws(ps);
    if (ps->p >= ps->end || *ps->p != ':') {
        char d[24];
        return fail(ps, ps->p, "expected ':' after key, got %s",
                    describe(ps, ps->p, d, sizeof(d)));
    }
    ps->p++;
    rc = parse_value(ps, &m.value);
    if (rc)
        return rc;
    hs_json_member *slot = scratch_push(&ps->mems);
    if (!slot)
        return fail_nomem(ps);
    *slot = m;
    return 0;
}

static int parse_object(parser *ps, hs_json *out)
{
    int rc = enter(ps);
    if (rc)
        return rc;
    size_t base = ps->mems.n;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
    } else {
        do {
            rc = parse_member(ps);
            if (rc)
                return rc;
        } while ((rc = next_entry(ps, '}', "object")) == 1);
        if (rc)
            return rc;
    }
    size_t n = ps->mems.n - base;
    const hs_json_member *m = scratch_at(&ps->mems, base);
    rc = check_duplicates(ps, m, n);
    if (rc)
        return rc;
    out->type = HS_JSON_OBJECT;
    out->len = (uint32_t)n;
    out->u.members = arena_dup(ps->doc, m, n * sizeof(*m));
    if (!out->u.members)
        return fail_nomem(ps);
    ps->mems.n = base;
    ps->depth--;
    return 0;
}

static int parse_value(parser *ps, hs_json *out)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end of input, value expected");
    switch (*ps->p) {
    case '{':
        return parse_object(ps, out);
    case '[':
        return parse_array(ps, out);
    case '"':
        out->type = HS_JSON_STRING;
        return parse_string(ps, &out->u.s, &out->len);
    case 't':
        return parse_literal(ps, "true", out);
    case 'f':
        return parse_literal(ps, "false", out);
    case 'n':
        return parse_literal(ps, "null", out);
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return parse_number(ps, out);
    default: {
        char d[24];
        return fail(ps, ps->p, "expected a value, got %s",
                    describe(ps, ps->p, d, sizeof(d)));
    }
    }
}

/* Line and column (1-based, columns in characters) of at. */
static void locate(const parser *ps, const unsigned char *at,
                   hs_json_error *err)
{
    uint32_t line = 1, col = 1;
    for (const unsigned char *p = ps->start; p < at && p < ps->end; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else if ((*p & 0xc0) != 0x80) {
            col++;
        }
    }
    err->line = line;
    err->col = col;
    memcpy(err->msg, ps->msg, sizeof(err->msg));
}

static int parse_document(parser *ps)
{
    int rc = parse_value(ps, &ps->doc->root);
    if (rc)
        return rc;
    skip_ws(ps);
    if (ps->p != ps->end) {
        char d[24];
        return fail(ps, ps->p, "trailing %s after the JSON value",
                    describe(ps, ps->p, d, sizeof(d)));
    }
    return 0;
}

int hs_json_parse(const char *buf, size_t len, hs_json_doc **out,
                  hs_json_error *err)
{
    *out = NULL;
    if (!buf)
        buf = ""; /* (NULL, 0): an empty document, without NULL arithmetic */
    parser ps = {
        .start = (const unsigned char *)buf,
        .p = (const unsigned char *)buf,
        .end = (const unsigned char *)buf + len,
        .vals = {.size = sizeof(hs_json)},
        .mems = {.size = sizeof(hs_json_member)},
        .text = {.size = 1},
    };
    int rc;
    if (len >= UINT32_MAX) {
        rc = fail(&ps, ps.start, "document larger than 4 GiB");
    } else if (!(ps.doc = calloc(1, sizeof(*ps.doc)))) {
        rc = fail_nomem(&ps);
    } else {
        rc = parse_document(&ps);
    }
    free(ps.vals.data);
    free(ps.mems.data);
    free(ps.text.data);
    if (rc) {
        if (err)
            locate(&ps, ps.err_at, err);
        hs_json_free(ps.doc);
        return rc;
    }
    *out = ps.doc;
    return 0;
}

void hs_json_free(hs_json_doc *doc)
{
    if (!doc)
        return;
    for (hs_json_block *b = doc->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(doc);
}

const hs_json *hs_json_root(const hs_json_doc *doc)
{
    return &doc->root;
}

const char *hs_json_type_name(hs_json_type type)
{
    static const char *const names[] = {"null",   "boolean", "number",
                                        "string", "array",   "object"};
    return (unsigned)type < sizeof(names) / sizeof(names[0]) ? names[type]
                                                             : "invalid";
}

const hs_json *hs_json_get(const hs_json *obj, const char *key)
{
    if (!obj || obj->type != HS_JSON_OBJECT)
        return NULL;
    size_t n = strlen(key);
    for (uint32_t i = 0; i < obj->len; i++) {
        const hs_json_member *m = &obj->u.members[i];
        if (m->key_len == n && memcmp(m->key, key, n) == 0)
            return &m->value;
    }
    return NULL;
}

size_t hs_json_len(const hs_json *v)
{
    if (!v || (v->type != HS_JSON_STRING && v->type != HS_JSON_ARRAY &&
               v->type != HS_JSON_OBJECT))
        return 0;
    return v->len;
}

const hs_json *hs_json_at(const hs_json *arr, size_t i)
{
    if (!arr || arr->type != HS_JSON_ARRAY || i >= arr->len)
        return NULL;
    return &arr->u.items[i];
}

const hs_json_member *hs_json_member_at(const hs_json *obj, size_t i)
{
    if (!obj || obj->type != HS_JSON_OBJECT || i >= obj->len)
        return NULL;
    return &obj->u.members[i];
}

const char *hs_json_str(const hs_json *v)
{
    return v && v->type == HS_JSON_STRING ? v->u.s : NULL;
}

bool hs_json_int(const hs_json *v, int64_t *out)
{
    if (!v || v->type != HS_JSON_NUMBER || !v->is_int)
        return false;
    *out = v->u.i;
    return true;
}

double hs_json_num(const hs_json *v)
{
    if (!v || v->type != HS_JSON_NUMBER)
        return 0;
    return v->is_int ? (double)v->u.i : v->u.d;
}

/* Output of hs_json_escape: pieces are written whole or not at all, so a
 * truncated result never ends inside an escape sequence. */
typedef struct escape_out {
    char *dst;
    size_t cap;
    size_t len;             /* the full output's length */
    size_t written;         /* what fit into dst */
    bool full;
} escape_out;

static void escape_put(escape_out *o, const char *piece, size_t n)
{
    if (!o->full && o->len + n < o->cap) {
        memcpy(o->dst + o->len, piece, n);
        o->written = o->len + n;
    } else {
        o->full = true;
    }
    o->len += n;
}

size_t hs_json_escape(char *dst, size_t cap, const char *s, size_t len)
{
    escape_out o = {.dst = dst, .cap = cap};
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        char buf[8];
        const char *piece = buf;
        size_t n = 1, used = 1;
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            buf[0] = '\\';
            buf[1] = (char)c;
            n = 2;
        } else if (c < 0x20) {
            static const char short_esc[] = "btn\0fr";
            if (c >= '\b' && c <= '\r' && short_esc[c - '\b']) {
                buf[0] = '\\';
                buf[1] = short_esc[c - '\b'];
                n = 2;
            } else {
                n = (size_t)snprintf(buf, sizeof(buf), "\\u%04x", c);
            }
        } else if (c < 0x80) {
            buf[0] = (char)c;
        } else if ((used = utf8_len(p, end)) > 0) {
            piece = (const char *)p;
            n = used;
        } else {
            piece = "\xef\xbf\xbd"; /* U+FFFD for an invalid byte */
            n = 3;
            used = 1;
        }
        escape_put(&o, piece, n);
        p += used;
    }
    if (cap > 0)
        dst[o.written] = '\0';
    return o.len;
}
