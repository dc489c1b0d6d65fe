/*
 * rel_fork.c - fork while threads allocate, for tests/integration/rel_fork.sh.
 *
 *   rel_fork FORKS THREADS [EXEC_PROG ARGS...]
 *
 * THREADS threads allocate, free and reallocate, handing blocks to each
 * other through shared slots, while main forks FORKS times. Each child
 * frees blocks its parent's other threads made (their tables are orphans
 * in the child), leaks 100 blocks of 3333 bytes from child_leak(), runs a
 * thread that allocates, and exits: its report is its own. Every tenth
 * child instead execs EXEC_PROG (when given) without MEMSCOPE_NAME, and one
 * more runs it with posix_spawn. The threads rest while a child runs.
 * stdout: "parent PID", then "child PID",
 * "exec PID" or "spawn PID" per process. A child that does not end within
 * 30 s is a hang: its stacks are printed (gdb) and the program fails.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define SLOTS 1024

static void *slots[SLOTS];
static int stop, paused;

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *
churn(void *arg)
{
    uint64_t s = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    void *mine[32] = { 0 };
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        if (__atomic_load_n(&paused, __ATOMIC_RELAXED)) {
            struct timespec ts = { 0, 1000000L };
            nanosleep(&ts, NULL);
            continue;
        }
        uint64_t r = rnd(&s);
        unsigned i = (unsigned)(r >> 8) % 32;
        switch (r % 4) {
        case 0:
            free(mine[i]);
            mine[i] = malloc(16 + (r >> 20) % 2000);
            break;
        case 1:
            if (mine[i] != NULL) {
                void *q = realloc(mine[i], 16 + (r >> 20) % 5000);
                if (q != NULL)
                    mine[i] = q;
            }
            break;
        case 2:
            mine[i] = __atomic_exchange_n(&slots[(r >> 24) % SLOTS], mine[i],
                __ATOMIC_ACQ_REL);
            break;
        default:
            free(mine[i]);
            mine[i] = calloc(1, 8 + (r >> 20) % 300);
            break;
        }
        if (mine[i] != NULL)
            memset(mine[i], 0x5a, 8);
    }
    for (unsigned i = 0; i < 32; i++)
        free(mine[i]);
    return NULL;
}

static void *
child_thread(void *arg)
{
    (void)arg;
    void *p[64] = { 0 };
    for (int i = 0; i < 1000; i++) {
        free(p[i % 64]);
        p[i % 64] = malloc(32 + (size_t)i % 500);
    }
    for (int i = 0; i < 64; i++)
        free(p[i]);
    return NULL;
}

static __attribute__((noinline)) void
child_leak(void **keep)
{
    for (int i = 0; i < 100; i++)
        keep[i] = malloc(3333);
}

static void
child_main(void)
{
    static void *keep[100];
    /* blocks the parent's other threads made: their tables are orphans */
    for (int i = 0; i < SLOTS; i++)
        free(__atomic_exchange_n(&slots[i], NULL, __ATOMIC_ACQ_REL));
    child_leak(keep);
    pthread_t t;
    if (pthread_create(&t, NULL, child_thread, NULL) != 0 ||
        pthread_join(t, NULL) != 0)
        _exit(3);
    exit(0);
}

/* Waits for pid; 0 when it exited with status 0. */
static int
reap(pid_t pid, const char *what)
{
    for (int i = 0; i < 30000; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
                return 0;
            if (WIFEXITED(st))
                fprintf(stderr, "rel_fork: %s %d exited with status %d\n",
                    what, (int)pid, WEXITSTATUS(st));
            else
                fprintf(stderr, "rel_fork: %s %d was killed by signal %d\n",
                    what, (int)pid, WTERMSIG(st));
            return -1;
        }
        if (r < 0 && errno != EINTR) {
            perror("rel_fork: waitpid");
            return -1;
        }
        struct timespec ts = { 0, 1000000L };
        nanosleep(&ts, NULL);
    }
    char cmd[256];
    fprintf(stderr, "rel_fork: %s %d hangs (30 s); its stacks:\n", what, (int)pid);
    snprintf(cmd, sizeof(cmd), "gdb -q -batch -p %d -ex 'thread apply all bt' "
        "</dev/null 1>&2 2>/dev/null", (int)pid);
    if (system(cmd) != 0)
        fprintf(stderr, "rel_fork: (gdb failed)\n");
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: rel_fork FORKS THREADS [EXEC_PROG ARGS...]\n");
        return 2;
    }
    int forks = atoi(argv[1]), nthreads = atoi(argv[2]);
    char **exec_argv = argc > 3 ? argv + 3 : NULL;
    pthread_t tids[256];
    if (nthreads < 1 || nthreads > 256)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("parent %d\n", (int)getpid());
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&tids[i], NULL, churn, (void *)(uintptr_t)(i + 1)) != 0)
            return 3;
    int failed = 0;
    for (int i = 0; i < forks && !failed; i++) {
        int do_exec = exec_argv != NULL && i % 10 == 9;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            perror("rel_fork: fork");
            failed = 1;
            break;
        }
        if (pid == 0) {
            if (do_exec) {
                unsetenv("MEMSCOPE_NAME");
                execv(exec_argv[0], exec_argv);
                _exit(127);
            }
            child_main();
        }
        /* The threads were allocating at the fork; they rest while the
         * child runs, which on a small machine would otherwise get a
         * sliver of the CPU for its report. */
        __atomic_store_n(&paused, 1, __ATOMIC_RELAXED);
        printf("%s %d\n", do_exec ? "exec" : "child", (int)pid);
        if (reap(pid, do_exec ? "exec'd child" : "child") != 0)
            failed = 1;
        __atomic_store_n(&paused, 0, __ATOMIC_RELAXED);
        /* let the threads run between forks */
        struct timespec ts = { 0, 2 * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (exec_argv != NULL && !failed) {
        /* posix_spawn (vfork-like: no fork handlers) of a traced program */
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        /* without MEMSCOPE_NAME, as for the exec'd children */
        static char *env[512];
        int ne = 0;
        for (char **e = environ; *e != NULL && ne < 511; e++)
            if (strncmp(*e, "MEMSCOPE_NAME=", 14) != 0)
                env[ne++] = *e;
        env[ne] = NULL;
        pid_t pid;
        int rc = posix_spawn(&pid, exec_argv[0], &fa, NULL, exec_argv, env);
        posix_spawn_file_actions_destroy(&fa);
        if (rc != 0) {
            fprintf(stderr, "rel_fork: posix_spawn: %s\n", strerror(rc));
            failed = 1;
        } else {
            printf("spawn %d\n", (int)pid);
            if (reap(pid, "spawned child") != 0)
                failed = 1;
        }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < nthreads; i++)
        pthread_join(tids[i], NULL);
    for (int i = 0; i < SLOTS; i++)
        free(slots[i]);
    printf("done %s\n", failed ? "FAILED" : "ok");
    return failed;
}
