/*
 * triggers.c - start-up, fork, and what makes a report appear: exit, a
 * signal, or the API.
 *
 * No thread of ours lives in the program (a single-threaded program must
 * stay one: unshare(CLONE_NEWUSER) and Chromium's zygote refuse to work
 * otherwise). The clock and the timeline are kept by the program's own
 * threads from the hooks (the tick, timeline.c); the exit report is
 * written by the exiting thread. A snapshot is written by a helper thread
 * started when one is asked for and gone when no request is left:
 *
 * - the signal handler counts the request (async-signal-safe), and starts
 *   the helper itself only when the thread it interrupted was blocked in a
 *   system call with none of our code on its stack (an idle server in
 *   poll, epoll_wait, read, a futex...): pthread_create is not
 *   async-signal-safe, and is safe there only because that thread holds
 *   none of the locks it takes (jemalloc's, glibc's stack cache);
 * - otherwise the thread was busy, and the next allocation hook of any
 *   thread starts it (the tick, at most 64 hooks later): the hooks run
 *   where no allocator lock is held. Frees do not start it: glibc frees a
 *   thread's TLS while holding the stack-cache lock pthread_create needs;
 * - and the handler arms a one-shot timer (made at start-up, no thread)
 *   that sends a real-time signal of ours 50 ms later, whose handler does
 *   the same again: a program that was busy at the signal and then went
 *   idle without allocating is caught waiting then.
 *
 * Requests are counted in snap_requests, written ones in snap_done; the
 * helper writes one snapshot per request, in order, then clears
 * writer_running and exits unless a request came in meanwhile. export.c
 * keeps exports one at a time; after the exit report none starts.
 *
 * `memscope top` sends the same signal with sigqueue and the value
 * MS_SNAPSHOT_LIVE: a live request (live_requests, live_done), not passed
 * on to a handler of the program's. The helper answers all those waiting
 * with one NAME.live.bin (the .bin format only, the cheapest to write),
 * renamed over the last one: a view refreshed every second adds one file.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"
#include "leaks.h"
#include "export.h"
#include "fork.h"
#include "../engine/engine.h"
#include "../exporters/export.h"

uint64_t ms_start_ns;

static unsigned snap_requests, snap_done;
static unsigned live_requests, live_done;
static uint64_t snap_leaks;         /* bit N % 64: request N asks for leaks */
static int writer_running;
static unsigned writer_failed_at;   /* snap_ + live_requests when a start failed */
static int warned_writer;
static struct sigaction old_action;
static int signal_installed;
static int exiting;                 /* the exit report has begun */
static uintptr_t self_lo, self_hi;  /* this library's code */
static timer_t retry_timer;         /* tries again while a request waits */
static int retry_sig;               /* its signal, 0 = none */

static void writer_start(void);

/* Is a snapshot or a live view waiting? seq_cst: see on_signal. */
static int
pending(void)
{
    return __atomic_load_n(&snap_requests, __ATOMIC_SEQ_CST) !=
        __atomic_load_n(&snap_done, __ATOMIC_RELAXED) ||
        __atomic_load_n(&live_requests, __ATOMIC_SEQ_CST) !=
        __atomic_load_n(&live_done, __ATOMIC_RELAXED);
}

#if defined(__x86_64__)
/* Reads len bytes of our own memory, or fewer where a mapping ends,
 * without a fault; returns the bytes read. */
static size_t
peek_self(void *dst, uintptr_t src, size_t len)
{
    struct iovec l = { dst, len }, r = { (void *)src, len };
    ssize_t n = process_vm_readv(getpid(), &l, 1, &r, 1, 0);
    return n > 0 ? (size_t)n : 0;
}

/* System calls that wait, restarted after a SA_RESTART handler. */
static int
restarts_waiting(long nr)
{
    switch (nr) {
    case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
    case SYS_pread64: case SYS_pwrite64: case SYS_recvfrom: case SYS_recvmsg:
    case SYS_recvmmsg: case SYS_sendto: case SYS_sendmsg: case SYS_accept:
    case SYS_accept4: case SYS_connect: case SYS_wait4: case SYS_waitid:
    case SYS_futex: case SYS_flock: case SYS_open: case SYS_openat:
        return 1;
    }
    return 0;
}

