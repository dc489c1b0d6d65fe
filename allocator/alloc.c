/*
 * alloc.c - the malloc family, served by the embedded jemalloc engine and
 * reported to the tracer through the seam in tracer/trace.h.
 *
 * Semantics follow glibc where glibc and jemalloc differ: realloc(p, 0)
 * frees p and returns NULL, free() keeps errno, memalign() rounds an odd
 * alignment up to a power of two, aligned_alloc() rejects one with EINVAL.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "../engine/engine.h"
#include "internal.h"
#include "../tracer/trace.h"
#include "../tracer/fast.h"

#define RA() __builtin_return_address(0)
#define FP() __builtin_frame_address(0)

/* The thread's errno, cached: free() saves and restores it cheaply. */
static __thread int *tls_errno MS_TLS_MODEL;

static inline int *
errno_slot(void)
{
    int *e = tls_errno;
    if (MS_UNLIKELY(e == NULL))
        e = tls_errno = __errno_location();
    return e;
}

static inline int
is_pow2(size_t a)
{
    return a != 0 && (a & (a - 1)) == 0;
}

static size_t
page_size(void)
{
    static size_t ps;
    if (ps == 0) {
        long v = sysconf(_SC_PAGESIZE);
        ps = v > 0 ? (size_t)v : 4096;
    }
    return ps;
}

/*
 * A traced allocation that the inlined path did not take: the sample
 * decision first, so that a sampled block is asked of the engine aligned
 * at once; then the engine (flags: mallocx flags, 0 for malloc's,
 * MS_JE_ZERO for calloc's); then the hook. NULL without memory. Out of
 * line, so that the plain and the inlined paths keep a small frame.
 */
static __attribute__((noinline)) void *
traced_alloc(size_t n, int flags, ms_kind_t kind, void *ra, void *fp)
{
    unsigned pre = ms_fast_presample(n);
    if (pre == MS_KIND_PRESAMPLED)
        flags = ms_fast_sample_flags(flags);
    void *p = ms_engine_alloc(n, flags);
    if (p == NULL)
        return NULL;
    return ms_trace_alloc(p, n, (ms_kind_t)((unsigned)kind | pre), ra, fp);
}

/* The engine failed a block ms_fast_alloc_kind had counted. */
static __attribute__((noinline, cold)) void
fast_alloc_failed(size_t n, ms_kind_t kind)
{
    ms_fast_alloc_undo(n, kind);
}

/* realloc's traced path: in sampled mode, a block never sampled that n
 * bytes will not make one, counted inline (fast.h); else the hooks. */
static inline void *
realloc_traced(void *old, size_t n, void *ra, void *fp)
{
    if (MS_LIKELY(ms_fast_realloc(old, n))) {
        void *p = ms_je_realloc(old, n);
        if (MS_UNLIKELY(p == NULL))
            ms_fast_realloc_undo(n);
        return p;
    }
    return ms_trace_realloc(old, n, ra, fp);
}

/* malloc's paths, the block counted as kind's: malloc, and realloc(NULL,
 * n). The traced path's first test is the thread's budget (fast.h): one
 * compare decides between the inlined path and the hooks. A macro that
 * returns from the entry point it stands in, not a function: RA() and
 * FP() are the entry point's, read only on the paths that need them (as
 * an inline function's arguments they were read, and kept in callee-saved
 * registers, on every malloc). */
#define MALLOC_AS(n, kind) do {                                          \
    if (MS_UNLIKELY(ms_trace_on)) {                                     \
        if (MS_LIKELY(ms_fast_alloc_kind((n), (kind)))) {               \
            void *p_ = ms_je_malloc(n);                                 \
            if (MS_UNLIKELY(p_ == NULL))                                \
                fast_alloc_failed((n), (kind));                         \
            return p_;                                                  \
        }                                                               \
        if (__atomic_load_n(&ms_fast_sampled, __ATOMIC_RELAXED))        \
            return traced_alloc((n), 0, (kind), RA(), FP());            \
        /* exact mode: no decision to take first */                     \
        void *p_ = ms_je_malloc(n);                                     \
        return p_ ? ms_trace_alloc(p_, (n), (kind), RA(), FP()) : NULL; \
    }                                                                   \
    return ms_je_malloc(n);                                             \
} while (0)

MS_EXPORT void *
malloc(size_t n)
{
    MALLOC_AS(n, MS_KIND_MALLOC);
}

MS_EXPORT void
free(void *p)
{
    if (p == NULL)
        return;
    int *e = errno_slot(), saved = *e;
    if (!(MS_UNLIKELY(ms_trace_on) && !ms_fast_free(p) &&
            ms_trace_free(p, MS_FREE_FREE, RA(), FP())))
        ms_je_free(p);
    *e = saved;
}

MS_EXPORT void *
calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (MS_UNLIKELY(ms_trace_on)) {
        if (MS_LIKELY(ms_fast_alloc_kind(total, MS_KIND_CALLOC))) {
            void *p = ms_je_calloc(1, total);
            if (MS_UNLIKELY(p == NULL))
                fast_alloc_failed(total, MS_KIND_CALLOC);
            return p;
        }
        return traced_alloc(total, MS_JE_ZERO, MS_KIND_CALLOC, RA(), FP());
    }
    return ms_je_calloc(1, total);
}

