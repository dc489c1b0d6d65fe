/*
 * pprof_prog.c - allocation sites of known counts and sizes, named blocks
 * in tasks on a named thread, and two snapshots, for
 * tests/integration/pprof.sh.
 *
 * Usage: pprof_prog exact DIR | pprof_prog sampled | pprof_prog tasks K
 *
 * exact: site_small allocates 1000 blocks of 64 bytes and frees 600;
 * site_big 10 of 100000, all live. On a thread named "loader", inside
 * task "load" and its child "parse", site_token allocates 20 blocks of
 * 512 bytes, each named "tok". In task "index" on the main thread,
 * site_entry allocates 30 of 256, each named "entry". Then it writes
 * DIR/snap1.{bin,json,pb.gz}; site_grow allocates 50 blocks of 2000
 * bytes; then DIR/snap2.*. Everything but site_small's live blocks stays
 * live to the end.
 *
 * sampled: site_many allocates 200000 blocks of 256 bytes and frees every
 * other one; site_few 100 of 65536, all live.
 *
 * tasks: one site, site_shared, on two threads named "w1" and "w2", each
 * in task "alpha" then in task "beta" (K times the counts): w1 allocates
 * 10 blocks of 1000 bytes in alpha and frees 5 of them, then 20 of 300 in
 * beta; w2 allocates 5 of 7000 in alpha (the first named "big"), then 40
 * of 50 in beta; after both have ended, the main thread frees 10 of w2's
 * beta blocks and allocates 3 of 111 there, outside any task. So alpha
 * allocated 45000 bytes and holds 40000; beta 8000 and 7500; w1 16000 and
 * 11000; w2 37000 and 36500 (K times each).
 *
 * The API is declared weak: the program links nothing of ours and runs
 * preloaded.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memscope.h>

#pragma weak memscope_track_var_
#pragma weak memscope_export
#pragma weak memscope_task_begin
#pragma weak memscope_task_end
#pragma weak memscope_thread_name

static volatile uintptr_t sink;

#define SITE(name) static __attribute__((noinline)) void * \
    name(size_t n) { void *p = malloc(n); sink += (uintptr_t)p; return p; }
SITE(site_small)
SITE(site_big)
SITE(site_token)
SITE(site_entry)
SITE(site_grow)
SITE(site_many)
SITE(site_few)
SITE(site_shared)

/* tasks mode: what each worker does, and the blocks main frees */
typedef struct {
    const char *name;
    long k;
    long n_alpha, n_beta;
    size_t sz_alpha, sz_beta;
    long free_alpha;
    const char *var;        /* names the first alpha block, or NULL */
    void **beta;            /* its beta blocks, for main */
} worker_t;

static void *
worker(void *arg)
{
    worker_t *w = arg;
    memscope_thread_name(w->name);
    long na = w->n_alpha * w->k, nb = w->n_beta * w->k;
    void **a = malloc((size_t)na * sizeof(*a));
    w->beta = malloc((size_t)nb * sizeof(*w->beta));
    if (a == NULL || w->beta == NULL)
        abort();
    memscope_task_t t = memscope_task_begin("alpha");
    for (long i = 0; i < na; i++)
        a[i] = site_shared(w->sz_alpha);
    if (w->var != NULL) {
        char *big = a[0];
        if (MEMSCOPE_TRACK_VAR(big) != 0)
            abort();
    }
    for (long i = 0; i < w->free_alpha * w->k; i++)
        free(a[i + (w->var != NULL)]);
    memscope_task_end(t);
    t = memscope_task_begin("beta");
    for (long i = 0; i < nb; i++)
        w->beta[i] = site_shared(w->sz_beta);
    memscope_task_end(t);
    free(a);
    return NULL;
}

static int
tasks(long k)
{
    worker_t w[2] = {
        { "w1", k, 10, 20, 1000, 300, 5, NULL, NULL },
        { "w2", k, 5, 40, 7000, 50, 0, "big", NULL },
    };
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, worker, &w[i]) != 0)
            return 1;
    for (int i = 0; i < 2; i++)
        if (pthread_join(t[i], NULL) != 0)
            return 1;
    for (long i = 0; i < 10 * k; i++)
        free(w[1].beta[i]);     /* another thread's blocks */
    for (long i = 0; i < 3 * k; i++)
        site_shared(111);
    printf("tasks: done\n");
    return 0;
}

static void *
loader(void *arg)
{
    (void)arg;
    memscope_thread_name("loader");
    memscope_task_t load = memscope_task_begin("load");
    memscope_task_t parse = memscope_task_begin("parse");
    for (int i = 0; i < 20; i++) {
        char *tok = site_token(512);
        memset(tok, 1, 512);
        if (MEMSCOPE_TRACK_VAR(tok) != 0)
            abort();
    }
    memscope_task_end(parse);
    memscope_task_end(load);
    return NULL;
}

static int
exact(const char *dir)
{
    void *small[1000];
    for (int i = 0; i < 1000; i++)
        small[i] = site_small(64);
    for (int i = 0; i < 600; i++)
        free(small[i]);
    for (int i = 0; i < 10; i++)
        site_big(100000);
    pthread_t t;
    if (pthread_create(&t, NULL, loader, NULL) != 0 ||
        pthread_join(t, NULL) != 0)
        return 1;
    MEMSCOPE_TASK_SCOPE("index") {
        for (int i = 0; i < 30; i++) {
            char *entry = site_entry(256);
            if (MEMSCOPE_TRACK_VAR(entry) != 0)
                abort();
        }
    }
    unsigned f = MEMSCOPE_FORMAT_BIN | MEMSCOPE_FORMAT_JSON |
        MEMSCOPE_FORMAT_PPROF;
    if (memscope_export(dir, "snap1", f) != 0)
        return 1;
    for (int i = 0; i < 50; i++)
        site_grow(2000);
    if (memscope_export(dir, "snap2", f) != 0)
        return 1;
    for (int i = 600; i < 1000; i++)
        free(small[i]);
    printf("exact: done\n");
    return 0;
}

static int
sampled(void)
{
    for (int i = 0; i < 200000; i++) {
        void *p = site_many(256);
        if (i % 2 == 0)
            free(p);
    }
    for (int i = 0; i < 100; i++)
        site_few(65536);
    printf("sampled: done\n");
    return 0;
}

int
main(int argc, char **argv)
{
    if (memscope_export == NULL) {
        fprintf(stderr, "pprof_prog: run it with libmemscope_malloc.so preloaded\n");
        return 2;
    }
    if (argc == 3 && strcmp(argv[1], "exact") == 0)
        return exact(argv[2]);
    if (argc == 2 && strcmp(argv[1], "sampled") == 0)
        return sampled();
    if (argc == 3 && strcmp(argv[1], "tasks") == 0 && atol(argv[2]) > 0)
        return tasks(atol(argv[2]));
    fprintf(stderr, "usage: pprof_prog exact DIR | pprof_prog sampled | "
        "pprof_prog tasks K\n");
    return 2;
}
