/* decode.c - names of the drop reasons (see decode.h). */
#include "decode.h"

static const char *const drop_names[HS_DROP__COUNT] = {
    [HS_DROP_NONE] = "none",
    [HS_DROP_TRUNCATED] = "truncated",
    [HS_DROP_BAD_LENGTH] = "bad_length",
    [HS_DROP_BAD_VERSION] = "bad_version",
    [HS_DROP_BAD_SET] = "bad_set",
    [HS_DROP_TOO_BIG] = "too_big",
    [HS_DROP_DOMAIN_LIMIT] = "domain_limit",
    [HS_DROP_LIBFIXBUF] = "libfixbuf",
    [HS_DROP_NOT_ALLOWED] = "not_allowed",
    [HS_DROP_NO_MEMORY] = "no_memory",
    [HS_DROP_EXPORTER_LIMIT] = "exporter_limit",
};

const char *hs_drop_name(hs_drop reason)
{
    if ((unsigned)reason >= HS_DROP__COUNT)
        return "unknown";
    return drop_names[reason];
}
