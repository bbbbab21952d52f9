/* dname.c - domain name normalisation and wildcard matching (see dname.h). */
#include "dname.h"

#include <errno.h>
#include <string.h>

static bool dname_label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int hs_dname_normalise(const char *in, size_t len, char out[HS_DNAME_MAX + 1])
{
    if (len > 0 && in[len - 1] == '.')
        len--;
    if (len == 0 || len > HS_DNAME_MAX)
        return -EINVAL;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c == '.') {
            if (label == 0)
                return -EINVAL;
            label = 0;
        } else if (c == '*') {
            /* only as the whole first label, and not as the whole name */
            if (i != 0 || len < 3 || in[1] != '.')
                return -EINVAL;
            label++;
        } else if (dname_label_char(c)) {
            if (++label > 63)
                return -EINVAL;
        } else {
            return -EINVAL;
        }
        out[i] = c;
    }
    if (label == 0)
        return -EINVAL;
    out[len] = '\0';
    return (int)len;
}

bool hs_dname_is_wildcard(const char *name)
{
    return name[0] == '*' && name[1] == '.';
}

bool hs_dname_match(const char *pattern, const char *name)
{
    if (!hs_dname_is_wildcard(pattern))
        return strcmp(pattern, name) == 0;
    const char *suffix = pattern + 1;   /* ".nest.com" */
    size_t sl = strlen(suffix), nl = strlen(name);
    return nl > sl && strcmp(name + nl - sl, suffix) == 0;
}
