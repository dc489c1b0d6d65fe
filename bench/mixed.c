/*
 * mixed.c - mixed sizes and calls: each thread keeps a window of 1000
 * live blocks of 8 B..64 KiB (log-uniform: most are small) and replaces a
 * random one per step with malloc (50%), calloc (15%), realloc of the
 * block in place of freeing it (15%), aligned_alloc (10%) or
 * posix_memalign (10%, alignments 16..4096). Blocks are touched at both
 * ends.
 *
 *   mixed THREADS PAIRS_PER_THREAD
 */
#include <pthread.h>

#include "common.h"

#define WINDOW 1000

typedef struct {
    long pairs;
    uint64_t seed;
    pthread_barrier_t *go;
    bench_phase_t *phase;
} arg_t;

static size_t
pick_size(uint64_t r)
{
    /* 2^3 .. 2^16, then uniform inside the power of two */
    unsigned e = 3 + (unsigned)(r % 14);
    size_t lo = (size_t)1 << e;
    return lo + (size_t)((r >> 8) % lo);
}

static void *
worker(void *p)
{
    arg_t *a = p;
    void *slot[WINDOW] = { 0 };
    uint64_t s = a->seed;
    pthread_barrier_wait(a->go);
    bench_phase_start(a->phase);
    for (long i = 0; i < a->pairs; i++) {
        uint64_t r = bench_rand(&s);
        size_t k = (size_t)(r % WINDOW);
        size_t n = pick_size(r >> 16);
        unsigned op = (unsigned)((r >> 40) % 100);
        char *b;
        if (op < 15 && slot[k] != NULL) {
            b = realloc(slot[k], n);
        } else {
            free(slot[k]);
            if (op < 65) {
                b = malloc(n);
            } else if (op < 80) {
                b = calloc(1, n);
            } else if (op < 90) {
                size_t al = (size_t)16 << ((r >> 50) % 9);
                b = aligned_alloc(al, (n + al - 1) / al * al);
            } else {
                void *q = NULL;
                size_t al = (size_t)16 << ((r >> 50) % 9);
                b = posix_memalign(&q, al, n) == 0 ? q : NULL;
            }
        }
        if (b == NULL)
            bench_die("allocation");
        b[0] = (char)i;
        b[n - 1] = (char)k;
        slot[k] = b;
    }
    for (size_t k = 0; k < WINDOW; k++)
        free(slot[k]);
    bench_phase_end(a->phase);
    return NULL;
}

int
main(int argc, char **argv)
{
    int threads = (int)bench_arg(argc, argv, 1, 2);
    long pairs = bench_arg(argc, argv, 2, 500000);
    pthread_t *tid = calloc((size_t)threads, sizeof(*tid));
    arg_t *args = calloc((size_t)threads, sizeof(*args));
    pthread_barrier_t go;
    bench_phase_t phase = { 0, 0 };
    if (tid == NULL || args == NULL)
        bench_die("calloc");
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        args[i] = (arg_t){ pairs, 0xA0761D6478BD642FULL * (uint64_t)(i + 1), &go, &phase };
        if ((errno = pthread_create(&tid[i], NULL, worker, &args[i])) != 0)
            bench_die("pthread_create");
    }
    uint64_t c0 = bench_cpu_ns();
    pthread_barrier_wait(&go);
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    uint64_t c1 = bench_cpu_ns();
    pthread_barrier_destroy(&go);
    free(args);
    free(tid);
    bench_report((uint64_t)pairs * (uint64_t)threads, phase.end - phase.start, c1 - c0,
        threads);
    return 0;
}
