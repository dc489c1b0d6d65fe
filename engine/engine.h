/*
 * engine.h - the jemalloc engine, linked in statically with its public
 * symbols renamed (malloc -> ms_je_malloc, ...). See docs/design.md.
 *
 * The engine's interface has a folder of its own because two others use
 * it: allocator/ serves the program's calls with it, tracer/ moves sampled
 * blocks, asks for usable sizes and reads statistics. Nothing else calls
 * these; a program can never reach them because the library's version
 * script exports only the malloc family and the memscope_ API.
 */
#ifndef MS_ENGINE_H
#define MS_ENGINE_H

#include <stddef.h>

/* Flags for ms_je_mallocx and friends (same encoding as jemalloc.h). */
#define MS_JE_LG_ALIGN(la)   ((int)(la))
#define MS_JE_LG_ALIGN_MASK  ((int)0x3f)
#define MS_JE_ALIGN(a)       ((int)(__builtin_ffsll((long long)(a)) - 1))
#define MS_JE_ZERO           ((int)0x40)
#define MS_JE_TCACHE_NONE    (((int)(-1 + 2)) << 8)     /* MALLOCX_TCACHE(-1) */
#define MS_JE_ARENA(a)       ((((int)(a)) + 1) << 20)

void *ms_je_malloc(size_t size);
void *ms_je_calloc(size_t n, size_t size);
void *ms_je_realloc(void *p, size_t size);
void ms_je_free(void *p);
int ms_je_posix_memalign(void **out, size_t align, size_t size);
void *ms_je_aligned_alloc(size_t align, size_t size);
size_t ms_je_malloc_usable_size(const void *p);
void *ms_je_mallocx(size_t size, int flags);
void *ms_je_rallocx(void *p, size_t size, int flags);
void ms_je_dallocx(void *p, int flags);
void ms_je_sdallocx(void *p, size_t size, int flags);
size_t ms_je_sallocx(const void *p, int flags);
size_t ms_je_nallocx(size_t size, int flags);
size_t ms_je_xallocx(void *p, size_t size, size_t extra, int flags);
void ms_je_malloc_stats_print(void (*write_cb)(void *, const char *),
    void *cbopaque, const char *opts);
int ms_je_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
    size_t newlen);
int ms_je_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int ms_je_mallctlbymib(const size_t *mib, size_t miblen, void *oldp,
    size_t *oldlenp, void *newp, size_t newlen);

/* jemalloc's size-class tables (internal, not renamed): the usable size of
 * a small request without a call (tracer/trace.c). */
extern const unsigned char je_sz_size2index_tab[];
extern const size_t je_sz_index2size_tab[];

#endif
