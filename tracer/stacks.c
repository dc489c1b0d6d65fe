/*
 * stacks.c - call stacks (walked by unwind.c), kept once each in a global
 * table, where an id names them. A per-thread cache maps a stack's hash to
 * its site (trace.c), so the global table's lock is taken only the first
 * time a thread meets a stack.
 *
 * Writers hold stacks_mu. A report reads stacks by id without it, while
 * the program's threads intern more: nstacks is published (release) after
 * the stack it counts. Ids name stacks through blocks of ID_BLOCK
 * pointers, made as needed and never moved, so that growing copies and
 * keeps nothing.
 *
 * A stack is kept compact, since a program may have tens of thousands
 * (python3's JSON bench: 14k of about 40 frames). Stacks met one after
 * the other share their outer frames (the same callers, another leaf), so
 * a new stack names the one of the last STACK_RING interned that shares
 * the longest run of outer frames with it (its parent) and keeps only its
 * own inner frames: each as the difference from the one before it (the
 * first from 0), zigzag-encoded, in 7-bit groups (LEB128), 3 bytes a
 * frame mostly, since return addresses of one module lie close together.
 * Its frames are its own, then the last (depth - own) of its parent's. A
 * chain of parents is at most STACK_HOPS long, so that a read decodes at
 * most STACK_HOPS + 1 stacks. Stacks are never freed: they are laid end
 * to end in pool blocks, without the size classes' rounding.
 */
#include <string.h>

#include "internal.h"
#include "fork.h"

typedef struct {
    uint32_t hash_lo, hash_hi;       /* the walk's hash (4-byte aligned) */
    uint32_t epoch;                  /* ms_unload_epoch when interned */
    uint32_t parent;                 /* id of the stack with its outer
                                        frames, 0 = none */
    uint8_t depth;                   /* frames, <= MS_MAX_FRAMES */
    uint8_t own;                     /* its own frames, in code */
    uint8_t hops;                    /* parents in its chain */
    uint8_t code[];                  /* its own frames, encoded */
} ms_stack_t;

/* The most bytes a stack's code takes: 10 a frame. */
#define STACK_CODE_MAX   (MS_MAX_FRAMES * 10)
#define POOL_BLOCK       (64u << 10)
#define STACK_RING       16          /* recent stacks a new one may name */
#define STACK_HOPS       8

static pthread_mutex_t stacks_mu = PTHREAD_MUTEX_INITIALIZER;
/* id -> stack: block id / ID_BLOCK, entry id % ID_BLOCK (2^26 ids) */
#define ID_BLOCK   4096u
#define ID_BLOCKS  16384u
static ms_stack_t **id_blocks[ID_BLOCKS];
static uint32_t nstacks = 1;
static uint32_t *index_ids;          /* open addressing on hash */
static uint64_t index_mask;
static uint8_t *pool, *pool_end;     /* the pool block being filled */
/* the last stacks interned, their frames decoded (writers only) */
static struct {
    uint32_t id, depth;
    uintptr_t frames[MS_MAX_FRAMES];
} ring[STACK_RING];
static uint32_t ring_next;

static inline uint64_t
stack_hash(const ms_stack_t *s)
{
    return (uint64_t)s->hash_hi << 32 | s->hash_lo;
}

/* Encodes frames into code (STACK_CODE_MAX bytes), the outermost first
 * (a child wants its parent's outer frames only: they come first);
 * returns its length. */
