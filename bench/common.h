/*
 * common.h - what the bench workloads share: argument parsing, a clock,
 * a per-thread random generator and the one result line the driver
 * (bench/run.py) reads.
 *
 * A workload does a fixed amount of work given on its command line and
 * prints, as its last line on stdout:
 *
 *   BENCH pairs=N phase_ns=T cpu_ns=C threads=K
 *
 * pairs: allocating calls (malloc, calloc, realloc, aligned), each later
 * freed or consumed by a realloc; phase_ns: wall time of the measured
 * phase, from the first worker's start (threads are created first and
 * wait behind a barrier) to the last worker's end, each read by the
 * worker itself (the main thread may get the CPU back only after short
 * workers are done); cpu_ns: user + system CPU time of the process from
 * the barrier to the joins. The driver times the whole process too
 * (start-up and the export at exit included).
 */
#ifndef MS_BENCH_COMMON_H
#define MS_BENCH_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline uint64_t
bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The measured phase of a multi-threaded workload: each worker notes its
 * start and end; the phase runs from the first start to the last end. */
typedef struct {
    uint64_t start, end;
} bench_phase_t;

static inline void
bench_phase_start(bench_phase_t *ph)
{
    uint64_t now = bench_now_ns(), cur = __atomic_load_n(&ph->start, __ATOMIC_RELAXED);
    while ((cur == 0 || now < cur) && !__atomic_compare_exchange_n(&ph->start, &cur,
        now, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static inline void
bench_phase_end(bench_phase_t *ph)
{
    uint64_t now = bench_now_ns(), cur = __atomic_load_n(&ph->end, __ATOMIC_RELAXED);
    while (now > cur && !__atomic_compare_exchange_n(&ph->end, &cur, now, 1,
        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static inline uint64_t
bench_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
        (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

/* xorshift64*: cheap, good enough to pick sizes and slots. */
static inline uint64_t
bench_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A positive whole number from argv[i], or def when absent; exits on a
 * bad value. */
static inline long
bench_arg(int argc, char **argv, int i, long def)
{
    if (i >= argc)
        return def;
    char *end;
    errno = 0;
    long v = strtol(argv[i], &end, 10);
    if (errno != 0 || *end != '\0' || v <= 0) {
        fprintf(stderr, "%s: argument %d: '%s' is not a positive number\n",
            argv[0], i, argv[i]);
        exit(2);
    }
    return v;
}

static inline void
bench_die(const char *what)
{
    fprintf(stderr, "bench: %s failed: %s\n", what, strerror(errno));
    exit(1);
}

static inline void
bench_report(uint64_t pairs, uint64_t phase_ns, uint64_t cpu_ns, int threads)
{
    printf("BENCH pairs=%llu phase_ns=%llu cpu_ns=%llu threads=%d\n",
        (unsigned long long)pairs, (unsigned long long)phase_ns,
        (unsigned long long)cpu_ns, threads);
    fflush(stdout);
}

#endif
