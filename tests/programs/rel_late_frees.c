/*
 * rel_late_frees.c - for tests/integration/rel_late_frees.sh: the
 * allocations of threads' key destructors that run after the library's
 * own (which freezes the thread's counters: thread-local storage is
 * going), freeing and resizing blocks of other threads, live or ended.
 *
 *   rel_late_frees ROUNDS
 *
 * Each round starts 8 threads; each swaps blocks with the others through
 * shared slots (malloc, realloc, posix_memalign, free, of 1 byte to
 * 80 KB), and so does its key destructor, twice (a second destructor
 * round). At the end the main thread frees what is left in the slots:
 * no block is live. Prints "live 0".
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 1024
#define THREADS 8

static void *slots[SLOTS];
static pthread_key_t key;

static void
die(const char *what)
{
    fprintf(stderr, "rel_late_frees: %s\n", what);
    exit(1);
}

/* A block of n bytes, by one of the allocating calls (k picks). */
static void *
make(uint64_t k, size_t n)
{
    void *p = NULL;
    if (k % 5 == 0) {
        if (posix_memalign(&p, 4096, n) != 0)
            p = NULL;
    } else {
        p = malloc(n);
    }
    if (p == NULL)
        die("allocation failed");
    memset(p, 0x33, n < 64 ? n : 64);
    return p;
}

static void
churn(uint64_t seed)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < 600; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        size_t n = 1 + (size_t)(s % 9000);
        if (i % 61 == 0)
            n = 70000 + (size_t)i;          /* a sample due at 64k */
        void *mine = make(s >> 20, n);
        /* someone else's block (or nothing) for mine */
        void *x = __atomic_exchange_n(&slots[(s >> 8) % SLOTS], mine,
            __ATOMIC_ACQ_REL);
        if (x == NULL)
            continue;
        if (i & 1) {
            void *q = realloc(x, n + 16);   /* another thread's block */
            if (q == NULL)
                die("realloc failed");
            free(q);
        } else {
            free(x);
        }
    }
}

static void
late(void *arg)
{
    uintptr_t v = (uintptr_t)arg;
    churn(v);
    if ((v & 1) == 0)       /* once more, in the next destructor round */
        pthread_setspecific(key, (void *)(v + 1));
}

static void *
body(void *arg)
{
    uintptr_t v = (uintptr_t)arg * 4 + 2;
    pthread_setspecific(key, (void *)v);
    churn(v + 100000);
    return NULL;
}

int
main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 4;
    /* made after the library's key: its destructor runs after the
     * library's in each round */
    if (pthread_key_create(&key, late) != 0)
        die("pthread_key_create failed");
    for (int r = 0; r < rounds; r++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            if (pthread_create(&t[i], NULL, body,
                    (void *)(uintptr_t)(r * THREADS + i + 1)) != 0)
                die("pthread_create failed");
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
    }
    for (int i = 0; i < SLOTS; i++) {
        free(slots[i]);
        slots[i] = NULL;
    }
    printf("live 0\n");
    return 0;
}
