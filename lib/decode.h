/*
 * decode.h - why a datagram (or part of one) was not decoded.
 *
 * The scanners return these as negative codes; the collector counts each
 * reason per exporter, so an operator can tell a truncated export from a
 * hostile template from an unknown version.
 */
#ifndef HS_DECODE_H
#define HS_DECODE_H

typedef enum hs_drop {
    HS_DROP_NONE = 0,
    HS_DROP_TRUNCATED,      /* shorter than its header or its length field */
    HS_DROP_BAD_LENGTH,     /* IPFIX length field shorter than the datagram */
    HS_DROP_BAD_VERSION,    /* neither IPFIX (10) nor NetFlow v9 */
    HS_DROP_BAD_SET,        /* set length < 4 or past the message end */
    HS_DROP_TOO_BIG,        /* v9 rewrite would exceed an IPFIX message */
    HS_DROP_DOMAIN_LIMIT,   /* new observation domain over the cap */
    HS_DROP_LIBFIXBUF,      /* libfixbuf refused the message */
    HS_DROP_NOT_ALLOWED,    /* source outside [collector] exporters */
    HS_DROP_NO_MEMORY,      /* no session could be allocated */
    HS_DROP_EXPORTER_LIMIT, /* new source while max_exporters are busy */
    HS_DROP__COUNT
} hs_drop;

/* Short lower-case name of a reason, used as a metrics label. */
const char *hs_drop_name(hs_drop reason);

#endif
