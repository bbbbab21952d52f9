/*
 * sigset.h - a loaded signature file: domains, their endpoints, signatures
 * and their rules, plus the compiled lookup structure that maps a flow's
 * (address, port, protocol) to the grouped domains it hits.
 *
 * A sigset is immutable once loaded: the daemon builds a new one on reload
 * off the receive path and swaps the pointer, so readers need no locks.
 * The file format is documented in docs/signatures.md.
 */
#ifndef HS_SIGSET_H
#define HS_SIGSET_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

typedef enum hs_level {
    HS_LEVEL_PLATFORM = 0,
    HS_LEVEL_MANUFACTURER = 1,
    HS_LEVEL_PRODUCT = 2,
} hs_level;

const char *hs_level_name(hs_level level);

/* Which fields of an hs_rule the signature file set (the rest come from
 * the [detect] defaults). */
enum {
    HS_RULE_MIN_DOMAINS = 1u << 0,
    HS_RULE_MIN_FRACTION = 1u << 1,
    HS_RULE_MIN_HITS = 1u << 2,
    HS_RULE_WINDOW = 1u << 3,
};

typedef struct hs_rule {
    uint32_t min_domains;   /* distinct domains hit inside the window */
    double min_fraction;    /* ... and at least this fraction of all domains */
    uint32_t min_hits;      /* hits a domain needs to count as seen */
    uint64_t window_ms;     /* window length */
    unsigned set;           /* HS_RULE_* bits present in the file */
} hs_rule;

/*
 * The rule a signature follows: the fields its file set (own->set), the
 * others from defaults (the [detect] section). The result's set is own's.
 */
hs_rule hs_rule_merge(const hs_rule *own, const hs_rule *defaults);

typedef struct hs_signature {
    char *id;               /* unique, e.g. "echo_cat" */
    char *name;             /* human-readable; defaults to id */
    hs_level level;
    int32_t parent;         /* index into hs_sigset.sigs, or -1 */
    uint32_t *domains;      /* domain indices, sorted, unique */
    uint32_t n_domains;
    uint32_t *required;     /* subset of domains that must be seen */
    uint32_t n_required;
    hs_rule rule;
} hs_signature;

typedef struct hs_domain {
    char *name;             /* grouped domain name, unique */
    uint32_t *sigs;         /* signatures that contain this domain, sorted */
    uint32_t n_sigs;
} hs_domain;

typedef struct hs_sigset hs_sigset;

/* Counts for `haystackd -t` and metrics. */
typedef struct hs_sigset_stats {
    uint32_t signatures;
    uint32_t domains;
    uint64_t prefixes;      /* endpoint prefixes (v4 + v6) */
    uint64_t lookup_bytes;  /* memory of the compiled endpoint lookup */
} hs_sigset_stats;

/*
 * Loads and validates a signature file. On error returns a negative code
 * and writes "FILE: json.path: what is wrong" (or "FILE:LINE:COL: ..." for
 * a syntax error) into err.
 */
int hs_sigset_load(const char *path, hs_sigset **out, char *err, size_t errlen);
/* Same, from a buffer; name is used in error messages. */
int hs_sigset_load_buf(const char *name, const char *buf, size_t len,
                       hs_sigset **out, char *err, size_t errlen);
void hs_sigset_free(hs_sigset *s);

uint32_t hs_sigset_n_sigs(const hs_sigset *s);
const hs_signature *hs_sigset_sig(const hs_sigset *s, uint32_t i);
uint32_t hs_sigset_n_domains(const hs_sigset *s);
const hs_domain *hs_sigset_domain(const hs_sigset *s, uint32_t i);
/* Index of a signature / domain by id or name, or -1. */
int32_t hs_sigset_find_sig(const hs_sigset *s, const char *id);
int32_t hs_sigset_find_domain(const hs_sigset *s, const char *name);
void hs_sigset_get_stats(const hs_sigset *s, hs_sigset_stats *st);

/*
 * Looks up one endpoint: returns the number of grouped domains whose
 * endpoints hold (ip, port, proto) by longest prefix match, and stores up to
 * max of their indices in out. 0: not a backend endpoint.
 */
size_t hs_sigset_lookup(const hs_sigset *s, const hs_ip *ip, uint16_t port,
                        uint8_t proto, uint32_t *out, size_t max);

#endif
