/*
 * haystack-sig - builds and checks haystack signature files.
 *
 *   haystack-sig build --domains CSV [--domains CSV ...] --pdns FILE [-o OUT]
 *   haystack-sig check FILE
 *
 * Only the command line lives here: the readers (lib/iotwild, lib/pdns),
 * the method (lib/sigbuild), the writer (lib/sigwrite) and the loader that
 * `check` shares with haystackd (lib/sigset) are all in the library. What a
 * build leaves out goes to stderr as a report, one line per fact, so an
 * operator can see why a domain or an address is missing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iotwild.h"
#include "pdns.h"
#include "sigbuild.h"
#include "sigset.h"
#include "sigwrite.h"

#define PROG "haystack-sig"
#define WINDOW_MAX_MS (365ull * 86400 * 1000) /* as the loader allows */

static const char usage_text[] =
    "usage: " PROG " build --domains CSV [--domains CSV ...] --pdns FILE\n"
    "                    [--pdns FILE ...] [-o OUT] [--level ID=LEVEL ...]\n"
    "                    [--min-domains N] [--min-fraction F] [--min-hits N]\n"
    "                    [--window DURATION] [-q]\n"
    "       " PROG " check FILE\n"
    "       " PROG " -h | --help | -V | --version\n"
    "\n"
    "build   turn iot_wild domain lists (CSV) and passive DNS (COF JSON lines)\n"
    "        into a signature file (stdout, or OUT written atomically).\n"
    "        Shared addresses, domains without addresses and bad input lines\n"
    "        are reported on stderr (-q: only the summary).\n"
    "        --level ID=LEVEL   level of signature ID: platform, manufacturer\n"
    "                           or product (the default)\n"
    "        --min-domains, --min-fraction, --min-hits, --window\n"
    "                           write this rule into every signature (by\n"
    "                           default none: signatures follow [detect])\n"
    "check   validate a signature file as haystackd -t does and print a\n"
    "        one-line summary; exit 1 with the error otherwise.\n"
    "\n"
    "See haystack-sig(1) and docs/signatures.md.\n";

/* ---- build ------------------------------------------------------------- */

typedef struct level_opt {
    const char *id;
    hs_level level;
} level_opt;

typedef struct build_args {
    const char **csvs;
    size_t n_csvs;
    const char **pdns;
    size_t n_pdns;
    const char *out;
    level_opt *levels;
    size_t n_levels;
    hs_rule rule;
    int quiet;
} build_args;

/* What the readers report, with the file being read. */
typedef struct read_ctx {
    hs_sigbuild *b;
    const char *file;
    int quiet;
    unsigned long bad;  /* CSV rows skipped */
} read_ctx;

static void report(const read_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(const read_ctx *c, const char *fmt, ...)
{
    if (c->quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static int csv_row(void *ctx, const hs_iotwild_row *row)
{
    read_ctx *c = ctx;
    return hs_sigbuild_add_row(c->b, row->level, row->device, row->domain,
                               row->port);
}

static void csv_bad(void *ctx, unsigned line, const char *why)
{
    read_ctx *c = ctx;
    c->bad++;
    report(c, "%s:%u: skipped: %s\n", c->file, line, why);
}

/* Reads a whole (small) file; NULL with errno set on failure. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    int err = 0;
    for (;;) {
        if (cap - n < 4096) {
            char *p = realloc(buf, cap * 2 + 65536);
            if (!p) {
                err = ENOMEM;
                break;
            }
            buf = p;
            cap = cap * 2 + 65536;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (!err && ferror(f))
        err = EIO;
    fclose(f);
    if (err) {
        free(buf);
        errno = err;
        return NULL;
    }
    *len = n;
    return buf;
}

static int read_csv(hs_sigbuild *b, const char *path, int quiet)
{
    size_t len;
    char *buf = slurp(path, &len);
    if (!buf) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return -1;
    }
    read_ctx c = {.b = b, .file = path, .quiet = quiet};
    hs_iotwild_ops ops = {csv_row, csv_bad};
    char err[256];
    int rc = hs_iotwild_parse(buf, len, &ops, &c, err, sizeof(err));
    free(buf);
    if (rc == -EINVAL)
        fprintf(stderr, PROG ": %s: %s\n", path, err);
    else if (rc < 0)
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(-rc));
    else if (rc == 0)
        fprintf(stderr, PROG ": %s: no usable row\n", path);
    else if (!quiet)
        fprintf(stderr, PROG ": %s: %d rows used, %lu bad rows\n", path, rc,
                c.bad);
    return rc > 0 ? 0 : -1;
}

static int pdns_addr(void *ctx, const char *rrname, const hs_ip *ip)
{
    return hs_sigbuild_add_addr(((read_ctx *)ctx)->b, rrname, ip);
}

static int pdns_cname(void *ctx, const char *rrname, const char *target)
{
    return hs_sigbuild_add_cname(((read_ctx *)ctx)->b, rrname, target);
}

static void pdns_bad(void *ctx, unsigned long line, const char *why)
{
    read_ctx *c = ctx;
    report(c, "%s:%lu: skipped: %s\n", c->file, line, why);
}

/* A passive DNS file; fatal only when it has lines and none is good. */
static int read_pdns(hs_sigbuild *b, const char *path, int quiet)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(errno));
        return -1;
    }
    read_ctx c = {.b = b, .file = path, .quiet = quiet};
    hs_pdns_ops ops = {pdns_addr, pdns_cname, pdns_bad};
    hs_pdns_stats st;
    int rc = hs_pdns_read(f, &ops, &c, &st);
    if (f != stdin)
        fclose(f);
    if (rc < 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(-rc));
        return -1;
    }
    if (st.bad > 0 && st.used + st.ignored == 0) {
        fprintf(stderr, PROG ": %s: no line is a passive DNS record "
                "(%lu bad)\n", path, st.bad);
        return -1;
    }
    if (!quiet)
        fprintf(stderr, PROG ": %s: %lu records used, %lu of other types, "
                "%lu bad lines\n", path, st.used, st.ignored, st.bad);
    return 0;
}

