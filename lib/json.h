/*
 * json.h - a strict RFC 8259 JSON reader with a read-only DOM, plus the
 * string escaper that hand-written JSON output (events, haystack-sig) needs.
 *
 * A document owns all its nodes and strings in one arena and is freed at
 * once. Nodes are small and plain (16 bytes; array items and object members
 * contiguous), so walking a large signature file is cache friendly and needs
 * no per-node frees. The parser accepts exactly RFC 8259 (no comments, no
 * trailing commas, UTF-8 only, no duplicate keys) and reports the first error
 * with its line and column. It never reads past len and caps nesting, so any
 * byte string is safe to feed it.
 */
#ifndef HS_JSON_H
#define HS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HS_JSON_MAX_DEPTH 256

typedef enum hs_json_type {
    HS_JSON_NULL = 0,
    HS_JSON_BOOL,
    HS_JSON_NUMBER,
    HS_JSON_STRING,
    HS_JSON_ARRAY,
    HS_JSON_OBJECT,
} hs_json_type;

typedef struct hs_json_member hs_json_member;

typedef struct hs_json {
    uint8_t type;           /* hs_json_type */
    uint8_t is_int;         /* NUMBER: written as an integer that fits int64 */
    uint32_t len;           /* STRING: bytes; ARRAY/OBJECT: entries */
    union {
        bool b;
        int64_t i;          /* NUMBER with is_int */
        double d;           /* NUMBER without is_int */
        const char *s;      /* NUL-terminated (may also hold \u0000) */
        const struct hs_json *items;
        const hs_json_member *members;
    } u;
} hs_json;

struct hs_json_member {
    const char *key;        /* NUL-terminated */
    uint32_t key_len;
    uint32_t offset;        /* byte offset of the key in the source text */
    hs_json value;
};

typedef struct hs_json_doc hs_json_doc;

typedef struct hs_json_error {
    uint32_t line;          /* 1-based */
    uint32_t col;           /* 1-based, in characters */
    char msg[120];
} hs_json_error;

/*
 * Parses buf[0..len) (no NUL terminator needed). Returns 0 and a document,
 * or -EINVAL (syntax; err says where and what) or -ENOMEM. err may be NULL.
 */
int hs_json_parse(const char *buf, size_t len, hs_json_doc **out,
                  hs_json_error *err);
void hs_json_free(hs_json_doc *doc);
const hs_json *hs_json_root(const hs_json_doc *doc);

/* "null", "boolean", "number", "string", "array", "object". */
const char *hs_json_type_name(hs_json_type type);

/* Member value of an object by key, or NULL (also when v is no object). */
const hs_json *hs_json_get(const hs_json *obj, const char *key);
/* Entries of an array or object, bytes of a string, else 0. */
size_t hs_json_len(const hs_json *v);
/* Item i of an array, or NULL when out of range or v is no array. */
const hs_json *hs_json_at(const hs_json *arr, size_t i);
/* Member i of an object, or NULL when out of range or v is no object. */
const hs_json_member *hs_json_member_at(const hs_json *obj, size_t i);

/* The string, or NULL when v is no string. */
const char *hs_json_str(const hs_json *v);
/* True and *out when v is a number written as an integer within int64. */
bool hs_json_int(const hs_json *v, int64_t *out);
/* The number as a double (0 when v is no number). */
double hs_json_num(const hs_json *v);

/*
 * Writes s[0..len) escaped for use between JSON quotes (the quotes are not
 * written) into dst, always NUL-terminated when cap > 0. Invalid UTF-8 bytes
 * become U+FFFD so the output is valid JSON whatever the input. Returns the
 * length the full output needs (without NUL), like snprintf: a result >= cap
 * means dst was truncated.
 */
size_t hs_json_escape(char *dst, size_t cap, const char *s, size_t len);

#endif
