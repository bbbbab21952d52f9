/*
 * dname.h - domain names as haystack-sig compares them: lower case, no
 * trailing dot ("API.Amazon.com." and "api.amazon.com" are one name).
 *
 * Both inputs of a build (the iot_wild CSVs and passive DNS) write names
 * differently; normalising once at the reader keeps every later comparison
 * a plain strcmp. A leading "*." label marks a wildcard, which covers every
 * name strictly below the rest ("*.nest.com" covers "a.nest.com", not
 * "nest.com"), as in DNS.
 */
#ifndef HS_DNAME_H
#define HS_DNAME_H

#include <stdbool.h>
#include <stddef.h>

#define HS_DNAME_MAX 253    /* presentation length without the final dot */

/*
 * Normalises in[0..len) into out (HS_DNAME_MAX + 1 bytes): lower case, one
 * trailing dot removed. Labels of letters, digits, '-' and '_', 1-63 bytes;
 * a "*" label only first. Returns the length, or -EINVAL.
 */
int hs_dname_normalise(const char *in, size_t len, char out[HS_DNAME_MAX + 1]);

/* True when name starts with the wildcard label "*.". */
bool hs_dname_is_wildcard(const char *name);

/*
 * True when name matches pattern: equal, or, for a wildcard pattern
 * "*.suffix", strictly below suffix. Both normalised.
 */
bool hs_dname_match(const char *pattern, const char *name);

#endif
