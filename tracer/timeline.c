/*
 * timeline.c - memory over time. The background thread (triggers.c) takes
 * a point every MEMSCOPE_INTERVAL_MS: exact live heap bytes, RSS, process
 * CPU time, I/O bytes and jemalloc's global statistics. Points go into a
 * fixed buffer; when it is full every other point is dropped and the
 * interval doubles, so a run of any length keeps an even coverage.
 */
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
static uint64_t stride = 1, tick;     /* keep one point per stride ticks */
static pthread_mutex_t tl_mu = PTHREAD_MUTEX_INITIALIZER;

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
    int64_t live = 0;
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next)
        live += ms_thread_live(t);
    p->heap_live = live;
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

/* One timeline tick, called by the background thread. */
void
ms_timeline_tick(void)
{
    if (tick++ % stride != 0)
        return;
    ms_tl_point_t p;
    ms_timeline_sample(&p);
    pthread_mutex_lock(&tl_mu);
    if (npoints == TL_CAP) {
        for (size_t i = 0; i < TL_CAP / 2; i++)
            points[i] = points[2 * i];
        npoints = TL_CAP / 2;
        stride *= 2;
    }
    points[npoints++] = p;
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
    return (uint64_t)ms_opt.interval_ms * 1000000u * stride;
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
    tick = 0;
}
MS_FORK_JOIN(MS_FORK_TIMELINE, fork_prepare, fork_parent, fork_child);
