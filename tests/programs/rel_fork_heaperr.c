/*
 * rel_fork_heaperr.c - forks N times while another thread records heap
 * errors (frees of a pointer no allocator made, which the tracer reports
 * and never passes on), so that a fork can land while that thread holds
 * the heap-error lock. Each child records one heap error itself, then
 * exits through exit(), whose report reads the heap errors: a lock the
 * child inherited held would hang it. The parent reaps each child within
 * a deadline, kills one that misses it and fails.
 * Run only with the library preloaded (exact mode): without it, the wild
 * free would abort in libc.
 *   rel_fork_heaperr N     prints "forks N ok" and exits 0 when all passed
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char not_heap[256];
static void *volatile wild = not_heap + 8;
static volatile int stop;

static void *
record_errors(void *arg)
{
    (void)arg;
    while (!stop)
        free(wild);
    return NULL;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    pthread_t th;
    if (pthread_create(&th, NULL, record_errors, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    for (int i = 0; i < n; i++) {
        pid_t c = fork();
        if (c < 0) {
            perror("fork");
            return 1;
        }
        if (c == 0) {
            free(wild);
            void *p = malloc(100);
            free(p);
            exit(0);
        }
        double deadline = now_s() + 30;
        int st = 0;
        for (;;) {
            pid_t r = waitpid(c, &st, WNOHANG);
            if (r == c)
                break;
            if (now_s() > deadline) {
                printf("fork %d: child %d hung (killed after 30 s)\n", i, (int)c);
                fflush(stdout);
                kill(c, SIGKILL);
                waitpid(c, &st, 0);
                return 1;
            }
            usleep(1000);
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            printf("fork %d: child %d ended with status 0x%x\n", i, (int)c, st);
            return 1;
        }
    }
    stop = 1;
    pthread_join(th, NULL);
    printf("forks %d ok\n", n);
    return 0;
}
