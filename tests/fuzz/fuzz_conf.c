/*
 * fuzz_conf.c - the haystackd.conf parser and validator on any bytes. A
 * configuration that parses must also convert to collector settings and
 * compare against the defaults (what a reload does with it) without
 * trouble; one that does not must leave a terminated message.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static hs_conf *defaults;
    if (defaults == NULL && hs_conf_new_default(&defaults) != 0)
        abort();

    hs_conf *c = NULL;
    char err[512];
    if (hs_conf_parse_buf("fuzz.conf", (const char *)data, size, &c, err,
                          sizeof(err)) != 0) {
        if (memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        return 0;
    }
    hs_collector_conf cc;
    hs_conf_collector(c, &cc);
    if (hs_conf_diff(c, c) != 0 || hs_conf_listen_changed(c, c))
        abort();
    (void)hs_conf_diff(defaults, c);
    (void)hs_conf_listen_changed(defaults, c);
    hs_conf_free(c);
    return 0;
}
