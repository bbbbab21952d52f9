/*
 * main.c - haystackd entry point: command line, then hand over to the
 * server loop. Kept thin: everything testable lives in lib/.
 */
#include <stdio.h>
#include <string.h>

#define HS_VERSION "0.1.0"

static void usage(FILE *out)
{
    fprintf(out, "usage: haystackd [-c FILE] [-f] [-t] [-V] [-h]\n");
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-V") == 0) {
            printf("haystackd %s\n", HS_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    }
    usage(stderr);
    return 1;
}
