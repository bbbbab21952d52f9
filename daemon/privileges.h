/*
 * privileges.h - giving up root once the sockets are bound (-u USER), for
 * runs outside systemd (the shipped unit starts haystackd unprivileged).
 */
#ifndef HS_PRIVILEGES_H
#define HS_PRIVILEGES_H

#include <stddef.h>

/* Switches to user's uid, primary gid and no supplementary groups; fails
 * (with a message in err) if any step fails or root could be regained. */
int hs_privileges_drop(const char *user, char *err, size_t errlen);

#endif
