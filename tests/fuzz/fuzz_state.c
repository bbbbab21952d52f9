/*
 * fuzz_state.c - the state-file reader ([state] file, read at start) on any
 * bytes: hs_state_restore_buf into a fresh engine over a small signature
 * set, then event time moved far ahead so whatever was restored is aged
 * and evicted through the engine's own paths. A file the reader accepts
 * must leave an engine that works; one it refuses must leave it empty.
 * Inputs with an odd last byte are resealed (their checksum rewritten)
 * first, or mutations would rarely get past the checksum.
 *
 * FUZZ_STATE_SEED=FILE fuzz_state writes a valid state file (two
 * subscribers, one detected) to FILE and exits: the seed corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "state.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do { if (!(cond)) abort(); } while (0)

static const char sigs_json[] =
    "{\"version\":1,\"domains\":["
    "{\"name\":\"a.example\",\"endpoints\":[{\"prefix\":\"192.0.2.1\",\"ports\":[443]}]},"
    "{\"name\":\"b.example\",\"endpoints\":[{\"prefix\":\"2001:db8::/48\"}]},"
    "{\"name\":\"c.example\",\"endpoints\":[{\"prefix\":\"198.51.100.0/24\",\"proto\":\"udp\"}]}],"
    "\"signatures\":["
    "{\"id\":\"p\",\"level\":\"platform\",\"domains\":[\"a.example\",\"b.example\"]},"
    "{\"id\":\"q\",\"level\":\"product\",\"parent\":\"p\",\"domains\":[\"a.example\",\"c.example\"],"
    "\"rule\":{\"min_domains\":2,\"window\":\"1h\"}}]}";

static hs_sigset *sigs;

static void ignore_event(void *ctx, const hs_event *ev)
{
    (void)ctx, (void)ev;
}

static hs_engine *new_engine(void)
{
    hs_engine_conf c;
    hs_engine_conf_init(&c);
    c.max_subscribers = 64;
    hs_engine *e = NULL;
    FUZZ_CHECK(hs_engine_new(&c, sigs, ignore_event, NULL, &e) == 0);
    return e;
}

static void write_seed(const char *path)
{
    hs_engine *e = new_engine();
    static const char *const subs[] = {"100.64.0.1", "2001:db8:1:100::5"};
    static const char *const dsts[] = {"192.0.2.1", "198.51.100.7"};
    for (int s = 0; s < 2; s++) {
        for (int d = 0; d < 2; d++) {
            hs_flow f = {0};
            hs_ip_parse(subs[s], &f.src);
            hs_ip_parse(dsts[d], &f.dst);
            if (f.src.af != f.dst.af)
                continue;
            f.dst_port = 443;
            f.proto = d ? 17 : 6;
            f.end_ms = 1800000000000ull + (uint64_t)d * 1000;
            hs_engine_flows(e, &f, 1);
        }
    }
    char err[256];
    hs_state_stats st;
    int rc = hs_state_save(&e, 1, path, &st, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "%s\n", err);
    hs_engine_free(e);
    exit(rc < 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[256];
    FUZZ_CHECK(hs_sigset_load_buf("fuzz", sigs_json, sizeof(sigs_json) - 1,
                                  &sigs, err, sizeof(err)) == 0);
    const char *seed = getenv("FUZZ_STATE_SEED");
    if (seed)
        write_seed(seed);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    FUZZ_CHECK(copy);
    memcpy(copy, data, size);
    if (size && (data[size - 1] & 1))
        hs_state_seal(copy, size);
    hs_engine *e = new_engine();
    char err[512];
    hs_state_stats st;
    int rc = hs_state_restore_buf(&e, 1, "fuzz", copy, size, &st, err, sizeof(err));
    hs_engine_counters c;
    hs_engine_get_counters(e, &c);
    if (rc < 0)
        FUZZ_CHECK(c.subscribers == 0 && err[0] != '\0');
    FUZZ_CHECK(c.subscribers <= 64);
    for (int i = 0; i < 64 && hs_engine_advance(e, 4000000000000ull) > 0; i++)
        ;
    hs_engine_free(e);
    free(copy);
    return 0;
}
