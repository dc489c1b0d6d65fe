/*
 * tracer_signals.c - 8 threads allocate while snapshot signals arrive, for
 * tests/integration/tracer_signals.sh.
 *
 * Usage: tracer_signals READY_FILE < CONTROL. Once its threads run, the
 * program creates READY_FILE; the threads repeat a fixed round of work
 * (allocate, fill, realloc, check, free) until stdin reaches end of file
 * and each has done at least MIN_ROUNDS rounds. Every round of a thread
 * must give the same checksum (memory moved under it would change it);
 * the program prints the checksum of the threads' rounds, which is the
 * same however many rounds ran and with or without the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS     8
#define BLOCKS      2000
#define MIN_ROUNDS  3

static int stop;
static uint64_t round_sum[THREADS];
static int mismatch[THREADS];
static long rounds[THREADS];

static uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One round: the same blocks and contents every time for thread w. */
static uint64_t
one_round(int w)
{
    static __thread unsigned char *blocks[BLOCKS];
    static __thread size_t sizes[BLOCKS];
    uint64_t rng = 0x9e3779b97f4a7c15ULL * (uint64_t)(w + 1), sum = 0;
    for (int i = 0; i < BLOCKS; i++) {
        size_t n = 8 + rng_next(&rng) % 4089;
        blocks[i] = malloc(n);
        sizes[i] = n;
        memset(blocks[i], (int)(i + w), n);
    }
    for (int i = 0; i < BLOCKS; i += 3) {
        size_t n = sizes[i] * 2 + 1;
        unsigned char *p = realloc(blocks[i], n);
        memset(p + sizes[i], 0x5a, n - sizes[i]);
        blocks[i] = p;
        sizes[i] = n;
    }
    for (int i = 0; i < BLOCKS; i++) {
        for (size_t k = 0; k < sizes[i]; k += 61)
            sum = sum * 31 + blocks[i][k];
        sum += blocks[i][sizes[i] - 1];
        free(blocks[i]);
    }
    return sum;
}

static void *
worker(void *arg)
{
    int w = (int)(long)arg;
    round_sum[w] = one_round(w);
    rounds[w] = 1;
    while (rounds[w] < MIN_ROUNDS || !__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        if (one_round(w) != round_sum[w])
            mismatch[w] = 1;
        rounds[w]++;
    }
    return NULL;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tracer_signals READY_FILE < CONTROL\n");
        return 2;
    }
    pthread_t th[THREADS];
    for (long w = 0; w < THREADS; w++)
        if (pthread_create(&th[w], NULL, worker, (void *)w) != 0) {
            perror("pthread_create");
            return 1;
        }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(argv[1]);
        return 1;
    }
    close(fd);
    char buf[256];
    for (;;) {
        ssize_t n = read(0, buf, sizeof(buf));
        if (n == 0 || (n < 0 && errno != EINTR))
            break;
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    uint64_t total = 0;
    int bad = 0;
    for (int w = 0; w < THREADS; w++) {
        pthread_join(th[w], NULL);
        total = total * 1000003 + round_sum[w];
        bad |= mismatch[w];
    }
    printf("threads %d checksum %016llx%s\n", THREADS, (unsigned long long)total,
        bad ? " MISMATCH between rounds" : "");
    return bad;
}
