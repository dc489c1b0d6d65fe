/*
 * timeline.c - memory over time: exact live heap bytes, RSS, process CPU
 * time, I/O bytes and jemalloc's global statistics. There is no thread of
 * our own: the program's threads take the points from the hooks they call
 * anyway (the tick in trace.c), at most one every MEMSCOPE_INTERVAL_MS.
 * Whichever thread first sees a point due claims it (a compare-and-swap on
 * the next due time) and takes it; the others go on. A program that
 * allocates nothing for a while gets no point for that while: its heap did
 * not change, and the next point shows the value it kept.
 *
 * Points go into a fixed buffer; when it is full every other point is
 * dropped and the spacing doubles, so a run of any length keeps an even
 * coverage. tl_mu guards the buffer; next_ns is read and claimed without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "fork.h"
#include "../engine/engine.h"

#define TL_CAP 4096

static ms_tl_point_t points[TL_CAP];
static size_t npoints;
static uint64_t stride = 1;    /* points are stride intervals apart at least */
static uint64_t next_ns;       /* when the next point is due, ns since start */
static pthread_mutex_t tl_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t coarse_res_ns = 4000000;    /* until ms_timeline_init */

/* Reads a small /proc file into buf without stdio (no allocation). */
static ssize_t
read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n >= 0)
        buf[n] = '\0';
    return n;
}

static int64_t
field_after(const char *buf, const char *key)
{
    const char *p = strstr(buf, key);
    if (p == NULL)
        return -1;
    return strtoll(p + strlen(key), NULL, 10);
}

void
ms_je_stats(int64_t *allocated, int64_t *active, int64_t *resident,
    int64_t *mapped, int64_t *retained)
{
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    ms_je_mallctl("epoch", &epoch, &len, &epoch, len);
    struct { const char *name; int64_t *dst; } f[] = {
        { "stats.allocated", allocated }, { "stats.active", active },
        { "stats.resident", resident }, { "stats.mapped", mapped },
        { "stats.retained", retained },
    };
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        size_t v = 0;
        len = sizeof(v);
        *f[i].dst = ms_je_mallctl(f[i].name, &v, &len, NULL, 0) == 0 ?
            (int64_t)v : -1;
    }
}

