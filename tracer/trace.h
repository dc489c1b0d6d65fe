/*
 * trace.h - the seam between the allocator front end and the tracer.
 *
 * What allocator/ reaches of tracer/, all of it: the state ms_trace_on;
 * the hooks below (a new block, a released block, realloc, their
 * jemalloc-API forms, and two questions: the tracer's arena, a thread's
 * own byte counters); and, from fast.h, the two inline functions of
 * sampled mode's common case, which read the calling thread's state and
 * are why fast.h includes tracer/internal.h. Nothing of tracer/ includes
 * allocator/ (tests/integration/layout.sh). When tracing is off
 * (MEMSCOPE_ENABLE=0, or stopped) a hook costs one predictable branch on
 * ms_trace_on.
 */
#ifndef MS_TRACE_H
#define MS_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* How a block was obtained or released; kept with each record. */
typedef enum {
    MS_KIND_MALLOC = 0,
    MS_KIND_CALLOC,
    MS_KIND_REALLOC,
    MS_KIND_ALIGNED,
    MS_KIND_NEW,
    MS_KIND_NEW_ARRAY,
    MS_KIND_MALLOCX,        /* jemalloc's extended API (jemalloc_api.c) */
    MS_KIND_RALLOCX,
    MS_KIND_XALLOCX,        /* resized in place */
    MS_KIND_COUNT
} ms_kind_t;

/* Or'ed into the kind passed to ms_trace_alloc by an over-aligned new or
 * an aligned mallocx: the usable size is asked of the engine. */
#define MS_KIND_OVERALIGNED 0x10
/* Or'ed into the kind by an allocator that took the sample decision before
 * the engine call (fast.h, ms_fast_presample): PRESAMPLED, the block is the
 * sample and was asked for MS_SAMPLE_ALIGN-aligned; PRECOUNTED, it is not.
 * Without either, the hook decides, and moves a sampled block. */
#define MS_KIND_PRESAMPLED  0x20
#define MS_KIND_PRECOUNTED  0x40
#define MS_KIND_PRE         (MS_KIND_PRESAMPLED | MS_KIND_PRECOUNTED)

typedef enum {
    MS_FREE_FREE = 0,
    MS_FREE_DELETE,
    MS_FREE_DELETE_ARRAY,
    MS_FREE_REALLOC,
    MS_FREE_DALLOCX,
    MS_FREE_SDALLOCX,
    MS_FREE_RALLOCX,
    MS_FREE_XALLOCX,
    MS_FREE_COUNT
} ms_free_kind_t;

/*
 * Non-zero while the hooks must be called: MS_TRACE_EARLY from the first
 * allocation until the tracer has started (blocks are only remembered, so
 * their frees are known later), MS_TRACE_ON while it records, 0 when off.
 */
typedef enum {
    MS_TRACE_OFF = 0,
    MS_TRACE_ON = 1,
    MS_TRACE_EARLY = 2
} ms_trace_state_t;
/* hidden: the allocator reads it PC-relative, not through the GOT */
extern ms_trace_state_t ms_trace_on __attribute__((visibility("hidden")));

#define MS_LIKELY(x)   __builtin_expect(!!(x), 1)
#define MS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * A new block p of req requested bytes. ra is the caller's return address
 * (the call site), fp the entry point's frame, where a stack walk starts.
 * Returns the block to give the program: p, or a copy of it that the
 * sampler moved (see trace.c).
 */
void *ms_trace_alloc(void *p, size_t req, ms_kind_t kind, void *ra, void *fp);

/* The same for a block the engine made with mallocx flags (alignment,
 * zero, tcache, arena): a sampled block is moved keeping them. */
void *ms_trace_allocx(void *p, size_t req, ms_kind_t kind, int flags,
    void *ra, void *fp);

/*
 * Block p is about to be released. Returns 0 when the release may go to
 * the engine, non-zero when it must not (a heap error that was reported).
 */
int ms_trace_free(void *p, ms_free_kind_t kind, void *ra, void *fp);

/*
 * realloc of a non-NULL old to req > 0 bytes while tracing: the tracer
 * takes old's record out before the engine may reuse its address, calls the
 * engine, and records the result (or puts old's record back on failure).
 */
void *ms_trace_realloc(void *old, size_t req, void *ra, void *fp);

/* rallocx while tracing: as ms_trace_realloc, through ms_je_rallocx with
 * flags; errno is left alone. */
void *ms_trace_rallocx(void *old, size_t req, int flags, void *ra, void *fp);

/* xallocx while tracing: resizes p in place (never moves it) and returns
 * its real size; the record follows the new size. */
size_t ms_trace_xallocx(void *p, size_t size, size_t extra, int flags,
    void *ra, void *fp);

/* The engine arena the tracer's own memory comes from: 1 and its index in
 * *out once it exists, else 0. mallctl and mallinfo leave it out of the
 * program's figures. */
int ms_trace_arena(unsigned *out);

/* What the engine counted in the calling thread's thread.allocated and
 * thread.deallocated for the tracer's own work (0 when unknown). */
void ms_trace_thread_own(uint64_t *alloc, uint64_t *freed);

#endif
