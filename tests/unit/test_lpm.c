/* test_lpm.c - longest-prefix match against a brute-force reference. */
#include "testutil.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lpm.h"

static hs_ip ip_of(const char *s)
{
    hs_ip ip;
    assert_int_equal(hs_ip_parse(s, &ip), 0);
    return ip;
}

static void add(hs_lpm_builder *b, const char *addr, unsigned len,
                const uint16_t *ports, size_t n_ports, uint8_t proto,
                uint32_t value)
{
    hs_ip ip = ip_of(addr);
    assert_int_equal(hs_lpm_builder_add(b, &ip, len, ports, n_ports, proto,
                                        value), 0);
}

static hs_lpm *build(hs_lpm_builder *b)
{
    hs_lpm *t;
    assert_int_equal(hs_lpm_build(b, &t), 0);
    hs_lpm_builder_free(b);
    return t;
}

static size_t look(const hs_lpm *t, const char *addr, uint16_t port,
                   uint8_t proto, uint32_t *out, size_t max)
{
    hs_ip ip = ip_of(addr);
    return hs_lpm_lookup(t, &ip, port, proto, out, max);
}

static void test_longest_accepting_prefix_wins(void **state)
{
    (void)state;
    hs_lpm_builder *b = hs_lpm_builder_new();
    const uint16_t https[] = {443}, web[] = {80, 443};
    add(b, "10.0.0.0", 8, NULL, 0, HS_LPM_ANY_PROTO, 1);
    add(b, "10.1.0.0", 16, https, 1, 6, 2);
    add(b, "10.1.2.0", 24, web + 0, 1, 6, 3);           /* port 80 only */
    add(b, "10.1.2.3", 32, https, 1, 17, 4);            /* udp only */
    hs_lpm *t = build(b);
    uint32_t out[4];
    assert_int_equal(look(t, "10.1.2.3", 80, 6, out, 4), 1);
    assert_int_equal(out[0], 3);
    /* The /32 and /24 refuse tcp/443: the /16 answers. */
    assert_int_equal(look(t, "10.1.2.3", 443, 6, out, 4), 1);
    assert_int_equal(out[0], 2);
    assert_int_equal(look(t, "10.1.2.3", 443, 17, out, 4), 1);
    assert_int_equal(out[0], 4);
    assert_int_equal(look(t, "10.1.2.3", 22, 17, out, 4), 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(look(t, "10.200.0.1", 1, 1, out, 4), 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(look(t, "11.0.0.0", 443, 6, out, 4), 0);
    assert_int_equal(look(t, "9.255.255.255", 443, 6, out, 4), 0);
    hs_lpm_free(t);
}

static void test_shared_endpoint_counts_for_each(void **state)
{
    (void)state;
    hs_lpm_builder *b = hs_lpm_builder_new();
    const uint16_t ports[] = {8883, 443, 80, 443};     /* pool path, repeat */
    add(b, "2001:db8::", 48, ports, 4, 6, 7);
    add(b, "2001:db8::", 48, NULL, 0, HS_LPM_ANY_PROTO, 3);
    add(b, "2001:db8::", 48, ports + 1, 1, 6, 7);     /* same value again */
    add(b, "2001:db8::", 48, ports + 2, 1, 6, 5);
    hs_lpm *t = build(b);
    uint32_t out[4];
    assert_int_equal(look(t, "2001:db8::1", 443, 6, out, 4), 2);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 7);
    assert_int_equal(look(t, "2001:db8:0:ffff::1", 80, 6, out, 4), 3);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 5);
    assert_int_equal(out[2], 7);
    /* The count is complete even when out is short. */
    assert_int_equal(look(t, "2001:db8::1", 80, 6, out, 1), 3);
    assert_int_equal(out[0], 3);
    assert_int_equal(look(t, "2001:db8::1", 8883, 6, out, 0), 2);
    assert_int_equal(look(t, "2001:db8:1::", 443, 6, out, 4), 0);
    hs_lpm_free(t);
}