void
ms_timeline_sample(ms_tl_point_t *p)
{
    char buf[1024];
    memset(p, 0, sizeof(*p));
    p->t_ns = ms_now_precise_ns() - ms_start_ns;
    p->heap_live = ms_threads_live();
    p->rss = -1;
    if (read_small("/proc/self/statm", buf, sizeof(buf)) > 0) {
        long long size, res;
        if (sscanf(buf, "%lld %lld", &size, &res) == 2)
            p->rss = res * sysconf(_SC_PAGESIZE);
    }
    struct timespec ts;
    p->cpu_ns = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0 ?
        (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec : -1;
    p->io_read = p->io_write = -1;
    if (read_small("/proc/self/io", buf, sizeof(buf)) > 0) {
        p->io_read = field_after(buf, "rchar: ");
        p->io_write = field_after(buf, "wchar: ");
    }
    ms_je_stats(&p->je_allocated, &p->je_active, &p->je_resident,
        &p->je_mapped, &p->je_retained);
}

/*
 * The tick's slow part: the coarse clock (no system call, a read of the
 * kernel's time page), read every tick_every hooks. A thread whose hooks
 * come faster than the clock moves reads it every 64 hooks (exact mode)
 * at most (a block may be stamped up to 63 hooks late; at 16 the slow
 * tick cost ~15 instructions per malloc/free pair of the small churn, at
 * 64 ~3: callgrind); one that finds the clock moved since its last read
 * reads it at every hook until it does not. Sampled mode reads it at each
 * hook: its hooks come every 128 operations at most, or for a sampled
 * block. Test mode reads it at each hook too (times exact there).
 */
#define TICK_EVERY_MAX 64

void
ms_tick_slow(ms_thread_t *t, int may_start)
{
    int saved = errno;      /* a point's /proc reads must not show */
    uint64_t now = ms_now_ns();
    now = now > ms_start_ns ? now - ms_start_ns : 0;
    uint32_t ms = (uint32_t)(now / 1000000u);
    int ticking = __atomic_load_n(&ms_ticking, __ATOMIC_RELAXED);
    int32_t every = 1;
    if (ms == t->tick_seen && ms_opt.sample == 0 && ticking)
        every = t->tick_every < TICK_EVERY_MAX / 2 ? 2 * t->tick_every + 1 :
            TICK_EVERY_MAX;
    t->tick_seen = ms;
    t->tick_every = every;
    t->tick_left = every - 1;
    /* Test mode ticks at every hook (every stays 1), so the hooks' one
     * load of ms_tick_ms (ms_hook_clock_ms) is the clock's now there too. */
    uint32_t cur = __atomic_load_n(&ms_tick_ms, __ATOMIC_RELAXED);
    while ((int32_t)(ms - cur) > 0 && !__atomic_compare_exchange_n(
            &ms_tick_ms, &cur, ms, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    if (ticking)
        ms_timeline_poll(now);
    ms_snapshot_poll(may_start);
    if (MS_UNLIKELY(t->table.nretired != 0) && !t->inbox.orphan)
        ms_table_reap(&t->table);   /* retired segments no reader holds */
    errno = saved;
}

/* Takes a point when one is due at now (ns since start); called from the
 * tick with the tracer's re-entry guard set. */
void
ms_timeline_poll(uint64_t now)
{
    uint64_t due = __atomic_load_n(&next_ns, __ATOMIC_RELAXED);
    /* the coarse clock lags by up to its resolution: within that of the
     * due time, the precise clock decides, so points are at least one
     * interval apart in the times they carry */
    if (now + coarse_res_ns < due || ms_opt.interval_ms <= 0)
        return;
    uint64_t at = ms_now_precise_ns() - ms_start_ns;
    if (at < due)
        return;
    uint64_t step = ms_timeline_interval_ns();
    if (!__atomic_compare_exchange_n(&next_ns, &due, at + step, 0,
            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;                 /* another thread takes this one */
    ms_tl_point_t p;
    ms_timeline_sample(&p);
    p.t_ns = at;
    pthread_mutex_lock(&tl_mu);
    if (npoints == TL_CAP) {
        for (size_t i = 0; i < TL_CAP / 2; i++)
            points[i] = points[2 * i];
        npoints = TL_CAP / 2;
        __atomic_store_n(&stride, stride * 2, __ATOMIC_RELAXED);
    }
    /* in time order: a thread that claimed its point and was then
     * preempted past the next interval stores it after a later one */
    size_t i = npoints++;
    for (; i > 0 && points[i - 1].t_ns > p.t_ns; i--)
        points[i] = points[i - 1];
    points[i] = p;
    pthread_mutex_unlock(&tl_mu);
}

size_t
ms_timeline_copy(ms_tl_point_t *out, size_t max)
{
    pthread_mutex_lock(&tl_mu);
    size_t n = npoints < max ? npoints : max;
    memcpy(out, points, n * sizeof(*out));
    pthread_mutex_unlock(&tl_mu);
    return n;
}

uint64_t
ms_timeline_interval_ns(void)
{
    return (uint64_t)ms_opt.interval_ms * 1000000u *
        __atomic_load_n(&stride, __ATOMIC_RELAXED);
}

void
ms_timeline_init(void)
{
    uint64_t r = ms_clock_resolution_ns();
    if (r != 0)
        coarse_res_ns = r;
}

static void fork_prepare(void) { pthread_mutex_lock(&tl_mu); }
static void fork_parent(void) { pthread_mutex_unlock(&tl_mu); }

/* The child's timeline starts empty. */
static void
fork_child(void)
{
    pthread_mutex_init(&tl_mu, NULL);
    npoints = 0;
    stride = 1;
    next_ns = 0;
}
MS_FORK_JOIN(MS_FORK_TIMELINE, fork_prepare, fork_parent, fork_child);
