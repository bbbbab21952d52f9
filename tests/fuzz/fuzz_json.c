/*
 * fuzz_json.c - the JSON parser on any bytes, and the escaper against it.
 * A parsed document is walked whole (every accessor on every node); every
 * string in it, escaped and put between quotes, must parse back to the same
 * bytes; and the input itself, escaped as one string, must be valid JSON
 * (the escaper's promise for any bytes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) abort(); } while (0)

/* Escapes s[0..len), parses it back as a JSON string; returns the parsed
 * document (its root is that string). */
static hs_json_doc *fuzz_escape_parse(const char *s, size_t len)
{
    size_t need = hs_json_escape(NULL, 0, s, len);
    char *quoted = malloc(need + 3);
    FUZZ_CHECK(quoted != NULL);
    quoted[0] = '"';
    FUZZ_CHECK(hs_json_escape(quoted + 1, need + 1, s, len) == need);
    quoted[need + 1] = '"';
    hs_json_doc *doc = NULL;
    FUZZ_CHECK(hs_json_parse(quoted, need + 2, &doc, NULL) == 0);
    FUZZ_CHECK(hs_json_root(doc)->type == HS_JSON_STRING);
    free(quoted);
    return doc;
}

static void fuzz_check_string(const hs_json *v)
{
    hs_json_doc *doc = fuzz_escape_parse(hs_json_str(v), hs_json_len(v));
    const hs_json *back = hs_json_root(doc);
    FUZZ_CHECK(back->len == v->len &&
               memcmp(back->u.s, v->u.s, v->len) == 0);
    hs_json_free(doc);
}

static void fuzz_walk(const hs_json *v)
{
    int64_t i;
    (void)hs_json_type_name(v->type);
    (void)hs_json_num(v);
    FUZZ_CHECK(!hs_json_int(v, &i) || v->type == HS_JSON_NUMBER);
    switch (v->type) {
    case HS_JSON_STRING:
        FUZZ_CHECK(v->u.s[v->len] == '\0');
        fuzz_check_string(v);
        break;
    case HS_JSON_ARRAY:
        for (size_t k = 0; k < hs_json_len(v); k++)
            fuzz_walk(hs_json_at(v, k));
        FUZZ_CHECK(hs_json_at(v, hs_json_len(v)) == NULL);
        break;
    case HS_JSON_OBJECT:
        for (size_t k = 0; k < hs_json_len(v); k++) {
            const hs_json_member *m = hs_json_member_at(v, k);
            FUZZ_CHECK(m->key[m->key_len] == '\0');
            /* keys are unique; one without a NUL inside is found by name */
            if (strlen(m->key) == m->key_len)
                FUZZ_CHECK(hs_json_get(v, m->key) == &m->value);
            fuzz_walk(&m->value);
        }
        FUZZ_CHECK(hs_json_member_at(v, hs_json_len(v)) == NULL);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_json_doc *doc = NULL;
    hs_json_error err;
    if (hs_json_parse((const char *)data, size, &doc, &err) == 0) {
        fuzz_walk(hs_json_root(doc));
        hs_json_free(doc);
    } else {
        FUZZ_CHECK(memchr(err.msg, '\0', sizeof(err.msg)) != NULL);
    }
    hs_json_free(fuzz_escape_parse((const char *)data, size));
    return 0;
}
