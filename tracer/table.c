/*
 * table.c - the side table: one per thread, a directory of 16 KiB address
 * regions, each with a segment of its records in groups of 16 slots with
 * control bytes (table.h): no probe chain to walk and no shift on delete.
 * A segment is rehashed when no empty slot is left below 7/8 load: to a
 * capacity where its records fill 3/4 of that (so it grows by a third;
 * half of it under GROW_HALF records, so it doubles; or it stays as it is
 * when deleted slots took the room), and shrinks as it empties, so the table stays near the size of its thread's live set, and
 * a resize copies one region's records only. The directory doubles at 1/4
 * load; regions stay in it once seen (an empty one keeps a segment of
 * MS_TABLE_SEG_MIN slots).
 *
 * A region whose blocks come and go in waves (a producer's blocks freed
 * in batches by another thread: its inbox drained at once) would shrink
 * and grow back through every size each wave, copying each record about
 * twice (xthread: 38k grows and 19k shrinks, 1.9M records copied a
 * million blocks). So a segment made less than SETTLE_MS ago shrinks only
 * once empty, and one shrunk less than SETTLE_MS ago grows back to the
 * size it had in one step: at most one shrink and one grow a segment per
 * SETTLE_MS, and the memory of a wave is kept that long at most (longer
 * only until the region's next free).
 *
 * Only the owner writes. Each change is framed by seq (odd while
 * changing); another thread reads with ms_table_peek, which retries until
 * it saw a quiet table. Segments and directories replaced by a resize are
 * kept until no reader is inside the table (its readers count, and the
 * slots of ms_table_peek_held's readers, which name the table they are
 * in: a foreign free writes only its own), then freed: at the next
 * resize, or from the owner's tick (ms_table_reap).
 */
#include <string.h>

#include "table.h"

#define DIR_MIN 16u
#define SETTLE_MS 16u
#define GROW_HALF 128u

static int
no_readers(ms_table_t *t)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return __atomic_load_n(&t->readers, __ATOMIC_ACQUIRE) == 0 &&
        !ms_table_held(t);
}

static void
reader_in(ms_table_t *t)
{
    __atomic_add_fetch(&t->readers, 1, __ATOMIC_ACQ_REL);
}

static void
reader_out(ms_table_t *t)
{
    __atomic_sub_fetch(&t->readers, 1, __ATOMIC_ACQ_REL);
}

static uint32_t
seg_groups(uint32_t cap)
{
    return cap < MS_TGROUP ? 1 : cap / MS_TGROUP;
}

static uint64_t
seg_bytes(uint32_t cap, uint32_t stride)
{
    return sizeof(ms_tseg_t) + (uint64_t)seg_groups(cap) * MS_TGROUP +
        (uint64_t)cap * stride;
}

/* The records a segment of cap slots holds before a rehash: 7/8 of it. */
static uint32_t
seg_max(uint32_t cap)
{
    return cap < MS_TGROUP ? cap - 1 : cap - cap / 8;
}

/* The capacity where n records fill num/8 of the most a segment holds:
 * 4, 8, or a multiple of 16; 0 past the largest. */
static uint32_t
seg_cap_fill(uint64_t n, unsigned num)
{
    uint64_t want = (n * 8 + num - 1) / num;
    if (want <= seg_max(4))
        return 4;
    if (want <= seg_max(8))
        return 8;
    uint64_t cap = (want * 8 + 6) / 7;
    cap = (cap + MS_TGROUP - 1) / MS_TGROUP * MS_TGROUP;
    return cap > UINT16_MAX ? 0 : (uint32_t)cap;
}

/* The capacity where n records fill 3/4 of the most a segment holds. */
static uint32_t
seg_cap_for(uint64_t n)
{
    return seg_cap_fill(n, 6);
}

/* The capacity a full segment of n records grows to: where they fill half
 * of its most below GROW_HALF records (it about doubles: a region filling
 * up from one block copies each record about once, not three times, and
 * small segments are little memory), 3/4 above (it grows by a third). */
static uint32_t
seg_cap_grow(uint64_t n)
{
    return seg_cap_fill(n, n < GROW_HALF ? 4 : 6);
}

/* A new empty segment of cap slots of stride bytes, or NULL without
 * memory. */
