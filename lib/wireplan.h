/*
 * wireplan.h - decoding fixed-length data records without libfixbuf.
 *
 * libfixbuf transcodes a record element by element through generic code,
 * about 100 ns a record: more than half of the collector's CPU. When every
 * field of a template has a fixed length, where each field haystack reads
 * sits in a record is known as soon as the template arrives. A plan, built
 * then from the template's wire form, says so, and a record becomes a few
 * loads and stores that fill the same packed host-order record libfixbuf's
 * transcoding fills (fbrecord.h), read back by the same code. The template
 * is classified by fbrecord itself, from the elements seen on the wire, so
 * both paths agree on what a record carries.
 */
#ifndef HS_WIREPLAN_H
#define HS_WIREPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "fbrecord.h"

/* What one planned field becomes in the decoded record. */
typedef enum hs_wire_class {
    HS_WIRE_U64, HS_WIRE_U32, HS_WIRE_U16, HS_WIRE_U8, /* host-order numbers */
    HS_WIRE_COPY16,                                    /* IPv6 addresses */
    HS_WIRE__CLASSES
} hs_wire_class;

typedef struct hs_wire_op {
    uint16_t end;       /* offset just past the field in the wire record */
    uint8_t shift;      /* 64 - 8 * wire length (numbers) */
    uint8_t off;        /* offset in the decoded record */
} hs_wire_op;

typedef struct hs_wireplan {
    hs_tmpl_info info;              /* kind, present fields, their offsets */
    uint32_t rec_len;               /* wire bytes of a record; 0: no plan */
    uint8_t n[HS_WIRE__CLASSES];    /* ops of each class, in class order */
    hs_wire_op ops[HS_F__COUNT];
} hs_wireplan;

/*
 * Plans the template record rec of len bytes (from its template ID on, as
 * hs_scan_ops.on_template gets it). For each field haystack reads, its
 * first occurrence is planned (as libfixbuf transcodes it); enterprise
 * fields are never haystack's. A number may be sent shorter than its
 * decoded size (RFC 7011 6.2); that fields of other types are sent whole is
 * the caller's check (exporter.c refuses such templates).
 * Returns 0, or -EINVAL when a field is variable-length, a number is longer
 * than its decoded size, an IPv6 address is not 16 bytes or a record would
 * not fit in a message; plan->rec_len is then 0.
 */
int hs_wireplan_build(const uint8_t *rec, size_t len, int is_options,
                      hs_wireplan *plan);

/*
 * Decodes the record at wire (plan->rec_len bytes) into rec (HS_FBREC_MAX
 * bytes): the fields of plan->info.present at plan->info.off[]. Each number
 * is one 8-byte load ending at its last byte, so the 7 bytes before wire
 * must be readable: they are for every record of an IPFIX message, which
 * starts with its headers.
 */
void hs_wireplan_unpack(const hs_wireplan *plan, const uint8_t *wire,
                        uint8_t *rec);

#endif