/* The report of what the build left out; one fact a line. */
static void report_result(const hs_sigbuild_result *r, int quiet)
{
    char ip[64];
    for (uint32_t i = 0; i < r->n_chains && !quiet; i++)
        fprintf(stderr, PROG ": %s: CNAME chain %s at %s\n",
                r->chains[i].domain,
                r->chains[i].issue == HS_SIGBUILD_LOOP ? "loops"
                                                       : "cut (too long)",
                r->chains[i].name);
    for (uint32_t i = 0; i < r->n_shared && !quiet; i++) {
        const hs_sigbuild_shared *s = &r->shared[i];
        fprintf(stderr, PROG ": shared %s: also serves %s (outside the set); "
                "left out of", hs_ip_format(&s->ip, ip, sizeof(ip)),
                s->outside);
        for (uint32_t k = 0; k < s->n_domains; k++)
            fprintf(stderr, " %s", s->domains[k]);
        fputc('\n', stderr);
    }
    for (uint32_t i = 0; i < r->n_dropped && !quiet; i++)
        fprintf(stderr, PROG ": dropped %s: %s\n", r->dropped[i].domain,
                r->dropped[i].why == HS_SIGBUILD_NO_ADDRESS
                    ? "no address in passive DNS"
                    : "every address is shared");
    for (uint32_t i = 0; i < r->n_empty_sigs && !quiet; i++)
        fprintf(stderr, PROG ": dropped signature %s: no domain left\n",
                r->empty_sigs[i]);
    uint64_t eps = 0, members = 0;
    for (uint32_t i = 0; i < r->n_groups; i++) {
        eps += r->groups[i].n_eps;
        members += r->groups[i].n_members;
    }
    fprintf(stderr, PROG ": %u signatures, %u grouped domains (%llu domains),"
            " %llu addresses; left out %u domains, %u shared addresses, "
            "%u signatures\n", r->n_sigs, r->n_groups,
            (unsigned long long)members, (unsigned long long)eps,
            r->n_dropped, r->n_shared, r->n_empty_sigs);
}

/* Renders the file into memory and loads it back with the loader haystackd
 * uses: a build never writes a file that `check` would refuse. */
static int render(const hs_sigbuild_result *r, const hs_rule *rule,
                  char **text, size_t *len)
{
    FILE *mem = open_memstream(text, len);
    if (!mem)
        return -errno;
    int rc = hs_sigwrite(mem, r, rule);
    if (fclose(mem) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc < 0) {
        fprintf(stderr, PROG ": %s\n", strerror(-rc));
        return rc;
    }
    hs_sigset *s;
    char err[512];
    rc = hs_sigset_load_buf("built signatures", *text, *len, &s, err,
                            sizeof(err));
    if (rc < 0) {
        fprintf(stderr, PROG ": bug: the built file does not load: %s\n",
                err);
        return rc;
    }
    hs_sigset_free(s);
    return 0;
}

