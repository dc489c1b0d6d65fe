/*
 * ms_workload.c - a deterministic workload for the report tests: named
 * threads, nested tasks, tracked variables with an ownership transfer, a
 * value snapshot, temporaries, a realloc chain, leaks and (only when
 * memscope traces, which catches it) a double free, each from its own call
 * site three frames deep (run it with MEMSCOPE_STACK_DEPTH=3 and every
 * frame is one of ours).
 *
 *   ms_workload run             the work, then exit
 *   ms_workload run-shifted     the same after one allocation from a site of
 *                               its own, so every other site gets another id
 *   ms_workload serve [SECS]    the work, "ready" on stdout, then a 1000-byte
 *                               node a tick (every 5 ms) into a list that is
 *                               never freed, until SIGTERM or SECS (60)
 *
 * It links nothing of memscope: the API is looked up with dlsym, so a run
 * without the library (or with MEMSCOPE_ENABLE=0) works and names nothing.
 * Nothing here writes with stdio, so libc allocates no buffer for it.
 */
#pragma GCC optimize("no-omit-frame-pointer")
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

static struct {
    int (*thread_name)(const char *);
    uint32_t (*task_begin)(const char *);
    int (*task_end)(uint32_t);
    int (*track_var)(const void *, const char *, const char *, size_t,
        const char *, int, const char *, int);
    int (*track_value)(const char *, const char *, const char *,
        const char *, int, const char *);
    int (*transfer)(const void *, const char *);
    int (*is_tracing)(void);
} api;

static volatile sig_atomic_t stop;

static void
load_api(void)
{
    *(void **)&api.thread_name = dlsym(RTLD_DEFAULT, "memscope_thread_name");
    *(void **)&api.task_begin = dlsym(RTLD_DEFAULT, "memscope_task_begin");
    *(void **)&api.task_end = dlsym(RTLD_DEFAULT, "memscope_task_end");
    *(void **)&api.track_var = dlsym(RTLD_DEFAULT, "memscope_track_var_");
    *(void **)&api.track_value = dlsym(RTLD_DEFAULT, "memscope_track_value_");
    *(void **)&api.transfer = dlsym(RTLD_DEFAULT, "memscope_transfer");
    *(void **)&api.is_tracing = dlsym(RTLD_DEFAULT, "memscope_is_tracing");
}

static uint32_t
task_begin(const char *name)
{
    return api.task_begin ? api.task_begin(name) : 0;
}

static void
task_end(uint32_t t)
{
    if (api.task_end && t)
        api.task_end(t);
}

static void
name_thread(const char *name)
{
    if (api.thread_name)
        api.thread_name(name);
}

static void
track(const void *p, const char *name, const char *type, size_t elem,
    int line, int owned)
{
    if (api.track_var)
        api.track_var(p, name, type, elem, "ms_workload.c", line, "workload",
            owned);
}

/* ---- allocation sites, each called from two levels of callers ---------- */

NOINLINE static char *
wl_make_buffer(size_t n, int fill)
{
    char *p = malloc(n);
    memset(p, fill, n);
    return p;
}

NOINLINE static void
wl_scratch(int rounds)
{
    for (int i = 0; i < rounds; i++) {
        char *t = malloc(64);       /* freed before the next allocation */
        memset(t, i, 64);
        free(t);
    }
}

NOINLINE static char *
wl_grow_array(int steps)
{
    char *p = NULL;
    for (int i = 1; i <= steps; i++) {
        p = realloc(p, (size_t)i * 512);
        memset(p, i, (size_t)i * 512);
    }
    return p;
}

NOINLINE static void *
wl_leak(size_t n)
{
    void *p = calloc(1, n);
    return p;
}

static int sampled(void);   /* a heap error memscope catches: exact mode */
NOINLINE static void
wl_double_free(void)
{
    char *p = malloc(48);
    memset(p, 5, 48);
    free(p);
    if (api.is_tracing != NULL && api.is_tracing() && !sampled())
        free(p);
}

struct node {
    struct node *next;
    char payload[1000 - sizeof(void *)];
};

