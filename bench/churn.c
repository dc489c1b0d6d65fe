/*
 * churn.c - small-block churn: each thread keeps a window of live blocks
 * of 8..128 bytes and replaces a random one per step (free, then malloc),
 * so every malloc is paired with a free of a block of the same thread.
 *
 *   churn THREADS PAIRS_PER_THREAD [WINDOW] [TASKS]
 *
 * TASKS (1, or absent for none): each thread runs its pairs inside a task of its own
 * (memscope_task_begin, found with dlsym when the library is preloaded;
 * without it there is no task), as the async mode's workers do.
 *
 * Threads start together behind a barrier; the phase ends when the last
 * has freed its window. With 128 threads and few pairs this is the "many
 * threads" workload (thread start-up and exit inside the tracer count).
 */
#include <dlfcn.h>
#include <pthread.h>

#include "common.h"

typedef struct {
    long pairs, window;
    int tasks;
    uint64_t seed;
    pthread_barrier_t *go;
    bench_phase_t *phase;
} arg_t;

static void *
worker(void *p)
{
    arg_t *a = p;
    void **slot = calloc((size_t)a->window, sizeof(*slot));
    if (slot == NULL)
        bench_die("calloc");
    uint64_t s = a->seed;
    unsigned task = 0;
    int (*task_end)(unsigned) = NULL;
    if (a->tasks) {
        unsigned (*task_begin)(const char *) =
            (unsigned (*)(const char *))dlsym(RTLD_DEFAULT, "memscope_task_begin");
        task_end = (int (*)(unsigned))dlsym(RTLD_DEFAULT, "memscope_task_end");
        if (task_begin != NULL && task_end != NULL)
            task = task_begin("churn worker");
    }
    pthread_barrier_wait(a->go);
    bench_phase_start(a->phase);
    for (long i = 0; i < a->pairs; i++) {
        uint64_t r = bench_rand(&s);
        size_t k = (size_t)(r % (uint64_t)a->window);
        size_t n = 8 + (size_t)((r >> 32) % 121);
        free(slot[k]);
        char *b = malloc(n);
        if (b == NULL)
            bench_die("malloc");
        b[0] = (char)i;
        b[n - 1] = (char)k;
        slot[k] = b;
    }
    for (long k = 0; k < a->window; k++)
        free(slot[k]);
    free(slot);
    bench_phase_end(a->phase);
    if (task != 0)
        task_end(task);
    return NULL;
}

int
main(int argc, char **argv)
{
    int threads = (int)bench_arg(argc, argv, 1, 2);
    long pairs = bench_arg(argc, argv, 2, 1000000);
    long window = bench_arg(argc, argv, 3, 1000);
    int tasks = (int)bench_arg(argc, argv, 4, 0);
    pthread_t *tid = calloc((size_t)threads, sizeof(*tid));
    arg_t *args = calloc((size_t)threads, sizeof(*args));
    pthread_barrier_t go;
    bench_phase_t phase = { 0, 0 };
    if (tid == NULL || args == NULL)
        bench_die("calloc");
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++) {
        args[i] = (arg_t){ pairs, window, tasks, 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1), &go, &phase };
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
