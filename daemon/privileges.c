/* privileges.c - dropping root after binding (see privileges.h). */
#include "privileges.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int hs_privileges_drop(const char *user, char *err, size_t errlen)
{
    errno = 0;
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        snprintf(err, errlen, "-u %s: %s", user,
                 errno ? strerror(errno) : "no such user");
        return errno ? -errno : -ENOENT;
    }
    if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "-u %s: cannot switch: %s", user, strerror(errno));
        return rc;
    }
    if (pw->pw_uid != 0 && setuid(0) == 0) {
        snprintf(err, errlen, "-u %s: root could be regained", user);
        return -EPERM;
    }
    return 0;
}
