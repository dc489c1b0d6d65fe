/*
 * test_threads.c - the allocator under many threads and across fork().
 *
 * test_cross_thread_free: 64 threads hand blocks to each other through a
 * table of slots, so most blocks are freed (or reallocated) by a thread
 * other than the one that allocated them. Every block carries a pattern
 * derived from its address and size, checked before it is released.
 *
 * test_fork_while_allocating: 8 threads allocate without pause while the
 * main thread forks 50 times; each child must still be able to allocate,
 * so the engine's locks have to be in a sane state after fork.
 */
#include <check.h>

#include "two_passes.h"
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- blocks that check themselves ---------------------------------------- */

static inline uint64_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* The 8-byte word at index i of block p of n bytes. */
static inline uint64_t
word_at(const void *p, size_t n, size_t i)
{
    return mix((uint64_t)(uintptr_t)p ^ ((uint64_t)n << 40)) + i * 0x9e3779b97f4a7c15ULL;
}

/* Fills the first n bytes of p with the pattern of (p, n). */
static void
pattern_write(void *p, size_t n)
{
    size_t words = n / 8;
    unsigned char *b = p;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = word_at(p, n, i);
        memcpy(b + i * 8, &w, 8);
    }
    uint64_t tail = word_at(p, n, words);
    memcpy(b + words * 8, &tail, n % 8);
}

/* Returns the first byte of p (n bytes) off its pattern, or n. */
static size_t
pattern_check(const void *p, size_t n)
{
    size_t words = n / 8;
    const unsigned char *b = p;
    for (size_t i = 0; i < words; i++) {
        uint64_t w = word_at(p, n, i), got;
        memcpy(&got, b + i * 8, 8);
        if (got != w)
            return i * 8;
    }
    uint64_t tail = word_at(p, n, words);
    if (memcmp(b + words * 8, &tail, n % 8) != 0)
        return words * 8;
    return n;
}

/* Returns the first byte of the pattern of (p, n) that q does not hold
 * in its first m bytes (a block moved by realloc), or m. */
static size_t
pattern_check_moved(const void *q, size_t m, const void *p, size_t n)
{
    const unsigned char *b = q;
    for (size_t i = 0; i < m; i++) {
        uint64_t w = word_at(p, n, i / 8);
        if (b[i] != ((const unsigned char *)&w)[i % 8])
            return i;
    }
    return m;
}

static inline uint64_t
rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Mostly small blocks, some medium, a few up to 1 MiB. */
static size_t
random_size(uint64_t *rng)
{
    uint64_t r = rng_next(rng), pick = r % 100;
    r >>= 8;
    if (pick < 80)
        return 8 + r % 249;                     /* 8 .. 256 */
    if (pick < 97)
        return 257 + r % (65536 - 257);         /* .. 64 KiB */
    return 65536 + r % ((1 << 20) - 65536 + 1); /* .. 1 MiB */
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- 64 threads freeing each other's blocks ------------------------------- */

enum { N_THREADS = 64, N_SLOTS = 2048 };

typedef struct {
    pthread_mutex_t mu;
    void *p;
    size_t n;
    int owner;          /* thread that allocated p */
} slot_t;

static slot_t slots[N_SLOTS];
static atomic_int stop_flag;
static atomic_long mismatches, ops, cross_frees, alloc_failures;
static char first_error[256];
static atomic_flag first_error_taken = ATOMIC_FLAG_INIT;

static void
report(const char *what, const void *p, size_t n, size_t off)
{
    atomic_fetch_add(&mismatches, 1);
    if (!atomic_flag_test_and_set(&first_error_taken))
        snprintf(first_error, sizeof(first_error),
            "%s: block %p of %zu bytes differs at byte %zu", what, p, n, off);
}

/* Verifies a block taken out of a slot, then frees or reallocates it. */
static void
release(void *p, size_t n, int owner, int me, uint64_t *rng)
{
    size_t off = pattern_check(p, n);
    if (off != n) {
        report("handed-over block", p, n, off);
        return;     /* leak it: its memory is not to be trusted */
    }
    if (owner != me)
        atomic_fetch_add(&cross_frees, 1);
    if (rng_next(rng) % 8 == 0) {
        /* realloc in another thread than the allocating one */
        size_t m = random_size(rng);
        void *q = realloc(p, m);
        if (q == NULL) {
            atomic_fetch_add(&alloc_failures, 1);
            free(p);
            return;
        }
        size_t keep = m < n ? m : n;
        off = pattern_check_moved(q, keep, p, n);
        if (off != keep)
            report("realloc'd block", q, m, off);
        pattern_write(q, m);
        off = pattern_check(q, m);
        if (off != m)
            report("rewritten block", q, m, off);
        free(q);
        return;
    }
    free(p);
}

static void *
exchange_worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    uint64_t rng = mix((uint64_t)me + 1) | 1;
    long my_ops = 0;
    while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
        size_t n = random_size(&rng);
        void *p;
        switch (rng_next(&rng) % 16) {
        case 0: p = calloc(1, n); break;
        case 1: p = aligned_alloc(64, n); break;
        default: p = malloc(n); break;
        }
        if (p == NULL) {
            atomic_fetch_add(&alloc_failures, 1);
            continue;
        }
        if (malloc_usable_size(p) < n)
            report("usable size too small", p, n, malloc_usable_size(p));
        pattern_write(p, n);

        slot_t *s = &slots[rng_next(&rng) % N_SLOTS];
        pthread_mutex_lock(&s->mu);
        void *old = s->p;
        size_t old_n = s->n;
        int old_owner = s->owner;
        s->p = p;
        s->n = n;
        s->owner = me;
        pthread_mutex_unlock(&s->mu);

        if (old != NULL)
            release(old, old_n, old_owner, me, &rng);
        my_ops++;
    }
    atomic_fetch_add(&ops, my_ops);
    return NULL;
}

