/*
 * rel_owner_lookup.c - for tests/integration/rel_owner_lookup.sh: frees of
 * blocks whose owners ended, after many other threads came and went.
 *
 *   rel_owner_lookup PRODUCERS BLOCKS SHORT
 *
 * PRODUCERS threads each make BLOCKS blocks and end holding them; then
 * SHORT threads each make and free a block and end; one more thread's key
 * destructor (run after the library's: its thread has ended for the
 * tracer) makes a block and leaves it; then SHORT threads more. The main
 * thread then frees every block left, the producers' in turn (one of
 * each), and the destructor's last. Each producer names itself
 * "ms-producer" once it has made its first block (its name when it ends).
 * Prints "freed N".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long nblocks;
static void *volatile sink;
static void *late_block;
static pthread_key_t key;

static void
die(const char *what)
{
    fprintf(stderr, "rel_owner_lookup: %s\n", what);
    exit(1);
}

static void *
producer(void *arg)
{
    void **v = arg;
    for (long i = 0; i < nblocks; i++) {
        if ((v[i] = malloc(16 + (size_t)(i % 200))) == NULL)
            die("malloc failed");
        if (i == 0 && pthread_setname_np(pthread_self(), "ms-producer") != 0)
            die("pthread_setname_np failed");
    }
    return NULL;
}

static void *
short_one(void *arg)
{
    sink = malloc(32);
    free(sink);
    return arg;
}

static void
late(void *arg)
{
    (void)arg;
    if ((late_block = malloc(40)) == NULL)
        die("malloc failed");
}

static void *
with_late(void *arg)
{
    sink = malloc(24);      /* the library's key is made first: ours runs after */
    free(sink);
    if (pthread_setspecific(key, (void *)1) != 0)
        die("pthread_setspecific failed");
    return arg;
}

static void
run(void *(*f)(void *), void *arg)
{
    pthread_t t;
    if (pthread_create(&t, NULL, f, arg) != 0 || pthread_join(t, NULL) != 0)
        die("pthread_create failed");
}

int
main(int argc, char **argv)
{
    if (argc != 4)
        die("usage: rel_owner_lookup PRODUCERS BLOCKS SHORT");
    int np = atoi(argv[1]), nshort = atoi(argv[3]);
    nblocks = atol(argv[2]);
    if (np < 1 || nblocks < 1 || nshort < 0)
        die("bad arguments");
    if (pthread_key_create(&key, late) != 0)
        die("pthread_key_create failed");
    void ***v = calloc((size_t)np, sizeof(*v));
    pthread_t *tp = calloc((size_t)np, sizeof(*tp));
    if (v == NULL || tp == NULL)
        die("calloc failed");
    for (int i = 0; i < np; i++) {
        if ((v[i] = calloc((size_t)nblocks, sizeof(void *))) == NULL ||
            pthread_create(&tp[i], NULL, producer, v[i]) != 0)
            die("producer");
    }
    for (int i = 0; i < np; i++)
        pthread_join(tp[i], NULL);
    for (int i = 0; i < nshort; i++)
        run(short_one, NULL);
    run(with_late, NULL);
    if (late_block == NULL)
        die("the key destructor did not run");
    for (int i = 0; i < nshort; i++)
        run(short_one, NULL);
    long n = 0;
    for (long k = 0; k < nblocks; k++)
        for (int i = 0; i < np; i++, n++)
            free(v[i][k]);
    free(late_block);
    n++;
    for (int i = 0; i < np; i++)
        free(v[i]);
    free(v);
    free(tp);
    printf("freed %ld\n", n);
    return 0;
}