static void test_edges_of_the_space(void **state)
{
    (void)state;
    hs_lpm_builder *b = hs_lpm_builder_new();
    add(b, "0.0.0.0", 0, NULL, 0, 0, 1);
    add(b, "255.255.255.255", 32, NULL, 0, 0, 2);
    add(b, "0.0.0.0", 32, NULL, 0, 0, 3);
    add(b, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 128, NULL, 0, 0, 4);
    add(b, "::", 128, NULL, 0, 0, 5);
    add(b, "8000::", 1, NULL, 0, 0, 6);
    hs_lpm *t = build(b);
    uint32_t out[2];
    assert_int_equal(look(t, "255.255.255.255", 1, 6, out, 2), 1);
    assert_int_equal(out[0], 2);
    assert_int_equal(look(t, "255.255.255.254", 1, 6, out, 2), 1);
    assert_int_equal(out[0], 1);
    assert_int_equal(look(t, "0.0.0.0", 1, 6, out, 2), 1);
    assert_int_equal(out[0], 3);
    assert_int_equal(look(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, 6,
                          out, 2), 1);
    assert_int_equal(out[0], 4);
    assert_int_equal(look(t, "::", 1, 6, out, 2), 1);
    assert_int_equal(out[0], 5);
    assert_int_equal(look(t, "::1", 1, 6, out, 2), 0);
    assert_int_equal(look(t, "8000::1", 1, 6, out, 2), 1);
    assert_int_equal(out[0], 6);
    hs_ip none = {.af = HS_AF_NONE};
    assert_int_equal(hs_lpm_lookup(t, &none, 1, 6, out, 2), 0);
    hs_lpm_free(t);
}

/* The /16 bitmap that ends most misses: prefixes wider than, inside and
 * across /16 blocks, looked up at the edges of the blocks they touch. */
static void test_sixteen_bit_blocks(void **state)
{
    (void)state;
    hs_lpm_builder *b = hs_lpm_builder_new();
    add(b, "10.2.0.0", 15, NULL, 0, 0, 1);      /* 10.2/16 and 10.3/16 */
    add(b, "10.7.255.255", 32, NULL, 0, 0, 2);  /* last address of 10.7/16 */
    add(b, "10.9.128.0", 17, NULL, 0, 0, 3);    /* upper half of 10.9/16 */
    add(b, "172.16.0.0", 12, NULL, 0, 0, 4);    /* sixteen /16s */
    hs_lpm *t = build(b);
    static const struct {
        const char *addr;
        uint32_t want; /* 0: no match */
    } cases[] = {
        {"10.1.255.255", 0}, {"10.2.0.0", 1},     {"10.3.255.255", 1},
        {"10.4.0.0", 0},     {"10.7.255.254", 0}, {"10.7.255.255", 2},
        {"10.8.0.0", 0},     {"10.9.127.255", 0}, {"10.9.128.0", 3},
        {"10.10.0.0", 0},    {"172.15.255.255", 0}, {"172.16.0.0", 4},
        {"172.31.255.255", 4}, {"172.32.0.0", 0}, {"11.0.0.0", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t out[2];
        size_t n = look(t, cases[i].addr, 443, 6, out, 2);
        if (n != (cases[i].want ? 1u : 0u) || (n && out[0] != cases[i].want))
            fail_msg("%s: %zu values, want %u", cases[i].addr, n, cases[i].want);
    }
    hs_lpm_free(t);
}

static void test_empty_and_bad_input(void **state)
{
    (void)state;
    hs_lpm_builder *b = hs_lpm_builder_new();
    hs_ip ip = ip_of("10.0.0.1");
    assert_int_equal(hs_lpm_builder_add(b, &ip, 24, NULL, 0, 0, 1), -EINVAL);
    assert_int_equal(hs_lpm_builder_add(b, &ip, 33, NULL, 0, 0, 1), -EINVAL);
    ip = ip_of("2001:db8::1");
    assert_int_equal(hs_lpm_builder_add(b, &ip, 64, NULL, 0, 0, 1), -EINVAL);
    assert_int_equal(hs_lpm_builder_add(b, &ip, 129, NULL, 0, 0, 1), -EINVAL);
    ip.af = HS_AF_NONE;
    assert_int_equal(hs_lpm_builder_add(b, &ip, 0, NULL, 0, 0, 1), -EINVAL);
    hs_lpm *t = build(b);
    uint32_t out[1];
    assert_int_equal(look(t, "10.0.0.1", 443, 6, out, 1), 0);
    assert_int_equal(look(t, "2001:db8::1", 443, 6, out, 1), 0);
    assert_true(hs_lpm_memory(t) > 0);
    hs_lpm_free(t);
}

/* ---- random sets against a brute-force reference ---- */

typedef struct ref_ep {
    hs_ip ip;
    unsigned len;
    uint16_t ports[4];
    size_t n_ports;
    uint8_t proto;
    uint32_t value;
} ref_ep;

static uint64_t rnd_state;

static uint32_t rnd(void)
{
    rnd_state = rnd_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rnd_state >> 33);
}

