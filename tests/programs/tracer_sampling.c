/*
 * tracer_sampling.c - 10^6 allocations from three sites of different sizes,
 * for tests/integration/tracer_sampling.sh.
 *
 * Usage: tracer_sampling DIR. Between two JSON snapshots of itself
 * (DIR/before.json, DIR/after.json, when the library is preloaded) the
 * program makes N_SMALL blocks of 32 bytes in sampled_site_small,
 * N_MEDIUM of 1 KiB in sampled_site_medium and N_LARGE of 16 KiB in
 * sampled_site_large, interleaved, each freed a little later (a ring of
 * RING live blocks), all freed before the second snapshot.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SMALL   800000
#define N_MEDIUM  150000
#define N_LARGE    50000
#define RING          64

__attribute__((noinline)) void *
sampled_site_small(void)
{
    return malloc(32);
}

__attribute__((noinline)) void *
sampled_site_medium(void)
{
    return malloc(1024);
}

__attribute__((noinline)) void *
sampled_site_large(void)
{
    return malloc(16384);
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tracer_sampling DIR\n");
        return 2;
    }
    int (*export_json)(const char *) =
        (int (*)(const char *))dlsym(RTLD_DEFAULT, "memscope_export_json");
    char before[4096], after[4096];
    snprintf(before, sizeof(before), "%s/before.json", argv[1]);
    snprintf(after, sizeof(after), "%s/after.json", argv[1]);
    static void *ring[RING];
    unsigned long sum = 0;
    int rc_before = export_json ? export_json(before) : 0;

    /* out of every 20: 16 small, 3 medium, 1 large */
    for (long i = 0; i < N_SMALL + N_MEDIUM + N_LARGE; i++) {
        int k = (int)(i % 20);
        unsigned char *p = k < 16 ? sampled_site_small() :
            k < 19 ? sampled_site_medium() : sampled_site_large();
        p[0] = (unsigned char)i;
        long slot = i % RING;
        if (ring[slot] != NULL) {
            sum += *(unsigned char *)ring[slot];
            free(ring[slot]);
        }
        ring[slot] = p;
    }
    for (int i = 0; i < RING; i++) {
        sum += *(unsigned char *)ring[i];
        free(ring[i]);
        ring[i] = NULL;
    }

    int rc_after = export_json ? export_json(after) : 0;
    printf("small %d medium %d large %d checksum %lu\n", N_SMALL, N_MEDIUM,
        N_LARGE, sum);
    if (rc_before != 0 || rc_after != 0)
        fprintf(stderr, "memscope_export_json: %d %d\n", rc_before, rc_after);
    return 0;
}
