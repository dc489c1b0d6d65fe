/*
 * sites.c - per-thread statistics per call stack. Each thread keeps its
 * own, so the hot path never shares a cache line with another thread; the
 * report sums them. A slot holds the blocks of one (stack, task, allocating
 * thread): see ms_sitestat_t. A record names its owner's slot, so a free on the
 * owning thread finds the statistics without a look-up. Chunks never move
 * and publish their fill count with a release store, so a report can walk
 * them while the owner adds more; so do a slot's free-side figures
 * (ms_sitefree_t), made on its first free and never freed, and their
 * extension (ms_siteext_t).
 *
 * A lifetime bucket's carry: the owner's free that finds a bucket full
 * (MS_LIFE_CARRY - 1) marks it MS_LIFE_CARRY, with the parity of its
 * carry's count of MS_LIFE_CARRY at bit 14 ("the bucket holds
 * MS_LIFE_CARRY, not yet in a carry of that parity"), then stores the
 * carry with MS_LIFE_CARRY added, then the bucket at 0 (releases). A
 * reader reads the carry, the bucket, the carry again (acquires): when
 * both carries agree they were the carry when the bucket was read, and a
 * marked bucket says by its parity whether that carry holds its
 * MS_LIFE_CARRY yet. So a reader never waits on an owner inside a carry,
 * and an owner stopped there (a thread fork did not copy) leaves figures
 * that still read exact.
 */
#include <sched.h>
#include <string.h>

#include "internal.h"
#include "hooks.h"

/* A free side in 80 bytes (cut from its thread's blocks, free_side_new):
 * every slot that frees has one. */
_Static_assert(sizeof(ms_sitefree_t) <= 80, "ms_sitefree_t grew");
/* The first chunk's slots in 768 bytes, a size class exactly (and so
 * each next, twice the last: 3 x 2^n). */
_Static_assert(MS_SITE_FIRST * sizeof(ms_sitestat_t) == 768,
    "the first chunk's slots are no longer 768 bytes");

static inline uint64_t
key_hash(uint32_t stack, uint32_t task, uint32_t owner)
{
    uint64_t h = (stack ^ (uint64_t)task << 32 ^ owner * 0xC2B2AE35ull) *
        0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}

static inline int
key_is(const ms_sitestat_t *st, uint32_t stack, uint32_t task,
    uint32_t owner)
{
    return st->stack == stack && st->task == task && st->owner == owner;
}

static int
index_grow(ms_sites_t *s)
{
    uint64_t cap = s->index ? (s->index_mask + 1) * 2 : 2 * MS_SITE_FIRST;
    uint32_t *idx = ms_tcalloc(cap * sizeof(*idx));
    if (idx == NULL)
        return -1;
    for (uint32_t slot = 0; slot < s->count; slot++) {
        const ms_sitestat_t *st = ms_sites_at(s, slot);
        uint64_t j = key_hash(st->stack, st->task, st->owner) & (cap - 1);
        while (idx[j] != 0)
            j = (j + 1) & (cap - 1);
        idx[j] = slot + 1;
    }
    ms_tfree(s->index);
    s->index = idx;
    s->index_mask = cap - 1;
    return 0;
}

