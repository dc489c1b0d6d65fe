/*
 * spawn.c - runs one benchmark process and measures it: wall time from
 * fork to wait4, and the rusage wait4 returns (peak RSS, CPU time).
 *
 *   spawn RESULT_FILE TIMEOUT_S PROG ARGS...
 *
 * Writes "status=S timed_out=0|1 wall_ns=T maxrss_kb=K utime_ns=U
 * stime_ns=Y" to RESULT_FILE (S: the raw wait status) and exits 0, or 2
 * when it could not run PROG at all.
 *
 * Why not the driver itself: a child forked (or vforked) by a 17 MB
 * python process starts with that RSS as its high-water mark, and Linux
 * keeps the mark across exec, so ru_maxrss would read at least the
 * driver's size. Forked from this small program, the floor is its size
 * (about 1 MB). The child runs in its own process group, killed whole on
 * timeout and after the child exits (helpers such as heaptrack's
 * interpreter must not outlive a run).
 *
 * BENCH_SPAWN_PRELOAD, when set, becomes the child's LD_PRELOAD: this
 * program itself must run without the library under test.
 */
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

static volatile sig_atomic_t timed_out;
static volatile pid_t child;

static void
on_alarm(int sig)
{
    (void)sig;
    timed_out = 1;
    if (child > 0)
        kill(-child, SIGKILL);
}

int
main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s RESULT_FILE TIMEOUT_S PROG ARGS...\n", argv[0]);
        return 2;
    }
    FILE *res = fopen(argv[1], "w");
    if (res == NULL)
        bench_die("fopen");
    unsigned timeout = (unsigned)bench_arg(argc, argv, 2, 300);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    uint64_t t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid < 0)
        bench_die("fork");
    if (pid == 0) {
        setpgid(0, 0);
        const char *pre = getenv("BENCH_SPAWN_PRELOAD");
        if (pre != NULL) {
            setenv("LD_PRELOAD", pre, 1);
            unsetenv("BENCH_SPAWN_PRELOAD");
        }
        execvp(argv[3], argv + 3);
        fprintf(stderr, "spawn: cannot run %s: %s\n", argv[3], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);          /* both sides: no race with the kill */
    child = pid;
    alarm(timeout);
    int status = 0;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0) {
        if (errno != EINTR)
            bench_die("wait4");
    }
    uint64_t t1 = bench_now_ns();
    alarm(0);
    kill(-pid, SIGKILL);
    fprintf(res, "status=%d timed_out=%d wall_ns=%llu maxrss_kb=%ld utime_ns=%llu stime_ns=%llu\n",
        status, (int)timed_out, (unsigned long long)(t1 - t0), ru.ru_maxrss,
        (unsigned long long)ru.ru_utime.tv_sec * 1000000000u + (unsigned long long)ru.ru_utime.tv_usec * 1000u,
        (unsigned long long)ru.ru_stime.tv_sec * 1000000000u + (unsigned long long)ru.ru_stime.tv_usec * 1000u);
    if (fclose(res) != 0)
        bench_die("fclose");
    return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? 2 : 0;
}
