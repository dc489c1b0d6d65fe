/*
 * replay_threads.c - short threads that walk stacks and exit, for
 * tests/integration/stack_replay.sh: THREADS threads one after another,
 * each making and freeing BLOCKS blocks of 48 bytes from thread_leaf
 * (under thread_body), and at its exit a pthread_key destructor that makes
 * and frees one block of 80 bytes from key_leaf (run after the library's
 * own exit handler: a block of a thread that has exited).
 *
 * stdout is the same with and without the library.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 200
#define BLOCKS 16

static pthread_key_t key;
static volatile unsigned long total;

static __attribute__((noinline)) void
key_leaf(void)
{
    char *p = malloc(80);
    if (p == NULL)
        abort();
    p[0] = 1;
    total += (unsigned long)p[0];
    free(p);
    __asm__ volatile("" ::: "memory");      /* not a tail call */
}

static void
key_done(void *v)
{
    (void)v;
    key_leaf();
}

static __attribute__((noinline)) void
thread_leaf(int i)
{
    char *v[BLOCKS];
    for (int j = 0; j < BLOCKS; j++) {
        v[j] = malloc(48);
        if (v[j] == NULL)
            abort();
        v[j][0] = (char)(i + j);
    }
    for (int j = 0; j < BLOCKS; j++) {
        total += (unsigned char)v[j][0];
        free(v[j]);
    }
    __asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void *
thread_body(void *arg)
{
    pthread_setspecific(key, (void *)1);
    thread_leaf((int)(long)arg);
    __asm__ volatile("" ::: "memory");
    return NULL;
}

int
main(void)
{
    if (pthread_key_create(&key, key_done) != 0)
        return 1;
    for (long i = 0; i < THREADS; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, thread_body, (void *)i) != 0 ||
            pthread_join(t, NULL) != 0)
            return 1;
    }
    printf("threads %d, blocks %d each\n", THREADS, BLOCKS);
    return 0;
}
