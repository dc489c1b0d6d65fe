/*
 * arena.c - memory the tracer uses for itself comes from a jemalloc arena of
 * its own, created with arenas.create, without a thread cache: it is never
 * traced, never mixed with the program's blocks, and its size is measured
 * from jemalloc's own per-arena statistics.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "../engine/engine.h"
#include "../exporters/xalloc.h"

static unsigned arena_index;
static int arena_flags;         /* 0 until the arena exists */

void
ms_arena_init(void)
{
    unsigned idx;
    size_t len = sizeof(idx);
    if (arena_flags != 0)
        return;
    if (ms_je_mallctl("arenas.create", &idx, &len, NULL, 0) == 0) {
        arena_index = idx;
        __atomic_store_n(&arena_flags, MS_JE_ARENA(idx) | MS_JE_TCACHE_NONE,
            __ATOMIC_RELEASE);
    } else {
        arena_flags = MS_JE_TCACHE_NONE;    /* still apart from tcaches */
    }
}

int
ms_trace_arena(unsigned *out)
{
    int flags = __atomic_load_n(&arena_flags, __ATOMIC_ACQUIRE);
    if (flags == 0 || flags == MS_JE_TCACHE_NONE)
        return 0;
    *out = arena_index;
    return 1;
}

void
ms_trace_thread_own(uint64_t *alloc, uint64_t *freed)
{
    ms_thread_t *t = ms_tls_self;
    *alloc = *freed = 0;
    if (t != NULL && t->je_allocp != NULL) {
        *alloc = t->adj_alloc;
        *freed = t->adj_free;
    }
}

/* jemalloc counts the tracer's blocks in the thread's byte counters too;
 * sampled mode reads those, so they are set apart here. */
static inline void
adj(void *p, int alloc)
{
    ms_thread_t *t = ms_tls_self;
    if (p == NULL || t == NULL || t->je_allocp == NULL)
        return;
    if (alloc)
        t->adj_alloc += ms_je_sallocx(p, 0);
    else
        t->adj_free += ms_je_sallocx(p, 0);
}

/* The first request the engine could not meet, said once (what the
 * caller then drops says so too): its size tells a shortage of memory
 * from a size gone wrong. NULL. */
static void *
refused(size_t n)
{
    static int warned;
    ms_warn_once(&warned, "the tracer's arena could not give %zu bytes", n);
    return NULL;
}

/* n bytes (1 for 0) of the arena, with mallocx flags more. */
static void *
take(size_t n, int more)
{
    void *p = ms_je_mallocx(n ? n : 1, arena_flags | more);
    if (p == NULL)
        return refused(n);
    adj(p, 1);
    return p;
}

void *
ms_tmalloc(size_t n)
{
    return take(n, 0);
}

void *
ms_tcalloc(size_t n)
{
    return take(n, MS_JE_ZERO);
}

/*
 * Blocks that one thread writes at its hooks (its site slots and free
 * sides, its caches, its state) take whole cache lines of their own. The
 * arena has no thread cache, so the blocks of all threads lie side by
 * side in its slabs, and two cores that write neighbours take the line
 * from each other at every malloc and free. Most of these blocks are of
 * size classes in whole lines (768 and 2560 bytes, pages), which
 * jemalloc's slabs align anyway; the free sides (80 bytes) were not, and
 * taking them off shared lines took the exact churn's CPU time per pair
 * on 16 cores at 8 threads from 137 ns to 89 (docs/performance.md). The
 * table's segments stay plain: in whole lines they made the 16-thread
 * mixed workload 2.2x dearer in CPU time. At most a line less a byte more
 * per block.
 */
#define LINE 64u

void *
ms_tcalloc_line(size_t n)
{
    return take((n + LINE - 1) & ~(size_t)(LINE - 1),
        MS_JE_ALIGN(LINE) | MS_JE_ZERO);
}

void *
ms_trealloc(void *p, size_t n)
{
    if (p == NULL)
        return ms_tmalloc(n);
    uint64_t before = ms_je_sallocx(p, 0);
    void *q = ms_je_rallocx(p, n ? n : 1, arena_flags);
    if (q == NULL)
        return refused(n);
    ms_thread_t *t = ms_tls_self;
    if (t != NULL && t->je_allocp != NULL) {
        t->adj_free += before;
        t->adj_alloc += ms_je_sallocx(q, 0);
    }
    return q;
}

void
ms_tfree(void *p)
{
    if (p != NULL) {
        adj(p, 0);
        ms_je_dallocx(p, arena_flags);
    }
}

char *
ms_tstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = ms_tmalloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

uint64_t
ms_arena_allocated(void)
{
    char name[96];
    uint64_t epoch = 1;
    size_t len = sizeof(epoch);
    ms_je_mallctl("epoch", &epoch, &len, &epoch, len);
    uint64_t total = 0;
    static const char *parts[] = { "small.allocated", "large.allocated" };
    for (int i = 0; i < 2; i++) {
        size_t v = 0;
        len = sizeof(v);
        snprintf(name, sizeof(name), "stats.arenas.%u.%s", arena_index,
            parts[i]);
        if (ms_je_mallctl(name, &v, &len, NULL, 0) == 0)
            total += v;
    }
    return total;
}

/* The exporters' memory inside the library (exporters/xalloc.h). */
const ms_xalloc_t ms_xalloc = { ms_tmalloc, ms_tcalloc, ms_trealloc, ms_tfree };