static ms_tseg_t *
seg_new(uint32_t cap, uint32_t stride)
{
    ms_tseg_t *s = ms_tmalloc(seg_bytes(cap, stride));
    if (s == NULL)
        return NULL;
    s->cap = (uint16_t)cap;
    s->stride = (uint16_t)stride;
    s->nwide = 0;
    s->ngroups = (uint16_t)seg_groups(cap);
    s->count = 0;
    s->left = (uint16_t)seg_max(cap);
    /* shrinks below a quarter of its most (none at 32 slots or less) */
    s->low = (uint16_t)(cap > MS_TGROUP * 2 ? cap * 7 / 32 : 0);
    s->shrunk_from = 0;
    s->made_ms = ms_clock_ms();
    memset(s->ctrl, MS_CTRL_EMPTY, cap);
    memset(s->ctrl + cap, MS_CTRL_SENTINEL, MS_TGROUP * s->ngroups - cap);
    return s;
}

static uint64_t
dir_bytes(uint64_t n)
{
    return sizeof(ms_tdir_t) + n * sizeof(ms_tdirent_t);
}

void
ms_table_reap(ms_table_t *t)
{
    if (t->nretired == 0 || !no_readers(t))
        return;
    for (uint32_t i = 0; i < t->nretired; i++) {
        t->bytes -= t->retired[i].bytes;
        ms_tfree(t->retired[i].p);
    }
    t->nretired = 0;
}

/* Room to retire one more array; 0, or -1 without memory. */
static int
retire_room(ms_table_t *t)
{
    ms_table_reap(t);
    if (t->nretired < t->capretired)
        return 0;
    uint32_t nc = t->capretired ? t->capretired * 2 : 16;
    struct ms_retired *n = ms_trealloc(t->retired, nc * sizeof(*n));
    if (n == NULL)
        return -1;
    t->retired = n;
    t->capretired = nc;
    return 0;
}

static void
retire(ms_table_t *t, void *p, uint64_t bytes)
{
    t->retired[t->nretired++] = (struct ms_retired){ p, bytes };
}

/* The directory entry of region, or NULL. */
static ms_tdirent_t *
dir_find(ms_tdir_t *d, uintptr_t region)
{
    for (uint64_t i = ms_table_dir_home(region, d->mask);; i = (i + 1) & d->mask) {
        if (d->e[i].region == region)
            return &d->e[i];
        if (d->e[i].region == 0)
            return NULL;
    }
}

static ms_tdirent_t *
dir_slot(ms_tdir_t *d, uintptr_t region)
{
    uint64_t i = ms_table_dir_home(region, d->mask);
    while (d->e[i].region != 0)
        i = (i + 1) & d->mask;
    return &d->e[i];
}

/* A directory with room for one more region; 0 or -1. */
static int
dir_room(ms_table_t *t)
{
    ms_tdir_t *old = t->dir;
    if (old != NULL && (old->count + 1) * 4 <= old->mask + 1)
        return 0;
    uint64_t n = old ? (old->mask + 1) * 2 : DIR_MIN;
    if (old != NULL && retire_room(t) != 0)
        return -1;
    ms_tdir_t *d = ms_tcalloc(dir_bytes(n));
    if (d == NULL)
        return -1;
    d->mask = n - 1;
    for (uint64_t i = 0; old != NULL && i <= old->mask; i++)
        if (old->e[i].region != 0) {
            *dir_slot(d, old->e[i].region) = old->e[i];
            d->count++;
        }
    uint64_t q = ms_table_write_begin(t);
    __atomic_store_n(&t->dir, d, __ATOMIC_RELEASE);
    ms_table_write_end(t, q);
    t->bytes += dir_bytes(n);
    if (old != NULL)
        retire(t, old, dir_bytes(old->mask + 1));
    return 0;
}

/* Moves old's records into s (empty, room for them): each to the first
 * free slot from its home group among s's groups, with its control byte
 * (the tag is the same hash's). Inline for each pair of forms, so that a
 * slot is copied by two or three moves, not a call to memcpy. */
static inline __attribute__((always_inline)) void
seg_move_as(ms_tseg_t *s, const ms_tseg_t *old, uint32_t from, uint32_t to)
{
    const uint8_t *octrl = old->ctrl, *oslots = ms_tseg_slots(old);
    uint8_t *ctrl = s->ctrl, *slots = ms_tseg_slots(s);
    uint32_t ng = s->ngroups, ong = old->ngroups;
    for (uint32_t og = 0; og < ong; og++) {
        /* full slots: control bytes below 0x80 */
        unsigned m = ~(unsigned)_mm_movemask_epi8(_mm_loadu_si128(
            (const __m128i *)(octrl + MS_TGROUP * og))) & 0xffffu;
        for (; m != 0; m &= m - 1) {
            unsigned i = og * MS_TGROUP + (unsigned)__builtin_ctz(m);
            const uint8_t *x = oslots + (size_t)i * from;
            uint32_t g = ms_table_home(ms_table_hash(
                (uint32_t)(ms_tslot_first(x) & MS_TSLOT_OFF_MASK)), ng);
            unsigned f;
            while ((f = ms_ctrl_free(_mm_loadu_si128(
                    (const __m128i *)(ctrl + MS_TGROUP * g)))) == 0)
                if (++g == ng)
                    g = 0;
            unsigned j = g * MS_TGROUP + (unsigned)__builtin_ctz(f);
            if (from == to) {
                memcpy(slots + (size_t)j * to, x, to);
            } else {
                ms_rec_t r;
                ms_tseg_get_as(old, i, 0, &r, from);
                ms_tseg_store_as(s, j, &r, to);
            }
            ctrl[j] = octrl[i];
        }
    }
}