static bool ref_contains(const ref_ep *e, const hs_ip *ip)
{
    if (e->ip.af != ip->af)
        return false;
    if (ip->af == HS_AF_V4) {
        uint32_t mask = e->len ? UINT32_MAX << (32 - e->len) : 0;
        return (ip->u.v4 & mask) == e->ip.u.v4;
    }
    for (unsigned bit = 0; bit < e->len; bit++) {
        unsigned byte = bit / 8, shift = 7 - bit % 8;
        if (((ip->u.v6[byte] ^ e->ip.u.v6[byte]) >> shift) & 1)
            return false;
    }
    return true;
}

static bool ref_accepts(const ref_ep *e, uint16_t port, uint8_t proto)
{
    if (e->proto != HS_LPM_ANY_PROTO && e->proto != proto)
        return false;
    if (e->n_ports == 0)
        return true;
    for (size_t i = 0; i < e->n_ports; i++)
        if (e->ports[i] == port)
            return true;
    return false;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static size_t ref_lookup(const ref_ep *eps, size_t n, const hs_ip *ip,
                         uint16_t port, uint8_t proto, uint32_t *out)
{
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if ((int)eps[i].len > best && ref_contains(&eps[i], ip) &&
            ref_accepts(&eps[i], port, proto))
            best = (int)eps[i].len;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if ((int)eps[i].len == best && ref_contains(&eps[i], ip) &&
            ref_accepts(&eps[i], port, proto))
            out[k++] = eps[i].value;
    qsort(out, k, sizeof(*out), cmp_u32);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || out[u - 1] != out[i])
            out[u++] = out[i];
    return u;
}

static const uint16_t port_pool[] = {80, 443, 8080, 1883, 5223};

/* Clears the bits of ip beyond len. */
static void mask_ip(hs_ip *ip, unsigned len)
{
    if (ip->af == HS_AF_V4) {
        ip->u.v4 &= len ? UINT32_MAX << (32 - len) : 0;
        return;
    }
    for (unsigned bit = len; bit < 128; bit++)
        ip->u.v6[bit / 8] &= (uint8_t)~(1u << (7 - bit % 8));
}

/* An address in a few crowded regions, so prefixes nest and collide. */
static hs_ip random_addr(bool v6)
{
    hs_ip ip = {.af = v6 ? HS_AF_V6 : HS_AF_V4};
    if (!v6) {
        static const uint32_t bases[] = {0x0a000000, 0xc0000200, 0x34000000};
        ip.u.v4 = bases[rnd() % 3] | (rnd() & (rnd() % 2 ? 0xffff : 0xffffff));
        return ip;
    }
    static const uint8_t heads[][4] = {{0x20, 0x01, 0x0d, 0xb8},
                                       {0x2a, 0x00, 0x14, 0x50},
                                       {0x26, 0x00, 0x1f, 0x18}};
    memcpy(ip.u.v6, heads[rnd() % 3], 4);
    unsigned spread = rnd() % 13; /* bytes left random */
    for (unsigned i = 4; i < 16; i++)
        ip.u.v6[i] = i >= 16 - spread ? (uint8_t)rnd() : 0;
    return ip;
}

