/*
 * complex_multithread_showcase - the many-thread mode: 30 threads, each
 * keeping 1 MiB and making 1000 short-lived temporaries, traced with
 * byte-based sampling. Writes MemoryAnalysis/complex_showcase.*.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memscope.h>

#define THREADS 30

static void *
worker(void *arg)
{
    int id = (int)(long)arg;
    char name[32];
    snprintf(name, sizeof(name), "worker-%02d", id);
    memscope_thread_name(name);

    char *big = malloc(1 << 20);            /* kept until the end */
    memset(big, id, 1 << 20);
    unsigned long check = 0;
    for (int i = 0; i < 1000; i++) {
        size_t n = 16 + (size_t)((i * 37 + id) % 480);
        unsigned char *tmp = malloc(n);     /* a temporary */
        memset(tmp, i & 0xff, n);
        check += tmp[n / 2];
        free(tmp);
    }
    check += (unsigned char)big[12345];
    free(big);
    return (void *)check;
}

int
main(void)
{
    memscope_sampling_config_t cfg = {
        .sample_rate = 0.05, .max_events = 0, .buffer_size = 0 };
    int rc = memscope_configure_sampling(&cfg);
    if (rc != 0)
        fprintf(stderr, "sampling not configured: %s\n", memscope_strerror(rc));
    memscope_trace_all("MemoryAnalysis");
    memscope_enable_auto_export("complex_showcase");

    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    unsigned long total = 0;
    for (int i = 0; i < THREADS; i++) {
        void *r;
        pthread_join(t[i], &r);
        total += (unsigned long)r;
    }
    printf("threads=%d checksum=%lu\n", THREADS, total);
    rc = memscope_export_comprehensive_analysis("MemoryAnalysis",
        "complex_showcase");
    if (rc != 0) {
        fprintf(stderr, "export failed: %s\n", memscope_strerror(rc));
        return 1;
    }
    printf("reports: MemoryAnalysis/complex_showcase.*\n");
    return 0;
}