/* Replaces entry e's segment with one of cap slots holding its records,
 * wide when wide is set or one of them needs it (nwide). Only a record's
 * home group among the new groups is computed again (seg_move_as), and
 * its form when that changes. The new segment is published only once
 * complete. */
static int
seg_resize(ms_table_t *t, ms_tdirent_t *e, uint32_t cap, int wide)
{
    ms_tseg_t *old = e->seg;
    if (retire_room(t) != 0)
        return -1;
    if (!wide && old->stride == MS_TSLOT_WIDE)
        wide = old->nwide != 0;
    ms_tseg_t *s = seg_new(cap, wide ? MS_TSLOT_WIDE : MS_TSLOT_NARROW);
    if (s == NULL)
        return -1;
    if (old->stride == MS_TSLOT_NARROW && !wide)
        seg_move_as(s, old, MS_TSLOT_NARROW, MS_TSLOT_NARROW);
    else if (old->stride == MS_TSLOT_NARROW)
        seg_move_as(s, old, MS_TSLOT_NARROW, MS_TSLOT_WIDE);
    else if (wide)
        seg_move_as(s, old, MS_TSLOT_WIDE, MS_TSLOT_WIDE);
    else
        seg_move_as(s, old, MS_TSLOT_WIDE, MS_TSLOT_NARROW);
    s->count = old->count;
    s->left = (uint16_t)(s->left - old->count);
    if (s->stride == old->stride)
        s->nwide = old->nwide;      /* a narrow one moved none */
    if (cap < old->cap)
        s->shrunk_from = old->cap;
    if (cap == old->cap && s->stride != old->stride) {
        /* a change of form only: the settle clock and the size to grow
         * back to stay the segment's */
        s->made_ms = old->made_ms;
        s->shrunk_from = old->shrunk_from;
    }
    uint64_t q = ms_table_write_begin(t);
    __atomic_store_n(&e->seg, s, __ATOMIC_RELEASE);
    ms_table_write_end(t, q);
    ms_tdirent_t *n = &t->near[e->region % MS_TABLE_NEAR];
    if (n->region == e->region)
        n->seg = s;
    t->bytes += seg_bytes(cap, s->stride);
    retire(t, old, seg_bytes(old->cap, old->stride));
    return 0;
}

int
ms_table_grow_seg(ms_table_t *t, uintptr_t ptr, int wide)
{
    uintptr_t region = ptr >> MS_REGION_BITS;
    ms_tdirent_t *e = t->dir ? dir_find(t->dir, region) : NULL;
    if (e != NULL && wide && e->seg->stride != MS_TSLOT_WIDE &&
            e->seg->left != 0)
        return seg_resize(t, e, e->seg->cap, 1);    /* widened as it is */
    if (e != NULL) {
        /* grown, or rehashed at its size when deleted slots took the room */
        uint32_t cap = seg_cap_grow((uint64_t)e->seg->count + 1);
        if (cap < e->seg->cap)
            cap = e->seg->cap;
        if (e->seg->shrunk_from > cap &&
            ms_clock_ms() - e->seg->made_ms < SETTLE_MS)
            cap = e->seg->shrunk_from;      /* the wave comes back */
        return cap == 0 ? -1 : seg_resize(t, e, cap, wide);
    }
    if (dir_room(t) != 0)
        return -1;
    ms_tseg_t *s = seg_new(MS_TABLE_SEG_MIN,
        wide ? MS_TSLOT_WIDE : MS_TSLOT_NARROW);
    if (s == NULL)
        return -1;
    e = dir_slot(t->dir, region);
    uint64_t q = ms_table_write_begin(t);
    __atomic_store_n(&e->seg, s, __ATOMIC_RELAXED);
    __atomic_store_n(&e->region, region, __ATOMIC_RELEASE);
    t->dir->count++;
    ms_table_write_end(t, q);
    t->bytes += seg_bytes(MS_TABLE_SEG_MIN, s->stride);
    return 0;
}