START_TEST(test_cross_thread_free)
{
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_SLOTS; i++)
        pthread_mutex_init(&slots[i].mu, NULL);
    for (int i = 0; i < N_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, exchange_worker,
            (void *)(intptr_t)i), 0);
    struct timespec run = { 3, 0 };
    nanosleep(&run, NULL);
    atomic_store(&stop_flag, 1);
    for (int i = 0; i < N_THREADS; i++)
        pthread_join(th[i], NULL);

    /* What is left in the slots is checked and freed here. */
    uint64_t rng = 42;
    int left = 0;
    for (int i = 0; i < N_SLOTS; i++) {
        if (slots[i].p != NULL) {
            release(slots[i].p, slots[i].n, slots[i].owner, -1, &rng);
            slots[i].p = NULL;
            left++;
        }
    }
    fprintf(stderr, "threads: %ld blocks, %ld freed by another thread, "
        "%d left in slots\n", atomic_load(&ops), atomic_load(&cross_frees),
        left);
    ck_assert_msg(atomic_load(&mismatches) == 0, "%ld corrupt blocks; "
        "first: %s", atomic_load(&mismatches), first_error);
    ck_assert_msg(atomic_load(&alloc_failures) == 0, "%ld allocations "
        "failed", atomic_load(&alloc_failures));
    ck_assert_msg(atomic_load(&ops) >= 10000, "only %ld operations in 3 s",
        atomic_load(&ops));
    ck_assert_msg(atomic_load(&cross_frees) >= 1000, "only %ld blocks "
        "freed by another thread", atomic_load(&cross_frees));
}
END_TEST

/* --- fork while other threads allocate ------------------------------------ */

enum { N_BUSY = 8, N_FORKS = 50, CHILD_LIVE = 256, CHILD_ALLOCS = 3000 };

static atomic_int busy_stop;
static atomic_long busy_ops, busy_bad;

/* Allocates and frees without pause, keeping a ring of live blocks. */
static void *
busy_worker(void *arg)
{
    uint64_t rng = mix((uint64_t)(intptr_t)arg + 100) | 1;
    enum { RING = 64 };
    void *ring[RING] = { 0 };
    size_t ring_n[RING] = { 0 };
    long n_ops = 0;
    while (!atomic_load_explicit(&busy_stop, memory_order_relaxed)) {
        int k = (int)(rng_next(&rng) % RING);
        if (ring[k] != NULL) {
            if (pattern_check(ring[k], ring_n[k]) != ring_n[k])
                atomic_fetch_add(&busy_bad, 1);
            free(ring[k]);
        }
        size_t n = rng_next(&rng) % 4 == 0 ? random_size(&rng)
                                            : 8 + rng_next(&rng) % 512;
        ring[k] = malloc(n);
        ring_n[k] = n;
        if (ring[k] == NULL)
            atomic_fetch_add(&busy_bad, 1);
        else
            pattern_write(ring[k], n);
        n_ops++;
    }
    for (int k = 0; k < RING; k++)
        free(ring[k]);
    atomic_fetch_add(&busy_ops, n_ops);
    return NULL;
}

