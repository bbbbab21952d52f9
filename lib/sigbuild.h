/*
 * sigbuild.h - the signature build of haystack-sig: from testbed domain
 * lists and passive DNS to grouped domains with dedicated service IPs.
 *
 * The method of "A Haystack Full of Needles" (IMC 2020), section 4:
 *  1. Every signature domain is resolved through passive DNS: its A/AAAA
 *     records and those of the names its CNAME chains reach (a wildcard
 *     "*.x.y" starts from every name strictly below x.y). Chains are cut at
 *     HS_SIGBUILD_MAX_CHAIN links; loops are reported.
 *  2. A name reached that way belongs to the signature domain ("inside").
 *     Every other name in passive DNS is "outside"; an address that an
 *     outside name resolves to (directly or through its own CNAMEs) is
 *     shared infrastructure (a CDN, a cloud front end) and is left out.
 *  3. A domain left with no address is dropped.
 *  4. Domains that share an address are one grouped domain (connected
 *     components), named after its lexicographically first member.
 *  5. Each detection level is one signature: the grouped domains of its
 *     domains. An endpoint is an address with the ports that the CSVs give
 *     for the members resolving to it.
 *
 * Everything the build leaves out is kept in the result with the reason, so
 * the command line can report it. The result is sorted (groups and members
 * by name, addresses v4 before v6 in numeric order, ports ascending), so
 * equal inputs give the same output whatever their order.
 */
#ifndef HS_SIGBUILD_H
#define HS_SIGBUILD_H

#include <stdint.h>

#include "flow.h"
#include "sigset.h"

#define HS_SIGBUILD_MAX_CHAIN 16

typedef struct hs_sigbuild hs_sigbuild;

typedef struct hs_sigbuild_endpoint {
    hs_ip ip;
    const uint16_t *ports;      /* ascending, unique */
    uint32_t n_ports;
} hs_sigbuild_endpoint;

typedef struct hs_sigbuild_group {
    const char *name;           /* = members[0] */
    const char *const *members; /* signature domains, sorted */
    uint32_t n_members;
    const hs_sigbuild_endpoint *eps;
    uint32_t n_eps;
} hs_sigbuild_group;

typedef struct hs_sigbuild_sig {
    const char *id;             /* the detection_level */
    hs_level level;
    const char *const *devices; /* testbed devices, sorted */
    uint32_t n_devices;
    const uint32_t *groups;     /* indices into result groups, ascending */
    uint32_t n_groups;
    uint32_t n_listed;          /* domains the CSVs list for it */
} hs_sigbuild_sig;

/* An address left out, with the outside name that made it shared. */
typedef struct hs_sigbuild_shared {
    hs_ip ip;
    const char *outside;        /* first outside name resolving to it */
    const char *const *domains; /* signature domains that lost it, sorted */
    uint32_t n_domains;
} hs_sigbuild_shared;

typedef enum hs_sigbuild_why {
    HS_SIGBUILD_NO_ADDRESS,     /* passive DNS resolves it to nothing */
    HS_SIGBUILD_ALL_SHARED,     /* every address it has is shared */
} hs_sigbuild_why;

typedef struct hs_sigbuild_drop {
    const char *domain;
    hs_sigbuild_why why;
} hs_sigbuild_drop;

typedef enum hs_sigbuild_chain_issue {
    HS_SIGBUILD_LOOP,           /* the chain comes back to name */
    HS_SIGBUILD_TOO_LONG,       /* cut at name after MAX_CHAIN links */
} hs_sigbuild_chain_issue;

typedef struct hs_sigbuild_chain {
    const char *domain;         /* the signature domain resolved */
    const char *name;           /* where the chain loops or was cut */
    hs_sigbuild_chain_issue issue;
} hs_sigbuild_chain;

typedef struct hs_sigbuild_result {
    const hs_sigbuild_group *groups;
    uint32_t n_groups;
    const hs_sigbuild_sig *sigs;        /* sorted by id, each non-empty */
    uint32_t n_sigs;
    const hs_sigbuild_shared *shared;   /* sorted by address */
    uint32_t n_shared;
    const hs_sigbuild_drop *dropped;    /* sorted by domain */
    uint32_t n_dropped;
    const hs_sigbuild_chain *chains;    /* sorted by domain, name */
    uint32_t n_chains;
    const char *const *empty_sigs;      /* signatures left with no domain */
    uint32_t n_empty_sigs;
} hs_sigbuild_result;

hs_sigbuild *hs_sigbuild_new(void);
void hs_sigbuild_free(hs_sigbuild *b);

/*
 * Inputs, in any order and any number of times (duplicates are merged).
 * Names must be normalised (dname.h); a row's domain may be a wildcard.
 * Each returns 0 or -ENOMEM; after hs_sigbuild_run, -EBUSY.
 */
int hs_sigbuild_add_row(hs_sigbuild *b, const char *level_id,
                        const char *device, const char *domain,
                        uint16_t port);
int hs_sigbuild_add_addr(hs_sigbuild *b, const char *rrname, const hs_ip *ip);
int hs_sigbuild_add_cname(hs_sigbuild *b, const char *rrname,
                          const char *target);

/* Sets the level of signature id (default product); -ENOENT if no row
 * named it. */
int hs_sigbuild_set_level(hs_sigbuild *b, const char *id, hs_level level);

/* Runs the build once. Returns 0 or -ENOMEM (-EBUSY when run already);
 * after a failure the build can only be freed. */
int hs_sigbuild_run(hs_sigbuild *b);
/* The result of hs_sigbuild_run (owned by b), or NULL before it. */
const hs_sigbuild_result *hs_sigbuild_result_get(const hs_sigbuild *b);

#endif
