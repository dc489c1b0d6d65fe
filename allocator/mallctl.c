/*
 * mallctl.c - jemalloc's control interface (mallctl, mallctlnametomib,
 * mallctlbymib), answered by the embedded engine.
 */
#include <stddef.h>

#include "../engine/engine.h"
#include "internal.h"

MS_EXPORT int
mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp,
    size_t newlen)
{
    return ms_je_mallctl(name, oldp, oldlenp, newp, newlen);
}

MS_EXPORT int
mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp)
{
    return ms_je_mallctlnametomib(name, mibp, miblenp);
}

MS_EXPORT int
mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
    void *newp, size_t newlen)
{
    return ms_je_mallctlbymib(mib, miblen, oldp, oldlenp, newp, newlen);
}
