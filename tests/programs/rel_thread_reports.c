/*
 * rel_thread_reports.c - for tests/integration/rel_thread_reports.sh:
 * threads start and end without pause while the main thread exports the
 * JSON report, so that threads register while a report lists them.
 *
 *   rel_thread_reports THREADS EXPORTS DIR
 *
 * Two spawners start THREADS threads in all, four at a time; each makes
 * and frees one block (registering with the tracer) and ends. Two more
 * threads make and free a block of 40 bytes, over and over, from one
 * site each (the site's frees change as a report reads it). The main
 * thread exports DIR/r-N.json EXPORTS times while they run, then once
 * more (DIR/end.json) after the last has been joined. Prints "threads N"
 * and "exports N" (those made while threads still started).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int (*export_json)(const char *);
static int total, made, stop;

static void
die(const char *what)
{
    fprintf(stderr, "rel_thread_reports: %s\n", what);
    exit(1);
}

/* One block of n bytes, made, written and freed. */
static void
one_block(size_t n)
{
    volatile char *p = malloc(n);
    if (p == NULL)
        die("malloc failed");
    p[0] = 1;
    free((void *)p);
}

static void *
short_life(void *arg)
{
    one_block(48 + (size_t)arg % 64);
    return NULL;
}

static void *
churn(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
        one_block(40);
    return NULL;
}

static void *
spawner(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        pthread_t th[4];
        int n = 0;
        for (; n < 4; n++) {
            int k = __atomic_fetch_add(&made, 1, __ATOMIC_RELAXED);
            if (k >= total)
                break;
            if (pthread_create(&th[n], NULL, short_life, (void *)(long)k) != 0)
                die("pthread_create failed");
        }
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
        if (n < 4)
            break;
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: rel_thread_reports THREADS EXPORTS DIR\n");
        return 2;
    }
    total = atoi(argv[1]);
    int exports = atoi(argv[2]);
    const char *dir = argv[3];
    *(void **)&export_json = dlsym(RTLD_DEFAULT, "memscope_export_json");
    if (export_json == NULL)
        die("memscope_export_json not found (is the library preloaded?)");
    pthread_t sp[4];
    for (int i = 0; i < 4; i++)
        if (pthread_create(&sp[i], NULL, i < 2 ? spawner : churn, NULL) != 0)
            die("pthread_create failed");
    char path[4096];
    int during = 0;
    for (int i = 0; i < exports; i++) {
        if (__atomic_load_n(&made, __ATOMIC_RELAXED) >= total)
            break;      /* the spawners are done: no more races to see */
        snprintf(path, sizeof(path), "%s/r-%d.json", dir, i);
        int rc = export_json(path);
        if (rc != 0) {
            fprintf(stderr, "rel_thread_reports: memscope_export_json(%s): "
                "%d\n", path, rc);
            return 1;
        }
        during++;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 4; i++)
        pthread_join(sp[i], NULL);
    snprintf(path, sizeof(path), "%s/end.json", dir);
    if (export_json(path) != 0)
        die("memscope_export_json failed");
    int n = __atomic_load_n(&made, __ATOMIC_RELAXED);
    printf("threads %d\nexports %d\n", n < total ? n : total, during);
    return 0;
}
