/*
 * sigwrite.h - writes a signature build as a signature file, in the format
 * of docs/signatures.md that hs_sigset_load reads.
 *
 * The output is deterministic (the build result is sorted) and laid out one
 * endpoint a line, so two builds diff line by line in review. Group members
 * and testbed devices, which the format has no field for, go into the
 * domain's and the signature's "comment". Every endpoint is written with
 * "proto": "any": the CSVs give ports but no protocol.
 */
#ifndef HS_SIGWRITE_H
#define HS_SIGWRITE_H

#include <stdio.h>

#include "sigbuild.h"
#include "sigset.h"

/*
 * Writes r to out. rule->set says which rule fields go into every
 * signature (none: signatures follow [detect]); min_domains is capped at
 * each signature's number of domains, as the loader requires. Returns 0,
 * -EIO or -ENOMEM.
 */
int hs_sigwrite(FILE *out, const hs_sigbuild_result *r, const hs_rule *rule);

#endif