/* Whether a code address is this library's. */
static inline int
in_self(uintptr_t pc)
{
    return pc - self_lo < self_hi - self_lo;
}

/*
 * Whether the interrupted thread was waiting in a system call, with no
 * frame of this library on its stack: then it holds neither an allocator
 * lock nor glibc's stack-cache lock (those are held only around code that
 * does not wait), and pthread_create may run here. Its frames are walked
 * from its registers by the CFI (unwind.c), so a stale return address
 * left in a frame's unused slots (the start-up's, in main's frame) does
 * not count. Where the walk is cut, any word of the 2 KiB above its stack
 * pointer that points into this library's code does: the test errs
 * towards "not here", and the retry timer asks again later.
 */
static int
waiting_outside_us(const ucontext_t *uc)
{
    const greg_t *g = uc->uc_mcontext.gregs;
    uintptr_t ip = (uintptr_t)g[REG_RIP], sp = (uintptr_t)g[REG_RSP];
    uintptr_t bp = (uintptr_t)g[REG_RBP];
    long ax = (long)g[REG_RAX];
    unsigned char at[2], before[2];
    if (self_hi == 0 || in_self(ip))
        return 0;
    int waiting = 0;
    if (peek_self(before, ip - 2, 2) == 2 && before[0] == 0x0f &&
        before[1] == 0x05)
        waiting = ax == -EINTR;                 /* interrupted, not restarted */
    else if (peek_self(at, ip, 2) == 2 && at[0] == 0x0f && at[1] == 0x05)
        waiting = restarts_waiting(ax);         /* to be restarted */
    if (!waiting)
        return 0;
    uintptr_t frames[MS_MAX_FRAMES];
    int n = ms_stack_walk_regs(ms_tls_self, ip, sp, bp, frames);
    for (int i = 1; i < n; i++)
        if (frames[i] != MS_FRAME_CUT && frames[i] != MS_FRAME_TRUNCATED &&
            in_self(frames[i] - 1))
            return 0;
    if (n > 1 && frames[n - 1] != MS_FRAME_CUT)
        return 1;
    uintptr_t words[256];
    size_t nw = peek_self(words, sp, sizeof(words)) / sizeof(words[0]);
    if (nw < 8)
        return 0;
    for (size_t i = 0; i < nw; i++)
        if (in_self(words[i]))
            return 0;
    return 1;
}
#else
static int
waiting_outside_us(const ucontext_t *uc)
{
    (void)uc;
    return 0;       /* the next allocation starts the writer */
}
#endif

/* Arms the retry timer (timer_settime and sigaction are async-signal-
 * safe), unless the program has put a handler of its own on its signal. */
static void on_retry(int sig, siginfo_t *si, void *uc);
static void
retry_arm(void)
{
    struct sigaction cur;
    if (retry_sig == 0 || sigaction(retry_sig, NULL, &cur) != 0 ||
        !(cur.sa_flags & SA_SIGINFO) || cur.sa_sigaction != on_retry)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    its.it_value.tv_nsec = 50 * 1000000L;
    timer_settime(retry_timer, 0, &its, NULL);
}

/* Starts the writer when a snapshot waits and the interrupted thread is
 * where pthread_create may run; else tries again in 50 ms. */
static void
serve(const ucontext_t *uc)
{
    if (!pending() || __atomic_load_n(&exiting, __ATOMIC_ACQUIRE) ||
        __atomic_load_n(&writer_running, __ATOMIC_SEQ_CST))
        return;
    if (!ms_tls_busy && waiting_outside_us(uc)) {
        ms_tls_busy = 1;
        writer_start();
        ms_tls_busy = 0;
    } else {
        retry_arm();
    }
}

static void
on_retry(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    if (si != NULL && si->si_code == SI_TIMER &&
        si->si_value.sival_ptr == (void *)&retry_timer) {
        serve(uc);
    } else {
        /* sent by someone else: the default action, as without us */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        retry_sig = 0;
        raise(sig);
    }
    errno = saved;
}

