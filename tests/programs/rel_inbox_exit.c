/*
 * rel_inbox_exit.c - for tests/integration/rel_inbox_exit.sh: blocks
 * freed by another thread than the one that made them, and then no hook
 * call of their owner before the report: the frees wait in the owner's
 * inbox (tracer/remote.c) when the report is made.
 *
 *   rel_inbox_exit main|other N DIR
 *
 * main: the main thread makes N blocks of 1000 bytes, a thread frees
 * them all, the main thread joins it and returns (the exit report).
 * other: a thread makes the N blocks, hands them over and then waits on
 * a pipe without allocating; a second thread frees them; the main thread
 * exports DIR/mid.json and DIR/mid-leaks (bin, with the leak classes,
 * made in a copy of the process) through the API, then returns while the
 * owner still waits (the exit report, its leak scan in place).
 * Each block is freed: no report may count one of them live or leaked.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "memscope.h"

static void **blocks;
static long n;
static int hold[2];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int made;

static void
die(const char *what)
{
    fprintf(stderr, "rel_inbox_exit: %s\n", what);
    exit(1);
}

static void __attribute__((noinline))
make_blocks(void)
{
    for (long i = 0; i < n; i++) {
        blocks[i] = malloc(1000);
        if (blocks[i] == NULL)
            die("malloc failed");
        memset(blocks[i], 0x5a, 1000);
    }
}

static void *
owner(void *arg)
{
    (void)arg;
    make_blocks();
    pthread_mutex_lock(&mu);
    made = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    char c;
    while (read(hold[0], &c, 1) < 0)    /* no hook call from here on */
        ;
    return NULL;
}

static void *
freer(void *arg)
{
    (void)arg;
    for (long i = 0; i < n; i++)
        free(blocks[i]);
    return NULL;
}

int
main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "main") && strcmp(argv[1], "other"))) {
        fprintf(stderr, "usage: rel_inbox_exit main|other N DIR\n");
        return 2;
    }
    n = atol(argv[2]);
    const char *dir = argv[3];
    blocks = calloc((size_t)n, sizeof(*blocks));
    if (blocks == NULL || pipe(hold) != 0)
        die("set-up failed");
    pthread_t o, f;
    if (strcmp(argv[1], "main") == 0) {
        make_blocks();
    } else {
        if (pthread_create(&o, NULL, owner, NULL) != 0)
            die("pthread_create failed");
        pthread_mutex_lock(&mu);
        while (!made)
            pthread_cond_wait(&cv, &mu);
        pthread_mutex_unlock(&mu);
    }
    if (pthread_create(&f, NULL, freer, NULL) != 0)
        die("pthread_create failed");
    pthread_join(f, NULL);
    if (strcmp(argv[1], "other") == 0) {
        int (*json)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT,
            "memscope_export_json");
        int (*exp)(const char *, const char *, unsigned) =
            (int (*)(const char *, const char *, unsigned))dlsym(RTLD_DEFAULT,
                "memscope_export");
        if (json == NULL || exp == NULL)
            die("the memscope API is not there (library not preloaded?)");
        char path[4096];
        snprintf(path, sizeof(path), "%s/mid.json", dir);
        if (json(path) != 0)
            die("memscope_export_json failed");
        if (exp(dir, "mid-leaks", MEMSCOPE_FORMAT_JSON | MEMSCOPE_EXPORT_LEAKS) != 0)
            die("memscope_export failed");
    }
    printf("freed %ld\n", n);
    fflush(stdout);
    return 0;       /* the owner thread, if any, still waits */
}