/* Writes to path through a temporary file and rename, so a reader (a
 * haystackd reload) never sees half a file; "-" or NULL is stdout. */
static int write_output(const char *path, const char *text, size_t len)
{
    int rc = 0;
    if (!path || strcmp(path, "-") == 0) {
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0)
            rc = -errno;
        if (rc < 0)
            fprintf(stderr, PROG ": stdout: %s\n", strerror(-rc));
        return rc;
    }
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    if (!tmp)
        return -ENOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f || fwrite(text, 1, len, f) != len)
        rc = -errno;
    if (f && fclose(f) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc < 0) {
        fprintf(stderr, PROG ": %s: %s\n", path, strerror(-rc));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

/* A rule whose min_domains exceeds a signature's domains is capped. */
static void report_rule(const hs_sigbuild_result *r, const hs_rule *rule,
                        int quiet)
{
    if (!(rule->set & HS_RULE_MIN_DOMAINS) || quiet)
        return;
    for (uint32_t i = 0; i < r->n_sigs; i++) {
        if (r->sigs[i].n_groups < rule->min_domains)
            fprintf(stderr, PROG ": signature %s: min_domains capped at %u, "
                    "its number of domains\n", r->sigs[i].id,
                    r->sigs[i].n_groups);
    }
}

static int build_write(const build_args *a, const hs_sigbuild_result *r)
{
    report_result(r, a->quiet);
    if (r->n_sigs == 0) {
        fprintf(stderr, PROG ": no signature left: nothing written\n");
        return -1;
    }
    report_rule(r, &a->rule, a->quiet);
    char *text = NULL;
    size_t len = 0;
    int rc = render(r, &a->rule, &text, &len);
    if (rc == 0)
        rc = write_output(a->out, text, len);
    free(text);
    return rc;
}

static int build_run(const build_args *a)
{
    hs_sigbuild *b = hs_sigbuild_new();
    if (!b) {
        fprintf(stderr, PROG ": out of memory\n");
        return 1;
    }
    int rc = 0;
    for (size_t i = 0; i < a->n_csvs && rc == 0; i++)
        rc = read_csv(b, a->csvs[i], a->quiet);
    for (size_t i = 0; i < a->n_pdns && rc == 0; i++)
        rc = read_pdns(b, a->pdns[i], a->quiet);
    for (size_t i = 0; i < a->n_levels && rc == 0; i++) {
        if (hs_sigbuild_set_level(b, a->levels[i].id, a->levels[i].level)) {
            fprintf(stderr, PROG ": --level %s: no such detection_level in "
                    "the CSVs\n", a->levels[i].id);
            rc = -1;
        }
    }
    if (rc == 0 && hs_sigbuild_run(b) < 0) {
        fprintf(stderr, PROG ": out of memory\n");
        rc = -1;
    }
    if (rc == 0)
        rc = build_write(a, hs_sigbuild_result_get(b));
    hs_sigbuild_free(b);
    return rc == 0 ? 0 : 1;
}

/* ---- options ----------------------------------------------------------- */

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > UINT32_MAX)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* "90s", "30m", "24h", "7d" or plain seconds, as in haystackd.conf. */
static int parse_duration_ms(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -EINVAL;
    uint64_t unit = 1000;
    if (*end == 'm')
        unit = 60000;
    else if (*end == 'h')
        unit = 3600000;
    else if (*end == 'd')
        unit = 86400000;
    else if (*end != 's' && *end != '\0')
        return -EINVAL;
    if (*end && end[1])
        return -EINVAL;
    if (v == 0 || v > WINDOW_MAX_MS / unit)
        return -EINVAL;
    *out = v * unit;
    return 0;
}

static int parse_level(const char *arg, level_opt *out)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -EINVAL;
    static const hs_level levels[] = {HS_LEVEL_PLATFORM,
                                      HS_LEVEL_MANUFACTURER,
                                      HS_LEVEL_PRODUCT};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(eq + 1, hs_level_name(levels[i])) == 0) {
            out->id = strndup(arg, (size_t)(eq - arg));
            out->level = levels[i];
            return out->id ? 0 : -ENOMEM;
        }
    }
    return -EINVAL;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(" PROG " --help for the options)\n");
    return 2;
}

enum {
    OPT_DOMAINS = 256,
    OPT_PDNS,
    OPT_LEVEL,
    OPT_MIN_DOMAINS,
    OPT_MIN_FRACTION,
    OPT_MIN_HITS,
    OPT_WINDOW,
};

