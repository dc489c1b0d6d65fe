/*
 * jemalloc_api.c - jemalloc's non-standard API (mallocx and its family,
 * mallctl, malloc_stats_print), served by the embedded engine and traced
 * like the malloc family.
 *
 * A program linked with -ljemalloc calls these by name. Without them here
 * the dynamic linker would bind them to the program's own libjemalloc, a
 * second heap beside ours: its blocks invisible to the tracer, and fatal
 * when one reaches our free() (jemalloc lets free() release mallocx
 * memory). With them, every block of the process comes from one engine.
 *
 * Semantics are jemalloc's, flags included (MALLOCX_LG_ALIGN, ZERO,
 * TCACHE, ARENA: the engine's own encoding). Two departures, both safe:
 * sdallocx releases through dallocx (the tracer may have moved a sampled
 * block to a larger size class than the size the program passes), and a
 * NULL pointer given to a release is ignored rather than undefined.
 * mallctl's filtering of the tracer's figures lives in mallctl.c.
 */
#include <errno.h>
#include <stdint.h>

#include "../engine/engine.h"
#include "internal.h"
#include "../tracer/trace.h"
#include "../tracer/fast.h"

#define RA() __builtin_return_address(0)
#define FP() __builtin_frame_address(0)

/* The kind to record for a block made with flags. */
static inline ms_kind_t
kind_of(ms_kind_t kind, int flags)
{
    return (flags & MS_JE_LG_ALIGN_MASK) ?
        (ms_kind_t)(kind | MS_KIND_OVERALIGNED) : kind;
}

MS_EXPORT void *
mallocx(size_t size, int flags)
{
    if (MS_LIKELY(!ms_trace_on))
        return ms_je_mallocx(size ? size : 1, flags);
    if (MS_LIKELY(ms_fast_alloc_kind(size, MS_KIND_MALLOCX))) {
        void *p = ms_je_mallocx(size ? size : 1, flags);
        if (MS_LIKELY(p != NULL))
            return p;
        ms_fast_alloc_undo(size, MS_KIND_MALLOCX);
        return NULL;
    }
    /* the sample decision first: a sampled block is asked for aligned at
     * once, keeping the caller's flags (fast.h) */
    unsigned pre = ms_fast_presample(size);
    void *p = ms_je_mallocx(size ? size : 1, pre == MS_KIND_PRESAMPLED ?
        ms_fast_sample_flags(flags) : flags);
    if (p == NULL)
        return NULL;
    return ms_trace_allocx(p, size, (ms_kind_t)((unsigned)kind_of(
        MS_KIND_MALLOCX, flags) | pre), flags, RA(), FP());
}

MS_EXPORT void *
rallocx(void *p, size_t size, int flags)
{
    if (size == 0)
        size = 1;
    if (p == NULL)      /* undefined in jemalloc: a new block here */
        return mallocx(size, flags);
    if (MS_UNLIKELY(ms_trace_on))
        return ms_trace_rallocx(p, size, flags, RA(), FP());
    return ms_je_rallocx(p, size, flags);
}

MS_EXPORT size_t
xallocx(void *p, size_t size, size_t extra, int flags)
{
    if (p == NULL)
        return 0;
    if (size == 0)
        size = 1;
    if (MS_UNLIKELY(ms_trace_on))
        return ms_trace_xallocx(p, size, extra, flags, RA(), FP());
    return ms_je_xallocx(p, size, extra, flags);
}

MS_EXPORT size_t
sallocx(const void *p, int flags)
{
    return p == NULL ? 0 : ms_je_sallocx(p, flags);
}

MS_EXPORT size_t
nallocx(size_t size, int flags)
{
    return ms_je_nallocx(size ? size : 1, flags);
}

/* One body for dallocx and sdallocx: free()'s, with the flags' tcache. */
static inline void
release(void *p, int flags, ms_free_kind_t how, void *ra, void *fp)
{
    if (p == NULL)
        return;
    int saved = errno;
    if (!(MS_UNLIKELY(ms_trace_on) && !ms_fast_free_kind(p, how) &&
            ms_trace_free(p, how, ra, fp)))
        ms_je_dallocx(p, flags & ~MS_JE_LG_ALIGN_MASK);
    errno = saved;
}

MS_EXPORT void
dallocx(void *p, int flags)
{
    release(p, flags, MS_FREE_DALLOCX, RA(), FP());
}

MS_EXPORT void
sdallocx(void *p, size_t size, int flags)
{
    (void)size;
    release(p, flags, MS_FREE_SDALLOCX, RA(), FP());
}

MS_EXPORT void
malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
    const char *opts)
{
    ms_je_malloc_stats_print(write_cb, cbopaque, opts);
}
