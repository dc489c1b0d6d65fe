/*
 * stacks.c - call stacks (walked by unwind.c), kept once each in a global
 * table, where an id names them. A per-thread cache maps a stack's hash to
 * its site (trace.c), so the global table's lock is taken only the first
 * time a thread meets a stack.
 *
 * Writers hold stacks_mu. A report reads stacks by id without it, while
 * the program's threads intern more: nstacks is published (release) after
 * the stack it counts, and an array replaced by a larger one is kept, not
 * freed, since a reader may still be in it (the new array's unused slot 0
 * holds the old one; together they are smaller than the one in use).
 */
#include <string.h>

#include "internal.h"
#include "fork.h"

typedef struct {
    uint64_t hash;
    uint32_t depth;
    uint32_t epoch;                  /* ms_unload_epoch when interned */
    uintptr_t frames[];
} ms_stack_t;

static pthread_mutex_t stacks_mu = PTHREAD_MUTEX_INITIALIZER;
static ms_stack_t **stacks;          /* by id; [0]: the array it replaced */
static uint32_t nstacks = 1, cap_stacks;
static uint32_t *index_ids;          /* open addressing on hash */
static uint64_t index_mask;

static void fork_prepare(void) { pthread_mutex_lock(&stacks_mu); }
static void fork_parent(void) { pthread_mutex_unlock(&stacks_mu); }
static void fork_child(void) { pthread_mutex_init(&stacks_mu, NULL); }
MS_FORK_JOIN(MS_FORK_STACKS, fork_prepare, fork_parent, fork_child);

static int
index_grow(void)
{
    uint64_t cap = index_ids ? (index_mask + 1) * 2 : 4096;
    uint32_t *idx = ms_tcalloc(cap * sizeof(*idx));
    if (idx == NULL)
        return -1;
    for (uint32_t id = 1; id < nstacks; id++) {
        uint64_t j = stacks[id]->hash & (cap - 1);
        while (idx[j] != 0)
            j = (j + 1) & (cap - 1);
        idx[j] = id;
    }
    if (index_ids)
    ms_tfree(index_ids);
    index_ids = idx;
    index_mask = cap - 1;
    return 0;
}

/* Finds or adds a stack in the global table; 0 when out of memory. */
uint32_t
ms_stack_intern(uint64_t hash, const uintptr_t *frames, int depth)
{
    uint32_t id = 0;
    uint32_t epoch = __atomic_load_n(&ms_unload_epoch, __ATOMIC_ACQUIRE);
    pthread_mutex_lock(&stacks_mu);
    if (index_ids != NULL) {
        for (uint64_t i = hash & index_mask; index_ids[i] != 0;
             i = (i + 1) & index_mask) {
            ms_stack_t *s = stacks[index_ids[i]];
            if (s->hash == hash && s->depth == (uint32_t)depth &&
                s->epoch == epoch &&
                memcmp(s->frames, frames, (size_t)depth * sizeof(*frames)) == 0) {
                id = index_ids[i];
                goto out;
            }
        }
    }
    if ((index_ids == NULL || (uint64_t)nstacks * 2 > index_mask + 1) &&
        index_grow() != 0)
        goto out;
    if (nstacks >= cap_stacks) {
        uint32_t ncap = cap_stacks ? cap_stacks * 2 : 1024;
        ms_stack_t **n = ms_tmalloc(ncap * sizeof(*n));
        if (n == NULL)
            goto out;
        n[0] = (ms_stack_t *)(void *)stacks;
        if (stacks != NULL)
            memcpy(n + 1, stacks + 1, (size_t)(nstacks - 1) * sizeof(*n));
        __atomic_store_n(&stacks, n, __ATOMIC_RELEASE);
        cap_stacks = ncap;
    }
    size_t sz = sizeof(ms_stack_t) + (size_t)depth * sizeof(uintptr_t);
    ms_stack_t *s = ms_tmalloc(sz);
    if (s == NULL)
        goto out;
    s->hash = hash;
    s->depth = (uint32_t)depth;
    s->epoch = epoch;
    memcpy(s->frames, frames, (size_t)depth * sizeof(*frames));
    id = nstacks;
    stacks[id] = s;
    __atomic_store_n(&nstacks, id + 1, __ATOMIC_RELEASE);
    uint64_t i = hash & index_mask;
    while (index_ids[i] != 0)
        i = (i + 1) & index_mask;
    index_ids[i] = id;
out:
    pthread_mutex_unlock(&stacks_mu);
    return id;
}

int
ms_stack_frames(uint32_t id, uintptr_t *out, int max)
{
    if (id == 0 || id >= __atomic_load_n(&nstacks, __ATOMIC_ACQUIRE))
        return 0;
    ms_stack_t *s = __atomic_load_n(&stacks, __ATOMIC_ACQUIRE)[id];
    int n = (int)s->depth < max ? (int)s->depth : max;
    memcpy(out, s->frames, (size_t)n * sizeof(*out));
    return n;
}

uint32_t
ms_stack_epoch(uint32_t id)
{
    if (id == 0 || id >= __atomic_load_n(&nstacks, __ATOMIC_ACQUIRE))
        return 0;
    return __atomic_load_n(&stacks, __ATOMIC_ACQUIRE)[id]->epoch;
}

uint32_t
ms_stacks_count(void)
{
    return __atomic_load_n(&nstacks, __ATOMIC_ACQUIRE) - 1;
}