/*
 * The retry timer and its signal: the highest real-time signal the
 * program leaves at its default (it takes none of the snapshot signal's,
 * which the program may see: a handler of its own in front of ours). Not
 * armed until a request waits; fork does not copy timers, so a child
 * makes its own.
 */
static void
retry_init(void)
{
    if (retry_sig == 0) {
        for (int sig = SIGRTMAX; sig > SIGRTMIN + 2 && retry_sig == 0; sig--) {
            struct sigaction cur, sa;
            if (sig == ms_opt.signal || sigaction(sig, NULL, &cur) != 0 ||
                (cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL)
                continue;
            memset(&sa, 0, sizeof(sa));
            sa.sa_sigaction = on_retry;
            sa.sa_flags = SA_SIGINFO | SA_RESTART;
            sigemptyset(&sa.sa_mask);
            if (sigaction(sig, &sa, NULL) == 0)
                retry_sig = sig;
        }
        if (retry_sig == 0)
            return;
    }
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = retry_sig;
    ev.sigev_value.sival_ptr = (void *)&retry_timer;
    if (timer_create(CLOCK_MONOTONIC, &ev, &retry_timer) != 0)
        retry_sig = 0;      /* the handler stays, for nothing */
}

/*
 * `memscope snapshot PID` must know that PID is traced before it signals
 * it (the signal would kill a program without the handler; it then looks
 * at the signals the process catches): a one-page memfd named "memscope",
 * mapped and never touched, shows in /proc/PID/maps as
 * "/memfd:memscope (deleted)". A forked child inherits it, exec drops it.
 */
static void *mark;                  /* the page, NULL = none */

static void
mark_process(void)
{
    int fd = memfd_create("memscope", MFD_CLOEXEC);
    if (fd < 0)
        return;
    if (ftruncate(fd, 4096) == 0) {
        void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
        mark = p == MAP_FAILED ? NULL : p;
    }
    close(fd);
}

static void
on_signal(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    if (si != NULL && si->si_code == SI_QUEUE &&
        si->si_value.sival_int == MS_SNAPSHOT_LIVE) {
        /* `memscope top`'s: ours alone, the program's handler never sees it */
        __atomic_add_fetch(&live_requests, 1, __ATOMIC_SEQ_CST);
        serve(uc);
        errno = saved;
        return;
    }
    /* `memscope snapshot --leaks`: this request wants the leak classes
     * (marked before it is counted, so the writer sees the mark) */
    unsigned next = __atomic_load_n(&snap_requests, __ATOMIC_RELAXED) + 1;
    if (si != NULL && si->si_code == SI_QUEUE &&
        si->si_value.sival_int == MS_SNAPSHOT_LEAKS)
        __atomic_fetch_or(&snap_leaks, 1ull << (next % 64), __ATOMIC_SEQ_CST);
    /* seq_cst with the writer's last look: one of the two sees the other */
    __atomic_add_fetch(&snap_requests, 1, __ATOMIC_SEQ_CST);
    serve(uc);
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

static int
write_snapshot(void)
{
    unsigned n = __atomic_add_fetch(&snap_done, 1, __ATOMIC_RELAXED);
    uint64_t bit = 1ull << (n % 64);
    ms_export_req_t req = { .trigger = MS_TRIGGER_SIGNAL, .snapshot = n,
        .formats = ms_opt.formats, .dir = ms_opt.out,
        .leaks = (__atomic_fetch_and(&snap_leaks, ~bit, __ATOMIC_SEQ_CST) &
                  bit) != 0 };
    return ms_export(&req);
}

/* The live view's file: one for every live request counted so far. */
static int
write_live(void)
{
    __atomic_store_n(&live_done, __atomic_load_n(&live_requests,
        __ATOMIC_ACQUIRE), __ATOMIC_RELAXED);
    ms_export_req_t req = { .trigger = MS_TRIGGER_LIVE,
        .formats = MEMSCOPE_FORMAT_BIN, .dir = ms_opt.out };
    return ms_export(&req);
}

/* The helper: one snapshot per request, one live file for all the live
 * requests waiting, then gone. */
static void *
writer_main(void *arg)
{
    (void)arg;
    ms_tls_busy = 1;     /* nothing this thread allocates is traced */
    ms_tls_quiet = 1;    /* and all it frees, it made itself */
    ms_leaks_stack_from = MS_LEAKS_NO_STACK;    /* its stack is the tracer's */
    prctl(PR_SET_NAME, "memscope", 0, 0, 0);
    for (;;) {
        while (pending() && !__atomic_load_n(&exiting, __ATOMIC_ACQUIRE)) {
            int snap = __atomic_load_n(&snap_done, __ATOMIC_RELAXED) !=
                __atomic_load_n(&snap_requests, __ATOMIC_ACQUIRE);
            if ((snap ? write_snapshot() : write_live()) == -ESHUTDOWN)
                __atomic_store_n(&exiting, 1, __ATOMIC_RELEASE);
        }
        __atomic_store_n(&writer_running, 0, __ATOMIC_SEQ_CST);
        /* a request counted after the loop's last look, before the store,
         * found the writer running and started none: take it here */
        int idle = 0;
        if (__atomic_load_n(&exiting, __ATOMIC_ACQUIRE) || !pending() ||
            !__atomic_compare_exchange_n(&writer_running, &idle, 1, 0,
                __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            break;
    }
    return NULL;
}

/*
 * Starts the helper unless it runs. The caller has the re-entry guard set
 * (what pthread_create allocates is not traced) and is where
 * pthread_create may run: see the top of this file.
 */
static void
writer_start(void)
{
    int idle = 0;
    if (!__atomic_compare_exchange_n(&writer_running, &idle, 1, 0,
            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  /* it inherits: no signal */
    pthread_attr_t a;
    pthread_t th;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 256 * 1024);
    int rc = pthread_create(&th, &a, writer_main, NULL);
    pthread_attr_destroy(&a);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0 && retry_sig != 0) {
        struct itimerspec off;      /* no retry is needed now */
        memset(&off, 0, sizeof(off));
        timer_settime(retry_timer, 0, &off, NULL);
    }
    if (rc != 0) {
        /* not again until another request comes */
        __atomic_store_n(&writer_failed_at,
            __atomic_load_n(&snap_requests, __ATOMIC_RELAXED) +
            __atomic_load_n(&live_requests, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
        __atomic_store_n(&writer_running, 0, __ATOMIC_RELEASE);
        ms_warn_once(&warned_writer, "cannot start a thread to write a "
            "snapshot (error %d); snapshots wait for the next request", rc);
    }
}

/* From the tick: starts the helper when a snapshot waits (may_start: an
 * allocation hook, where pthread_create may run). Two loads otherwise. */
void
ms_snapshot_poll(int may_start)
{
    unsigned req = __atomic_load_n(&snap_requests, __ATOMIC_ACQUIRE);
    unsigned live = __atomic_load_n(&live_requests, __ATOMIC_ACQUIRE);
    if (MS_LIKELY(req == __atomic_load_n(&snap_done, __ATOMIC_RELAXED) &&
                  live == __atomic_load_n(&live_done, __ATOMIC_RELAXED)) ||
        !may_start || __atomic_load_n(&writer_running, __ATOMIC_RELAXED) ||
        req + live == __atomic_load_n(&writer_failed_at, __ATOMIC_RELAXED) ||
        __atomic_load_n(&exiting, __ATOMIC_RELAXED))
        return;
    writer_start();
}

/* At exit: the last report, after which no snapshot may start. */
static void
at_exit(void)
{
    if (!ms_opt.enable)
        return;
    __atomic_store_n(&exiting, 1, __ATOMIC_RELEASE);
    /* the leak scan reads this thread's stack from the program's frames
     * up: the tracer's own frames below hold only the tracer's data, and
     * their unset slots stale copies of the program's pointers */
    ms_leaks_stack_from = (uintptr_t)__builtin_frame_address(0);
    ms_export_req_t req = { .trigger = MS_TRIGGER_EXIT,
        .formats = ms_opt.formats, .dir = ms_opt.out };
    ms_export_final(ms_opt.auto_export ? &req : NULL);
}

/* fork: a writer running in the parent is not copied, and the child's
 * snapshot count starts over; timers are not inherited. */
/*
 * A forked child that MEMSCOPE_CHILDREN=none leaves alone: it runs on the
 * same allocator with tracing off (its blocks, and the parent's it frees,
 * go straight to the engine) and writes nothing: no exit report, no
 * snapshot, no export from the API, and `memscope snapshot` no longer
 * sees the mark. The tables copied from the parent are never touched.
 */
static void
unfollow(void)
{
    __atomic_store_n(&ms_trace_on, MS_TRACE_OFF, __ATOMIC_RELEASE);
    ms_opt.enable = 0;
    __atomic_store_n(&exiting, 1, __ATOMIC_RELEASE);
    ms_export_refuse();
    if (mark != NULL)
        munmap(mark, 4096);
    mark = NULL;
}

static void
fork_child(void)
{
    snap_requests = snap_done = writer_failed_at = 0;
    live_requests = live_done = 0;
    snap_leaks = 0;
    writer_running = 0;
    if (ms_opt.children == MS_CHILDREN_NONE) {
        unfollow();
        return;
    }
    if (signal_installed)
        retry_init();
}
MS_FORK_JOIN(MS_FORK_TRIGGERS, NULL, NULL, fork_child);

pid_t ms_pid_first;

/* Finds the executable segment this library's code is in. */
static int
find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    uintptr_t me = (uintptr_t)arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (me >= lo && me < hi) {
            self_lo = lo;
            self_hi = hi;
            return 1;
        }
    }
    return 0;
}

/*
 * Whether MEMSCOPE_CHILDREN lets this process be traced, at start-up.
 * MEMSCOPE_ROOT_PID names the process the user named: `memscope run`
 * sets it in the child it starts; otherwise the first traced process sets
 * it to its own pid, for its descendants. A process with another pid
 * started from there (fork then exec: a helper of a shell script, a
 * compiler's passes) is not traced unless MEMSCOPE_CHILDREN=all; the same
 * pid is the one named having exec'd another program (a shim, a wrapper
 * script), traced, named after the program it is now. Forked children
 * that do not exec are decided by fork_child.
 */
#define ROOT_PID_VAR "MEMSCOPE_ROOT_PID"

static int
followed_at_start(void)
{
    if (ms_opt.children == MS_CHILDREN_ALL)
        return 1;
    pid_t pid = getpid();
    const char *v = secure_getenv(ROOT_PID_VAR);
    if (v != NULL && *v != '\0') {
        char *end;
        errno = 0;
        long n = strtol(v, &end, 10);
        if (*end == '\0' && errno == 0 && n > 0)
            return n == (long)pid;
    }
    char buf[24];
    snprintf(buf, sizeof(buf), "%d", (int)pid);
    setenv(ROOT_PID_VAR, buf, 1);
    return 1;
}

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
    int saved_errno = errno;
    if (ms_opt.enable && !followed_at_start())
        ms_opt.enable = 0;      /* a descendant not followed: plain engine */
    errno = saved_errno;
    if (!ms_opt.enable) {
        __atomic_store_n(&ms_trace_on, MS_TRACE_OFF, __ATOMIC_RELEASE);
        ms_tls_busy--;
        return;
    }
    ms_arena_init();
    ms_trace_tables_init();
    ms_threads_init();
    ms_pid_first = getpid();
    ms_start_ns = ms_now_precise_ns();
    ms_timeline_init();
    dl_iterate_phdr(find_self, (void *)(uintptr_t)ms_tracer_start);
    ms_fork_install();
    atexit(at_exit);
    if (ms_opt.signal != 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        signal_installed = sigaction(ms_opt.signal, &sa, &old_action) == 0;
        if (!signal_installed)
            ms_log("cannot install the handler of signal %d (%s): no snapshots",
                ms_opt.signal, strerror(errno));
        else
            retry_init();
    }
    mark_process();
    /* the tick keeps the millisecond clock; test mode reads the clock at
     * each use instead, and has no timeline */
    __atomic_store_n(&ms_ticking, !ms_opt.test_mode, __ATOMIC_RELEASE);
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
