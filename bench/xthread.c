/*
 * xthread.c - cross-thread frees: producer threads allocate 8..256-byte
 * blocks and pass them through a bounded queue (a single-producer,
 * single-consumer ring of 1024 slots per pair) to consumer threads, which
 * free them. Every free is of a block another thread allocated.
 *
 *   xthread PAIRS_OF_THREADS BLOCKS_PER_PRODUCER
 *
 * A full or empty ring spins briefly, then yields (2 cores: the peer must
 * get to run).
 */
#include <pthread.h>
#include <sched.h>

#include "common.h"

#define RING 1024

typedef struct {
    _Alignas(64) size_t head;           /* written by the consumer */
    _Alignas(64) size_t tail;           /* written by the producer */
    _Alignas(64) void *slot[RING];
    long blocks;
    uint64_t seed;
    pthread_barrier_t *go;
    bench_phase_t *phase;
} queue_t;

static void
wait_a_bit(unsigned *spins)
{
    if (++*spins < 64)
        __builtin_ia32_pause();
    else
        sched_yield();
}

static void *
producer(void *p)
{
    queue_t *q = p;
    uint64_t s = q->seed;
    pthread_barrier_wait(q->go);
    bench_phase_start(q->phase);
    for (long i = 0; i < q->blocks; i++) {
        size_t n = 8 + (size_t)(bench_rand(&s) % 249);
        char *b = malloc(n);
        if (b == NULL)
            bench_die("malloc");
        b[0] = (char)i;
        b[n - 1] = (char)n;
        size_t t = q->tail;
        unsigned spins = 0;
        while (t - __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) == RING)
            wait_a_bit(&spins);
        q->slot[t % RING] = b;
        __atomic_store_n(&q->tail, t + 1, __ATOMIC_RELEASE);
    }
    bench_phase_end(q->phase);
    return NULL;
}

static void *
consumer(void *p)
{
    queue_t *q = p;
    pthread_barrier_wait(q->go);
    bench_phase_start(q->phase);
    for (long i = 0; i < q->blocks; i++) {
        size_t h = q->head;
        unsigned spins = 0;
        while (__atomic_load_n(&q->tail, __ATOMIC_ACQUIRE) == h)
            wait_a_bit(&spins);
        free(q->slot[h % RING]);
        __atomic_store_n(&q->head, h + 1, __ATOMIC_RELEASE);
    }
    bench_phase_end(q->phase);
    return NULL;
}

int
main(int argc, char **argv)
{
    int npairs = (int)bench_arg(argc, argv, 1, 1);
    long blocks = bench_arg(argc, argv, 2, 1000000);
    queue_t *q = aligned_alloc(64, sizeof(queue_t) * (size_t)npairs);
    pthread_t *tid = calloc((size_t)npairs * 2, sizeof(*tid));
    pthread_barrier_t go;
    bench_phase_t phase = { 0, 0 };
    if (q == NULL || tid == NULL)
        bench_die("alloc");
    pthread_barrier_init(&go, NULL, (unsigned)npairs * 2 + 1);
    for (int i = 0; i < npairs; i++) {
        memset(&q[i], 0, sizeof(q[i]));
        q[i].blocks = blocks;
        q[i].seed = 0xD1B54A32D192ED03ULL * (uint64_t)(i + 1);
        q[i].go = &go;
        q[i].phase = &phase;
        if ((errno = pthread_create(&tid[2 * i], NULL, producer, &q[i])) != 0 ||
            (errno = pthread_create(&tid[2 * i + 1], NULL, consumer, &q[i])) != 0)
            bench_die("pthread_create");
    }
    uint64_t c0 = bench_cpu_ns();
    pthread_barrier_wait(&go);
    for (int i = 0; i < 2 * npairs; i++)
        pthread_join(tid[i], NULL);
    uint64_t c1 = bench_cpu_ns();
    pthread_barrier_destroy(&go);
    free(tid);
    free(q);
    bench_report((uint64_t)blocks * (uint64_t)npairs, phase.end - phase.start, c1 - c0,
        npairs * 2);
    return 0;
}