static int build_option(build_args *a, int opt, const char *arg)
{
    char *end;
    switch (opt) {
    case OPT_DOMAINS:
        a->csvs[a->n_csvs++] = arg;
        return 0;
    case OPT_PDNS:
        a->pdns[a->n_pdns++] = arg;
        return 0;
    case 'o':
        a->out = arg;
        return 0;
    case 'q':
        a->quiet = 1;
        return 0;
    case OPT_LEVEL:
        if (parse_level(arg, &a->levels[a->n_levels]) < 0)
            return usage_error("--level %s: expected ID=platform|"
                               "manufacturer|product", arg);
        a->n_levels++;
        return 0;
    case OPT_MIN_DOMAINS:
        a->rule.set |= HS_RULE_MIN_DOMAINS;
        if (parse_u32(arg, &a->rule.min_domains) < 0 ||
            a->rule.min_domains == 0)
            return usage_error("--min-domains %s: expected a count >= 1",
                               arg);
        return 0;
    case OPT_MIN_HITS:
        a->rule.set |= HS_RULE_MIN_HITS;
        if (parse_u32(arg, &a->rule.min_hits) < 0 || a->rule.min_hits == 0)
            return usage_error("--min-hits %s: expected a count >= 1", arg);
        return 0;
    case OPT_MIN_FRACTION:
        a->rule.set |= HS_RULE_MIN_FRACTION;
        errno = 0;
        a->rule.min_fraction = strtod(arg, &end);
        if (errno || end == arg || *end || !(a->rule.min_fraction >= 0) ||
            a->rule.min_fraction > 1)
            return usage_error("--min-fraction %s: expected 0 to 1", arg);
        return 0;
    case OPT_WINDOW:
        a->rule.set |= HS_RULE_WINDOW;
        if (parse_duration_ms(arg, &a->rule.window_ms) < 0)
            return usage_error("--window %s: expected a duration from 1s "
                               "to 365d such as 24h (s, m, h, d)", arg);
        return 0;
    default:
        return usage_error("%s", "unknown option");
    }
}

static int build_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"domains", required_argument, NULL, OPT_DOMAINS},
        {"pdns", required_argument, NULL, OPT_PDNS},
        {"output", required_argument, NULL, 'o'},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"min-domains", required_argument, NULL, OPT_MIN_DOMAINS},
        {"min-fraction", required_argument, NULL, OPT_MIN_FRACTION},
        {"min-hits", required_argument, NULL, OPT_MIN_HITS},
        {"window", required_argument, NULL, OPT_WINDOW},
        {"quiet", no_argument, NULL, 'q'},
        {NULL, 0, NULL, 0},
    };
    /* no option list is longer than argv */
    build_args a = {
        .csvs = calloc((size_t)argc, sizeof(char *)),
        .pdns = calloc((size_t)argc, sizeof(char *)),
        .levels = calloc((size_t)argc, sizeof(level_opt)),
    };
    int rc = a.csvs && a.pdns && a.levels ? 0 : 1;
    int opt;
    while (rc == 0 && (opt = getopt_long(argc, argv, "o:qh", longopts,
                                         NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage_text, stdout);
            rc = -1;
        } else {
            rc = opt == '?' ? 2 : build_option(&a, opt, optarg);
        }
    }
    if (rc == 0 && optind < argc)
        rc = usage_error("build: unexpected argument %s", argv[optind]);
    if (rc == 0 && (a.n_csvs == 0 || a.n_pdns == 0))
        rc = usage_error("%s", "build needs --domains CSV and --pdns FILE");
    if (rc == 0)
        rc = build_run(&a);
    for (size_t i = 0; i < a.n_levels; i++)
        free((char *)a.levels[i].id);
    free(a.csvs);
    free(a.pdns);
    free(a.levels);
    return rc < 0 ? 0 : rc;
}

/* ---- check ------------------------------------------------------------- */

static int check_main(int argc, char **argv)
{
    if (argc != 2)
        return usage_error("%s", "check needs exactly one FILE");
    hs_sigset *s;
    char err[512];
    if (hs_sigset_load(argv[1], &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    hs_sigset_stats st;
    hs_sigset_get_stats(s, &st);
    printf("%s: ok: %u signatures, %u domains, %llu prefixes\n", argv[1],
           st.signatures, st.domains, (unsigned long long)st.prefixes);
    hs_sigset_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "a command is needed: build or check");
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf(PROG " " HS_VERSION "\n");
        return 0;
    }
    if (strcmp(cmd, "build") == 0)
        return build_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return check_main(argc - 1, argv + 1);
    return usage_error("unknown command %s (build or check)", cmd);
}
