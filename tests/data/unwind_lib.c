/* unwind_lib.c - a library that allocates, dlopen'ed and dlclose'd by
 * unwind_nest.c (tests/integration/unwind.sh builds it -O2 -g -shared).
 * LIB_NAME names its allocating function, so two builds differ; it is
 * static, so only the symbol table or debug information names it. */
#include <stdlib.h>

#ifndef LIB_NAME
#define LIB_NAME lib_inner
#endif

__attribute__((noinline)) static void *
LIB_NAME(size_t n)
{
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}

void *
lib_alloc(size_t n)
{
    void *p = LIB_NAME(n);
    __asm__ volatile("" ::: "memory");
    return p;
}