static ref_ep random_ep(bool v6)
{
    static const unsigned v4_lens[] = {8, 12, 16, 20, 24, 28, 30, 32, 32, 32};
    static const unsigned v6_lens[] = {24, 32, 48, 56, 64, 96, 112, 120, 128,
                                       128};
    ref_ep e = {.ip = random_addr(v6)};
    e.len = v6 ? v6_lens[rnd() % 10] : v4_lens[rnd() % 10];
    mask_ip(&e.ip, e.len);
    e.n_ports = rnd() % 5;
    for (size_t i = 0; i < e.n_ports; i++)
        e.ports[i] = port_pool[rnd() % 5];
    static const uint8_t protos[] = {HS_LPM_ANY_PROTO, 6, 17};
    e.proto = protos[rnd() % 3];
    e.value = rnd() % 40;
    return e;
}

static void check_random_set(size_t n, bool v6, unsigned seed)
{
    rnd_state = seed;
    ref_ep *eps = malloc(n * sizeof(*eps));
    assert_non_null(eps);
    hs_lpm_builder *b = hs_lpm_builder_new();
    for (size_t i = 0; i < n; i++) {
        eps[i] = random_ep(v6);
        assert_int_equal(hs_lpm_builder_add(b, &eps[i].ip, eps[i].len,
                                            eps[i].ports, eps[i].n_ports,
                                            eps[i].proto, eps[i].value), 0);
    }
    hs_lpm *t = build(b);
    for (int q = 0; q < 3000; q++) {
        hs_ip ip;
        if (q % 3 == 0) {
            ip = random_addr(v6);
        } else {
            /* Inside, at the edge of, or just past an endpoint's prefix. */
            const ref_ep *e = &eps[rnd() % n];
            ip = e->ip;
            if (!v6)
                ip.u.v4 += (q % 3 == 1) ? (rnd() & 0xff)
                                        : (e->len ? (uint32_t)(UINT64_C(1) << (32 - e->len)) : 0);
            else
                ip.u.v6[15 - rnd() % 16] ^= (uint8_t)rnd();
        }
        uint16_t port = port_pool[rnd() % 5];
        uint8_t proto = rnd() % 2 ? 6 : 17;
        uint32_t want[64], got[64];
        size_t nw = ref_lookup(eps, n, &ip, port, proto, want);
        size_t ng = hs_lpm_lookup(t, &ip, port, proto, got, 64);
        if (nw != ng || memcmp(want, got, nw * sizeof(*want)) != 0) {
            char buf[64];
            fail_msg("set n=%zu seed=%u: %s port %u proto %u: got %zu, "
                     "want %zu", n, seed, hs_ip_format(&ip, buf, sizeof(buf)),
                     port, proto, ng, nw);
        }
    }
    hs_lpm_free(t);
    free(eps);
}

static void test_random_v4(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 6; seed++)
        check_random_set(seed * 300, false, seed);
}

static void test_random_v6(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 6; seed++)
        check_random_set(seed * 300, true, seed);
}

/* Thousands of v6 keys in one /64: the index tree must go deep. */
static void test_v6_crowded(void **state)
{
    (void)state;
    hs_lpm_builder *b = hs_lpm_builder_new();
    hs_ip ip = ip_of("2001:db8:1:2::");
    for (uint32_t i = 0; i < 5000; i++) {
        ip.u.v6[12] = (uint8_t)(i >> 8);
        ip.u.v6[15] = (uint8_t)(i * 7);
        assert_int_equal(hs_lpm_builder_add(b, &ip, 128, NULL, 0, 0, i), 0);
    }
    hs_lpm *t = build(b);
    uint32_t out[2];
    for (uint32_t i = 0; i < 5000; i++) {
        ip.u.v6[12] = (uint8_t)(i >> 8);
        ip.u.v6[15] = (uint8_t)(i * 7);
        assert_int_equal(hs_lpm_lookup(t, &ip, 1, 6, out, 2), 1);
        assert_int_equal(out[0], i);
        ip.u.v6[14] = 1;
        assert_int_equal(hs_lpm_lookup(t, &ip, 1, 6, out, 2), 0);
        ip.u.v6[14] = 0;
    }
    hs_lpm_free(t);
}

