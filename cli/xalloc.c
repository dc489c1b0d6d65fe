/*
 * xalloc.c - the exporters' memory in the memscope tool (and the test
 * harnesses that link the exporters without the library): libc's malloc.
 */
#include <stdlib.h>

#include "../exporters/xalloc.h"

static void *
libc_zalloc(size_t n)
{
    return calloc(1, n);
}

const ms_xalloc_t ms_xalloc = { malloc, libc_zalloc, realloc, free };