NOINLINE static struct node *
wl_node(struct node *head)
{
    struct node *n = malloc(sizeof(*n));
    memset(n->payload, 7, sizeof(n->payload));
    n->next = head;
    return n;
}

/* ---- phases ------------------------------------------------------------- */

NOINLINE static char *
phase_setup(void)
{
    uint32_t setup = task_begin("setup");
    char *config = wl_make_buffer(2048, 1);
    track(config, "config", "char *", 1, __LINE__, 1);
    uint32_t load = task_begin("load");
    char *table[5];
    for (int i = 0; i < 5; i++)
        table[i] = wl_make_buffer(128, 2);
    track(table[0], "table0", "char *", 1, __LINE__, 0);
    if (api.track_value)
        api.track_value("entries", "int", "5", "ms_workload.c", __LINE__,
            "phase_setup");
    for (int i = 1; i < 5; i++)
        free(table[i]);
    task_end(load);
    task_end(setup);
    return config;
}

NOINLINE static void
worker_job(int id)
{
    uint32_t job = task_begin(id == 1 ? "job-1" : "job-2");
    wl_scratch(10 * id);
    char *keep[3];
    for (int i = 0; i < 3; i++)
        keep[i] = wl_make_buffer(256u * (unsigned)id, 3);
    free(keep[0]);
    free(keep[1]);
    task_end(job);
    (void)keep[2];                  /* leaked on purpose */
}

static void *
wl_worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    name_thread(id == 1 ? "worker-1" : "worker-2");
    worker_job(id);
    return NULL;
}

NOINLINE static void
phase_threads(void)
{
    for (intptr_t id = 1; id <= 2; id++) {
        pthread_t t;
        if (pthread_create(&t, NULL, wl_worker, (void *)id) == 0)
            pthread_join(t, NULL);
    }
}

NOINLINE static void
phase_churn(char *config)
{
    wl_scratch(20);
    char *grown = wl_grow_array(4);
    if (api.transfer)
        api.transfer(config, "cache");
    free(grown);
    wl_leak(4096);
    wl_double_free();
}

NOINLINE static void
phase_early(void)
{
    free(wl_make_buffer(32, 9));
}

static void
on_term(int sig)
{
    (void)sig;
    stop = 1;
}

NOINLINE static void
phase_serve(int secs)
{
    struct node *head = NULL;
    struct timespec tick = { 0, 5 * 1000 * 1000 };
    signal(SIGTERM, on_term);
    if (write(1, "ready\n", 6) != 6)
        return;
    for (long i = 0; !stop && i < (long)secs * 200; i++) {
        head = wl_node(head);
        nanosleep(&tick, NULL);
    }
}

int
main(int argc, char **argv)
{
    static const char use[] = "usage: ms_workload run | run-shifted | "
        "serve [SECS]\n";
    int serve = argc > 1 && strcmp(argv[1], "serve") == 0;
    int shifted = argc > 1 && strcmp(argv[1], "run-shifted") == 0;
    if (argc < 2 || (!serve && !shifted && strcmp(argv[1], "run") != 0)) {
        if (write(2, use, sizeof(use) - 1) < 0)
            return 2;
        return 2;
    }
    load_api();
    name_thread("main");
    if (shifted)
        phase_early();
    char *config = phase_setup();
    phase_threads();
    phase_churn(config);
    if (serve)
        phase_serve(argc > 2 ? atoi(argv[2]) : 60);
    return 0;
}

/*
 * Whether memscope samples (MEMSCOPE_SAMPLE set and not 0). Only exact
 * mode checks every free: sampled mode passes the free of a block it did
 * not sample to jemalloc unchecked (docs/reliability.md), so the second
 * free of wl_double_free would there be a real double free, with whatever
 * jemalloc then does (a crash at exit in about 1 run of 100).
 */
static int
sampled(void)
{
    const char *s = getenv("MEMSCOPE_SAMPLE");
    return s != NULL && s[0] != '\0' && strcmp(s, "0") != 0;
}
