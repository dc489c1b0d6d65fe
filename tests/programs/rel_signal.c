/*
 * rel_signal.c - snapshot signals during a churn, for
 * tests/integration/rel_signal.sh.
 *
 *   rel_signal churn THREADS READY STOP
 *       THREADS threads each do 20000 fixed rounds of allocation work and
 *       print its checksum; they go on churning (uncounted) until the file
 *       STOP exists. READY is created once they run, so the script knows
 *       when to start sending signals.
 *   rel_signal own N [chain]
 *       installs its own SIGUSR1 handler after start-up (replacing
 *       memscope's), then raises SIGUSR1 N times while 4 threads allocate,
 *       and prints how many its handler counted. With "chain" the handler
 *       calls the one it replaced, as a polite program does.
 *   rel_signal early N
 *       raises SIGUSR1 N times; the handler was installed before start-up
 *       by tests/data/rel_early.c (the script links it in), and memscope
 *       chains to it: prints what that handler counted.
 *
 * With REL_WAIT_SNAPSHOTS=K set, "own" and "early" wait (20 s at most)
 * until K snapshot JSON files are in $MEMSCOPE_OUT, so that the count the
 * script sees does not depend on how fast the background thread writes.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 20000

static int stop;
static volatile sig_atomic_t own_count;
static struct sigaction replaced;

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;   /* interrupted by a signal: sleep the rest */
}

static void *
churn(void *arg)
{
    uint64_t s = (uintptr_t)arg, sum = 0;
    char *keep[64] = { 0 };
    for (long r = 0; ; r++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        unsigned k = (unsigned)(s >> 33) % 64;
        size_t n = 1 + (size_t)(s >> 40) % 2000;
        if (keep[k] != NULL && (s & 0x10)) {
            char *q = realloc(keep[k], n);
            if (q == NULL)
                abort();
            keep[k] = q;
        } else {
            free(keep[k]);
            keep[k] = (s & 0x20) ? calloc(1, n) : malloc(n);
            if (keep[k] == NULL)
                abort();
        }
        memset(keep[k], (int)(s >> 56), n);
        if (r < ROUNDS)
            sum += (unsigned char)keep[k][n / 2] * n;
        else if (__atomic_load_n(&stop, __ATOMIC_RELAXED))
            break;
    }
    for (int k = 0; k < 64; k++)
        free(keep[k]);
    return (void *)(uintptr_t)sum;
}

static void *
background(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED))
        free(malloc(100));
    return NULL;
}

static void
on_usr1(int sig, siginfo_t *si, void *uc)
{
    own_count++;
    if (replaced.sa_flags & SA_SIGINFO) {
        if (replaced.sa_sigaction != NULL)
            replaced.sa_sigaction(sig, si, uc);
    } else if (replaced.sa_handler != SIG_DFL && replaced.sa_handler != SIG_IGN) {
        replaced.sa_handler(sig);
    }
}

static int
snapshots_in(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strstr(e->d_name, ".snapshot-") != NULL && len > 5 &&
            strcmp(e->d_name + len - 5, ".json") == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void
wait_snapshots(void)
{
    const char *want = getenv("REL_WAIT_SNAPSHOTS");
    const char *dir = getenv("MEMSCOPE_OUT");
    int (*tracing)(void);
    *(void **)&tracing = dlsym(RTLD_DEFAULT, "memscope_is_tracing");
    if (want == NULL || dir == NULL || tracing == NULL || !tracing())
        return;     /* a plain run writes no snapshot */
    for (int i = 0; i < 2000 && snapshots_in(dir) < atoi(want); i++)
        sleep_ms(10);
}

static void
raise_n(int n)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, background, NULL);
    for (int i = 0; i < n; i++) {
        raise(SIGUSR1);     /* delivered to this thread before it returns */
        sleep_ms(2);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

int
main(int argc, char **argv)
{
    if (argc >= 5 && strcmp(argv[1], "churn") == 0) {
        int n = atoi(argv[2]);
        pthread_t t[64];
        if (n < 1 || n > 64)
            return 2;
        for (int i = 0; i < n; i++)
            pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i * 7919 + 3));
        FILE *f = fopen(argv[3], "w");
        if (f == NULL)
            return 3;
        fclose(f);
        while (access(argv[4], F_OK) != 0)
            sleep_ms(5);
        __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
        uint64_t total = 0;
        for (int i = 0; i < n; i++) {
            void *v;
            pthread_join(t[i], &v);
            printf("thread %d checksum %llu\n", i, (unsigned long long)(uintptr_t)v);
            total += (uintptr_t)v;
        }
        printf("total %llu\n", (unsigned long long)total);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "own") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_usr1;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR1, &sa, &replaced);
        if (argc < 4 || strcmp(argv[3], "chain") != 0)
            memset(&replaced, 0, sizeof(replaced));     /* SIG_DFL: no chain */
        raise_n(atoi(argv[2]));
        wait_snapshots();
        printf("own handler counted %d signals\n", (int)own_count);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "early") == 0) {
        int (*count)(void);
        *(void **)&count = dlsym(RTLD_DEFAULT, "rel_early_signals");
        if (count == NULL) {
            fprintf(stderr, "rel_signal: rel_early_signals not linked in\n");
            return 2;
        }
        raise_n(atoi(argv[2]));
        wait_snapshots();
        printf("handler installed before start-up counted %d signals\n", count());
        return 0;
    }
    fprintf(stderr, "usage: rel_signal churn THREADS READY STOP | own N [chain] | early N\n");
    return 2;
}
