/*
 * test_fuzz_regressions.c - every input a fuzz target once crashed on
 * (tests/fuzz/regressions/TARGET/), replayed through the same entry point
 * under the normal ASan/UBSan build, so a fixed crash stays fixed without
 * clang or libFuzzer. Each directory is named after its target; the inputs
 * are in that target's format (fuzz_datagrams: a sequence of datagrams,
 * see tests/fuzz/fuzzutil.h). The bugs themselves are pinned by named
 * tests next to the code they concern; this replays the raw bytes.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzzutil.h"
#include "iotwild.h"
#include "json.h"
#include "pdns.h"
#include "sigset.h"

#define REGRESSIONS HS_SRC_DIR "/tests/fuzz/regressions"

typedef void (*replay_fn)(const char *buf, size_t len);

static void replay_json(const char *buf, size_t len)
{
    hs_json_doc *doc = NULL;
    hs_json_error err;
    int rc = hs_json_parse(buf, len, &doc, &err);
    assert_true(rc == 0 || rc == -EINVAL);
    hs_json_free(doc);
}

static void replay_sigset(const char *buf, size_t len)
{
    hs_sigset *s = NULL;
    char err[256];
    if (hs_sigset_load_buf("r.json", buf, len, &s, err, sizeof(err)) == 0)
        hs_sigset_free(s);
}

static void replay_conf(const char *buf, size_t len)
{
    hs_conf *c = NULL;
    char err[512];
    if (hs_conf_parse_buf("r.conf", buf, len, &c, err, sizeof(err)) == 0)
        hs_conf_free(c);
}

static int count_addr(void *ctx, const char *rrname, const hs_ip *ip)
{
    (void)rrname, (void)ip;
    ++*(unsigned long *)ctx;
    return 0;
}

static int count_cname(void *ctx, const char *rrname, const char *target)
{
    (void)rrname, (void)target;
    ++*(unsigned long *)ctx;
    return 0;
}

static void replay_pdns(const char *buf, size_t len)
{
    hs_pdns_ops ops = {count_addr, count_cname, NULL};
    unsigned long n = 0;
    hs_pdns_stats st;
    assert_int_equal(hs_pdns_parse(buf, len, &ops, &n, &st), 0);
}

static int count_row(void *ctx, const hs_iotwild_row *row)
{
    (void)row;
    ++*(unsigned long *)ctx;
    return 0;
}

static void replay_iotwild(const char *buf, size_t len)
{
    hs_iotwild_ops ops = {count_row, NULL};
    unsigned long n = 0;
    char err[256];
    int rc = hs_iotwild_parse(buf, len, &ops, &n, err, sizeof(err));
    assert_true(rc >= 0 || rc == -EINVAL);
}

/* fuzz_datagrams' format: [source][clock][length 16 bits][datagram]... */
static void replay_datagrams(const char *buf, size_t len)
{
    const uint8_t *p = (const uint8_t *)buf;
    hs_collector *c = hs_fuzz_collector_new();
    uint64_t now_ms = HS_FUZZ_START_MS;
    uint8_t *one = malloc(HS_FUZZ_HEADER + 65535);
    assert_non_null(one);
    while (len >= 4) {
        size_t n = (size_t)p[2] << 8 | p[3];
        if (n > len - 4)
            n = len - 4;
        one[0] = p[0];
        one[1] = p[1];
        memcpy(one + HS_FUZZ_HEADER, p + 4, n);
        hs_fuzz_feed(c, one, HS_FUZZ_HEADER + n, &now_ms);
        p += 4 + n;
        len -= 4 + n;
    }
    free(one);
    hs_fuzz_check(c);
    hs_collector_free(c);
}

/* Replays every file of regressions/target; returns how many. */
static int replay_dir(const char *target, replay_fn fn)
{
    char dir[512], path[1024];
    snprintf(dir, sizeof(dir), "%s/%s", REGRESSIONS, target);
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        size_t len;
        char *buf = tu_read_file(path, &len);
        assert_non_null(buf);
        print_message("replay %s/%s\n", target, de->d_name);
        fn(buf, len);
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

static void test_replay_all(void **state)
{
    (void)state;
    static const struct {
        const char *target;
        replay_fn fn;
    } targets[] = {
        {"json", replay_json},         {"sigset", replay_sigset},
        {"conf", replay_conf},         {"pdns", replay_pdns},
        {"iotwild", replay_iotwild},   {"datagrams", replay_datagrams},
    };
    int total = 0;
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
        total += replay_dir(targets[i].target, targets[i].fn);
    assert_true(total > 0);
}

/* Found by fuzz_json (UBSan): an empty array or object as the first
 * container computed an offset from the parser's still-NULL scratch
 * array. Each must parse, and be empty. */
static void test_json_empty_first_container(void **state)
{
    (void)state;
    static const char *texts[] = {"[]", "{}", "[[]]", "{\"a\":{}}", "[{}]"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        hs_json_doc *doc = NULL;
        assert_int_equal(hs_json_parse(texts[i], strlen(texts[i]), &doc, NULL), 0);
        const hs_json *root = hs_json_root(doc);
        const hs_json *inner = hs_json_len(root) ? (root->type == HS_JSON_ARRAY
                                   ? hs_json_at(root, 0)
                                   : &hs_json_member_at(root, 0)->value)
                                                 : root;
        assert_int_equal(hs_json_len(inner), 0);
        hs_json_free(doc);
    }
    hs_json_doc *doc = NULL;
    assert_int_equal(hs_json_parse("[]2*", 4, &doc, NULL), -EINVAL);
    assert_null(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_all),
        cmocka_unit_test(test_json_empty_first_container),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
