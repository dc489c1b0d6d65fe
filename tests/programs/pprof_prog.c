/*
 * pprof_prog.c - allocation sites of known counts and sizes, named blocks
 * in tasks on a named thread, and two snapshots, for
 * tests/integration/pprof.sh.
 *
 * Usage: pprof_prog exact DIR | pprof_prog sampled
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
    fprintf(stderr, "usage: pprof_prog exact DIR | pprof_prog sampled\n");
    return 2;
}
