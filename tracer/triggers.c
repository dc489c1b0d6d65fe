/*
 * triggers.c - start-up, fork, the background thread, and what makes a
 * report appear: exit, a signal, or the API.
 *
 * The signal handler only posts a semaphore (async-signal-safe) and chains
 * to the handler the program had; the background thread, which also takes
 * the timeline's points, writes the numbered snapshot.
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "export.h"
#include "fork.h"
#include "../engine/engine.h"

uint64_t ms_start_ns;

static sem_t wake;
static int bg_running;
static pthread_t bg_thread;
static unsigned snap_requests, snap_done;
static struct sigaction old_action;

static void
on_signal(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    __atomic_add_fetch(&snap_requests, 1, __ATOMIC_RELAXED);
    sem_post(&wake);
    errno = saved;
    if (old_action.sa_flags & SA_SIGINFO) {
        if (old_action.sa_sigaction != NULL)
            old_action.sa_sigaction(sig, si, uc);
    } else if (old_action.sa_handler != SIG_DFL &&
               old_action.sa_handler != SIG_IGN) {
        old_action.sa_handler(sig);
    }
}

/* The report name: MEMSCOPE_NAME, or <program>-<pid>; a forked child
 * always gets its own pid in the name. */
void
ms_report_base(char *out, size_t len)
{
    pid_t pid = getpid();
    if (ms_opt.name[0] == '\0')
        snprintf(out, len, "%s-%d", program_invocation_short_name, (int)pid);
    else if (pid != ms_pid_first)
        snprintf(out, len, "%s-%d", ms_opt.name, (int)pid);
    else
        snprintf(out, len, "%s", ms_opt.name);
}

static void
write_snapshot(void)
{
    unsigned n = __atomic_add_fetch(&snap_done, 1, __ATOMIC_RELAXED);
    ms_export_req_t req = { .trigger = MS_TRIGGER_SIGNAL, .snapshot = n,
        .formats = ms_opt.formats, .dir = ms_opt.out };
    ms_export(&req);
}

static void *
bg_main(void *arg)
{
    (void)arg;
    ms_tls_busy = 1;     /* nothing this thread allocates is traced */
    ms_tls_quiet = 1;    /* and all it frees, it made itself */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    /* Outside test mode the thread ticks every millisecond: the clock the
     * hot path reads (one load), and the timeline every interval. */
    int ticking = !ms_opt.test_mode;
    uint64_t next_sample = 0;
    if (ticking)
        __atomic_store_n(&ms_ticking, 1, __ATOMIC_RELEASE);
    for (;;) {
        int rc;
        if (ticking) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_nsec += 1000000L;
            ts.tv_sec += ts.tv_nsec / 1000000000L;
            ts.tv_nsec %= 1000000000L;
            rc = sem_clockwait(&wake, CLOCK_MONOTONIC, &ts);
        } else {
            rc = sem_wait(&wake);
        }
        if (rc != 0 && errno == ETIMEDOUT) {
            uint64_t now = ms_now_precise_ns() - ms_start_ns;
            __atomic_store_n(&ms_tick_ms, (uint32_t)(now / 1000000u),
                __ATOMIC_RELAXED);
            if (ms_opt.interval_ms > 0 && now >= next_sample) {
                ms_timeline_tick();
                next_sample = now + (uint64_t)ms_opt.interval_ms * 1000000u;
            }
            continue;
        }
        while (__atomic_load_n(&snap_done, __ATOMIC_RELAXED) <
               __atomic_load_n(&snap_requests, __ATOMIC_RELAXED))
            write_snapshot();
    }
    return NULL;
}

static void
bg_start(void)
{
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 256 * 1024);
    bg_running = pthread_create(&bg_thread, &a, bg_main, NULL) == 0;
    pthread_attr_destroy(&a);
    if (bg_running)
        pthread_setname_np(bg_thread, "memscope");
}

/* At exit: the last report, after which no snapshot may start. */
static void
at_exit(void)
{
    if (!ms_opt.enable)
        return;
    ms_export_req_t req = { .trigger = MS_TRIGGER_EXIT,
        .formats = ms_opt.formats, .dir = ms_opt.out };
    ms_export_final(ms_opt.auto_export ? &req : NULL);
}

/* fork: the child's background thread is started again, and its snapshot
 * count starts over. */
static void
fork_child(void)
{
    sem_init(&wake, 0, 0);
    snap_requests = snap_done = 0;
    __atomic_store_n(&ms_ticking, 0, __ATOMIC_RELAXED);
    if (bg_running)
        bg_start();
}
MS_FORK_JOIN(MS_FORK_TRIGGERS, NULL, NULL, fork_child);

pid_t ms_pid_first;

void
ms_tracer_start(void)
{
    static int started;
    if (__atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL))
        return;
    ms_tls_busy++;
    ms_je_free(ms_je_malloc(1));        /* jemalloc is initialised */
    ms_options_load();
    if (getauxval(AT_SECURE)) {
        /* setuid or otherwise privileged: no option was read, and no
         * report is written where an unprivileged user could point it */
        ms_opt.enable = 0;
    }
    if (!ms_opt.enable) {
        __atomic_store_n(&ms_trace_on, MS_TRACE_OFF, __ATOMIC_RELEASE);
        ms_tls_busy--;
        return;
    }
    ms_arena_init();
    ms_threads_init();
    ms_pid_first = getpid();
    ms_start_ns = ms_now_precise_ns();
    sem_init(&wake, 0, 0);
    ms_fork_install();
    atexit(at_exit);
    if (ms_opt.signal != 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(ms_opt.signal, &sa, &old_action) != 0)
            ms_log("cannot install the handler of signal %d (%s): no snapshots",
                ms_opt.signal, strerror(errno));
    }
    bg_start();
    if (ms_opt.verbose)
        ms_options_print();
    ms_fast_update();
    __atomic_store_n(&ms_trace_on, MS_TRACE_ON, __ATOMIC_RELEASE);
    ms_tls_busy--;
}

/* memscope_stop_tracing(): blocks allocated from now on are not traced. */
void
ms_trace_stop(void)
{
    __atomic_store_n(&ms_trace_on, MS_TRACE_OFF, __ATOMIC_RELEASE);
}

__attribute__((constructor(101))) static void
tracer_ctor(void)
{
    ms_tracer_start();
}
