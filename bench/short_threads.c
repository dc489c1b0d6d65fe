/*
 * short_threads.c - threads that live for a few allocations: THREADS
 * threads in all, AT_ONCE at a time; each makes PAIRS blocks of 8..128
 * bytes, frees them, and ends. What a tracer adds to a thread's start
 * and end (its state made, kept after the thread is gone) is most of the
 * cost here, and what each ended thread still holds is the peak RSS.
 *
 *   short_threads [THREADS [PAIRS [AT_ONCE]]]   (16000, 16, 4)
 *
 * The measured phase is the main thread's, from the first start to the
 * last join: thread creation and exit are the work.
 */
#include <pthread.h>

#include "common.h"

typedef struct {
    long pairs;
    uint64_t seed;
} arg_t;

static void *
worker(void *arg)
{
    arg_t *a = arg;
    uint64_t s = a->seed;
    void *keep[16];
    for (long i = 0; i < a->pairs; i += 16) {
        int n = a->pairs - i < 16 ? (int)(a->pairs - i) : 16;
        for (int j = 0; j < n; j++) {
            keep[j] = malloc(8 + (size_t)(bench_rand(&s) % 121));
            if (keep[j] == NULL)
                bench_die("malloc");
            *(volatile char *)keep[j] = 1;
        }
        for (int j = 0; j < n; j++)
            free(keep[j]);
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    long threads = bench_arg(argc, argv, 1, 16000);
    long pairs = bench_arg(argc, argv, 2, 16);
    int at_once = (int)bench_arg(argc, argv, 3, 4);
    pthread_t *tid = calloc((size_t)at_once, sizeof(*tid));
    arg_t *args = calloc((size_t)at_once, sizeof(*args));
    if (tid == NULL || args == NULL)
        bench_die("calloc");
    uint64_t c0 = bench_cpu_ns(), t0 = bench_now_ns();
    for (long done = 0; done < threads; ) {
        int n = threads - done < at_once ? (int)(threads - done) : at_once;
        for (int i = 0; i < n; i++) {
            args[i] = (arg_t){ pairs, 0x9E3779B97F4A7C15ULL * (uint64_t)(done + i + 1) };
            if ((errno = pthread_create(&tid[i], NULL, worker, &args[i])) != 0)
                bench_die("pthread_create");
        }
        for (int i = 0; i < n; i++)
            pthread_join(tid[i], NULL);
        done += n;
    }
    uint64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    free(args);
    free(tid);
    bench_report((uint64_t)pairs * (uint64_t)threads, t1 - t0, c1 - c0, at_once);
    return 0;
}
