/* internal.h - definitions shared by the files of allocator/. */
#ifndef MS_ALLOCATOR_INTERNAL_H
#define MS_ALLOCATOR_INTERNAL_H

/* Entry points a program may call; everything else stays hidden. */
#define MS_EXPORT __attribute__((visibility("default")))

/*
 * Thread-local state uses the initial-exec model: no call into the dynamic
 * linker (which may allocate) on first touch, one instruction to reach it.
 */
#define MS_TLS_MODEL __attribute__((tls_model("initial-exec")))

#include "../engine/engine.h"

/* Returns a new block of n bytes from the engine made with mallocx flags
 * (0: malloc's, MS_JE_ZERO alone: calloc's), or NULL. */
static inline void *
ms_engine_alloc(size_t n, int flags)
{
    if (flags == 0)
        return ms_je_malloc(n);
    if (flags == MS_JE_ZERO)
        return ms_je_calloc(1, n);
    return ms_je_mallocx(n ? n : 1, flags);
}

/* mallctl as the program sees it, for the library's own use (mallctl.c). */
#include <stddef.h>
int ms_heap_ctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
    size_t newlen);

/* The program's heap figures (mallctl.c): an 8-byte mallctl figure as the
 * program reads it, the tracer's arena left out (0 when unreadable); and
 * a refresh of the engine's statistics (an epoch). */
#include <stdint.h>
uint64_t ms_heap_figure(const char *name);
void ms_heap_refresh(void);

#endif
