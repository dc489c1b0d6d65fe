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
#include "../engine/engine.h"
#include "../exporters/export.h"

pid_t ms_pid;
uint64_t ms_start_ns;

static sem_t wake;
static int bg_running;
static pthread_t bg_thread;
static unsigned snap_requests, snap_done;
static struct sigaction old_action;
static int signal_installed;
static pthread_mutex_t export_mu = PTHREAD_MUTEX_INITIALIZER;
static int exiting;

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

int
ms_export_locked(const char *dir, const char *base, unsigned formats,
    int quiet_errors)
{
    if (__atomic_load_n(&exiting, __ATOMIC_ACQUIRE))
        return -ESHUTDOWN;      /* the exit report is the last one */
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    pthread_mutex_lock(&export_mu);
    int rc = ms_export(dir, base, formats, quiet_errors);
    pthread_mutex_unlock(&export_mu);
    ms_tls_busy = busy;
    return rc;
}

static void
write_snapshot(void)
{
    char base[512], name[600];
    ms_report_base(base, sizeof(base));
    unsigned n = __atomic_add_fetch(&snap_done, 1, __ATOMIC_RELAXED);
    snprintf(name, sizeof(name), "%s.snapshot-%u", base, n);
    ms_export_locked(ms_opt.out, name, ms_opt.formats, 0);
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

/*
 * At exit: the last report, after which no snapshot may start (one cut
 * short by the process's end would leave a temporary file behind). The
 * export lock is taken and kept: a snapshot being written is finished
 * first, and any later one waits until the process is gone.
 */
static void
at_exit(void)
{
    if (!ms_opt.enable)
        return;
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    pthread_mutex_lock(&export_mu);
    __atomic_store_n(&exiting, 1, __ATOMIC_RELEASE);
    if (ms_opt.auto_export) {
        char base[512];
        ms_report_base(base, sizeof(base));
        ms_export(ms_opt.out, base, ms_opt.formats, 0);
    }
    ms_tls_busy = busy;
}

/* fork: hold every tracer lock across it, so the child inherits none. */
static void
fork_prepare(void)
{
    ms_tls_busy++;
    pthread_mutex_lock(&export_mu);
    ms_api_lock();
    ms_stacks_lock();
    ms_threads_lock();
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next)
        ms_spin_lock(&t->inbox.lock);
}

static void
fork_parent(void)
{
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next)
        ms_spin_unlock(&t->inbox.lock);
    ms_threads_unlock();
    ms_stacks_unlock();
    ms_api_unlock();
    pthread_mutex_unlock(&export_mu);
    ms_tls_busy--;
}

static void
fork_child(void)
{
    ms_threads_after_fork_child();      /* resets every thread's lock */
    ms_stacks_unlock();
    ms_api_after_fork_child();
    pthread_mutex_init(&export_mu, NULL);
    ms_timeline_after_fork_child();
    sem_init(&wake, 0, 0);
    snap_requests = snap_done = 0;
    __atomic_store_n(&ms_ticking, 0, __ATOMIC_RELAXED);
    if (bg_running)
        bg_start();
    ms_tls_busy--;
}

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
    ms_pid = ms_pid_first = getpid();
    ms_start_ns = ms_now_precise_ns();
    sem_init(&wake, 0, 0);
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    atexit(at_exit);
    if (ms_opt.signal != 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        signal_installed = sigaction(ms_opt.signal, &sa, &old_action) == 0;
    }
    bg_start();
    if (ms_opt.verbose)
        ms_options_print(2);
    ms_fast_update();
    __atomic_store_n(&ms_trace_on, 1, __ATOMIC_RELEASE);
    ms_tls_busy--;
}

/* memscope_stop_tracing(): blocks allocated from now on are not traced. */
void
ms_trace_stop(void)
{
    __atomic_store_n(&ms_trace_on, 0, __ATOMIC_RELEASE);
}

__attribute__((constructor(101))) static void
tracer_ctor(void)
{
    ms_tracer_start();
}
