/*
 * flowdump.h - `haystackd -F`: every decoded flow record as one JSON line
 * on stdout, to check what an exporter really sends (like nfacctd's print
 * plugin or goflow2's default output).
 */
#ifndef HS_FLOWDUMP_H
#define HS_FLOWDUMP_H

#include <stdio.h>

#include "flow.h"

/* Writes one record; exporter is the datagram's source address. */
void hs_flowdump_write(FILE *out, const hs_ip *exporter, const hs_flow *f);

#endif
