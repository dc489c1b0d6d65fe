/*
 * xalloc.h - memory for exporters: the tracer's own arena inside the
 * library (never traced), plain malloc inside the memscope tool.
 */
#ifndef MS_XALLOC_H
#define MS_XALLOC_H

#include <stdlib.h>
#include <string.h>

#ifdef MS_IN_LIBRARY
#include "../tracer/internal.h"
#define ms_xmalloc(n)      ms_tmalloc(n)
#define ms_xcalloc(n)      ms_tcalloc(n)
#define ms_xrealloc(p, n)  ms_trealloc((p), (n))
#define ms_xfree(p)        ms_tfree(p)
#else
static inline void *ms_xmalloc(size_t n) { return malloc(n ? n : 1); }
static inline void *ms_xcalloc(size_t n) { return calloc(1, n ? n : 1); }
static inline void *ms_xrealloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
static inline void ms_xfree(void *p) { free(p); }
#endif

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
