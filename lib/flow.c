/* flow.c - address helpers for the flow record (see flow.h). */
#include "flow.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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

void hs_ip_from_sockaddr(const struct sockaddr *sa, hs_ip *ip, uint16_t *port)
{
    memset(ip, 0, sizeof(*ip));
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        ip->af = HS_AF_V4;
        ip->u.v4 = ntohl(in->sin_addr.s_addr);
        *port = ntohs(in->sin_port);
        return;
    }
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    const uint8_t *a = in6->sin6_addr.s6_addr;
    *port = ntohs(in6->sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
        ip->af = HS_AF_V4;
        ip->u.v4 = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 |
                   (uint32_t)a[14] << 8 | a[15];
    } else {
        ip->af = HS_AF_V6;
        memcpy(ip->u.v6, a, 16);
    }
}
