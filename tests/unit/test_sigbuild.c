/* test_sigbuild.c - the signature build: resolution through CNAME chains
 * and wildcards, shared infrastructure, drops, grouping, ordering. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sigbuild.h"

static void add_addr(hs_sigbuild *b, const char *name, const char *ip)
{
    hs_ip a;
    assert_int_equal(hs_ip_parse(ip, &a), 0);
    assert_int_equal(hs_sigbuild_add_addr(b, name, &a), 0);
}

static void add_cname(hs_sigbuild *b, const char *name, const char *target)
{
    assert_int_equal(hs_sigbuild_add_cname(b, name, target), 0);
}

static void add_row(hs_sigbuild *b, const char *sig, const char *dev,
                    const char *domain, uint16_t port)
{
    assert_int_equal(hs_sigbuild_add_row(b, sig, dev, domain, port), 0);
}

/* A group as text: "name[m1,m2]: ip/p1/p2 ip/p1" */
static const char *group_text(const hs_sigbuild_group *g, char *buf,
                              size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "%s[", g->name);
    for (uint32_t i = 0; i < g->n_members; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : "",
                              g->members[i]);
    n += (size_t)snprintf(buf + n, len - n, "]:");
    for (uint32_t i = 0; i < g->n_eps; i++) {
        char a[64];
        n += (size_t)snprintf(buf + n, len - n, " %s",
                              hs_ip_format(&g->eps[i].ip, a, sizeof(a)));
        for (uint32_t k = 0; k < g->eps[i].n_ports; k++)
            n += (size_t)snprintf(buf + n, len - n, "/%u",
                                  g->eps[i].ports[k]);
    }
    return buf;
}

/* The scenario of the method: see the comments on each input. */
static hs_sigbuild *scenario(void)
{
    hs_sigbuild *b = hs_sigbuild_new();
    assert_non_null(b);
    add_row(b, "sig_b", "dev2", "b.example", 443);
    add_row(b, "sig_a", "dev1", "a.example", 443);
    add_row(b, "sig_a", "dev1", "b.example", 80);
    add_row(b, "sig_a", "dev0", "*.wild.example", 9543);
    add_row(b, "sig_b", "dev2", "c.example", 123);
    add_row(b, "sig_b", "dev2", "lonely.example", 443);
    add_row(b, "sig_b", "dev2", "cdnonly.example", 443);
    add_row(b, "sig_b", "dev2", "loop.example", 443);
    add_row(b, "sig_c", "dev3", "lonely.example", 443);
    /* a and b share 198.18.0.1 (b through a CNAME): one group */
    add_addr(b, "a.example", "198.18.0.1");
    add_cname(b, "b.example", "b.edge.net");
    add_addr(b, "b.edge.net", "198.18.0.1");
    add_addr(b, "b.edge.net", "198.18.0.2");
    add_addr(b, "b.edge.net", "198.18.0.2"); /* duplicates merge */
    /* the wildcard covers names below wild.example, not the apex */
    add_addr(b, "x.wild.example", "198.18.0.3");
    add_cname(b, "y.z.wild.example", "y.cdn.net");
    add_addr(b, "y.cdn.net", "198.18.0.4");
    add_addr(b, "wild.example", "198.18.0.9");
    add_cname(b, "c.example", "c6.host.example");
    add_addr(b, "c6.host.example", "2001:db8::1");
    /* cdnonly shares its only address with an outside name, via CNAMEs */
    add_cname(b, "cdnonly.example", "e1.cdn.net");
    add_addr(b, "e1.cdn.net", "198.18.1.1");
    add_cname(b, "www.zzz.com", "e1.cdn.net");
    add_cname(b, "www.other.com", "alias.other.com");
    add_cname(b, "alias.other.com", "e1.cdn.net");
    /* an outside alias of c.example's AAAA host makes 2001:db8::1 shared;
     * c.example keeps its own A */
    add_addr(b, "c.example", "198.18.0.5");
    add_cname(b, "alias.c.example", "c6.host.example");
    /* a CNAME loop resolves to nothing */
    add_cname(b, "loop.example", "loop2.example");
    add_cname(b, "loop2.example", "loop.example");
    return b;
}