uint32_t
ms_sites_slot(ms_sites_t *s, uint32_t stack, uint32_t task, uint32_t owner)
{
    uint64_t h = key_hash(stack, task, owner);
    if (s->index != NULL) {
        for (uint64_t i = h & s->index_mask; s->index[i] != 0;
             i = (i + 1) & s->index_mask)
            if (key_is(ms_sites_at(s, s->index[i] - 1), stack, task, owner))
                return s->index[i] - 1;
    }
    if ((s->index == NULL || ((uint64_t)s->count + 1) * 2 > s->index_mask + 1)
        && index_grow(s) != 0)
        return UINT32_MAX;
    unsigned k = ms_sites_chunk(s->count);
    uint32_t e = ms_sites_entry(s->count, k);
    if (e == 0) {                           /* chunk k begins */
        if (s->ndir == s->capdir) {
            uint32_t nc = s->capdir ? s->capdir * 2 : 16;
            ms_sitestat_t **d = ms_trealloc(s->dir, nc * sizeof(*d));
            if (d == NULL)
                return UINT32_MAX;
            s->dir = d;
            s->capdir = nc;
        }
        ms_sitechunk_t *c = ms_tcalloc(sizeof(*c));
        ms_sitestat_t *slots = ms_tcalloc_line(
            ((size_t)MS_SITE_FIRST << k) * sizeof(*slots));
        if (c == NULL || slots == NULL) {
            ms_tfree(c);
            ms_tfree(slots);
            return UINT32_MAX;
        }
        c->s = slots;
        s->dir[s->ndir++] = slots;
        if (s->tail)
            __atomic_store_n(&s->tail->next, c, __ATOMIC_RELEASE);
        else
            __atomic_store_n(&s->head, c, __ATOMIC_RELEASE);
        s->tail = c;
    }
    uint32_t slot = s->count++;
    ms_sitechunk_t *c = s->tail;    /* the slot's: chunks fill in order */
    c->s[e].stack = stack;
    c->s[e].task = task;
    c->s[e].owner = owner;
    c->s[e].slot = slot;
    __atomic_store_n(&c->n, e + 1, __ATOMIC_RELEASE);
    uint64_t i = h & s->index_mask;
    while (s->index[i] != 0)
        i = (i + 1) & s->index_mask;
    s->index[i] = slot + 1;
    return slot;
}

/* Slot's statistics, found by any thread: the chunk list, not the
 * owner's directory, which may move. */
static const ms_sitestat_t *
slot_any(ms_sites_t *s, uint32_t slot)
{
    unsigned k = ms_sites_chunk(slot);
    ms_sitechunk_t *c = __atomic_load_n(&s->head, __ATOMIC_ACQUIRE);
    for (unsigned i = k; c != NULL && i > 0; i--)
        c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE);
    return c ? &c->s[ms_sites_entry(slot, k)] : NULL;
}

uint32_t
ms_sites_stack_of(ms_sites_t *s, uint32_t slot)
{
    const ms_sitestat_t *st = slot_any(s, slot);
    return st ? st->stack : 0;
}

uint32_t
ms_sites_task_of(ms_sites_t *s, uint32_t slot)
{
    const ms_sitestat_t *st = slot_any(s, slot);
    return st ? st->task : 0;
}

/*
 * A new free side, zeroed. A thread's free sides are cut from blocks of
 * its own, whole cache lines (ms_tcalloc_line), so that what one thread
 * writes at each free never shares a line with another thread's, yet they
 * lie at 80 bytes each, not one per 128-byte line: on 16 cores, sides of
 * a line each made the cross-thread frees 1.3x and 1.75x dearer in CPU
 * time (two runs) than the arena's packed sides had. The blocks double
 * from one side (two lines, 128 bytes) to FSIDE_MOST sides, so that a
 * thread of one site keeps no more than a side in lines of its own would,
 * and a thread's last block, never filled, leaves at most FSIDE_MOST - 1
 * sides unused. Sides are never freed, nor are the blocks (so a key
 * destructor's free after the thread's end may still cut one). Without a
 * thread state a side is a block of its own.
 */
#define FSIDE_MOST 16u

static ms_sitefree_t *
free_side_new(void)
{
    ms_thread_t *t = ms_tls_self;
    if (t == NULL)
        return ms_tcalloc(sizeof(ms_sitefree_t));
    if (t->fside_left == 0) {
        uint32_t n = t->fside_block == 0 ? 1 :
            t->fside_block < FSIDE_MOST ? t->fside_block * 2 : FSIDE_MOST;
        ms_sitefree_t *b = ms_tcalloc_line(n * sizeof(*b));
        if (b == NULL)      /* short of memory: one side may still fit */
            return ms_tcalloc(sizeof(ms_sitefree_t));
        t->fside = b;
        t->fside_left = n;
        t->fside_block = n;
    }
    t->fside_left--;
    return t->fside++;
}

