/*
 * tracer_fork.c - a child that allocates and exits normally, for
 * tests/integration/tracer_fork.sh.
 *
 * The parent allocates a little, forks, and waits; the child leaks
 * CHILD_BLOCKS blocks of CHILD_SIZE bytes from child_leaks_for_test and
 * exits with exit(0), so its exit handlers (and the library's report) run.
 * Prints "parent PID child PID status N".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILD_BLOCKS 123
#define CHILD_SIZE   555

static void *kept[CHILD_BLOCKS];

__attribute__((noinline)) void
child_leaks_for_test(void)
{
    for (int i = 0; i < CHILD_BLOCKS; i++) {
        kept[i] = malloc(CHILD_SIZE);
        memset(kept[i], i, CHILD_SIZE);
    }
}

__attribute__((noinline)) void *
parent_alloc_for_test(void)
{
    return malloc(777);
}

int
main(void)
{
    void *mine = parent_alloc_for_test();
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        child_leaks_for_test();
        free(mine);
        exit(0);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) {
        perror("waitpid");
        return 1;
    }
    printf("parent %d child %d status %d\n", (int)getpid(), (int)pid,
        WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    free(mine);
    return 0;
}
