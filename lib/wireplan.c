/*
 * wireplan.c - plans for fixed-length templates and the record decoder
 * that follows them (see wireplan.h).
 *
 * Everything known when the template arrives is settled in the plan: the
 * ops are grouped by what they store, so decoding a record runs one short
 * loop per group with no branch on field types or lengths. A number of any
 * wire length (1 to 8 bytes) is read with one big-endian 8-byte load that
 * ends at its last byte, then masked to its own bytes.
 */
#include "wireplan.h"

#include <errno.h>
#include <string.h>

#include "wire.h"

/* Where a field first occurs in a record: end offset and wire length. */
typedef struct wire_spot {
    uint32_t end;
    uint16_t len;
} wire_spot;

/* Notes the first occurrence of IANA element ie, if haystack reads it. */
static void note_element(uint16_t ie, uint32_t end, uint16_t len,
                         uint32_t *have, wire_spot *spot)
{
    for (int f = 0; f < HS_F__COUNT; f++) {
        if (hs_fbrec_field_ie((hs_field)f) == ie && !(*have & HS_BIT(f))) {
            *have |= HS_BIT(f);
            spot[f] = (wire_spot){end, len};
        }
    }
}

/* Walks the field specifiers: the elements haystack reads, where they
 * first are, and the record length; -EINVAL for a variable-length field. */
static int find_fields(const uint8_t *rec, size_t len, int is_options,
                       uint32_t *have, wire_spot *spot, uint32_t *rec_len)
{
    uint32_t end = 0;
    *have = 0;
    for (size_t off = is_options ? 6 : 4; off + 4 <= len; off += 4) {
        uint16_t num = hs_rd16(rec + off), flen = hs_rd16(rec + off + 2);
        uint32_t pen = 0;
        if (num & HS_ENTERPRISE_BIT) {
            off += 4;
            pen = hs_rd32(rec + off);
        }
        if (flen == HS_VARLEN)
            return -EINVAL;
        end += flen;
        if (pen == 0)
            note_element(num & 0x7fff, end, flen, have, spot);
    }
    *rec_len = end;
    return 0;
}

static hs_wire_class class_of(unsigned host_len)
{
    switch (host_len) {
    case 8: return HS_WIRE_U64;
    case 4: return HS_WIRE_U32;
    case 2: return HS_WIRE_U16;
    case 1: return HS_WIRE_U8;
    default: return HS_WIRE_COPY16;
    }
}

/* The op that decodes field f from where it is on the wire; -EINVAL if
 * its wire length cannot be decoded into its size in the record. */
static int plan_field(const hs_wireplan *plan, hs_field f, wire_spot spot,
                      hs_wire_op *op)
{
    unsigned host_len = hs_fbrec_field_len(f);
    if (host_len == 16 ? spot.len != 16 : spot.len == 0 || spot.len > host_len)
        return -EINVAL;
    *op = (hs_wire_op){(uint16_t)spot.end,
                       (uint8_t)(host_len == 16 ? 0 : 64 - 8 * spot.len),
                       plan->info.off[f]};
    return 0;
}

/* Ops go in class order: fields by class, each class in field order. */
static int plan_fields(hs_wireplan *plan, const wire_spot *spot)
{
    int n = 0;
    for (int c = 0; c < HS_WIRE__CLASSES; c++) {
        for (int f = 0; f < HS_F__COUNT; f++) {
            if (!(plan->info.present & HS_BIT(f)) ||
                class_of(hs_fbrec_field_len((hs_field)f)) != (hs_wire_class)c)
                continue;
            if (plan_field(plan, (hs_field)f, spot[f], &plan->ops[n++]) < 0)
                return -EINVAL;
            plan->n[c]++;
        }
    }
    return 0;
}

int hs_wireplan_build(const uint8_t *rec, size_t len, int is_options,
                      hs_wireplan *plan)
{
    wire_spot spot[HS_F__COUNT];
    uint32_t have, rec_len;
    memset(plan, 0, sizeof(*plan));
    if (find_fields(rec, len, is_options, &have, spot, &rec_len) < 0 ||
        rec_len > HS_MAX_MSG)
        return -EINVAL;
    hs_fbrec_classify_have(have, is_options, &plan->info);
    if (plan_fields(plan, spot) < 0) {
        memset(plan, 0, sizeof(*plan));
        return -EINVAL;
    }
    plan->rec_len = rec_len;
    return 0;
}

/* The number of wire length 8 - shift / 8 that ends at wire + end. */
static inline uint64_t wire_number(const uint8_t *wire, const hs_wire_op *op)
{
    return hs_rd64(wire + op->end - 8) & (UINT64_MAX >> op->shift);
}

void hs_wireplan_unpack(const hs_wireplan *plan, const uint8_t *wire,
                        uint8_t *rec)
{
    const hs_wire_op *op = plan->ops, *end;
    for (end = op + plan->n[HS_WIRE_U64]; op < end; op++) {
        uint64_t v = wire_number(wire, op);
        memcpy(rec + op->off, &v, 8);
    }
    for (end = op + plan->n[HS_WIRE_U32]; op < end; op++) {
        uint32_t v = (uint32_t)wire_number(wire, op);
        memcpy(rec + op->off, &v, 4);
    }
    for (end = op + plan->n[HS_WIRE_U16]; op < end; op++) {
        uint16_t v = (uint16_t)wire_number(wire, op);
        memcpy(rec + op->off, &v, 2);
    }
    for (end = op + plan->n[HS_WIRE_U8]; op < end; op++)
        rec[op->off] = (uint8_t)wire_number(wire, op);
    for (end = op + plan->n[HS_WIRE_COPY16]; op < end; op++)
        memcpy(rec + op->off, wire + op->end - 16, 16);
}
