/*
 * xalloc.h - the exporters' allocation interface. The exporters never
 * choose their memory: whatever links them defines ms_xalloc. Inside the
 * library that is the tracer's own arena (tracer/arena.c: never traced,
 * never the program's heap); in the memscope tool and the test harnesses
 * it is libc's malloc (cli/xalloc.c). So the exporters compile one way
 * and include nothing of the tracer.
 */
#ifndef MS_XALLOC_H
#define MS_XALLOC_H

#include <stddef.h>
#include <string.h>

typedef struct {
    void *(*alloc)(size_t n);               /* NULL without memory */
    void *(*zalloc)(size_t n);              /* zeroed; NULL without memory */
    void *(*resize)(void *p, size_t n);     /* NULL (p kept) without memory */
    void (*release)(void *p);               /* p may be NULL */
} ms_xalloc_t;

extern const ms_xalloc_t ms_xalloc;

/* Returns a block of n bytes (n may be 0), or NULL without memory. */
static inline void *ms_xmalloc(size_t n) { return ms_xalloc.alloc(n ? n : 1); }
/* Returns n zeroed bytes, or NULL without memory. */
static inline void *ms_xcalloc(size_t n) { return ms_xalloc.zalloc(n ? n : 1); }
/* Returns p resized to n bytes, or NULL (p still valid) without memory. */
static inline void *ms_xrealloc(void *p, size_t n) { return ms_xalloc.resize(p, n ? n : 1); }
static inline void ms_xfree(void *p) { ms_xalloc.release(p); }

/* Returns a copy of s (NULL for NULL or without memory). */
static inline char *
ms_xstrdup(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = ms_xmalloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

#endif
