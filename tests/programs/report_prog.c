/*
 * report_prog.c - a small, deterministic workload for the markdown and
 * HTML report tests (tests/integration/report_md.sh, report_html.sh).
 *
 * It links nothing of ours: run it with the library preloaded. The API is
 * found with dlsym, so a plain run works too (and names nothing).
 *
 *   main thread, named "main-thread", inside task "request|`root`":
 *     alpha_alloc   8 blocks of 4096 bytes, all kept (leaked)
 *     gamma_temp    16 blocks of 64 bytes, each freed at once (temporaries),
 *                   inside the child task "<script>alert(1)</script>"
 *     named_buffer  one 256-byte block tracked as an owned variable with a
 *                   hostile name, handed to a second owner, leaked
 *   thread "worker-1":
 *     beta_alloc    20 blocks of 1000 bytes, 15 freed: 5 leaked
 *
 * With "scale" as its argument it instead makes 10^4 distinct call stacks
 * (four levels of ten functions) with 10 live blocks each: 10^5 blocks;
 * "scale MS" then holds them MS milliseconds (to measure `memscope top`'s
 * cost per view: docs/performance.md).
 */
#pragma GCC optimize("no-omit-frame-pointer")
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memscope.h"

#define NOINLINE __attribute__((noinline, noclone))

static struct {
    int (*thread_name)(const char *);
    memscope_task_t (*task_begin)(const char *);
    int (*task_end)(memscope_task_t);
    int (*track)(const void *, const char *, const char *, size_t,
        const char *, int, const char *, int);
    int (*transfer)(const void *, const char *);
} api;

static void *kept[64];
static int nkept;

/* Keeps the compiler from eliding an allocation it can see through. */
static void
escape(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

static void
load_api(void)
{
    *(void **)&api.thread_name = dlsym(RTLD_DEFAULT, "memscope_thread_name");
    *(void **)&api.task_begin = dlsym(RTLD_DEFAULT, "memscope_task_begin");
    *(void **)&api.task_end = dlsym(RTLD_DEFAULT, "memscope_task_end");
    *(void **)&api.track = dlsym(RTLD_DEFAULT, "memscope_track_var_");
    *(void **)&api.transfer = dlsym(RTLD_DEFAULT, "memscope_transfer");
}

/* Sleeps on where a signal (a snapshot's) cut the sleep short. */
static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

NOINLINE static void
alpha_alloc(void)
{
    for (int i = 0; i < 8; i++) {
        void *p = malloc(4096);
        memset(p, 1, 4096);
        kept[nkept++] = p;
    }
}

NOINLINE static void
gamma_temp(void)
{
    for (int i = 0; i < 16; i++) {
        void *p = malloc(64);
        escape(p);
        free(p);
    }
}

NOINLINE static void
named_buffer(void)
{
    char *p = malloc(256);
    memset(p, 0, 256);
    kept[nkept++] = p;
    if (api.track) {
        api.track(p, "leaky `buf` | <b>x</b>\n# not a heading", "char *", 1,
            __FILE__, __LINE__, __func__, 1);
        api.transfer(p, "owner_two");
    }
}

NOINLINE static void
beta_alloc(void **out)
{
    for (int i = 0; i < 20; i++) {
        out[i] = malloc(1000);
        memset(out[i], 2, 1000);
    }
}

static void *
worker(void *arg)
{
    (void)arg;
    static void *blocks[20];
    if (api.thread_name)
        api.thread_name("worker-1");
    beta_alloc(blocks);
    for (int i = 5; i < 20; i++)
        free(blocks[i]);
    return NULL;
}

static void
run_small(void)
{
    if (api.thread_name)
        api.thread_name("main-thread");
    memscope_task_t root = api.task_begin ? api.task_begin("request|`root`") : 0;
    alpha_alloc();
    sleep_ms(60);
    memscope_task_t child = api.task_begin ?
        api.task_begin("<script>alert(1)</script>") : 0;
    gamma_temp();
    if (api.task_end)
        api.task_end(child);
    named_buffer();
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    sleep_ms(60);
    if (api.task_end)
        api.task_end(root);
    printf("allocated\n");
}

/* ---- scale: 10^4 distinct stacks ------------------------------------------ */

typedef void level_fn(int level, int code);
static level_fn f0, f1, f2, f3, f4, f5, f6, f7, f8, f9;
static level_fn *const levels[10] = { f0, f1, f2, f3, f4, f5, f6, f7, f8, f9 };
static void **scale_blocks;
static size_t scale_n;

/* Each function holds its own call instructions, so the path through
 * four of them gives each leaf allocation a stack of its own. */
#define LEVEL_FN(k) \
    NOINLINE static void f##k(int level, int code) \
    { \
        if (level == 0) { \
            size_t size = 16 + scale_n / 10 % 97; \
            for (int i = 0; i < 10; i++) \
                scale_blocks[scale_n++] = malloc(size); \
        } else { \
            levels[code % 10](level - 1, code / 10); \
        } \
        escape(scale_blocks); \
    }
LEVEL_FN(0) LEVEL_FN(1) LEVEL_FN(2) LEVEL_FN(3) LEVEL_FN(4)
LEVEL_FN(5) LEVEL_FN(6) LEVEL_FN(7) LEVEL_FN(8) LEVEL_FN(9)

static void
run_scale(void)
{
    scale_blocks = malloc(100000 * sizeof(void *));
    for (int code = 0; code < 10000; code++)
        levels[code % 10](3, code / 10);
    printf("%zu blocks\n", scale_n);
}

int
main(int argc, char **argv)
{
    load_api();
    if (argc > 1 && strcmp(argv[1], "scale") == 0) {
        run_scale();
        fflush(stdout);
        if (argc > 2)
            sleep_ms(atol(argv[2]));
    } else
        run_small();
    return 0;
}
