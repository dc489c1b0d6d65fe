/*
 * rel_exit.c - ways a traced process ends, for tests/integration/rel_exit.sh
 * (and a plain workload for the option, file and fork tests).
 *
 *   rel_exit work [STATUS]   allocate, print a checksum, exit STATUS
 *   rel_exit exit            exit() while 8 threads allocate
 *   rel_exit exit_thread     a worker thread calls exit() while 7 allocate
 *   rel_exit _exit           _exit(7) while 8 threads allocate
 *   rel_exit abort           abort() while 8 threads allocate
 *   rel_exit keys            pthread_key destructors that allocate and free
 *                            (two rounds), blocks they leave freed by main
 *   rel_exit atexit          atexit handlers that allocate, registered
 *                            after start-up (one registers another)
 *
 * stdout is the same with and without the library; anything unexpected
 * goes to stderr with a non-zero status.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int stop;

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static uint64_t
work(void)
{
    uint64_t sum = 0, s = 42;
    char *keep[256] = { 0 };
    for (int i = 0; i < 200000; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned k = (unsigned)(s >> 33) % 256;
        size_t n = 1 + (size_t)(s >> 40) % 3000;
        if (keep[k] != NULL && (s & 1)) {
            char *q = realloc(keep[k], n);
            if (q == NULL)
                abort();
            keep[k] = q;
        } else {
            free(keep[k]);
            keep[k] = malloc(n);
            if (keep[k] == NULL)
                abort();
        }
        memset(keep[k], (int)(s & 0xff), n);
        sum += (unsigned char)keep[k][n - 1] + n;
    }
    for (int k = 0; k < 256; k++)
        free(keep[k]);
    return sum;
}

static void *
churn(void *arg)
{
    uint64_t s = (uintptr_t)arg;
    static void *shared[256];
    void *mine[16] = { 0 };
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned i = (unsigned)(s >> 40) % 16;
        if (s & 0x100) {
            free(mine[i]);
            mine[i] = malloc(8 + (s >> 50) % 4000);
        } else {
            mine[i] = __atomic_exchange_n(&shared[(s >> 20) % 256], mine[i],
                __ATOMIC_ACQ_REL);
        }
    }
    return NULL;
}

static void *
exiter(void *arg)
{
    (void)arg;
    sleep_ms(150);
    printf("exit from a thread\n");
    fflush(stdout);
    exit(0);
}

static void
start_churn(int n)
{
    pthread_t t;
    for (int i = 0; i < n; i++)
        if (pthread_create(&t, NULL, churn, (void *)(uintptr_t)(i * 7919 + 1)) != 0)
            abort();
    sleep_ms(150);
}

/* ---- pthread_key destructors ------------------------------------------ */

static pthread_key_t key;
static pthread_mutex_t left_mu = PTHREAD_MUTEX_INITIALIZER;
static void *left[64];
static int nleft, rounds;

static void
key_dtor(void *v)
{
    /* allocate and free at thread exit, and leave a block for main */
    char *s = malloc(100);
    char *t = realloc(s, 5000);
    if (t == NULL)
        abort();
    free(v);
    pthread_mutex_lock(&left_mu);
    if (nleft < 64)
        left[nleft++] = t;
    else
        free(t);
    rounds++;
    pthread_mutex_unlock(&left_mu);
    /* a second round: a value set inside a destructor is destroyed again */
    static __thread int again;
    if (!again++)
        pthread_setspecific(key, malloc(10));
}

static void *
key_thread(void *arg)
{
    (void)arg;
    pthread_setspecific(key, malloc(64));
    for (int i = 0; i < 1000; i++)
        free(malloc(50));
    return NULL;
}

/* ---- atexit handlers ---------------------------------------------------- */

static char *kept_for_exit;

static void
late_late(void)
{
    char *p = malloc(4096);
    memset(p, 1, 4096);
    free(p);
    printf("atexit handler registered during exit ran\n");
}

static void
late(void)
{
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = malloc(32 * (size_t)(i + 1));
    for (int i = 0; i < 100; i++)
        free(p[i]);
    free(kept_for_exit);
    atexit(late_late);
    printf("atexit handler registered in main ran\n");
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "work";
    if (strcmp(mode, "work") == 0) {
        printf("work sum=%llu\n", (unsigned long long)work());
        return argc > 2 ? atoi(argv[2]) : 0;
    }
    if (strcmp(mode, "exit") == 0) {
        start_churn(8);
        printf("exit while threads allocate\n");
        exit(0);
    }
    if (strcmp(mode, "exit_thread") == 0) {
        pthread_t t;
        start_churn(7);
        pthread_create(&t, NULL, exiter, NULL);
        for (;;)
            free(malloc(100));
    }
    if (strcmp(mode, "_exit") == 0) {
        start_churn(8);
        printf("_exit while threads allocate\n");
        fflush(stdout);
        _exit(7);
    }
    if (strcmp(mode, "abort") == 0) {
        start_churn(8);
        printf("abort while threads allocate\n");
        fflush(stdout);
        abort();
    }
    if (strcmp(mode, "keys") == 0) {
        pthread_t t[8];
        if (pthread_key_create(&key, key_dtor) != 0)
            return 3;
        for (int i = 0; i < 8; i++)
            pthread_create(&t[i], NULL, key_thread, NULL);
        for (int i = 0; i < 8; i++)
            pthread_join(t[i], NULL);
        /* blocks allocated by destructors of threads that are gone */
        for (int i = 0; i < nleft; i++)
            free(left[i]);
        printf("key destructors ran %d times, left %d blocks\n", rounds, nleft);
        return 0;
    }
    if (strcmp(mode, "atexit") == 0) {
        kept_for_exit = malloc(777);
        atexit(late);
        printf("main returns\n");
        return 0;
    }
    fprintf(stderr, "rel_exit: unknown mode %s\n", mode);
    return 2;
}
