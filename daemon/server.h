/*
 * server.h - the running daemon: one libuv loop that receives, decodes and
 * (through the sinks) detects and publishes, plus its timers and signals.
 */
#ifndef HS_SERVER_H
#define HS_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

typedef struct hs_server_opts {
    const char *conf_path;
    bool dump_flows;        /* -F: every flow record as JSON on stdout */
    const char *user;       /* -u: switch to this user once bound; NULL: stay */
} hs_server_opts;

typedef struct hs_server hs_server;

/* Takes ownership of conf. Binds the sockets; returns 0 or -errno with a
 * message in err. */
int hs_server_new(hs_conf *conf, const hs_server_opts *opts, hs_server **out,
                  char *err, size_t errlen);

/* Runs until SIGTERM or SIGINT; returns the process exit code. */
int hs_server_run(hs_server *s);

void hs_server_free(hs_server *s);

#endif