MS_EXPORT void *
realloc(void *old, size_t n)
{
    if (old == NULL)
        MALLOC_AS(n, MS_KIND_REALLOC);
    if (n == 0) {
        /* glibc: realloc(p, 0) frees p and returns NULL. */
        int *e = errno_slot(), saved = *e;
        if (!(MS_UNLIKELY(ms_trace_on) &&
                ms_trace_free(old, MS_FREE_REALLOC, RA(), FP())))
            ms_je_free(old);
        *e = saved;
        return NULL;
    }
    void *p = MS_UNLIKELY(ms_trace_on) ? realloc_traced(old, n, RA(), FP())
                                       : ms_je_realloc(old, n);
    if (MS_UNLIKELY(p == NULL))
        errno = ENOMEM;     /* jemalloc's realloc leaves errno as it was */
    return p;
}

MS_EXPORT void *
reallocarray(void *old, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (old == NULL)
        MALLOC_AS(total, MS_KIND_REALLOC);
    if (total == 0) {
        int *e = errno_slot(), saved = *e;
        if (!(MS_UNLIKELY(ms_trace_on) &&
                ms_trace_free(old, MS_FREE_REALLOC, RA(), FP())))
            ms_je_free(old);
        *e = saved;
        return NULL;
    }
    void *p = MS_UNLIKELY(ms_trace_on) ? realloc_traced(old, total, RA(), FP())
                                       : ms_je_realloc(old, total);
    if (MS_UNLIKELY(p == NULL))
        errno = ENOMEM;     /* jemalloc's realloc leaves errno as it was */
    return p;
}

/* Every aligned entry point ends here; align is a valid power of two. */
static inline void *
aligned_common(size_t align, size_t n, void *ra, void *fp)
{
    if (align < sizeof(void *))
        align = sizeof(void *);
    /* jemalloc wants a non-zero size for an aligned request. */
    void *p = MS_UNLIKELY(ms_trace_on) ?
        traced_alloc(n, MS_JE_ALIGN(align), MS_KIND_ALIGNED, ra, fp) :
        ms_je_mallocx(n ? n : 1, MS_JE_ALIGN(align));
    if (p == NULL)
        errno = ENOMEM;
    return p;
}

MS_EXPORT int
posix_memalign(void **out, size_t align, size_t n)
{
    if (!is_pow2(align) || align % sizeof(void *) != 0)
        return EINVAL;
    int *e = errno_slot(), saved = *e;
    void *p = aligned_common(align, n, RA(), FP());
    *e = saved;     /* posix_memalign reports through its result only */
    if (p == NULL)
        return ENOMEM;
    *out = p;
    return 0;
}

MS_EXPORT void *
aligned_alloc(size_t align, size_t n)
{
    if (!is_pow2(align)) {
        errno = EINVAL;
        return NULL;
    }
    return aligned_common(align, n, RA(), FP());
}

MS_EXPORT void *
memalign(size_t align, size_t n)
{
    if (align > ((size_t)1 << (sizeof(size_t) * 8 - 2))) {
        errno = EINVAL;
        return NULL;
    }
    if (!is_pow2(align)) {
        /* glibc rounds an alignment that is not a power of two up. */
        size_t a = 1;
        while (a < align)
            a <<= 1;
        align = a;
    }
    return aligned_common(align, n, RA(), FP());
}

MS_EXPORT void *
valloc(size_t n)
{
    return aligned_common(page_size(), n, RA(), FP());
}

MS_EXPORT void *
pvalloc(size_t n)
{
    size_t ps = page_size(), rounded;
    if (__builtin_add_overflow(n, ps - 1, &rounded)) {
        errno = ENOMEM;
        return NULL;
    }
    rounded &= ~(ps - 1);
    return aligned_common(ps, rounded ? rounded : ps, RA(), FP());
}

MS_EXPORT size_t
malloc_usable_size(void *p)
{
    return p == NULL ? 0 : ms_je_malloc_usable_size(p);
}

/*
 * glibc's other names for the family (its __libc_ entry points, cfree):
 * aliases, so they are the same code, traced at the same call sites.
 * Replacements of glibc's malloc (tcmalloc, mimalloc) define them too:
 * a program or a preloaded library that calls them by name must reach
 * this heap, not glibc's. The rest of glibc's extras are in glibc.c.
 */
#define MS_ALIAS(name, target) \
    extern __typeof(target) name __attribute__((alias(#target), copy(target), \
        visibility("default")))
MS_ALIAS(__libc_malloc, malloc);
MS_ALIAS(__libc_free, free);
MS_ALIAS(cfree, free);
MS_ALIAS(__libc_calloc, calloc);
MS_ALIAS(__libc_realloc, realloc);
MS_ALIAS(__libc_memalign, memalign);
MS_ALIAS(__libc_valloc, valloc);
MS_ALIAS(__libc_pvalloc, pvalloc);
MS_ALIAS(__posix_memalign, posix_memalign);
