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
 *
 * A stack is kept compact, since a program may have tens of thousands
 * (python3's JSON bench: 14k of about 40 frames): each frame as the
 * difference from the one before it (the first from 0), zigzag-encoded,
 * in 7-bit groups (LEB128). Return addresses of one module lie close
 * together, so most frames take 3 bytes instead of 8. Stacks are never
 * freed: they are laid end to end in pool blocks, without the size
 * classes' rounding.
 */
#include <string.h>

#include "internal.h"
#include "fork.h"

typedef struct {
    uint64_t hash;
    uint32_t epoch;                  /* ms_unload_epoch when interned */
    uint16_t len;                    /* bytes of code */
    uint8_t depth;                   /* frames, <= MS_MAX_FRAMES */
    uint8_t code[];                  /* the frames, encoded (see above) */
} ms_stack_t;

/* The most bytes a stack's code takes: 10 a frame. */
#define STACK_CODE_MAX   (MS_MAX_FRAMES * 10)
#define POOL_BLOCK       (64u << 10)

static pthread_mutex_t stacks_mu = PTHREAD_MUTEX_INITIALIZER;
static ms_stack_t **stacks;          /* by id; [0]: the array it replaced */
static uint32_t nstacks = 1, cap_stacks;
static uint32_t *index_ids;          /* open addressing on hash */
static uint64_t index_mask;
static uint8_t *pool, *pool_end;     /* the pool block being filled */

/* Encodes frames into code (STACK_CODE_MAX bytes); returns its length. */
static size_t
stack_encode(const uintptr_t *frames, int depth, uint8_t *code)
{
    size_t n = 0;
    uintptr_t prev = 0;
    for (int i = 0; i < depth; i++) {
        uint64_t d = (uint64_t)frames[i] - (uint64_t)prev;
        uint64_t z = (d << 1) ^ (uint64_t)((int64_t)d >> 63);
        prev = frames[i];
        while (z >= 0x80) {
            code[n++] = (uint8_t)(z | 0x80);
            z >>= 7;
        }
        code[n++] = (uint8_t)z;
    }
    return n;
}

/* Decodes up to max of s's frames into out; returns how many. */
static int
stack_decode(const ms_stack_t *s, uintptr_t *out, int max)
{
    const uint8_t *c = s->code;
    uintptr_t prev = 0;
    int n = (int)s->depth < max ? (int)s->depth : max;
    for (int i = 0; i < n; i++) {
        uint64_t z = 0;
        for (int shift = 0;; shift += 7) {
            uint8_t b = *c++;
            z |= (uint64_t)(b & 0x7f) << shift;
            if (b < 0x80)
                break;
        }
        prev += (uintptr_t)((z >> 1) ^ (uint64_t)-(int64_t)(z & 1));
        out[i] = prev;
    }
    return n;
}

/* Room for a stack of sz bytes, 8-aligned, from the pool; NULL without
 * memory. */
static ms_stack_t *
pool_take(size_t sz)
{
    sz = (sz + 7) & ~(size_t)7;
    if (pool == NULL || (size_t)(pool_end - pool) < sz) {
        uint8_t *b = ms_tmalloc(POOL_BLOCK);
        if (b == NULL)
            return NULL;
        pool = b;
        pool_end = b + POOL_BLOCK;
    }
    ms_stack_t *s = (ms_stack_t *)(void *)pool;
    pool += sz;
    return s;
}

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
    uint8_t code[STACK_CODE_MAX];
    if (depth < 0 || depth > MS_MAX_FRAMES)
        return 0;
    size_t len = stack_encode(frames, depth, code);
    pthread_mutex_lock(&stacks_mu);
    if (index_ids != NULL) {
        for (uint64_t i = hash & index_mask; index_ids[i] != 0;
             i = (i + 1) & index_mask) {
            ms_stack_t *s = stacks[index_ids[i]];
            if (s->hash == hash && s->depth == (uint32_t)depth &&
                s->len == len && s->epoch == epoch &&
                memcmp(s->code, code, len) == 0) {
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
    ms_stack_t *s = pool_take(sizeof(ms_stack_t) + len);
    if (s == NULL)
        goto out;
    s->hash = hash;
    s->epoch = epoch;
    s->len = (uint16_t)len;
    s->depth = (uint8_t)depth;
    memcpy(s->code, code, len);
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
    return stack_decode(s, out, max);
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

