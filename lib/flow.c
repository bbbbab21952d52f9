/* flow.c - address helpers for the flow record (see flow.h). */
#include "flow.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

char *hs_ip_format(const hs_ip *ip, char *buf, size_t len)
{
    if (ip->af == HS_AF_V4) {
        uint32_t n = htonl(ip->u.v4);
        inet_ntop(AF_INET, &n, buf, (socklen_t)len);
    } else if (ip->af == HS_AF_V6) {
        inet_ntop(AF_INET6, ip->u.v6, buf, (socklen_t)len);
    } else if (len > 0) {
        buf[0] = '\0';
    }
    return buf;
}

int hs_ip_parse(const char *s, hs_ip *out)
{
    memset(out, 0, sizeof(*out));
    uint32_t n;
    if (inet_pton(AF_INET, s, &n) == 1) {
        out->af = HS_AF_V4;
        out->u.v4 = ntohl(n);
        return 0;
    }
    if (inet_pton(AF_INET6, s, out->u.v6) == 1) {
        out->af = HS_AF_V6;
        return 0;
    }
    return -EINVAL;
}
