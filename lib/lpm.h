/*
 * lpm.h - longest-prefix match of (address, port, protocol) against a set
 * of endpoints, each an IPv4/IPv6 prefix with a port set, a protocol and a
 * value (the signature set stores a grouped domain index there).
 *
 * Built once from a builder, then immutable and safe to share between
 * readers. Lookup semantics: among the endpoints whose prefix holds the
 * address and whose ports and protocol accept the flow, only those with the
 * longest prefix count; their distinct values are the result.
 */
#ifndef HS_LPM_H
#define HS_LPM_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

/* Endpoint protocol that accepts every protocol. */
#define HS_LPM_ANY_PROTO 0

typedef struct hs_lpm hs_lpm;
typedef struct hs_lpm_builder hs_lpm_builder;

hs_lpm_builder *hs_lpm_builder_new(void);
void hs_lpm_builder_free(hs_lpm_builder *b);
/*
 * Adds an endpoint. prefix must have no host bits beyond len (-EINVAL
 * otherwise); ports[0..n_ports) is the accepted port set, n_ports == 0
 * meaning any port; proto is an IANA number or HS_LPM_ANY_PROTO.
 */
int hs_lpm_builder_add(hs_lpm_builder *b, const hs_ip *prefix, unsigned len,
                       const uint16_t *ports, size_t n_ports, uint8_t proto,
                       uint32_t value);
/* Compiles the endpoints added so far; b can be freed afterwards. */
int hs_lpm_build(const hs_lpm_builder *b, hs_lpm **out);
void hs_lpm_free(hs_lpm *t);

/*
 * Returns how many distinct values the longest matching prefix yields for
 * (ip, port, proto), storing up to max of them (ascending) in out.
 */
size_t hs_lpm_lookup(const hs_lpm *t, const hs_ip *ip, uint16_t port,
                     uint8_t proto, uint32_t *out, size_t max);

/* Bytes the compiled structure occupies (for sizing and benchmarks). */
size_t hs_lpm_memory(const hs_lpm *t);

#endif
