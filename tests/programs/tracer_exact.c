/*
 * tracer_exact.c - a known allocation pattern for
 * tests/integration/tracer_exact.sh.
 *
 * Usage: tracer_exact DIR. T worker threads each, between two JSON
 * snapshots the program takes of itself (DIR/before.json, DIR/after.json,
 * through memscope_export_json when the library is preloaded):
 *   - allocate N_LOCAL blocks of LOCAL_SIZE(w) bytes and free them;
 *   - allocate N_CROSS blocks of CROSS_SIZE(w) bytes, which the next
 *     worker frees (cross-thread frees);
 *   - reallocate the first N_REALLOC blocks the previous worker made for it
 *     to REALLOC_SIZE(w) bytes (moving them to this thread), then free all
 *     of that worker's blocks;
 *   - leak K_LEAK blocks of LEAK_SIZE bytes from leaky_function_for_test;
 *   - leave N_ORPHAN blocks of ORPHAN_SIZE bytes that main frees after the
 *     worker has exited.
 * The workers exist before the first snapshot and wait until after the
 * second, and nothing else runs in between, so the difference of the two
 * snapshots is exactly this pattern. Prints what it did; the script
 * computes the expected figures from the same constants (printed too).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T           4
#define N_LOCAL     1000
#define N_CROSS     500
#define K_LEAK      7
#define LOCAL_SIZE(w) (100 + (w))
#define CROSS_SIZE(w) (3000 + (w))
#define LEAK_SIZE   4321
#define N_REALLOC   100
#define REALLOC_SIZE(w) (20000 + (w))
#define N_ORPHAN    50
#define ORPHAN_SIZE 640

static pthread_barrier_t start, mid, done, release;
static void *cross[T][N_CROSS];
static void *leaked[T][K_LEAK];
static void *orphans[T][N_ORPHAN];
static unsigned long sum[T];

__attribute__((noinline)) void
leaky_function_for_test(int w)
{
    for (int i = 0; i < K_LEAK; i++) {
        leaked[w][i] = malloc(LEAK_SIZE);
        memset(leaked[w][i], w, LEAK_SIZE);
    }
}

__attribute__((noinline)) void *
cross_alloc_for_test(int w)
{
    return malloc(CROSS_SIZE(w));
}

__attribute__((noinline)) void *
local_alloc_for_test(int w)
{
    return malloc(LOCAL_SIZE(w));
}

__attribute__((noinline)) void *
realloc_cross_for_test(void *p, int w)
{
    return realloc(p, REALLOC_SIZE(w));
}

__attribute__((noinline)) void *
orphan_alloc_for_test(void)
{
    return malloc(ORPHAN_SIZE);
}

static void *
worker(void *arg)
{
    int w = (int)(long)arg;
    void *local[N_LOCAL];
    pthread_barrier_wait(&start);
    for (int i = 0; i < N_LOCAL; i++) {
        local[i] = local_alloc_for_test(w);
        memset(local[i], i, LOCAL_SIZE(w));
    }
    for (int i = 0; i < N_CROSS; i++) {
        cross[w][i] = cross_alloc_for_test(w);
        memset(cross[w][i], i, 8);
    }
    leaky_function_for_test(w);
    for (int i = 0; i < N_ORPHAN; i++)
        orphans[w][i] = orphan_alloc_for_test();
    for (int i = 0; i < N_LOCAL; i++) {
        sum[w] += ((unsigned char *)local[i])[LOCAL_SIZE(w) - 1];
        free(local[i]);
    }
    pthread_barrier_wait(&mid);
    int prev = (w + T - 1) % T;
    for (int i = 0; i < N_REALLOC; i++) {
        cross[prev][i] = realloc_cross_for_test(cross[prev][i], w);
        ((unsigned char *)cross[prev][i])[REALLOC_SIZE(w) - 1] = 1;
    }
    for (int i = 0; i < N_CROSS; i++) {
        sum[w] += *(unsigned char *)cross[prev][i];
        free(cross[prev][i]);
    }
    pthread_barrier_wait(&done);
    pthread_barrier_wait(&release);
    return NULL;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tracer_exact DIR\n");
        return 2;
    }
    int (*export_json)(const char *) =
        (int (*)(const char *))dlsym(RTLD_DEFAULT, "memscope_export_json");
    char before[4096], after[4096];
    snprintf(before, sizeof(before), "%s/before.json", argv[1]);
    snprintf(after, sizeof(after), "%s/after.json", argv[1]);
    pthread_barrier_init(&start, NULL, T + 1);
    pthread_barrier_init(&mid, NULL, T);
    pthread_barrier_init(&done, NULL, T + 1);
    pthread_barrier_init(&release, NULL, T + 1);
    pthread_t th[T];
    for (long w = 0; w < T; w++)
        if (pthread_create(&th[w], NULL, worker, (void *)w) != 0) {
            perror("pthread_create");
            return 1;
        }
    int rc_before = export_json ? export_json(before) : -1;
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&done);
    int rc_after = export_json ? export_json(after) : -1;
    pthread_barrier_wait(&release);
    for (int w = 0; w < T; w++)
        pthread_join(th[w], NULL);
    for (int w = 0; w < T; w++)
        for (int i = 0; i < N_ORPHAN; i++)
            free(orphans[w][i]);
    unsigned long total = 0;
    for (int w = 0; w < T; w++)
        total += sum[w];
    printf("threads %d local %d cross %d realloc %d leak %d orphan %d checksum %lu\n",
        T, N_LOCAL, N_CROSS, N_REALLOC, K_LEAK, N_ORPHAN, total);
    /* the snapshots' results go to stderr: stdout is the same without
     * the library */
    if (export_json != NULL && (rc_before != 0 || rc_after != 0))
        fprintf(stderr, "memscope_export_json: %d %d\n", rc_before, rc_after);
    return 0;
}
