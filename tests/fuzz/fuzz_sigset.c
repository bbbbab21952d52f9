/*
 * fuzz_sigset.c - the signature file loader (JSON, validation, the compiled
 * endpoint lookup) on any bytes. A set that loads must also be consistent:
 * every signature and domain is found again by its name, their index lists
 * stay in range, and lookups (fixed addresses and one taken from the input)
 * return indices of real domains.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sigset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) abort(); } while (0)

static void fuzz_check_lookup(const hs_sigset *s, const hs_ip *ip,
                              uint16_t port, uint8_t proto)
{
    uint32_t out[8];
    size_t n = hs_sigset_lookup(s, ip, port, proto, out, 8);
    for (size_t i = 0; i < n && i < 8; i++)
        FUZZ_CHECK(out[i] < hs_sigset_n_domains(s));
}

static void fuzz_check_set(const hs_sigset *s, const uint8_t *data,
                           size_t size)
{
    uint32_t n_sigs = hs_sigset_n_sigs(s), n_domains = hs_sigset_n_domains(s);
    for (uint32_t i = 0; i < n_sigs; i++) {
        const hs_signature *g = hs_sigset_sig(s, i);
        FUZZ_CHECK(hs_sigset_find_sig(s, g->id) == (int32_t)i);
        FUZZ_CHECK(g->parent < (int32_t)n_sigs);
        for (uint32_t k = 0; k < g->n_domains; k++)
            FUZZ_CHECK(g->domains[k] < n_domains);
        for (uint32_t k = 0; k < g->n_required; k++)
            FUZZ_CHECK(g->required[k] < n_domains);
    }
    for (uint32_t i = 0; i < n_domains; i++) {
        const hs_domain *d = hs_sigset_domain(s, i);
        FUZZ_CHECK(hs_sigset_find_domain(s, d->name) == (int32_t)i);
        for (uint32_t k = 0; k < d->n_sigs; k++)
            FUZZ_CHECK(d->sigs[k] < n_sigs);
    }
    hs_sigset_stats st;
    hs_sigset_get_stats(s, &st);
    FUZZ_CHECK(st.signatures == n_sigs && st.domains == n_domains);

    hs_ip v4 = {.af = HS_AF_V4}, v6 = {.af = HS_AF_V6};
    uint32_t fixed[] = {0, 0xffffffffu, 0xc6120005u /* 198.18.0.5 */,
                        0x0a000001u};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        v4.u.v4 = fixed[i];
        fuzz_check_lookup(s, &v4, 443, 6);
        fuzz_check_lookup(s, &v4, 0, 17);
    }
    memcpy(&v4.u.v4, data, size < 4 ? size : 4);
    fuzz_check_lookup(s, &v4, 8883, 6);
    memcpy(v6.u.v6, data, size < 16 ? size : 16);
    fuzz_check_lookup(s, &v6, 443, 6);
    memset(v6.u.v6, 0xff, sizeof(v6.u.v6));
    fuzz_check_lookup(s, &v6, 65535, 17);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hs_sigset *s = NULL;
    char err[256];
    if (hs_sigset_load_buf("fuzz.json", (const char *)data, size, &s, err,
                           sizeof(err)) == 0) {
        fuzz_check_set(s, data, size);
        hs_sigset_free(s);
    } else {
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
    }
    return 0;
}
