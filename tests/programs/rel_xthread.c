/*
 * rel_xthread.c - for tests/integration/rel_xthread.sh: a producer thread
 * that only allocates hands BLOCKS blocks through a ring to a consumer
 * thread that frees them (every free is of another thread's block). Once
 * the consumer has freed them all, the producer, still alive and still
 * only allocating, makes 1000 small blocks more (its hooks take the
 * waiting frees back), then writes the JSON report to OUT.json (its
 * tracked blocks must be those 1000, not the freed ones still held for
 * it) and frees its 1000. Prints its own counts: "count allocs N", ...
 *
 *   rel_xthread BLOCKS OUT
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING 256

static void *ring[RING];
static size_t head, tail;       /* consumer's, producer's */
static long blocks;
static int consumed;
static int (*export_json)(const char *path);
static const char *out;

static void
die(const char *what)
{
    fprintf(stderr, "rel_xthread: %s\n", what);
    exit(2);
}

static void *
producer(void *arg)
{
    (void)arg;
    for (long i = 0; i < blocks; i++) {
        size_t n = 16 + (size_t)(i * 7919 % 500);
        unsigned char *b = malloc(n);
        if (b == NULL)
            die("malloc");
        memset(b, (int)(i & 0xff), n);
        b[0] = (unsigned char)n;
        b[1] = (unsigned char)(n >> 8);
        size_t t = tail;
        while (t - __atomic_load_n(&head, __ATOMIC_ACQUIRE) == RING)
            sched_yield();
        ring[t % RING] = b;
        __atomic_store_n(&tail, t + 1, __ATOMIC_RELEASE);
    }
    while (!__atomic_load_n(&consumed, __ATOMIC_ACQUIRE))
        sched_yield();
    static void *more[1000];
    for (int i = 0; i < 1000; i++)
        if ((more[i] = malloc(32)) == NULL)
            die("malloc");
    char path[4096];
    snprintf(path, sizeof(path), "%s.json", out);
    if (export_json(path) != 0)
        die("memscope_export_json failed");
    for (int i = 0; i < 1000; i++)
        free(more[i]);
    return NULL;
}

static void *
consumer(void *arg)
{
    (void)arg;
    for (long i = 0; i < blocks; i++) {
        size_t h = head;
        while (__atomic_load_n(&tail, __ATOMIC_ACQUIRE) == h)
            sched_yield();
        unsigned char *b = ring[h % RING];
        size_t n = b[0] | (size_t)b[1] << 8;
        for (size_t k = 2; k < n; k++)
            if (b[k] != (unsigned char)(i & 0xff))
                die("a block's contents changed before its free");
        free(b);
        __atomic_store_n(&head, h + 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&consumed, 1, __ATOMIC_RELEASE);
    return NULL;
}

int
main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: rel_xthread BLOCKS OUT");
    blocks = atol(argv[1]);
    out = argv[2];
    *(void **)&export_json = dlsym(RTLD_DEFAULT, "memscope_export_json");
    if (export_json == NULL)
        die("not run under the library");
    pthread_t p, c;
    if (pthread_create(&c, NULL, consumer, NULL) != 0 ||
        pthread_create(&p, NULL, producer, NULL) != 0)
        die("pthread_create");
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    printf("count allocs %ld\ncount frees %ld\n", blocks + 1000, blocks + 1000);
    return 0;
}