/* What a child of the fork does; returns its exit status. */
static int
child_work(uint64_t seed)
{
    uint64_t rng = mix(seed) | 1;
    void *live[CHILD_LIVE] = { 0 };
    size_t live_n[CHILD_LIVE] = { 0 };
    for (int i = 0; i < CHILD_ALLOCS; i++) {
        int k = (int)(rng_next(&rng) % CHILD_LIVE);
        if (live[k] != NULL) {
            if (pattern_check(live[k], live_n[k]) != live_n[k])
                return 2;
            free(live[k]);
        }
        size_t n = rng_next(&rng) % 8 == 0 ? random_size(&rng)
                                            : 1 + rng_next(&rng) % 1024;
        void *p;
        switch (i % 4) {
        case 0:
            p = calloc(n, 1);
            if (p != NULL)
                for (size_t j = 0; j < n; j++)
                    if (((unsigned char *)p)[j] != 0)
                        return 3;
            break;
        case 1: p = memalign(256, n); break;
        default: p = malloc(n); break;
        }
        if (p == NULL)
            return 4;
        pattern_write(p, n);
        live[k] = p;
        live_n[k] = n;
    }
    for (int k = 0; k < CHILD_LIVE; k++) {
        if (live[k] != NULL && pattern_check(live[k], live_n[k]) != live_n[k])
            return 5;
        free(live[k]);
    }
    return 0;
}

static void *
child_thread(void *arg)
{
    return (void *)(intptr_t)child_work((uint64_t)(intptr_t)arg);
}

/* Some children also start threads of their own after the fork. */
static int
child_main(int i)
{
    int rc = child_work((uint64_t)i * 7919);
    if (rc != 0 || i % 5 != 0)
        return rc;
    pthread_t t[2];
    for (int k = 0; k < 2; k++)
        if (pthread_create(&t[k], NULL, child_thread,
                (void *)(intptr_t)(i * 10 + k)) != 0)
            return 6;
    for (int k = 0; k < 2; k++) {
        void *r;
        pthread_join(t[k], &r);
        if (r != NULL)
            return (int)(intptr_t)r;
    }
    return 0;
}

/* Waits for pid up to limit seconds; returns its wait status, or -1 after
 * killing it when it did not end in time. */
static int
wait_with_timeout(pid_t pid, double limit)
{
    double end = now_s() + limit;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0 && errno != EINTR)
            return -2;
        if (now_s() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            return -1;
        }
        struct timespec nap = { 0, 2 * 1000 * 1000 };
        nanosleep(&nap, NULL);
    }
}

START_TEST(test_fork_while_allocating)
{
    pthread_t th[N_BUSY];
    for (int i = 0; i < N_BUSY; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, busy_worker,
            (void *)(intptr_t)i), 0);

    char why[256] = "";
    int bad = 0;
    for (int i = 0; i < N_FORKS; i++) {
        pid_t pid = fork();
        ck_assert_msg(pid >= 0, "fork failed: %s", strerror(errno));
        if (pid == 0)
            _exit(child_main(i));
        int st = wait_with_timeout(pid, 20.0);
        if (st == 0)
            continue;
        if (bad++ == 0) {
            if (st == -1)
                snprintf(why, sizeof(why), "child %d hung (killed after "
                    "20 s): a lock held across fork?", i);
            else if (st == -2)
                snprintf(why, sizeof(why), "waitpid for child %d failed", i);
            else if (WIFSIGNALED(st))
                snprintf(why, sizeof(why), "child %d died of signal %d", i,
                    WTERMSIG(st));
            else
                snprintf(why, sizeof(why), "child %d exited %d (2/5 corrupt "
                    "block, 3 calloc not zero, 4 out of memory, 6 no thread)",
                    i, WEXITSTATUS(st));
        }
    }

    atomic_store(&busy_stop, 1);
    for (int i = 0; i < N_BUSY; i++)
        pthread_join(th[i], NULL);
    fprintf(stderr, "fork: %d forks, %ld allocations by the busy threads\n",
        N_FORKS, atomic_load(&busy_ops));
    ck_assert_msg(bad == 0, "%d of %d children failed; first: %s", bad,
        N_FORKS, why);
    ck_assert_msg(atomic_load(&busy_bad) == 0, "%ld corrupt or failed "
        "blocks in the parent's threads", atomic_load(&busy_bad));
    ck_assert_msg(atomic_load(&busy_ops) > 0, "the busy threads never ran");
}
END_TEST

static Suite *
threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cross_thread_free);
    tcase_add_test(tc, test_fork_while_allocating);
    suite_add_tcase(s, tc);
    return s;
}

MS_TWO_PASS_MAIN("threads", threads_suite)