void
ms_table_shrink_seg(ms_table_t *t, uintptr_t ptr)
{
    ms_tdirent_t *e = dir_find(t->dir, ptr >> MS_REGION_BITS);
    if (e->seg->count != 0 && ms_clock_ms() - e->seg->made_ms < SETTLE_MS)
        return;                             /* a wave may come back */
    seg_resize(t, e, seg_cap_for(e->seg->count), 0);
    /* on failure the segment stays as it is */
}

void
ms_table_narrow_seg(ms_table_t *t, uintptr_t ptr)
{
    ms_tdirent_t *e = dir_find(t->dir, ptr >> MS_REGION_BITS);
    seg_resize(t, e, e->seg->cap, 0);
    /* on failure the segment stays wide: its next resize tries again */
}

int
ms_table_insert(ms_table_t *t, const ms_rec_t *r)
{
    return ms_table_insert_h(t, r);
}

int
ms_table_get(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    ms_tseg_t *s = ms_table_seg_of(t, ptr);
    __m128i c;
    int i = s ? ms_tseg_lookup(s, (uint32_t)(ptr & MS_TSLOT_OFF_MASK), &c) : -1;
    if (i < 0)
        return -1;
    if (out != NULL)
        ms_tseg_get(s, (unsigned)i, ptr & ~(uintptr_t)MS_TSLOT_OFF_MASK, out);
    return 0;
}

int
ms_table_set_flags(ms_table_t *t, uintptr_t ptr, unsigned flags)
{
    ms_tseg_t *s = ms_table_seg_of(t, ptr);
    __m128i c;
    int i = s ? ms_tseg_lookup(s, (uint32_t)(ptr & MS_TSLOT_OFF_MASK), &c) : -1;
    if (i < 0)
        return -1;
    uint64_t q = ms_table_write_begin(t);
    uint8_t *x = ms_tseg_slot(s, (unsigned)i);
    uint64_t a = ms_tslot_first(x) | (uint64_t)(flags & 3u) << MS_REGION_BITS;
    memcpy(x, &a, sizeof(a));       /* the same bits in both forms */
    ms_table_write_end(t, q);
    return 0;
}

int
ms_table_remove(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    return ms_table_remove_h(t, ptr, out);
}

/* A reader's segment of ptr's region in directory d (any thread). */
static ms_tseg_t *
peek_seg(ms_tdir_t *d, uintptr_t ptr)
{
    uintptr_t region = ptr >> MS_REGION_BITS;
    uint64_t mask = d->mask;
    uint64_t i = ms_table_dir_home(region, mask);
    for (uint64_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
        uintptr_t r = __atomic_load_n(&d->e[i].region, __ATOMIC_ACQUIRE);
        if (r == region)
            return __atomic_load_n(&d->e[i].seg, __ATOMIC_ACQUIRE);
        if (r == 0)
            break;
    }
    return NULL;
}

/* ptr's record in t's current arrays, copied to out: 0, or -1 when none.
 * No ordering of its own: the callers' protocols make the copy good. */
static inline __attribute__((always_inline)) int
peek_find(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    ms_tdir_t *d = __atomic_load_n(&t->dir, __ATOMIC_ACQUIRE);
    ms_tseg_t *s = d ? peek_seg(d, ptr) : NULL;
    if (s == NULL)
        return -1;
    __m128i c;
    int i = ms_tseg_lookup(s, (uint32_t)(ptr & MS_TSLOT_OFF_MASK), &c);
    if (i < 0)
        return -1;
    ms_tseg_get(s, (unsigned)i, ptr & ~(uintptr_t)MS_TSLOT_OFF_MASK, out);
    return 0;
}

/* The seqlock's read of ptr's record, for a reader whose presence the
 * owner can see (peek, peek_held). */
static inline __attribute__((always_inline)) int
peek_in(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    int found;
    for (unsigned tries = 0;; tries++) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            if (tries > 64)
                sched_yield();
            else
                __builtin_ia32_pause();
            continue;
        }
        found = peek_find(t, ptr, out) == 0;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1)
            break;
    }
    return found ? 0 : -1;
}

int
ms_table_peek(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    reader_in(t);
    int found = peek_in(t, ptr, out);
    reader_out(t);
    return found;
}

