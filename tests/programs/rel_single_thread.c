/*
 * rel_single_thread.c - a single-threaded program that looks at its own
 * threads, for rel_single_thread.sh.
 *
 *   rel_single_thread tasks SNAPDIR
 *       allocates, prints "tasks N" (the entries of /proc/self/task), asks
 *       for a snapshot with raise(SIGUSR1) (only with SNAPDIR: a plain run
 *       would die of the signal), allocates on until a file
 *       *.snapshot-1.json is in SNAPDIR (10 s at most), then prints
 *       "snapshot written" and, once /proc/self/task has one entry again
 *       (2 s at most), "tasks N" again. Then a forked child calls
 *       unshare(CLONE_NEWUSER) and the parent prints "unshare ok" or
 *       "unshare failed: ERRNO" (the kernel refuses it in a process that
 *       has more than one thread).
 *   rel_single_thread poll|epoll READYFILE
 *       allocates, creates READYFILE, then waits in poll (or epoll_wait)
 *       for its stdin to end, allocating nothing meanwhile; EINTR (a
 *       signal) just waits again. Prints "stdin closed".
 *   rel_single_thread timeline
 *       300 ms of allocating (the live heap grows), 400 ms asleep, 300 ms
 *       of allocating again; then frees 100 blocks made before the sleep
 *       (lifetimes over 400 ms). Prints "phases done".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int
count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

static int
snapshot_in(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (strstr(e->d_name, ".snapshot-1.json") != NULL &&
            strcmp(e->d_name + len - 5, ".json") == 0)
            found = 1;
    }
    closedir(d);
    return found;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static volatile unsigned long sink;

static void
churn(int n)
{
    for (int i = 0; i < n; i++) {
        char *p = malloc(16 + (size_t)(i % 64) * 8);
        if (p == NULL)
            abort();
        p[0] = (char)i;
        sink += (unsigned char)p[0];
        free(p);
    }
}

static int
tasks(const char *snapdir)
{
    static void *keep[1000];
    for (int i = 0; i < 1000; i++)
        keep[i] = malloc(32 + (size_t)i);
    churn(10000);
    printf("tasks %d\n", count_tasks());
    fflush(stdout);
    if (snapdir != NULL) {
        raise(SIGUSR1);
        int i;
        for (i = 0; i < 1000 && !snapshot_in(snapdir); i++) {
            churn(100);
            sleep_ms(10);
        }
        printf(i < 1000 ? "snapshot written\n" : "no snapshot\n");
        int n = count_tasks();
        for (i = 0; i < 200 && n != 1; i++) {
            sleep_ms(10);
            n = count_tasks();
        }
        printf("tasks %d\n", n);
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = unshare(CLONE_NEWUSER);
        _exit(rc == 0 ? 0 : errno);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
        printf("unshare: fork or wait failed\n");
    else if (WEXITSTATUS(st) == 0)
        printf("unshare ok\n");
    else
        printf("unshare failed: %s\n", strerror(WEXITSTATUS(st)));
    for (int i = 0; i < 1000; i++)
        free(keep[i]);
    return 0;
}

static int
idle(int use_epoll, const char *ready)
{
    static void *keep[1000];
    for (int i = 0; i < 1000; i++)
        keep[i] = malloc(32 + (size_t)i);
    churn(10000);
    int ep = -1;
    if (use_epoll) {
        ep = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLHUP };
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) != 0) {
            perror("epoll");
            return 1;
        }
    }
    int fd = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(ready);
        return 1;
    }
    close(fd);
    for (;;) {
        int n;
        if (use_epoll) {
            struct epoll_event ev;
            n = epoll_wait(ep, &ev, 1, -1);
        } else {
            struct pollfd p = { .fd = 0, .events = POLLIN };
            n = poll(&p, 1, -1);
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("poll");
            return 1;
        }
        char buf[256];
        ssize_t r = read(0, buf, sizeof(buf));
        if (r <= 0)
            break;
    }
    for (int i = 0; i < 1000; i++)
        free(keep[i]);
    printf("stdin closed\n");
    return 0;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
timeline(void)
{
    static void *old[100], *grow[4096];
    for (int i = 0; i < 100; i++)
        old[i] = malloc(4096);
    int n = 0;
    for (int phase = 0; phase < 2; phase++) {
        uint64_t end = now_ms() + 300;
        while (now_ms() < end) {
            churn(100);
            if (n < 4096)
                grow[n++] = malloc(256);
        }
        if (phase == 0)
            sleep_ms(400);
    }
    for (int i = 0; i < 100; i++)
        free(old[i]);
    for (int i = 0; i < n; i++)
        free(grow[i]);
    printf("phases done\n");
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "timeline") == 0)
        return timeline();
    if (argc >= 2 && strcmp(argv[1], "tasks") == 0)
        return tasks(argc > 2 ? argv[2] : NULL);
    if (argc == 3 && (strcmp(argv[1], "poll") == 0 || strcmp(argv[1], "epoll") == 0))
        return idle(strcmp(argv[1], "epoll") == 0, argv[2]);
    fprintf(stderr, "usage: rel_single_thread tasks [SNAPDIR] | poll|epoll READYFILE | timeline\n");
    return 2;
}
