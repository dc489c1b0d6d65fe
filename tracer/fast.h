/*
 * fast.h - the sampled mode's common case, inlined into malloc and free.
 *
 * Sampled mode lends each thread a budget in its TLS (ms_tls, sample.c):
 * fast_left, bytes it may allocate before the next sample can be due, and
 * fast_frees, frees before its byte counters are published again. While
 * the budget lasts, a block that is not sampled only takes its size off
 * fast_left and is counted; a free of a block that cannot be sampled (not
 * page-aligned) is only counted. Anything else (a sample that may be due,
 * counters to publish, frees waiting in the inbox, no thread state yet, a
 * thread that has exited) finds the budget at 0 and goes through the hooks
 * of trace.h, which take the budget back, decide, and lend it again. The
 * re-entry guard lies beside the budget: the tracer's own allocations
 * never take this path. Exact mode never lends: its calls all go to the
 * hooks.
 */
#ifndef MS_FAST_H
#define MS_FAST_H

#include "internal.h"
#include "sample.h"
#include "../engine/engine.h"

extern int ms_fast_sampled __attribute__((visibility("hidden")));
                        /* sampled mode, and nothing forcing look-ups */

/* Bytes lent to the inlined path at a time (at most): it publishes the
 * thread's byte counters at least this often (sample.c). */
#define MS_FAST_LEND    (64u << 10)

/* The size histogram's bucket: sizes in [2^(b-1), 2^b), 0 for 0. */
static inline int
ms_fast_size_bucket(uint64_t n)
{
    int b = n == 0 ? 0 : 64 - __builtin_clzll(n);
    return b < MS_SIZE_BUCKETS ? b : MS_SIZE_BUCKETS - 1;
}

/* The same for n < MS_FAST_LEND: one bsr (bucket 0 for 0 too). */
static inline uint64_t
ms_fast_size_bucket_lent(uint64_t n)
{
#if defined(__x86_64__)
    uint64_t b;     /* gcc would sign-extend __builtin_clzll's int */
    __asm__("bsrq %1, %0" : "=r"(b) : "rm"(2 * n + 1) : "cc");
    return b;
#else
    return (uint64_t)(63 - __builtin_clzll(2 * n + 1));
#endif
}

/* 1 when the allocation of n bytes was fully accounted here: not
 * sampled, counted as an allocation of kind (MS_KIND_MALLOC counts
 * none: malloc is what the other kinds leave, report.c). */
static inline __attribute__((always_inline)) int
ms_fast_alloc_kind(size_t n, ms_kind_t kind)
{
    uint64_t left = ms_tls.fast_left;
    if (MS_UNLIKELY(n >= left || ms_tls.busy))
        return 0;
    ms_tls.fast_left = left - n;
    ms_thread_t *t = ms_tls.self;
    t->allocs++;
    if (kind != MS_KIND_MALLOC)
        t->kind_allocs[kind]++;
    t->size_hist[ms_fast_size_bucket_lent(n)]++;
    return 1;
}

static inline __attribute__((always_inline)) int
ms_fast_alloc(size_t n)
{
    return ms_fast_alloc_kind(n, MS_KIND_MALLOC);
}

/* Takes back what ms_fast_alloc_kind(n, kind) counted, when the engine
 * then failed. */
void ms_fast_alloc_undo(size_t n, ms_kind_t kind);

/* 1 when a realloc of old to n bytes is fully accounted here, before the
 * engine call: old was never sampled (not aligned as a sample is) and
 * the n bytes cannot make a sample due, so it counts as what the hooks
 * count it (a free of realloc's kind, an allocation of realloc's kind, a
 * realloc). ms_fast_realloc_undo(n) takes it back when the engine fails. */
static inline __attribute__((always_inline)) int
ms_fast_realloc(const void *old, size_t n)
{
    if (MS_UNLIKELY(!__atomic_load_n(&ms_fast_sampled, __ATOMIC_RELAXED) ||
            ((uintptr_t)old & (MS_SAMPLE_ALIGN - 1)) == 0 ||
            ms_tls.fast_frees <= 0))
        return 0;
    if (!ms_fast_alloc_kind(n, MS_KIND_REALLOC))    /* the re-entry guard too */
        return 0;
    ms_tls.fast_frees--;
    ms_thread_t *t = ms_tls.self;
    t->frees++;
    t->kind_frees[MS_FREE_REALLOC]++;
    t->reallocs++;
    return 1;
}

void ms_fast_realloc_undo(size_t n);

/*
 * Before the engine call of a traced allocation that ms_fast_alloc did not
 * take: the sample decision, taken now so that a sampled block is asked of
 * the engine aligned at once (ms_fast_sample_flags), never allocated twice.
 * Returns MS_KIND_PRESAMPLED or MS_KIND_PRECOUNTED for the hook, or 0 when
 * it cannot decide here (then the hook does). sample.c.
 */
unsigned ms_fast_presample(size_t n);

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

/* ms_fast_free_kind's less common case: a page-aligned p, or the frees
 * lent used up (sample.c). Returns as ms_fast_free_kind. */
int ms_fast_free_more(const void *p, ms_free_kind_t how);

/* 1 when the free of p was fully accounted here (p was never sampled),
 * counted as a free of kind how (MS_FREE_FREE counts none, as malloc). */
static inline __attribute__((always_inline)) int
ms_fast_free_kind(const void *p, ms_free_kind_t how)
{
    if (MS_UNLIKELY(!__atomic_load_n(&ms_fast_sampled, __ATOMIC_RELAXED) ||
            ms_tls.busy))
        return 0;
    if (MS_UNLIKELY(((uintptr_t)p & (MS_SAMPLE_ALIGN - 1)) == 0 ||
            --ms_tls.fast_frees < 0))
        return ms_fast_free_more(p, how);
    ms_thread_t *t = ms_tls.self;
    t->frees++;
    if (how != MS_FREE_FREE)
        t->kind_frees[how]++;
    return 1;
}

static inline __attribute__((always_inline)) int
ms_fast_free(const void *p)
{
    return ms_fast_free_kind(p, MS_FREE_FREE);
}

#endif
