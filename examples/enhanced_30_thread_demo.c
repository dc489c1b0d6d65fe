/*
 * enhanced_30_thread_demo - all three views at once: 30 threads take 100
 * tasks from a shared queue; each task allocates named variables; the
 * report shows threads, tasks and variables together. Writes
 * MemoryAnalysis/hybrid.*.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memscope.h>

#define THREADS 30
#define TASKS 100

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int next_task;
static unsigned long results[TASKS];

static unsigned long
run_task(int n)
{
    double *matrix = malloc(sizeof(double) * 32 * 32);
    MEMSCOPE_TRACK_VAR(matrix);
    for (int i = 0; i < 32 * 32; i++)
        matrix[i] = (i % 7) * (n + 1);
    char *label = malloc(64);
    MEMSCOPE_TRACK_VAR(label);
    snprintf(label, 64, "task-%d-result", n);
    unsigned long r = (unsigned long)matrix[n % (32 * 32)] + strlen(label);
    if (n % 25 == 0) {
        int *kept = malloc(128 * sizeof(int));  /* kept on purpose: a leak */
        MEMSCOPE_TRACK_VAR(kept);
        kept[0] = n;
    }
    free(label);
    free(matrix);
    return r;
}

static void *
worker(void *arg)
{
    char name[32];
    snprintf(name, sizeof(name), "pool-%02ld", (long)arg);
    memscope_thread_name(name);
    for (;;) {
        pthread_mutex_lock(&mu);
        int n = next_task < TASKS ? next_task++ : -1;
        pthread_mutex_unlock(&mu);
        if (n < 0)
            return NULL;
        char tname[32];
        snprintf(tname, sizeof(tname), "job-%03d", n);
        MEMSCOPE_TASK_SCOPE(tname) {
            results[n] = run_task(n);
        }
    }
}

int
main(void)
{
    memscope_trace_all("MemoryAnalysis");
    memscope_enable_auto_export("hybrid");
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    unsigned long sum = 0;
    for (int i = 0; i < TASKS; i++)
        sum += results[i];
    printf("tasks=%d threads=%d checksum=%lu\n", TASKS, THREADS, sum);
    printf("reports: MemoryAnalysis/hybrid.*\n");
    return 0;
}