/* Every other /64 of a region: interval starts fall exactly on the index
 * nodes' slot boundaries. */
static void test_v6_aligned_neighbours(void **state)
{
    (void)state;
    hs_lpm_builder *b = hs_lpm_builder_new();
    hs_ip ip = ip_of("2001:db8::");
    for (uint32_t i = 0; i < 3000; i++) {
        ip.u.v6[6] = (uint8_t)(i >> 7);
        ip.u.v6[7] = (uint8_t)(i << 1);
        assert_int_equal(hs_lpm_builder_add(b, &ip, 64, NULL, 0, 0, i), 0);
    }
    hs_lpm *t = build(b);
    uint32_t out[2];
    for (uint32_t i = 0; i < 3000; i++) {
        ip.u.v6[6] = (uint8_t)(i >> 7);
        ip.u.v6[7] = (uint8_t)(i << 1);
        memset(ip.u.v6 + 8, 0, 8);
        assert_int_equal(hs_lpm_lookup(t, &ip, 1, 6, out, 2), 1);
        assert_int_equal(out[0], i);
        memset(ip.u.v6 + 8, 0xff, 8);
        assert_int_equal(hs_lpm_lookup(t, &ip, 1, 6, out, 2), 1);
        assert_int_equal(out[0], i);
        ip.u.v6[7] |= 1; /* the odd /64 after it: a gap */
        assert_int_equal(hs_lpm_lookup(t, &ip, 1, 6, out, 2), 0);
        memset(ip.u.v6 + 8, 0, 8);
        assert_int_equal(hs_lpm_lookup(t, &ip, 1, 6, out, 2), 0);
    }
    hs_lpm_free(t);
}

/* A comb: one /128 at every power of two, plus short prefixes over it.
 * Each index node can split off only a few keys, so the tree is deep. */
static void test_v6_comb(void **state)
{
    (void)state;
    enum { N = 128 + 3 };
    ref_ep eps[N];
    hs_lpm_builder *b = hs_lpm_builder_new();
    for (unsigned k = 0; k < N; k++) {
        eps[k] = (ref_ep){.ip = {.af = HS_AF_V6}, .len = 128, .value = k};
        if (k < 128) {
            eps[k].ip.u.v6[15 - k / 8] = (uint8_t)(1u << (k % 8));
        } else {
            eps[k].len = 8 + 40 * (k - 128); /* ::/8, ::/48, ::/88 */
            eps[k].proto = 6;
        }
        assert_int_equal(hs_lpm_builder_add(b, &eps[k].ip, eps[k].len, NULL,
                                            0, eps[k].proto, k), 0);
    }
    hs_lpm *t = build(b);
    for (unsigned k = 0; k < 128; k++) {
        for (int delta = -1; delta <= 1; delta++) {
            hs_ip ip = eps[k].ip;
            unsigned byte = 15 - k / 8;
            ip.u.v6[byte] = (uint8_t)(ip.u.v6[byte] + delta);
            for (uint8_t proto = 6; proto <= 17; proto += 11) {
                uint32_t want[4], got[4];
                size_t nw = ref_lookup(eps, N, &ip, 443, proto, want);
                size_t ng = hs_lpm_lookup(t, &ip, 443, proto, got, 4);
                assert_int_equal(ng, nw);
                assert_memory_equal(got, want, nw * sizeof(*want));
            }
        }
    }
    hs_lpm_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longest_accepting_prefix_wins),
        cmocka_unit_test(test_shared_endpoint_counts_for_each),
        cmocka_unit_test(test_edges_of_the_space),
        cmocka_unit_test(test_empty_and_bad_input),
        cmocka_unit_test(test_sixteen_bit_blocks),
        cmocka_unit_test(test_random_v4),
        cmocka_unit_test(test_random_v6),
        cmocka_unit_test(test_v6_crowded),
        cmocka_unit_test(test_v6_aligned_neighbours),
        cmocka_unit_test(test_v6_comb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