static void test_build_scenario(void **state)
{
    (void)state;
    hs_sigbuild *b = scenario();
    assert_null(hs_sigbuild_result_get(b));
    assert_int_equal(hs_sigbuild_set_level(b, "sig_c", HS_LEVEL_PLATFORM), 0);
    assert_int_equal(hs_sigbuild_set_level(b, "nope", HS_LEVEL_PLATFORM),
                     -ENOENT);
    assert_int_equal(hs_sigbuild_run(b), 0);
    const hs_sigbuild_result *r = hs_sigbuild_result_get(b);
    assert_non_null(r);
    char buf[512];

    assert_int_equal(r->n_groups, 3);
    assert_string_equal(group_text(&r->groups[0], buf, sizeof(buf)),
                        "*.wild.example[*.wild.example]: "
                        "198.18.0.3/9543 198.18.0.4/9543");
    assert_string_equal(group_text(&r->groups[1], buf, sizeof(buf)),
                        "a.example[a.example,b.example]: "
                        "198.18.0.1/80/443 198.18.0.2/80/443");
    assert_string_equal(group_text(&r->groups[2], buf, sizeof(buf)),
                        "c.example[c.example]: 198.18.0.5/123");

    assert_int_equal(r->n_sigs, 2);
    assert_string_equal(r->sigs[0].id, "sig_a");
    assert_int_equal(r->sigs[0].level, HS_LEVEL_PRODUCT);
    assert_int_equal(r->sigs[0].n_groups, 2);
    assert_int_equal(r->sigs[0].groups[0], 0);
    assert_int_equal(r->sigs[0].groups[1], 1);
    assert_int_equal(r->sigs[0].n_listed, 3);
    assert_int_equal(r->sigs[0].n_devices, 2);
    assert_string_equal(r->sigs[0].devices[0], "dev0");
    assert_string_equal(r->sigs[0].devices[1], "dev1");
    assert_string_equal(r->sigs[1].id, "sig_b");
    assert_int_equal(r->sigs[1].n_groups, 2);
    assert_int_equal(r->sigs[1].groups[0], 1);
    assert_int_equal(r->sigs[1].groups[1], 2);
    assert_int_equal(r->sigs[1].n_listed, 5);
    assert_int_equal(r->n_empty_sigs, 1);
    assert_string_equal(r->empty_sigs[0], "sig_c");

    assert_int_equal(r->n_shared, 2);
    assert_string_equal(hs_ip_format(&r->shared[0].ip, buf, 64),
                        "198.18.1.1");
    assert_string_equal(r->shared[0].outside, "alias.other.com");
    assert_int_equal(r->shared[0].n_domains, 1);
    assert_string_equal(r->shared[0].domains[0], "cdnonly.example");
    assert_string_equal(hs_ip_format(&r->shared[1].ip, buf, 64),
                        "2001:db8::1");
    assert_string_equal(r->shared[1].outside, "alias.c.example");

    assert_int_equal(r->n_dropped, 3);
    assert_string_equal(r->dropped[0].domain, "cdnonly.example");
    assert_int_equal(r->dropped[0].why, HS_SIGBUILD_ALL_SHARED);
    assert_string_equal(r->dropped[1].domain, "lonely.example");
    assert_int_equal(r->dropped[1].why, HS_SIGBUILD_NO_ADDRESS);
    assert_string_equal(r->dropped[2].domain, "loop.example");
    assert_int_equal(r->dropped[2].why, HS_SIGBUILD_NO_ADDRESS);

    assert_int_equal(r->n_chains, 1);
    assert_string_equal(r->chains[0].domain, "loop.example");
    assert_string_equal(r->chains[0].name, "loop.example");
    assert_int_equal(r->chains[0].issue, HS_SIGBUILD_LOOP);

    assert_int_equal(hs_sigbuild_run(b), -EBUSY);
    assert_int_equal(hs_sigbuild_add_row(b, "x", "", "x.example", 1), -EBUSY);
    hs_sigbuild_free(b);
}

