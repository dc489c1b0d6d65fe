/*
 * rel_early.c - a shared library whose constructor runs before memscope's,
 * for tests/integration/rel_exit.sh, rel_signal.sh and rel_signal_exit.sh.
 * The scripts build it (cc -shared) and link a test program against it: a
 * program's own libraries are initialised before the preloaded memscope
 * library.
 *
 * Its constructor allocates a block, registers an atexit handler (so the
 * handler runs after memscope's exit report has started: atexit handlers
 * run last registered first) and, with REL_EARLY_SIGUSR1=1, installs a
 * SIGUSR1 handler that memscope's handler chains to. The atexit handler
 * frees the early block, allocates and frees, prints what it did, and
 * with REL_EARLY_EXIT_SLEEP_MS=N sleeps N ms (a slow exit).
 * rel_early_signals() tells how many SIGUSR1 it counted.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *early_block;
static volatile sig_atomic_t nsig;

int
rel_early_signals(void)
{
    return (int)nsig;
}

static void
on_usr1(int sig)
{
    (void)sig;
    nsig++;
}

static void
early_atexit(void)
{
    size_t total = 0;
    for (int i = 1; i <= 200; i++) {
        char *p = malloc((size_t)i * 16);
        if (p == NULL)
            abort();
        memset(p, i, (size_t)i * 16);
        total += (size_t)i * 16;
        free(p);
    }
    free(early_block);
    printf("atexit handler registered before start-up ran (%zu bytes)\n", total);
    fflush(stdout);
    const char *ms = getenv("REL_EARLY_EXIT_SLEEP_MS");
    if (ms != NULL) {       /* a slow exit: what else runs meanwhile? */
        long n = atol(ms);
        struct timespec ts = { n / 1000, (n % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
}

__attribute__((constructor)) static void
early_init(void)
{
    int (*tracing)(void);
    *(void **)&tracing = dlsym(RTLD_DEFAULT, "memscope_is_tracing");
    if (tracing != NULL && tracing())
        fprintf(stderr, "rel_early: memscope was already tracing in my constructor\n");
    early_block = malloc(1000);
    atexit(early_atexit);
    const char *v = getenv("REL_EARLY_SIGUSR1");
    if (v != NULL && strcmp(v, "1") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_usr1;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART;
        sigaction(SIGUSR1, &sa, NULL);
    }
}
