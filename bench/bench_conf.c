/*
 * bench_conf.c - how long reading a configuration takes: the shipped file
 * (what every start, `haystackd -t` and SIGHUP pay), and the worst files
 * the reader accepts (1 MiB of sampling overrides, of prefixes), which
 * bound what a hostile or generated file can cost.
 *
 * usage: bench_conf [SHIPPED_CONF]   (default conf/haystackd.conf)
 * Bounded: each case runs for about one second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses buf repeatedly for about a second; prints the time per parse. */
static void run(const char *label, const char *buf, size_t len)
{
    char err[256];
    unsigned n = 0;
    double start = now_s(), elapsed;
    do {
        hs_conf *c;
        if (hs_conf_parse_buf(label, buf, len, &c, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            exit(1);
        }
        hs_conf_free(c);
        n++;
        elapsed = now_s() - start;
    } while (elapsed < 1.0);
    printf("%-34s %8zu bytes  %10.1f us/parse  (%u parses)\n", label, len,
           elapsed / n * 1e6, n);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(HS_CONF_FILE_MAX + 1);
    *len = buf ? fread(buf, 1, HS_CONF_FILE_MAX, f) : 0;
    fclose(f);
    return buf;
}

/* A file of distinct lines made by line(i), as close to the size cap as
 * whole lines allow. */
static char *generate(const char *header, void (*line)(char *, size_t, unsigned),
                      size_t *len)
{
    char *buf = malloc(HS_CONF_FILE_MAX);
    size_t n = (size_t)snprintf(buf, HS_CONF_FILE_MAX, "%s\n", header);
    for (unsigned i = 0;; i++) {
        char l[128];
        line(l, sizeof(l), i);
        size_t ll = strlen(l);
        if (n + ll > HS_CONF_FILE_MAX)
            break;
        memcpy(buf + n, l, ll);
        n += ll;
    }
    *len = n;
    return buf;
}

static void override_line(char *l, size_t cap, unsigned i)
{
    snprintf(l, cap, "sampling_override = 10.%u.%u.%u %s= %u\n",
             (i >> 16) & 255, (i >> 8) & 255, i & 255,
             i % 2 ? "domain 1 " : "", 100 + i % 1000);
}

/* [collector] with one exporters line of /24s as long as a line may be. */
static char *prefix_file(size_t *len)
{
    char *buf = malloc(HS_CONF_LINE_MAX + 64);
    size_t n = (size_t)sprintf(buf, "[collector]\nexporters = 10.0.0.0/24");
    size_t line_start = strlen("[collector]\n");
    for (unsigned i = 1;; i++) {
        char item[32];
        int il = snprintf(item, sizeof(item), ", 10.%u.%u.0/24",
                          (i >> 8) & 255, i & 255);
        if (n - line_start + (size_t)il > HS_CONF_LINE_MAX)
            break;
        memcpy(buf + n, item, (size_t)il);
        n += (size_t)il;
    }
    buf[n++] = '\n';
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "conf/haystackd.conf";
    size_t len;
    char *buf = read_file(path, &len);
    if (!buf) {
        perror(path);
        return 1;
    }
    run("shipped haystackd.conf", buf, len);
    free(buf);

    buf = generate("[collector]", override_line, &len);
    run("1 MiB of sampling_override lines", buf, len);
    free(buf);

    buf = prefix_file(&len);
    run("one 4 KiB exporters line", buf, len);
    free(buf);
    return 0;
}