/* A name reached from two signature domains joins them; a chain longer
 * than HS_SIGBUILD_MAX_CHAIN is cut and reported. */
static void test_build_chains(void **state)
{
    (void)state;
    hs_sigbuild *b = hs_sigbuild_new();
    add_row(b, "s", "", "p.example", 443);
    add_row(b, "s", "", "q.example", 443);
    add_row(b, "s", "", "long.example", 443);
    add_cname(b, "p.example", "shared.edge");
    add_cname(b, "q.example", "shared.edge");
    add_addr(b, "shared.edge", "198.18.2.1");
    char prev[32] = "long.example", next[32];
    for (int i = 0; i <= HS_SIGBUILD_MAX_CHAIN; i++) {
        snprintf(next, sizeof(next), "hop%02d.example", i);
        add_cname(b, prev, next);
        strcpy(prev, next);
    }
    add_addr(b, prev, "198.18.2.2");
    assert_int_equal(hs_sigbuild_run(b), 0);
    const hs_sigbuild_result *r = hs_sigbuild_result_get(b);
    char buf[256];
    assert_int_equal(r->n_groups, 1);
    assert_string_equal(group_text(&r->groups[0], buf, sizeof(buf)),
                        "p.example[p.example,q.example]: 198.18.2.1/443");
    assert_int_equal(r->n_shared, 0);
    assert_int_equal(r->n_chains, 1);
    assert_string_equal(r->chains[0].domain, "long.example");
    assert_string_equal(r->chains[0].name, "hop16.example");
    assert_int_equal(r->chains[0].issue, HS_SIGBUILD_TOO_LONG);
    assert_int_equal(r->n_dropped, 1);
    hs_sigbuild_free(b);
}

/* Order of the inputs does not change the result. */
static void test_build_order_independent(void **state)
{
    (void)state;
    const char *names[] = {"m.example", "k.example", "l.example"};
    const char *ips[] = {"198.18.3.3", "198.18.3.1", "198.18.3.2"};
    char first[256] = "", text[256];
    for (int rot = 0; rot < 3; rot++) {
        hs_sigbuild *b = hs_sigbuild_new();
        for (int i = 0; i < 3; i++) {
            int k = (i + rot) % 3;
            add_row(b, "s", "", names[k], (uint16_t)(100 + k));
            add_addr(b, names[k], ips[k]);
            add_addr(b, names[k], "198.18.3.9");
        }
        assert_int_equal(hs_sigbuild_run(b), 0);
        const hs_sigbuild_result *r = hs_sigbuild_result_get(b);
        assert_int_equal(r->n_groups, 1);
        group_text(&r->groups[0], text, sizeof(text));
        if (rot == 0)
            strcpy(first, text);
        assert_string_equal(text, first);
        hs_sigbuild_free(b);
    }
    assert_string_equal(first, "k.example[k.example,l.example,m.example]: "
                               "198.18.3.1/101 198.18.3.2/102 198.18.3.3/100 "
                               "198.18.3.9/100/101/102");
}

static void test_build_empty(void **state)
{
    (void)state;
    hs_sigbuild *b = hs_sigbuild_new();
    assert_int_equal(hs_sigbuild_run(b), 0);
    const hs_sigbuild_result *r = hs_sigbuild_result_get(b);
    assert_int_equal(r->n_groups, 0);
    assert_int_equal(r->n_sigs, 0);
    hs_sigbuild_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_scenario),
        cmocka_unit_test(test_build_chains),
        cmocka_unit_test(test_build_order_independent),
        cmocka_unit_test(test_build_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
