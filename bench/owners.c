/*
 * owners.c - frees of other threads' blocks after many threads came and
 * went: PRODUCERS threads make BLOCKS blocks of 16..200 bytes each and
 * end holding them, ENDED short threads start and end (each makes and
 * frees one block), then the main thread frees the producers' blocks in
 * turn, one of each. The phase is those frees: every one is of a block
 * an ended thread made, its owner rarely the last one seen.
 *
 *   owners ENDED PRODUCERS BLOCKS
 */
#include <pthread.h>

#include "common.h"

static long nblocks;
static void *volatile sink;

static void *
producer(void *p)
{
    void **v = p;
    for (long i = 0; i < nblocks; i++)
        if ((v[i] = malloc(16 + (size_t)(i % 185))) == NULL)
            bench_die("malloc");
    return NULL;
}

static void *
short_one(void *p)
{
    sink = malloc(32);
    free(sink);
    return p;
}

int
main(int argc, char **argv)
{
    long ended = bench_arg(argc, argv, 1, 10000);
    int np = (int)bench_arg(argc, argv, 2, 4);
    nblocks = bench_arg(argc, argv, 3, 100000);
    void ***v = calloc((size_t)np, sizeof(*v));
    pthread_t *tid = calloc((size_t)np, sizeof(*tid));
    if (v == NULL || tid == NULL)
        bench_die("calloc");
    for (int i = 0; i < np; i++) {
        if ((v[i] = calloc((size_t)nblocks, sizeof(void *))) == NULL)
            bench_die("calloc");
        if ((errno = pthread_create(&tid[i], NULL, producer, v[i])) != 0)
            bench_die("pthread_create");
    }
    for (int i = 0; i < np; i++)
        pthread_join(tid[i], NULL);
    for (long i = 0; i < ended; i++) {
        pthread_t t;
        if ((errno = pthread_create(&t, NULL, short_one, NULL)) != 0)
            bench_die("pthread_create");
        pthread_join(t, NULL);
    }
    bench_phase_t phase = { 0, 0 };
    uint64_t c0 = bench_cpu_ns();
    bench_phase_start(&phase);
    for (long k = 0; k < nblocks; k++)
        for (int i = 0; i < np; i++)
            free(v[i][k]);
    bench_phase_end(&phase);
    uint64_t c1 = bench_cpu_ns();
    for (int i = 0; i < np; i++)
        free(v[i]);
    free(v);
    free(tid);
    bench_report((uint64_t)nblocks * (uint64_t)np, phase.end - phase.start,
        c1 - c0, 1);
    return 0;
}