static size_t
stack_encode(const uintptr_t *frames, int depth, uint8_t *code)
{
    size_t n = 0;
    uintptr_t prev = 0;
    for (int i = depth - 1; i >= 0; i--) {
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

/* The stack of id (< nstacks, as the caller read it). */
static inline const ms_stack_t *
stack_at(uint32_t id)
{
    return __atomic_load_n(&id_blocks[id / ID_BLOCK],
        __ATOMIC_ACQUIRE)[id % ID_BLOCK];
}

/* Decodes stack id's frames into out (MS_MAX_FRAMES); returns the depth.
 * Each stack of the chain gives its outer own frames that are wanted,
 * decoded from its code's start: depth frames decoded in all. */
static int
stack_decode(uint32_t id, uintptr_t *out)
{
    const ms_stack_t *s = stack_at(id);
    int n = 0, depth = s->depth;
    int skip = 0;           /* leading (inner) frames of s not wanted */
    for (int hop = 0;; hop++) {
        int k = skip < s->own ? s->own - skip : 0;
        if (k > depth - n)
            k = depth - n;
        const uint8_t *c = s->code;
        uintptr_t prev = 0;
        for (int j = 0; j < k; j++) {
            uint64_t z = 0;
            for (int shift = 0;; shift += 7) {
                uint8_t b = *c++;
                z |= (uint64_t)(b & 0x7f) << shift;
                if (b < 0x80)
                    break;
            }
            prev += (uintptr_t)((z >> 1) ^ (uint64_t)-(int64_t)(z & 1));
            out[n + k - 1 - j] = prev;
        }
        n += k;
        if (s->parent == 0 || n >= depth || hop >= STACK_HOPS)
            break;
        /* the rest: the last depth - own of the parent's frames, less
         * what of them was skipped past s's own */
        int tail = s->depth - s->own;
        int extra = skip > s->own ? skip - s->own : 0;
        s = stack_at(s->parent);
        skip = s->depth - tail + extra;
    }
    return n;
}

/* How many outer frames a and b share. */
static int
common_outer(const uintptr_t *a, int na, const uintptr_t *b, int nb)
{
    int n = 0;
    while (n < na && n < nb && a[na - 1 - n] == b[nb - 1 - n])
        n++;
    return n;
}

/* Room for a stack of sz bytes, 4-aligned, from the pool; NULL without
 * memory. */
static ms_stack_t *
pool_take(size_t sz)
{
    sz = (sz + 3) & ~(size_t)3;
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
        uint64_t j = stack_hash(stack_at(id)) & (cap - 1);
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
    uintptr_t have[MS_MAX_FRAMES];
    if (depth < 0 || depth > MS_MAX_FRAMES)
        return 0;
    pthread_mutex_lock(&stacks_mu);
    if (index_ids != NULL) {
        for (uint64_t i = hash & index_mask; index_ids[i] != 0;
             i = (i + 1) & index_mask) {
            const ms_stack_t *s = stack_at(index_ids[i]);
            if (stack_hash(s) == hash && s->depth == (uint32_t)depth &&
                s->epoch == epoch &&
                stack_decode(index_ids[i], have) == depth &&
                memcmp(have, frames, (size_t)depth * sizeof(*frames)) == 0) {
                id = index_ids[i];
                goto out;
            }
        }
    }
    if ((index_ids == NULL || (uint64_t)nstacks * 2 > index_mask + 1) &&
        index_grow() != 0)
        goto out;
    if (nstacks / ID_BLOCK >= ID_BLOCKS)
        goto out;
    if (id_blocks[nstacks / ID_BLOCK] == NULL) {
        ms_stack_t **b = ms_tmalloc(ID_BLOCK * sizeof(*b));
        if (b == NULL)
            goto out;
        __atomic_store_n(&id_blocks[nstacks / ID_BLOCK], b, __ATOMIC_RELEASE);
    }
    /* the parent: the recent stack sharing the most outer frames, of a
     * chain short enough (and of the same epoch: its frames are this
     * epoch's modules) */
    uint32_t parent = 0;
    int shared = 0;
    for (int r = 0; r < STACK_RING; r++) {
        if (ring[r].id == 0 || stack_at(ring[r].id)->hops >= STACK_HOPS ||
            stack_at(ring[r].id)->epoch != epoch)
            continue;
        int rd = (int)ring[r].depth;
        /* one more than the best so far, or none */
        if (shared >= depth || shared >= rd || frames[depth - 1 - shared] !=
            ring[r].frames[rd - 1 - shared])
            continue;
        int c = common_outer(frames, depth, ring[r].frames, rd);
        if (c > shared) {
            shared = c;
            parent = ring[r].id;
        }
    }
    int own = depth - shared;
    size_t len = stack_encode(frames, own, code);
    ms_stack_t *s = pool_take(sizeof(ms_stack_t) + len);
    if (s == NULL)
        goto out;
    s->hash_lo = (uint32_t)hash;
    s->hash_hi = (uint32_t)(hash >> 32);
    s->epoch = epoch;
    s->parent = parent;
    s->depth = (uint8_t)depth;
    s->own = (uint8_t)own;
    s->hops = parent ? (uint8_t)(stack_at(parent)->hops + 1) : 0;
    memcpy(s->code, code, len);
    id = nstacks;
    id_blocks[id / ID_BLOCK][id % ID_BLOCK] = s;
    __atomic_store_n(&nstacks, id + 1, __ATOMIC_RELEASE);
    uint64_t i = hash & index_mask;
    while (index_ids[i] != 0)
        i = (i + 1) & index_mask;
    index_ids[i] = id;
    uint32_t r = ring_next++ % STACK_RING;
    ring[r].id = id;
    ring[r].depth = (uint32_t)depth;
    memcpy(ring[r].frames, frames, (size_t)depth * sizeof(*frames));
out:
    pthread_mutex_unlock(&stacks_mu);
    return id;
}

int
ms_stack_frames(uint32_t id, uintptr_t *out, int max)
{
    if (id == 0 || id >= __atomic_load_n(&nstacks, __ATOMIC_ACQUIRE))
        return 0;
    uintptr_t all[MS_MAX_FRAMES];
    int n = stack_decode(id, all);
    if (n > max)
        n = max;
    if (n > 0)
        memcpy(out, all, (size_t)n * sizeof(*out));
    return n;
}

uint32_t
ms_stack_epoch(uint32_t id)
{
    if (id == 0 || id >= __atomic_load_n(&nstacks, __ATOMIC_ACQUIRE))
        return 0;
    return stack_at(id)->epoch;
}

uint32_t
ms_stacks_count(void)
{
    return __atomic_load_n(&nstacks, __ATOMIC_ACQUIRE) - 1;
}

