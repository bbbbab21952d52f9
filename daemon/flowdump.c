/*
 * flowdump.c - JSON lines for decoded flow records (see flowdump.h).
 * Field names are short and stable: scripts and the integration tests
 * compare them with the flows of the pcap an exporter read.
 */
#include "flowdump.h"

#include <arpa/inet.h>
#include <inttypes.h>

void hs_flowdump_write(FILE *out, const hs_ip *exporter, const hs_flow *f)
{
    char e[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    fprintf(out,
            "{\"exporter\":\"%s\",\"obs_domain\":%" PRIu32 ",\"src\":\"%s\","
            "\"dst\":\"%s\",\"sport\":%u,\"dport\":%u,\"proto\":%u,"
            "\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"start_ms\":%" PRIu64
            ",\"end_ms\":%" PRIu64 ",\"sampling\":%" PRIu32 "}\n",
            hs_ip_format(exporter, e, sizeof(e)), f->obs_domain,
            hs_ip_format(&f->src, s, sizeof(s)), hs_ip_format(&f->dst, d, sizeof(d)),
            f->src_port, f->dst_port, f->proto, f->packets, f->bytes,
            f->start_ms, f->end_ms, f->sampling);
}
