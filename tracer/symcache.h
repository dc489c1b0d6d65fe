/*
 * symcache.h - names of return addresses kept across processes and runs,
 * by module build ID and debug files (symcache.c), for symbols.c:
 * MEMSCOPE_SYMBOL_CACHE.
 */
#ifndef MS_TRACER_SYMCACHE_H
#define MS_TRACER_SYMCACHE_H

#include <stdint.h>

#include "internal.h"

typedef struct ms_symcache_mod ms_symcache_mod_t;

/* The modules of one symbol table (zeroed to start). */
typedef struct {
    ms_symcache_mod_t **mods;
    int n, cap;
    int seeded;
    uint64_t seed;          /* the keys' part shared by every module */
} ms_symcache_t;

/* The cache of the loaded module at base (dladdr's dli_fbase), or NULL:
 * no cache directory, no build ID, a module not cached (symcache.c), no
 * memory. */
ms_symcache_mod_t *ms_symcache_module(ms_symcache_t *c, uintptr_t base);
/* Its build ID, in hex. */
const char *ms_symcache_bid(const ms_symcache_mod_t *m);
/* Fills func, file, line, the inlined chain and build_id of out from the
 * cache when it names offset; returns 1 then, else 0 (out untouched). */
int ms_symcache_get(ms_symcache_mod_t *m, uintptr_t offset, ms_sym_t *out);
/* Keeps what sym says of offset, written at ms_symcache_flush. */
void ms_symcache_put(ms_symcache_mod_t *m, uintptr_t offset,
    const ms_sym_t *sym);
/* Appends each module's new lines to its file (made as needed) and frees
 * c's contents. */
void ms_symcache_flush(ms_symcache_t *c);

/* For the debug file at path with compressed DWARF (see symcache.c), of
 * the module whose build ID is bid (hex): a descriptor on its uncompressed
 * copy in the cache, made as needed, and the copy's name in *name (from
 * malloc); -1 when there is none (no cache directory, not that module's
 * file, nothing compressed, a copy that cannot be made). */
int ms_symcache_plain(const char *path, const char *bid, char **name);

#endif
