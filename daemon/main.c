/*
 * main.c - haystackd's command line: check (-t), or start the server in the
 * foreground (-f, how systemd runs it) or as a classic background daemon.
 * Kept thin: everything testable lives in lib/, the running process in
 * server.c.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "detector.h"
#include "server.h"

#define HS_VERSION "0.1.0"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: haystackd [-c FILE] [-f] [-t] [-F] [-u USER] [-V] [-h]\n"
            "  -c FILE  configuration (default " HS_CONF_DEFAULT_PATH ")\n"
            "  -f       stay in the foreground, log to stderr\n"
            "  -t       check the configuration and signatures, then exit\n"
            "  -F       print every decoded flow record as JSON on stdout\n"
            "  -u USER  run as USER once the sockets are bound\n"
            "  -V       print the version\n"
            "  -h       this help\n");
}

typedef struct args {
    const char *conf_path;
    const char *user;
    bool foreground, test, dump_flows;
} args;

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, args *a)
{
    a->conf_path = HS_CONF_DEFAULT_PATH;
    int opt;
    while ((opt = getopt(argc, argv, "c:ftFu:Vh")) != -1) {
        switch (opt) {
        case 'c': a->conf_path = optarg; break;
        case 'u': a->user = optarg; break;
        case 'f': a->foreground = true; break;
        case 't': a->test = true; break;
        case 'F': a->dump_flows = true; break;
        case 'V': printf("haystackd %s\n", HS_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return 1;
    }
    return -1;
}

static void to_syslog(void *ctx, hs_log_level level, const char *line)
{
    (void)ctx;
    syslog((int)level, "%s", line);
}

/* -t: like nginx -t, a one-line verdict and the exit code. Loads what a
 * reload would: configuration, signatures, MaxMind databases. */
static int check(const char *path, const hs_conf *conf)
{
    char err[1024];
    hs_detector_stage *st;
    if (hs_detector_stage_new(conf, &st, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    hs_sigset_stats ss;
    hs_detector_stage_stats(st, &ss);
    printf("%s: ok; %s: %u signatures, %u domains, %llu prefixes\n", path,
           conf->signatures.file, ss.signatures, ss.domains,
           (unsigned long long)ss.prefixes);
    hs_detector_stage_free(st);
    return 0;
}

int main(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0)
        return rc;

    signal(SIGPIPE, SIG_IGN); /* peers closing sockets are errors, not deaths */
    /* A reload parses the signature file into hundreds of MB of short-lived
     * blocks. glibc raises its mmap threshold after freeing the first big
     * block, and from then on keeps such memory in its heaps: RSS grew by
     * ~230 MB a reload of a 1 M-prefix file. A fixed threshold sends every
     * block over 1 MiB back to the kernel when freed (RSS then stays flat). */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    hs_log_capture_glib();
    char err[1024];
    hs_conf *conf = NULL;
    if (hs_conf_load(a.conf_path, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    if (a.test) {
        rc = check(a.conf_path, conf);
        hs_conf_free(conf);
        return rc;
    }
    hs_log_level level = (hs_log_level)conf->log.level;
    if (!a.foreground) {
        if (daemon(0, 0) < 0) {
            fprintf(stderr, "haystackd: daemon: %s\n", strerror(errno));
            hs_conf_free(conf);
            return 1;
        }
        openlog("haystackd", LOG_PID, LOG_DAEMON);
        hs_log_setup(level, to_syslog, NULL);
    } else {
        hs_log_setup(level, NULL, NULL);
    }

    hs_server_opts opts = {a.conf_path, a.dump_flows, a.user};
    hs_server *s = NULL;
    if (hs_server_new(conf, &opts, &s, err, sizeof(err)) < 0) {
        hs_log(HS_LOG_ERROR, "%s", err);
        return 1;
    }
    rc = hs_server_run(s);
    hs_server_free(s);
    return rc;
}