ms_sitefree_t *
ms_sites_free_make(ms_sitestat_t *st)
{
    ms_sitefree_t *f = free_side_new();
    if (f != NULL)
        __atomic_store_n(&st->free, f, __ATOMIC_RELEASE);
    return f;
}

ms_siteext_t *
ms_sitefree_ext(ms_sitefree_t *f)
{
    ms_siteext_t *x = f->ext;
    if (x == NULL) {
        x = ms_tcalloc(sizeof(*x));
        if (x != NULL)
            __atomic_store_n(&f->ext, x, __ATOMIC_RELEASE);
    }
    return x;
}

void
ms_sitefree_carry(ms_sitefree_t *f, int b)
{
    ms_siteext_t *x = ms_sitefree_ext(f);
    if (x == NULL) {
        /* not counted, and said so: the bucket stays full */
        ms_dropped();
        return;
    }
    uint64_t c = x->carry[b];
    unsigned parity = (unsigned)(c / MS_LIFE_CARRY) & 1;
    __atomic_store_n(&f->life[b], (uint16_t)(MS_LIFE_CARRY | parity << 14),
        __ATOMIC_RELEASE);
    __atomic_store_n(&x->carry[b], c + MS_LIFE_CARRY, __ATOMIC_RELEASE);
    __atomic_store_n(&f->life[b], (uint16_t)0, __ATOMIC_RELEASE);
}

/* What bucket value v adds to carry c read with it (see above). */
static uint64_t
life_own(unsigned v, uint64_t c)
{
    if (!(v & MS_LIFE_CARRY))
        return v;
    unsigned parity = (v >> 14) & 1;
    return ((unsigned)(c / MS_LIFE_CARRY) & 1) == parity ? MS_LIFE_CARRY : 0;
}

/* Bucket b's count: its carry and its own, read as one (see above). */
static uint64_t
life_read(const ms_sitefree_t *f, int b)
{
    for (int tries = 0;; tries++) {
        const ms_siteext_t *x = __atomic_load_n(&f->ext, __ATOMIC_ACQUIRE);
        uint64_t c1 = x ? __atomic_load_n(&x->carry[b], __ATOMIC_ACQUIRE) : 0;
        unsigned v = __atomic_load_n(&f->life[b], __ATOMIC_ACQUIRE);
        x = __atomic_load_n(&f->ext, __ATOMIC_ACQUIRE);
        uint64_t c2 = x ? __atomic_load_n(&x->carry[b], __ATOMIC_ACQUIRE) : 0;
        /* the carries differ only while the owner counts on: it soon
         * stops carrying (a carry every MS_LIFE_CARRY frees at most) */
        if (c1 == c2 || tries >= 1000)
            return c2 + life_own(v, c2);
        if (tries >= 16)
            sched_yield();
    }
}

void
ms_sitefree_read(const ms_sitefree_t *f, ms_sitefree_view_t *out)
{
    memset(out, 0, sizeof(*out));
    if (f == NULL)
        return;
    out->freed_bytes = __atomic_load_n(&f->freed_bytes, __ATOMIC_RELAXED);
    out->freed_usable_bytes = __atomic_load_n(&f->freed_usable_bytes,
        __ATOMIC_RELAXED);
    out->temporaries = __atomic_load_n(&f->temporaries, __ATOMIC_RELAXED);
    const ms_siteext_t *x = __atomic_load_n(&f->ext, __ATOMIC_ACQUIRE);
    if (x != NULL) {
        out->est_allocs = x->est_allocs;
        out->est_bytes = x->est_bytes;
        out->est_freed_allocs = x->est_freed_allocs;
        out->est_freed_bytes = x->est_freed_bytes;
    }
    for (int b = 0; b < MS_LIFE_BUCKETS; b++) {
        out->life[b] = life_read(f, b);
        out->frees += out->life[b];
    }
}
