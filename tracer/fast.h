/*
 * fast.h - the sampled mode's common case, inlined into malloc and free:
 * a block that is not sampled only moves the thread's countdown and
 * counters. Anything else (a sample due, a free that may need a look-up,
 * counters to publish, frees waiting in the inbox, the tracer busy) goes
 * through the hooks of trace.h, which count with the same inline steps
 * (sample.h). Exact mode never takes this path.
 */
#ifndef MS_FAST_H
#define MS_FAST_H

#include "internal.h"
#include "sample.h"
#include "../engine/engine.h"

extern int ms_fast_sampled;     /* sampled mode, and nothing forcing look-ups */

/* The size histogram's bucket: sizes in [2^(b-1), 2^b), 0 for 0. */
static inline int
ms_fast_size_bucket(uint64_t n)
{
    int b = n == 0 ? 0 : 64 - __builtin_clzll(n);
    return b < MS_SIZE_BUCKETS ? b : MS_SIZE_BUCKETS - 1;
}

/* 1 when the allocation of n bytes was fully accounted here. */
static inline int
ms_fast_alloc(size_t n)
{
    if (!__atomic_load_n(&ms_fast_sampled, __ATOMIC_RELAXED))
        return 0;
    ms_thread_t *t = ms_tls_self;
    if (t == NULL || ms_tls_busy || t->je_allocp == NULL ||
        __atomic_load_n(&t->inbox.pending, __ATOMIC_RELAXED) ||
        ms_sample_publish_due(t->allocs + 1) || !ms_sample_skips(t, n))
        return 0;
    t->allocs++;
    t->size_hist[ms_fast_size_bucket(n)]++;
    return 1;
}

/* Takes back what ms_fast_alloc(n) counted, when the engine then failed. */
static inline void
ms_fast_alloc_undo(size_t n)
{
    ms_thread_t *t = ms_tls_self;
    t->allocs--;
    t->size_hist[ms_fast_size_bucket(n)]--;
    t->sample_left += (int64_t)n;
}

/*
 * Before the engine call of a traced allocation that ms_fast_alloc did not
 * take: the sample decision, taken now so that a sampled block is asked of
 * the engine aligned at once (ms_fast_sample_flags), never allocated twice.
 * Returns MS_KIND_PRESAMPLED or MS_KIND_PRECOUNTED for the hook, or 0 when
 * it cannot decide here (then the hook does).
 */
static inline unsigned
ms_fast_presample(size_t n)
{
    if (!__atomic_load_n(&ms_fast_sampled, __ATOMIC_RELAXED))
        return 0;
    ms_thread_t *t = ms_tls_self;
    if (t == NULL || ms_tls_busy || t->je_allocp == NULL)
        return 0;
    return ms_sample_skips(t, n) || !ms_sample_due(t, n) ?
        MS_KIND_PRECOUNTED : MS_KIND_PRESAMPLED;
}

/* Returns the engine flags of a sampled block made with flags (mallocx
 * flags; 0 for malloc's): aligned to MS_SAMPLE_ALIGN at least. */
static inline int
ms_fast_sample_flags(int flags)
{
    int lg = __builtin_ctz(MS_SAMPLE_ALIGN);
    if ((flags & MS_JE_LG_ALIGN_MASK) >= lg)
        return flags;
    return (flags & ~MS_JE_LG_ALIGN_MASK) | lg;
}

/* 1 when the free of p was fully accounted here (p was never sampled). */
static inline int
ms_fast_free(const void *p)
{
    if (!__atomic_load_n(&ms_fast_sampled, __ATOMIC_RELAXED) ||
        ((uintptr_t)p & (MS_SAMPLE_ALIGN - 1)) == 0)
        return 0;
    ms_thread_t *t = ms_tls_self;
    if (t == NULL || ms_tls_busy || t->je_allocp == NULL ||
        __atomic_load_n(&t->inbox.pending, __ATOMIC_RELAXED) ||
        ms_sample_publish_due(t->frees + 1))
        return 0;
    t->frees++;
    return 1;
}

#endif
