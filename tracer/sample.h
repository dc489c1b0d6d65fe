/*
 * sample.h - sampled mode's per-thread arithmetic, inlined into both the
 * allocator's fast path (fast.h) and the hooks (sample.c), so that the two
 * can never count differently.
 *
 * Each thread counts bytes down to an exponentially distributed threshold
 * (ms_sample_draw). A thread's byte counters are jemalloc's, read in its
 * own TLS; it publishes them for other threads every MS_FAST_LEND bytes
 * allocated and every MS_PUBLISH_INTERVAL frees (see sample.c).
 */
#ifndef MS_SAMPLE_H
#define MS_SAMPLE_H

#include <math.h>

#include "internal.h"

/* Sampled blocks have this alignment, so a free can tell them from the
 * rest by the pointer alone. */
#define MS_SAMPLE_ALIGN 4096u

/* Frees between two publications of a thread's byte counters (at most;
 * allocations publish every MS_FAST_LEND bytes, fast.h). */
#define MS_PUBLISH_INTERVAL 128u

/* The countdown's common case: returns 1 when a block of n bytes is not
 * sampled (and takes n off the countdown), 0 when it may be: then
 * ms_sample_due decides. */
static inline int
ms_sample_skips(ms_thread_t *t, size_t n)
{
    if (t->sample_left < (int64_t)n)
        return 0;
    t->sample_left -= (int64_t)n;
    return 1;
}

/* Returns 1 when a block of n bytes, which ms_sample_skips did not skip,
 * is sampled (sample.c). */
int ms_sample_due(ms_thread_t *t, size_t n);

/* Returns the estimated number of blocks a sampled block of n bytes
 * stands for: 1 / P(sampled). */
static inline double
ms_sample_weight(uint64_t n)
{
    return 1.0 / -expm1(-(double)n / (double)ms_opt.sample);
}

#endif
