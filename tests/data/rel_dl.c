/*
 * rel_dl.c - a library that tests/integration/rel_exit.sh builds
 * (cc -shared -fPIC) and tests/programs/rel_dlopen.c loads and unloads
 * again and again: its constructor allocates, its destructor frees, and
 * rel_dl_work() hands out blocks the caller frees, plus one 1234-byte
 * block per load that nobody frees (a leak whose stack points into a
 * library that is gone by the time of the exit report), counted in
 * *leaked_now.
 */
#include <stdlib.h>
#include <string.h>

static char *ctor_block;
static void *leaked;

__attribute__((constructor)) static void
dl_init(void)
{
    ctor_block = malloc(4000);
    memset(ctor_block, 1, 4000);
}

__attribute__((destructor)) static void
dl_fini(void)
{
    free(ctor_block);
    ctor_block = NULL;
}

void *
rel_dl_work(int i, int *leaked_now)
{
    if (leaked == NULL) {
        leaked = malloc(1234);
        (*leaked_now)++;
    }
    char *p = malloc(100 + (size_t)i);
    memset(p, 2, 100 + (size_t)i);
    return p;
}
