/*
 * wire.h - big-endian field access and the IPFIX / NetFlow v9 constants
 * shared by the message scanner and the v9 rewriter. Header-only: these are
 * single loads on the receive path.
 */
#ifndef HS_WIRE_H
#define HS_WIRE_H

#include <stdint.h>

#define HS_IPFIX_VERSION 10
#define HS_V9_VERSION 9
#define HS_IPFIX_HDR_LEN 16
#define HS_V9_HDR_LEN 20
#define HS_SET_HDR_LEN 4
#define HS_IPFIX_SET_TEMPLATE 2
#define HS_IPFIX_SET_OPTIONS 3
#define HS_V9_SET_TEMPLATE 0
#define HS_V9_SET_OPTIONS 1
#define HS_MIN_DATA_SET 256
#define HS_ENTERPRISE_BIT 0x8000u
#define HS_VARLEN 0xffffu
#define HS_PEN_CISCO 9u
#define HS_MAX_MSG 65535u

static inline uint16_t hs_rd16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t hs_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t hs_rd64(const uint8_t *p)
{
    return (uint64_t)hs_rd32(p) << 32 | hs_rd32(p + 4);
}

static inline void hs_wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void hs_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