/*
 * The reader's own slot names t while it reads: the exchange is a full
 * barrier, so either the owner's reap (a fence, then the slots read)
 * sees t there, or this reader sees the arrays the owner published before
 * retiring the old ones. No write to the owner's lines, and no read of
 * seq (the line the owner writes at each change):
 *  - ptr is a block the caller frees or resizes, so if t holds its record
 *    the record went in before the program handed ptr over, and stays:
 *    the owner takes it out only at the caller's own hand-off (the inbox)
 *    or at a second free of ptr, a heap error either way. Nothing the
 *    owner does meanwhile hides it: a directory entry and a group with no
 *    empty slot, which a look-up walks past, never become empty (entries
 *    stay; a delete leaves a slot empty only where its group has another
 *    empty one), and a resize publishes a complete copy (release).
 *  - if t does not hold it, a slot of t shows ptr's offset only with a
 *    tag stored after its record (ms_tseg_put), so only a record of ptr;
 *    and t's last record of ptr, if any, was taken out before ptr went
 *    back to the engine, before the caller got it.
 */
int
ms_table_peek_held(ms_table_t *t, uintptr_t ptr, ms_rec_t *out,
    ms_table_t **held)
{
    (void)__atomic_exchange_n(held, t, __ATOMIC_SEQ_CST);
    int found = peek_find(t, ptr, out);
    __atomic_store_n(held, NULL, __ATOMIC_RELEASE);
    return found;
}

/* Calls fn on each record of directory d until it returns nonzero (any
 * thread, inside a reader's section); returns that value or 0. */
static int
each_in(ms_tdir_t *d, int (*fn)(void *, const ms_rec_t *), void *arg)
{
    for (uint64_t k = 0; d != NULL && k <= d->mask; k++) {
        uintptr_t region = __atomic_load_n(&d->e[k].region, __ATOMIC_ACQUIRE);
        if (region == 0)
            continue;
        ms_tseg_t *s = __atomic_load_n(&d->e[k].seg, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; s != NULL && i < s->cap; i++) {
            if (__atomic_load_n(&s->ctrl[i], __ATOMIC_RELAXED) >= MS_CTRL_EMPTY)
                continue;
            ms_rec_t r;
            ms_tseg_get(s, i, region << MS_REGION_BITS, &r);
            int rc = fn(arg, &r);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

void
ms_table_each(ms_table_t *t, void (*restart)(void *),
    int (*fn)(void *, const ms_rec_t *), void *arg)
{
    reader_in(t);
    for (unsigned tries = 0;; tries++) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if ((s1 & 1) && tries < 1000) {
            sched_yield();
            continue;
        }
        restart(arg);
        int stop = each_in(__atomic_load_n(&t->dir, __ATOMIC_ACQUIRE), fn, arg);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (stop || __atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1 ||
            tries >= 1000)
            break;
    }
    reader_out(t);
}

/* Puts a record of the old table back, once (repair). */
static int
reinsert(void *arg, const ms_rec_t *r)
{
    ms_table_t *t = arg;
    if (ms_table_get(t, r->ptr, NULL) != 0)
        ms_table_insert_h(t, r);
    return 0;
}

void
ms_table_repair(ms_table_t *t)
{
    /* A half-done change leaves at most a record twice or a run with a
     * hole: every record goes into a fresh table. The old arrays, and the
     * retired ones (no reader survives fork), are left: their memory is
     * lost, not reused. */
    ms_tdir_t *old = t->dir;
    t->seq &= ~(uint64_t)1;
    t->nretired = 0;
    t->readers = 0;
    memset(t->near, 0, sizeof(t->near));
    t->dir = NULL;
    t->count = 0;
    t->bytes = 0;
    each_in(old, reinsert, t);
}

uint64_t
ms_table_bytes(const ms_table_t *t)
{
    return __atomic_load_n(&t->bytes, __ATOMIC_RELAXED);
}

/* find_containing's search: a record whose block holds ptr. */
typedef struct {
    uintptr_t ptr;
    ms_rec_t *out;
} contain_t;

static int
contains(void *arg, const ms_rec_t *r)
{
    contain_t *c = arg;
    if (r->ptr < c->ptr && c->ptr - r->ptr < (r->size ? r->size : 1)) {
        *c->out = *r;
        return 1;
    }
    return 0;
}

int
ms_table_find_containing(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    reader_in(t);
    contain_t c = { ptr, out };
    int found;
    for (;;) {
        uint64_t s1 = __atomic_load_n(&t->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            sched_yield();
            continue;
        }
        found = each_in(__atomic_load_n(&t->dir, __ATOMIC_ACQUIRE), contains, &c);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->seq, __ATOMIC_RELAXED) == s1)
            break;
    }
    reader_out(t);
    return found ? 0 : -1;
}
