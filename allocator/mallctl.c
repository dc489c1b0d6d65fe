/*
 * mallctl.c - jemalloc's control interface (mallctl, mallctlnametomib,
 * mallctlbymib), answered by the embedded engine with the tracer left out.
 *
 * The engine holds the tracer's own memory too, in an arena of its own
 * (tracer/arena.c); the program asked about its heap, so:
 *  - stats.allocated, active, metadata, resident, mapped and retained, and
 *    the summable figures of stats.arenas.<MALLCTL_ARENAS_ALL>, are the
 *    engine's less the tracer's arena's (read at the same epoch);
 *  - thread.allocated and thread.deallocated are less what the tracer made
 *    and freed on the thread (thread.allocatedp and deallocatedp point at
 *    the engine's raw counters: a pointer cannot be filtered);
 *  - the tracer's arena does not exist for the program: arena.<t>.* and
 *    stats.arenas.<t>.* answer ENOENT, thread.arena = t EFAULT, as
 *    jemalloc does for an arena it does not have.
 * Writes that would change the engine under the tracer are refused with
 * EPERM, jemalloc's error for a control that cannot be written: any
 * arena.<i>.extent_hooks (the tracer relies on the engine's own memory
 * source), and, while tracing, arena.<i>.reset and arena.<i>.destroy
 * (they free blocks behind the tracer's back, which would keep their
 * records). opt.* is read-only in jemalloc already. Everything else,
 * prof.* included, is the engine's answer: Debian's jemalloc, built with
 * profiling that is never enabled.
 *
 * Every call goes through one path, by MIB: mallctl(name) is
 * mallctlnametomib then the same filter as mallctlbymib.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "../engine/engine.h"
#include "internal.h"
#include "../tracer/trace.h"

#define MAXMIB     16
#define ARENAS_ALL 4096     /* MALLCTL_ARENAS_ALL */

typedef struct {
    size_t mib[MAXMIB];
    size_t len;             /* 0: the engine does not know the name */
} mib_t;

/* Totals less the tracer's part. */
enum { ST_ALLOCATED, ST_ACTIVE, ST_METADATA, ST_RESIDENT, ST_MAPPED,
    ST_RETAINED, NSTATS };
static const char *const stat_names[NSTATS] = { "stats.allocated",
    "stats.active", "stats.metadata", "stats.resident", "stats.mapped",
    "stats.retained" };

/* Summable per-arena figures (8 bytes each), "stats.arenas.0.<leaf>". */
enum { A_SMALL, A_LARGE, A_PACTIVE, A_BASE, A_INTERNAL, A_RESIDENT,
    A_MAPPED, A_RETAINED, A_PDIRTY, A_PMUZZY, A_LARGE_NMALLOC,
    A_LARGE_NDALLOC, A_SMALL_NMALLOC, A_SMALL_NDALLOC, A_SMALL_NREQUESTS,
    A_LARGE_NREQUESTS, A_TCACHE_BYTES, A_METADATA_THP, NLEAVES };
static const char *const leaf_names[NLEAVES] = { "small.allocated",
    "large.allocated", "pactive", "base", "internal", "resident", "mapped",
    "retained", "pdirty", "pmuzzy", "large.nmalloc", "large.ndalloc",
    "small.nmalloc", "small.ndalloc", "small.nrequests", "large.nrequests",
    "tcache_bytes", "metadata_thp" };

static struct {
    mib_t stat[NSTATS];
    mib_t leaf[NLEAVES];        /* arena index at position 2 */
    mib_t thread_allocated, thread_deallocated, thread_arena;
    mib_t arena_hooks, arena_reset, arena_destroy;   /* index at 1 */
    uint64_t page;
} m;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
resolve(mib_t *d, const char *name)
{
    d->len = MAXMIB;
    if (ms_je_mallctlnametomib(name, d->mib, &d->len) != 0)
        d->len = 0;
}

static void
init(void)
{
    char name[64];
    for (int i = 0; i < NSTATS; i++)
        resolve(&m.stat[i], stat_names[i]);
    for (int i = 0; i < NLEAVES; i++) {
        strcpy(name, "stats.arenas.0.");
        strcat(name, leaf_names[i]);
        resolve(&m.leaf[i], name);
    }
    resolve(&m.thread_allocated, "thread.allocated");
    resolve(&m.thread_deallocated, "thread.deallocated");
    resolve(&m.thread_arena, "thread.arena");
    resolve(&m.arena_hooks, "arena.0.extent_hooks");
    resolve(&m.arena_reset, "arena.0.reset");
    resolve(&m.arena_destroy, "arena.0.destroy");
    size_t page = 0, len = sizeof(page);
    if (ms_je_mallctl("arenas.page", &page, &len, NULL, 0) != 0)
        page = 4096;
    m.page = page;
}

