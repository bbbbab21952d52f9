/*
 * sigwrite.c - the signature file writer (see sigwrite.h).
 *
 * JSON is written by hand: the structure is fixed and small, and every
 * string goes through hs_json_escape, so no input name can break it.
 */
#include "sigwrite.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* The output and the first error that is not the stream's own. */
typedef struct writer {
    FILE *out;
    int err;
} writer;

/* A JSON string. Names (253 bytes) and ids (64) fit the stack buffer
 * escaped; longer strings take the heap, and a failure there is -ENOMEM. */
static void put_str(writer *w, const char *s)
{
    char buf[2048];
    size_t len = strlen(s);
    size_t need = hs_json_escape(buf, sizeof(buf), s, len);
    char *p = need < sizeof(buf) ? buf : malloc(need + 1);
    if (!p) {
        w->err = -ENOMEM;
        return;
    }
    if (p != buf)
        hs_json_escape(p, need + 1, s, len);
    fprintf(w->out, "\"%s\"", p);
    if (p != buf)
        free(p);
}

/* A comment listing names: "prefix: a, b, c" (the format has no list
 * field for group members or testbed devices; a comment keeps them). */
static void put_comment_list(writer *w, const char *indent, const char *prefix,
                             const char *const *s, uint32_t n)
{
    size_t len = strlen(prefix) + 1;
    for (uint32_t i = 0; i < n; i++)
        len += strlen(s[i]) + 2;
    char *text = malloc(len);
    if (!text) {
        w->err = -ENOMEM;
        return;
    }
    char *p = stpcpy(text, prefix);
    for (uint32_t i = 0; i < n; i++)
        p = stpcpy(stpcpy(p, i ? ", " : ""), s[i]);
    fprintf(w->out, ",\n%s\"comment\": ", indent);
    put_str(w, text);
    free(text);
}

static void put_endpoint(writer *w, const hs_sigbuild_endpoint *e)
{
    char ip[64];
    fprintf(w->out, "{\"prefix\": \"%s/%d\", \"ports\": [",
            hs_ip_format(&e->ip, ip, sizeof(ip)),
            e->ip.af == HS_AF_V4 ? 32 : 128);
    for (uint32_t i = 0; i < e->n_ports; i++)
        fprintf(w->out, "%s%u", i ? ", " : "", e->ports[i]);
    fputs("], \"proto\": \"any\"}", w->out);
}

static void put_group(writer *w, const hs_sigbuild_group *g)
{
    fputs("    {\n      \"name\": ", w->out);
    put_str(w, g->name);
    if (g->n_members > 1)
        put_comment_list(w, "      ", "grouped (shared addresses): ",
                         g->members, g->n_members);
    fputs(",\n      \"endpoints\": [\n", w->out);
    for (uint32_t i = 0; i < g->n_eps; i++) {
        fputs("        ", w->out);
        put_endpoint(w, &g->eps[i]);
        fputs(i + 1 < g->n_eps ? ",\n" : "\n", w->out);
    }
    fputs("      ]\n    }", w->out);
}

/* "24h" style when the window is a whole number of a unit. */
static void put_duration(writer *w, uint64_t ms)
{
    static const struct { uint64_t ms; char unit; } units[] = {
        {86400000, 'd'}, {3600000, 'h'}, {60000, 'm'}, {1000, 's'}};
    for (size_t i = 0; i < 4; i++) {
        if (ms % units[i].ms == 0) {
            fprintf(w->out, "\"%" PRIu64 "%c\"", ms / units[i].ms, units[i].unit);
            return;
        }
    }
    fprintf(w->out, "\"%" PRIu64 "ms\"", ms);
}

static void put_rule(writer *w, const hs_rule *rule, uint32_t n_domains)
{
    const char *sep = "";
    fputs(",\n      \"rule\": {", w->out);
    if (rule->set & HS_RULE_MIN_DOMAINS) {
        fprintf(w->out, "\"min_domains\": %" PRIu32,
                rule->min_domains < n_domains ? rule->min_domains : n_domains);
        sep = ", ";
    }
    if (rule->set & HS_RULE_MIN_FRACTION) {
        fprintf(w->out, "%s\"min_fraction\": %.17g", sep, rule->min_fraction);
        sep = ", ";
    }
    if (rule->set & HS_RULE_MIN_HITS) {
        fprintf(w->out, "%s\"min_hits\": %" PRIu32, sep, rule->min_hits);
        sep = ", ";
    }
    if (rule->set & HS_RULE_WINDOW) {
        fprintf(w->out, "%s\"window\": ", sep);
        put_duration(w, rule->window_ms);
    }
    fputc('}', w->out);
}

static void put_sig(writer *w, const hs_sigbuild_result *r,
                    const hs_sigbuild_sig *s, const hs_rule *rule)
{
    fputs("    {\n      \"id\": ", w->out);
    put_str(w, s->id);
    fprintf(w->out, ",\n      \"level\": \"%s\"", hs_level_name(s->level));
    if (s->n_devices > 0)
        put_comment_list(w, "      ", "testbed devices: ", s->devices,
                         s->n_devices);
    fputs(",\n      \"domains\": [", w->out);
    for (uint32_t i = 0; i < s->n_groups; i++) {
        fputs(i ? ",\n        " : "\n        ", w->out);
        put_str(w, r->groups[s->groups[i]].name);
    }
    fputs("\n      ]", w->out);
    if (rule->set)
        put_rule(w, rule, s->n_groups);
    fputs("\n    }", w->out);
}

int hs_sigwrite(FILE *out, const hs_sigbuild_result *r, const hs_rule *rule)
{
    writer wr = {.out = out}, *w = &wr;
    fputs("{\n  \"version\": 1,\n  \"comment\": \"built by haystack-sig "
          "from testbed domain lists and passive DNS: rebuild, do not "
          "edit\",\n  \"domains\": [\n", w->out);
    for (uint32_t i = 0; i < r->n_groups; i++) {
        put_group(w, &r->groups[i]);
        fputs(i + 1 < r->n_groups ? ",\n" : "\n", w->out);
    }
    fputs("  ],\n  \"signatures\": [\n", w->out);
    for (uint32_t i = 0; i < r->n_sigs; i++) {
        put_sig(w, r, &r->sigs[i], rule);
        fputs(i + 1 < r->n_sigs ? ",\n" : "\n", w->out);
    }
    fputs("  ]\n}\n", out);
    if (w->err)
        return w->err;
    return ferror(out) ? -EIO : 0;
}
