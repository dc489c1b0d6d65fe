/*
 * cxx.c - C++ operator new and delete in every standard form, defined in C
 * under their Itanium-ABI mangled names so that a C++ program's calls come
 * here (and are traced with the kind of call they were).
 *
 * A failing throwing new calls the installed new_handler until it succeeds
 * or there is none, then throws std::bad_alloc. The C++ runtime pieces
 * needed for that are weak references: a C program never loads libstdc++
 * because of this library, and a C++ program supplies them.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

#include "../engine/engine.h"
#include "internal.h"
#include "../tracer/trace.h"
#include "../tracer/fast.h"

typedef void (*new_handler_t)(void);

/* std::get_new_handler() and std::__throw_bad_alloc() from libstdc++. */
extern new_handler_t _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void)
    __attribute__((weak, noreturn));

/* Returns the handler to call, or NULL when a failure is final. */
static new_handler_t
current_handler(void)
{
    return _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : NULL;
}

__attribute__((noinline, cold)) static void
throw_bad_alloc(void)
{
    if (_ZSt17__throw_bad_allocv)
        _ZSt17__throw_bad_allocv();
    abort();    /* operator new without a C++ runtime: cannot throw */
}

/* The engine flags of a new of the given alignment (0: malloc's; its
 * blocks are only 8-aligned in jemalloc's 8-byte class). */
static inline int
new_flags(size_t align)
{
    return align <= sizeof(void *) ? 0 : MS_JE_ALIGN(align);
}

/*
 * A nothrow new whose first try failed while a new_handler is installed.
 * The handler may throw bad_alloc, which C cannot catch, and a nothrow new
 * must not let it out: hand the request to the C++ runtime's own nothrow
 * form (the next definition of sym), which calls the throwing new - ours -
 * inside try/catch and returns NULL if it throws.
 */
static void *
nothrow_slow(const char *sym, size_t n, size_t align, int aligned)
{
    static const char nt;   /* stands for std::nothrow, never read */
    void *next = dlsym(RTLD_NEXT, sym);
    if (next == NULL)
        return NULL;
    if (aligned)
        return ((void *(*)(size_t, size_t, const void *))next)(n, align, &nt);
    return ((void *(*)(size_t, const void *))next)(n, &nt);
}

/* One body for all eight forms of new; nothrow names the nothrow form
 * (NULL for a throwing one). */
static inline void *
new_common(size_t n, size_t align, const char *nothrow, ms_kind_t kind,
    void *ra, void *fp)
{
    void *p;
    int flags = new_flags(align);
    unsigned pre = 0;
    if (MS_UNLIKELY(ms_trace_on)) {
        /* within the thread's budget: counted, not sampled (fast.h) */
        if (MS_LIKELY(ms_fast_alloc_kind(n, kind))) {
            p = ms_engine_alloc(n, flags);
            if (MS_LIKELY(p != NULL))
                return p;
            ms_fast_alloc_undo(n, kind);
        }
        /* the sample decision before the engine call: a sampled block is
         * asked for aligned at once */
        pre = ms_fast_presample(n);
    }
    if (pre == MS_KIND_PRESAMPLED)
        flags = ms_fast_sample_flags(flags);
    while ((p = ms_engine_alloc(n, flags)) == NULL) {
        new_handler_t h = current_handler();
        if (nothrow != NULL)
            return h == NULL ? NULL : nothrow_slow(nothrow, n, align, align != 0);
        if (h == NULL)
            throw_bad_alloc();
        h();
    }
    if (MS_UNLIKELY(ms_trace_on))
        p = ms_trace_alloc(p, n, (ms_kind_t)((unsigned)kind | pre |
            (align > 16 ? MS_KIND_OVERALIGNED : 0)), ra, fp);
    return p;
}

static inline void
delete_common(void *p, ms_free_kind_t kind, void *ra, void *fp)
{
    if (p == NULL)
        return;
    if (MS_UNLIKELY(ms_trace_on) && !ms_fast_free_kind(p, kind) &&
        ms_trace_free(p, kind, ra, fp))
        return;
    ms_je_free(p);
}

