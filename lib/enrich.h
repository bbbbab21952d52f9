/*
 * enrich.h - ASN, AS organisation and country of an address, from MaxMind
 * DB files (libmaxminddb), for the subscriber and backend of an event.
 *
 * A handle owns its open databases and nothing else: there is no global
 * state, so SIGHUP can open a new handle from the new configuration and
 * swap it in while the old one is still in use, then close the old one.
 * Lookups read a memory-mapped file and copy the few values an event needs
 * into a plain struct; they are meant to run once per event, not per flow.
 * A lookup never writes to the handle, so one handle serves many threads.
 */
#ifndef HS_ENRICH_H
#define HS_ENRICH_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"

#define HS_ENRICH_ORG_MAX 128   /* as_org buffer, NUL included */

typedef struct hs_enrich hs_enrich;

/* What is known about one address; every member has an "unknown" value. */
typedef struct hs_enrich_info {
    uint32_t asn;                   /* 0: unknown */
    char as_org[HS_ENRICH_ORG_MAX]; /* UTF-8, "" unknown; cut at a character */
    char country[3];                /* ISO 3166-1 alpha-2, "" unknown */
} hs_enrich_info;

/*
 * Opens the ASN database (GeoLite2-ASN, GeoIP2-ISP: its database_type must
 * contain "ASN" or "ISP") and the country database (GeoLite2-Country,
 * GeoIP2-City, ...: "Country" or "City"); a NULL path leaves that part off.
 * Returns 0 and a handle, or a negative errno with a message in err that
 * starts with the file name: -ENOENT etc. when the file cannot be opened,
 * -EINVAL when it is no MaxMind DB or not the kind of database wanted,
 * -ENOMEM.
 */
int hs_enrich_open(const char *asn_db, const char *country_db,
                   hs_enrich **out, char *err, size_t errlen);
void hs_enrich_close(hs_enrich *e);

/*
 * Fills out for ip (v4 or v6; a v4 address is found in v6 databases too).
 * An address no database knows leaves out all unknown and returns 0.
 * Returns -EBADMSG when a database is corrupt where ip leads (the values
 * from that database stay unknown), -EINVAL when ip has no address family.
 * out is always valid afterwards.
 */
int hs_enrich_lookup(const hs_enrich *e, const hs_ip *ip,
                     hs_enrich_info *out);

/*
 * Writes the known values of both sides as JSON object members, without
 * surrounding braces or leading comma, for appending to an event:
 * "subscriber_asn":15169,"subscriber_as_org":"Google Inc.",
 * "subscriber_country":"US","backend_asn":... Unknown values are left out;
 * either side may be NULL. Returns the length written (0: nothing known),
 * NUL-terminated, or -ENOSPC when buf[len] is too small.
 */
int hs_enrich_json(const hs_enrich_info *subscriber,
                   const hs_enrich_info *backend, char *buf, size_t len);

#endif