/* Whether mib is d, the component at wild (-1: none) taking any value. */
static int
is(const size_t *mib, size_t len, const mib_t *d, int wild)
{
    if (d->len == 0 || len != d->len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((int)i != wild && mib[i] != d->mib[i])
            return 0;
    return 1;
}

/* Figure leaf of arena a, straight from the engine; 0 if unreadable. */
static uint64_t
arena_leaf(unsigned a, int leaf)
{
    const mib_t *d = &m.leaf[leaf];
    size_t mib[MAXMIB];
    uint64_t v = 0;
    size_t len = sizeof(v);
    if (d->len < 3)
        return 0;
    memcpy(mib, d->mib, d->len * sizeof(size_t));
    mib[2] = a;
    if (ms_je_mallctlbymib(mib, d->len, &v, &len, NULL, 0) != 0 ||
        len != sizeof(v))
        return 0;
    return v;
}

/* The tracer's arena t's part of total stat. */
static uint64_t
tracer_part(int stat, unsigned t)
{
    switch (stat) {
    case ST_ALLOCATED: return arena_leaf(t, A_SMALL) + arena_leaf(t, A_LARGE);
    case ST_ACTIVE: return arena_leaf(t, A_PACTIVE) * m.page;
    case ST_METADATA: return arena_leaf(t, A_BASE) + arena_leaf(t, A_INTERNAL);
    case ST_RESIDENT: return arena_leaf(t, A_RESIDENT);
    case ST_MAPPED: return arena_leaf(t, A_MAPPED);
    default: return arena_leaf(t, A_RETAINED);
    }
}

/* The tracer's part of the 8-byte figure mib reads; 0 when none. */
static uint64_t
tracer_share(const size_t *mib, size_t len, int have_t, unsigned t)
{
    for (int i = 0; i < NSTATS; i++)
        if (is(mib, len, &m.stat[i], -1))
            return have_t ? tracer_part(i, t) : 0;
    uint64_t a, f;
    if (is(mib, len, &m.thread_allocated, -1)) {
        ms_trace_thread_own(&a, &f);
        return a;
    }
    if (is(mib, len, &m.thread_deallocated, -1)) {
        ms_trace_thread_own(&a, &f);
        return f;
    }
    if (have_t && len >= 3 && mib[2] == ARENAS_ALL)
        for (int k = 0; k < NLEAVES; k++)
            if (is(mib, len, &m.leaf[k], 2))
                return arena_leaf(t, k);
    return 0;
}

static int
ctl(const size_t *mib, size_t len, void *oldp, size_t *oldlenp, void *newp,
    size_t newlen)
{
    pthread_once(&once, init);
    unsigned t = 0;
    int have_t = ms_trace_arena(&t);
    if (newp != NULL && is(mib, len, &m.arena_hooks, 1))
        return EPERM;
    if (__atomic_load_n(&ms_trace_on, __ATOMIC_RELAXED) &&
        (is(mib, len, &m.arena_reset, 1) || is(mib, len, &m.arena_destroy, 1)))
        return EPERM;
    if (have_t) {
        if (len >= 2 && m.arena_hooks.len && mib[0] == m.arena_hooks.mib[0] &&
            mib[1] == t)
            return ENOENT;      /* arena.<t>.* */
        if (len >= 3 && m.leaf[0].len && mib[0] == m.leaf[0].mib[0] &&
            mib[1] == m.leaf[0].mib[1] && mib[2] == t)
            return ENOENT;      /* stats.arenas.<t>.* */
        if (newp != NULL && newlen == sizeof(unsigned) &&
            is(mib, len, &m.thread_arena, -1) &&
            *(const unsigned *)newp == t)
            return EFAULT;
    }
    int rc = ms_je_mallctlbymib(mib, len, oldp, oldlenp, newp, newlen);
    if (rc != 0 || oldp == NULL || oldlenp == NULL ||
        *oldlenp != sizeof(uint64_t))
        return rc;
    uint64_t sub = tracer_share(mib, len, have_t, t);
    if (sub != 0) {
        uint64_t v;
        memcpy(&v, oldp, sizeof(v));
        v = v > sub ? v - sub : 0;
        memcpy(oldp, &v, sizeof(v));
    }
    return rc;
}

MS_EXPORT int
mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
    size_t newlen)
{
    return ms_heap_ctl(name, oldp, oldlenp, newp, newlen);
}

int
ms_heap_ctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
    size_t newlen)
{
    size_t mib[MAXMIB], len = MAXMIB;
    if (name == NULL)
        return EINVAL;
    int rc = ms_je_mallctlnametomib(name, mib, &len);
    if (rc != 0)
        return rc;
    return ctl(mib, len, oldp, oldlenp, newp, newlen);
}

MS_EXPORT int
mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp)
{
    return ms_je_mallctlnametomib(name, mibp, miblenp);
}

MS_EXPORT int
mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
    void *newp, size_t newlen)
{
    return ctl(mib, miblen, oldp, oldlenp, newp, newlen);
}

uint64_t
ms_heap_figure(const char *name)
{
    uint64_t v = 0;
    size_t len = sizeof(v);
    return ms_heap_ctl(name, &v, &len, NULL, 0) == 0 && len == sizeof(v) ? v : 0;
}

void
ms_heap_refresh(void)
{
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    ms_je_mallctl("epoch", &epoch, &len, &epoch, len);
}