#define RA() __builtin_return_address(0)
#define FP() __builtin_frame_address(0)
#define NOTHROW_T const void   /* std::nothrow_t const& */

/* operator new(size_t) and friends */
MS_EXPORT void *_Znwm(size_t n)
{ return new_common(n, 0, NULL, MS_KIND_NEW, RA(), FP()); }
MS_EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, NOTHROW_T *t)
{ (void)t; return new_common(n, 0, "_ZnwmRKSt9nothrow_t", MS_KIND_NEW, RA(), FP()); }
MS_EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t a)
{ return new_common(n, a, NULL, MS_KIND_NEW, RA(), FP()); }
MS_EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a,
    NOTHROW_T *t)
{ (void)t; return new_common(n, a, "_ZnwmSt11align_val_tRKSt9nothrow_t", MS_KIND_NEW, RA(), FP()); }

/* operator new[] */
MS_EXPORT void *_Znam(size_t n)
{ return new_common(n, 0, NULL, MS_KIND_NEW_ARRAY, RA(), FP()); }
MS_EXPORT void *_ZnamRKSt9nothrow_t(size_t n, NOTHROW_T *t)
{ (void)t; return new_common(n, 0, "_ZnamRKSt9nothrow_t", MS_KIND_NEW_ARRAY, RA(), FP()); }
MS_EXPORT void *_ZnamSt11align_val_t(size_t n, size_t a)
{ return new_common(n, a, NULL, MS_KIND_NEW_ARRAY, RA(), FP()); }
MS_EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a,
    NOTHROW_T *t)
{ (void)t; return new_common(n, a, "_ZnamSt11align_val_tRKSt9nothrow_t", MS_KIND_NEW_ARRAY, RA(), FP()); }

/* operator delete: plain, sized, nothrow, aligned, sized+aligned */
MS_EXPORT void _ZdlPv(void *p)
{ delete_common(p, MS_FREE_DELETE, RA(), FP()); }
MS_EXPORT void _ZdlPvm(void *p, size_t n)
{ (void)n; delete_common(p, MS_FREE_DELETE, RA(), FP()); }
MS_EXPORT void _ZdlPvRKSt9nothrow_t(void *p, NOTHROW_T *t)
{ (void)t; delete_common(p, MS_FREE_DELETE, RA(), FP()); }
MS_EXPORT void _ZdlPvSt11align_val_t(void *p, size_t a)
{ (void)a; delete_common(p, MS_FREE_DELETE, RA(), FP()); }
MS_EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a)
{ (void)n; (void)a; delete_common(p, MS_FREE_DELETE, RA(), FP()); }
MS_EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a,
    NOTHROW_T *t)
{ (void)a; (void)t; delete_common(p, MS_FREE_DELETE, RA(), FP()); }

/* operator delete[] */
MS_EXPORT void _ZdaPv(void *p)
{ delete_common(p, MS_FREE_DELETE_ARRAY, RA(), FP()); }
MS_EXPORT void _ZdaPvm(void *p, size_t n)
{ (void)n; delete_common(p, MS_FREE_DELETE_ARRAY, RA(), FP()); }
MS_EXPORT void _ZdaPvRKSt9nothrow_t(void *p, NOTHROW_T *t)
{ (void)t; delete_common(p, MS_FREE_DELETE_ARRAY, RA(), FP()); }
MS_EXPORT void _ZdaPvSt11align_val_t(void *p, size_t a)
{ (void)a; delete_common(p, MS_FREE_DELETE_ARRAY, RA(), FP()); }
MS_EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a)
{ (void)n; (void)a; delete_common(p, MS_FREE_DELETE_ARRAY, RA(), FP()); }
MS_EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a,
    NOTHROW_T *t)
{ (void)a; (void)t; delete_common(p, MS_FREE_DELETE_ARRAY, RA(), FP()); }
