/*
 * table.h - the side table's hot operations, inlined into the hooks.
 *
 * A thread's table is a directory of address regions (16 KiB each: the
 * blocks jemalloc placed together, in one slab or a few), each with a
 * segment of its own holding the region's records, 12 bytes each, or 16
 * in a segment holding any block too large or site too far for 12 (the
 * block's offset in the region stands for its pointer). A segment is a
 * small hash table in groups of 16 slots, each slot with a control byte:
 * empty, deleted, or full with 7 bits of its offset's hash (the idea of
 * Abseil's SwissTable). A look-up hashes the offset to a home group (by a
 * multiply: any number of groups), compares the group's 16 control bytes
 * with the hash's 7 bits in one SSE2 compare and reads only the slots
 * that match; it goes on to the next group only when the home group has
 * no empty slot. A delete marks its slot empty, or deleted when its group
 * has no empty slot (a look-up may have gone past it); deleted slots are
 * reused by inserts and dropped by the next rehash. A segment is rehashed
 * (grown, or cleaned of deleted slots) when no empty slot is left below
 * 7/8 load, and shrinks as it empties. Only the owner calls these; see
 * table.c for readers.
 */
#ifndef MS_TABLE_H
#define MS_TABLE_H

#include <emmintrin.h>
#include <string.h>

#include "internal.h"

#define MS_TABLE_K        0x9E3779B97F4A7C15ull

/* Control bytes: a full slot's is 7 bits of its hash (0..0x7f). */
#define MS_CTRL_EMPTY     0x80
#define MS_CTRL_DELETED   0xfe
#define MS_CTRL_SENTINEL  0xff  /* past cap, in a segment under 16 slots */
#define MS_TGROUP         16

#define MS_TSLOT_OFF_MASK ((uint64_t)(1u << MS_REGION_BITS) - 1)
#define MS_TSLOT_SITE_MAX ((1u << 28) - 1)

/* Fibonacci hashing of an offset (14 bits) in 32 bits: the product's
 * bits from 14 up mix all of the offset's bits. */
static inline uint32_t
ms_table_hash(uint32_t off)
{
    return off * 0x9E3779B9u;
}

/* The home group among n groups: the hash's top bits. */
static inline uint32_t
ms_table_home(uint32_t h, uint32_t n)
{
    return (uint32_t)(((uint64_t)h * n) >> 32);
}

/* The control byte of a full slot: 7 bits of the hash below those the
 * home group is taken from. */
static inline unsigned
ms_table_tag(uint32_t h)
{
    return (h >> 18) & 0x7f;
}

/* The directory slot where a region is or would go. */
static inline uint64_t
ms_table_dir_home(uintptr_t region, uint64_t mask)
{
    return ((uint64_t)region * MS_TABLE_K >> 32) & mask;
}

/* The most a narrow slot holds (internal.h); a segment with any record
 * past them is wide. */
#define MS_TSLOT_NARROW_SIZE_MAX ((1u << 15) - 1)
#define MS_TSLOT_NARROW_SITE_MAX ((1u << 21) - 1)
#define MS_TSLOT_NARROW          12u
#define MS_TSLOT_WIDE            16u

static inline uint8_t *
ms_tseg_slots(const ms_tseg_t *s)
{
    return (uint8_t *)(s->ctrl + MS_TGROUP * s->ngroups);
}

/* Slot i of s, whose slots are stride bytes (s->stride; the fast paths
 * name it, so that it is a constant there). */
static inline __attribute__((always_inline)) uint8_t *
ms_tseg_slot_as(const ms_tseg_t *s, unsigned i, uint32_t stride)
{
    return ms_tseg_slots(s) + (size_t)i * stride;
}

static inline uint8_t *
ms_tseg_slot(const ms_tseg_t *s, unsigned i)
{
    return ms_tseg_slot_as(s, i, s->stride);
}

/* Whether r fits a narrow slot. */
static inline int
ms_rec_narrow(const ms_rec_t *r)
{
    return r->size <= MS_TSLOT_NARROW_SIZE_MAX &&
        r->site <= MS_TSLOT_NARROW_SITE_MAX;
}

/* A slot's first word, whose low bits are its offset (both forms). */
static inline uint64_t
ms_tslot_first(const uint8_t *x)
{
    uint64_t a;
    memcpy(&a, x, sizeof(a));
    return a;
}

/* Slot i's words, copied (a reader racing the owner checks its seqlock
 * after: the copy is what it decodes). */
static inline __attribute__((always_inline)) ms_tslot_t
ms_tseg_load_as(const ms_tseg_t *s, unsigned i, uint32_t stride)
{
    const uint8_t *x = ms_tseg_slot_as(s, i, stride);
    ms_tslot_t w;
    w.a = ms_tslot_first(x);
    if (stride == MS_TSLOT_WIDE) {
        memcpy(&w.b, x + 8, sizeof(w.b));
    } else {
        uint32_t b;
        memcpy(&b, x + 8, sizeof(b));
        w.b = b;
    }
    return w;
}

/* Packed so that each field comes out with one or two instructions;
 * narrow: r fits (ms_rec_narrow). */
static inline __attribute__((always_inline)) void
ms_tseg_store_as(ms_tseg_t *s, unsigned i, const ms_rec_t *r, uint32_t stride)
{
    uint8_t *x = ms_tseg_slot_as(s, i, stride);
    uint64_t a = ((uint64_t)r->ptr & MS_TSLOT_OFF_MASK) |
        (uint64_t)(r->flags & 3u) << MS_REGION_BITS |
        (uint64_t)r->usable << 16;
    if (stride == MS_TSLOT_WIDE) {
        a |= r->size << 24;
        uint64_t b = (uint64_t)(r->kind & 15u) | (uint64_t)r->site << 4 |
            (uint64_t)r->time_ms << 32;
        memcpy(x, &a, sizeof(a));
        memcpy(x + 8, &b, sizeof(b));
    } else {
        a |= r->size << 24 | (uint64_t)(r->kind & 15u) << 39 |
            (uint64_t)r->site << 43;
        uint32_t b = r->time_ms;
        memcpy(x, &a, sizeof(a));
        memcpy(x + 8, &b, sizeof(b));
    }
}

/* The record of words w of a slot (wide: of a wide one) of the region
 * whose first address is base. */
static inline void
ms_tslot_unpack(ms_tslot_t w, int wide, uintptr_t base, ms_rec_t *r)
{
    r->ptr = base | (uintptr_t)(w.a & MS_TSLOT_OFF_MASK);
    r->usable = (uint8_t)(w.a >> 16);
    r->flags = (uint8_t)((w.a >> MS_REGION_BITS) & 3u);
    if (wide) {
        r->size = w.a >> 24;
        r->time_ms = (uint32_t)(w.b >> 32);
        r->site = (uint32_t)w.b >> 4;
        r->kind = (uint8_t)(w.b & 15u);
    } else {
        r->size = (w.a >> 24) & MS_TSLOT_NARROW_SIZE_MAX;
        r->time_ms = (uint32_t)w.b;
        r->site = (uint32_t)(w.a >> 43);
        r->kind = (uint8_t)((w.a >> 39) & 15u);
    }
}

/* Slot i's record, of segment s of the region at base. */
static inline __attribute__((always_inline)) void
ms_tseg_get_as(const ms_tseg_t *s, unsigned i, uintptr_t base, ms_rec_t *r,
    uint32_t stride)
{
    ms_tslot_unpack(ms_tseg_load_as(s, i, stride), stride == MS_TSLOT_WIDE,
        base, r);
}

static inline void
ms_tseg_store(ms_tseg_t *s, unsigned i, const ms_rec_t *r)
{
    ms_tseg_store_as(s, i, r, s->stride);
}

static inline void
ms_tseg_get(const ms_tseg_t *s, unsigned i, uintptr_t base, ms_rec_t *r)
{
    ms_tseg_get_as(s, i, base, r, s->stride);
}

static inline unsigned
ms_ctrl_match(__m128i c, unsigned byte)
{
    __m128i b = _mm_shuffle_epi32(_mm_cvtsi32_si128((int)(byte * 0x01010101u)), 0);
    return (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(c, b));
}

/* Empty or deleted: signed -128 or -2, less than the sentinel's -1. */
static inline unsigned
ms_ctrl_free(__m128i c)
{
    return (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(_mm_set1_epi8(-1), c));
}

/* The segment of ptr's region, or NULL (owner only). The one found is
 * kept in near (a resize of its region keeps it current). */
static inline ms_tseg_t *
ms_table_seg_of(ms_table_t *t, uintptr_t ptr)
{
    uintptr_t region = ptr >> MS_REGION_BITS;
    ms_tdirent_t *n = &t->near[region % MS_TABLE_NEAR];
    /* region 0 (a wild pointer below 16 KiB) matches the empty entries:
     * their NULL segment says absent */
    if (MS_LIKELY(n->region == region))
        return n->seg;
    ms_tdir_t *d = t->dir;
    if (MS_UNLIKELY(d == NULL))
        return NULL;
    uint64_t mask = d->mask;
    for (uint64_t i = ms_table_dir_home(region, mask);; i = (i + 1) & mask) {
        const ms_tdirent_t *e = &d->e[i];
        if (MS_LIKELY(e->region == region)) {
            /* an entry's segment is set before its region, never
             * cleared: NULL (region 0's empty entry) means absent */
            *n = *e;
            return e->seg;
        }
        if (e->region == 0)
            return NULL;
    }
}

/* Starts a change: seq made odd; returns it, for ms_table_write_end. */
static inline uint64_t
ms_table_write_begin(ms_table_t *t)
{
    uint64_t q = t->seq + 1;
    __atomic_store_n(&t->seq, q, __ATOMIC_RELAXED);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);    /* x86: stores stay ordered */
    return q;
}

static inline void
ms_table_write_end(ms_table_t *t, uint64_t q)
{
    __atomic_store_n(&t->seq, q + 1, __ATOMIC_RELEASE);
}

/* The slot of offset off in segment s, or -1; *grp: its group's control
 * bytes. Bounded by the segment's groups, so a reader racing the owner
 * (table.c, under the seqlock) cannot loop or leave the segment. */
static inline __attribute__((always_inline)) int
ms_tseg_lookup(const ms_tseg_t *s, uint32_t off, __m128i *grp)
{
    uint32_t h = ms_table_hash(off);
    uint32_t ng = s->ngroups, g = ms_table_home(h, ng);
    unsigned tag = ms_table_tag(h);
    for (uint32_t n = ng;;) {
        __m128i c = _mm_loadu_si128((const __m128i *)(s->ctrl + MS_TGROUP * g));
        for (unsigned m = ms_ctrl_match(c, tag); m != 0; m &= m - 1) {
            unsigned i = g * MS_TGROUP + (unsigned)__builtin_ctz(m);
            if (MS_LIKELY((ms_tslot_first(ms_tseg_slot(s, i)) &
                    MS_TSLOT_OFF_MASK) == off)) {
                *grp = c;
                return (int)i;
            }
        }
        if (MS_LIKELY(ms_ctrl_match(c, MS_CTRL_EMPTY) != 0) || --n == 0)
            return -1;
        if (++g == ng)
            g = 0;
    }
}

/* The common case of ms_tseg_lookup, for the hooks' fast paths: the slot
 * of offset off in narrow segment s when it is in its home group, else -1
 * (absent, or in a later group: ms_tseg_lookup tells). *grp: the group's
 * control bytes. */
static inline __attribute__((always_inline)) int
ms_tseg_lookup_home(const ms_tseg_t *s, uint32_t off, __m128i *grp)
{
    uint32_t h = ms_table_hash(off);
    uint32_t g = ms_table_home(h, s->ngroups);
    const uint8_t *sl = ms_tseg_slot_as(s, g * MS_TGROUP, MS_TSLOT_NARROW);
    __m128i c = _mm_loadu_si128((const __m128i *)(s->ctrl + MS_TGROUP * g));
    *grp = c;
    for (unsigned m = ms_ctrl_match(c, ms_table_tag(h)); m != 0; m &= m - 1) {
        unsigned j = (unsigned)__builtin_ctz(m);
        if (MS_LIKELY((ms_tslot_first(sl + j * MS_TSLOT_NARROW) &
                MS_TSLOT_OFF_MASK) == off))
            return (int)(g * MS_TGROUP + j);
    }
    return -1;
}

/* Puts r into segment s, which has an empty slot (left > 0), where a
 * look-up of it will find it. */
static inline __attribute__((always_inline)) void
ms_tseg_put(ms_tseg_t *s, const ms_rec_t *r)
{
    uint32_t off = (uint32_t)(r->ptr & MS_TSLOT_OFF_MASK);
    uint32_t h = ms_table_hash(off);
    uint32_t ng = s->ngroups, g = ms_table_home(h, ng);
    for (;;) {
        __m128i c = _mm_loadu_si128((const __m128i *)(s->ctrl + MS_TGROUP * g));
        unsigned m = ms_ctrl_free(c);
        if (MS_LIKELY(m != 0)) {
            unsigned i = g * MS_TGROUP + (unsigned)__builtin_ctz(m);
            s->left -= s->ctrl[i] == MS_CTRL_EMPTY;
            ms_tseg_store(s, i, r);
            s->nwide += !ms_rec_narrow(r);  /* in a wide segment only */
            /* after the slot: a reader that sees the tag sees the record
             * (ms_table_peek_held; a plain store on x86) */
            __atomic_store_n(&s->ctrl[i], (uint8_t)ms_table_tag(h),
                __ATOMIC_RELEASE);
            s->count++;
            return;
        }
        if (++g == ng)
            g = 0;
    }
}

/* The hooks' fast insert, first half (writes nothing): the free slot of
 * ptr's home group in segment s, which has room (left > 0), or -1 when
 * that group has none (then ms_table_insert_h). */
static inline __attribute__((always_inline)) int
ms_tseg_free_home(const ms_tseg_t *s, uintptr_t ptr)
{
    uint32_t g = ms_table_home(ms_table_hash(
        (uint32_t)(ptr & MS_TSLOT_OFF_MASK)), s->ngroups);
    unsigned m = ms_ctrl_free(_mm_loadu_si128(
        (const __m128i *)(s->ctrl + MS_TGROUP * g)));
    if (MS_UNLIKELY(m == 0))
        return -1;
    return (int)(g * MS_TGROUP + (unsigned)__builtin_ctz(m));
}

/* The second half: r into slot i of narrow segment s (ms_tseg_free_home's);
 * r fits (ms_rec_narrow). */
static inline __attribute__((always_inline)) void
ms_table_put_at(ms_table_t *t, ms_tseg_t *s, int i, const ms_rec_t *r)
{
    uint32_t h = ms_table_hash((uint32_t)(r->ptr & MS_TSLOT_OFF_MASK));
    uint64_t q = ms_table_write_begin(t);
    s->left -= s->ctrl[i] == MS_CTRL_EMPTY;
    ms_tseg_store_as(s, (unsigned)i, r, MS_TSLOT_NARROW);
    __atomic_store_n(&s->ctrl[i], (uint8_t)ms_table_tag(h),
        __ATOMIC_RELEASE);      /* after the slot, as in ms_tseg_put */
    s->count++;
    t->count++;
    ms_table_write_end(t, q);
}

/* Slow part of an insert: ptr's segment is rehashed, grown or made;
 * wide: made wide (a record the narrow form cannot hold goes in). */
int ms_table_grow_seg(ms_table_t *t, uintptr_t ptr, int wide);

/* Inserts a record for a pointer the table does not hold; 0 or -1. */
static inline __attribute__((always_inline)) int
ms_table_insert_h(ms_table_t *t, const ms_rec_t *r)
{
    if (MS_UNLIKELY(r->site > MS_TSLOT_SITE_MAX))
        return -1;
    int wide = !ms_rec_narrow(r);
    for (;;) {
        ms_tseg_t *s = ms_table_seg_of(t, r->ptr);
        if (MS_LIKELY(s != NULL && s->left != 0 &&
                (!wide || s->stride == MS_TSLOT_WIDE))) {
            uint64_t q = ms_table_write_begin(t);
            ms_tseg_put(s, r);
            t->count++;
            ms_table_write_end(t, q);
            return 0;
        }
        if (ms_table_grow_seg(t, r->ptr, wide) != 0)    /* full */
            return -1;
    }
}

/* Gives a segment far larger than its records their memory back. */
void ms_table_shrink_seg(ms_table_t *t, uintptr_t ptr);
/* Makes ptr's wide segment narrow again, its last wide record gone. */
void ms_table_narrow_seg(ms_table_t *t, uintptr_t ptr);

/* The first half of a remove, which writes nothing: the segment holding
 * ptr's record (its slot in *slot, its group's control bytes in *grp), or
 * NULL when absent. home: looks in the record's home group of a narrow
 * segment only (NULL then may also mean that it lies further, or that
 * the segment is wide: the hooks' fast paths). */
static inline __attribute__((always_inline)) ms_tseg_t *
ms_table_find_h(ms_table_t *t, uintptr_t ptr, int *slot, __m128i *grp,
    int home)
{
    ms_tseg_t *s = ms_table_seg_of(t, ptr);
    if (MS_UNLIKELY(s == NULL || (home && s->stride != MS_TSLOT_NARROW)))
        return NULL;
    uint32_t off = (uint32_t)(ptr & MS_TSLOT_OFF_MASK);
    int i = home ? ms_tseg_lookup_home(s, off, grp) :
        ms_tseg_lookup(s, off, grp);
    if (MS_UNLIKELY(i < 0))
        return NULL;
    *slot = i;
    return s;
}

/* Whether taking a record out of s leaves it due to shrink. */
static inline int
ms_tseg_shrinks(const ms_tseg_t *s)
{
    return s->count - 1 < s->low;
}

/* The second half: takes slot i of segment s (ms_table_find_h's, c its
 * group's control bytes) out; the caller shrinks s if it is due. */
static inline __attribute__((always_inline)) void
ms_table_take_h(ms_table_t *t, ms_tseg_t *s, int i, __m128i c)
{
    uint64_t q = ms_table_write_begin(t);
    /* Empty when no look-up can have gone past this group: it has another
     * empty slot, or it is the segment's only group. */
    if (MS_LIKELY(ms_ctrl_match(c, MS_CTRL_EMPTY) != 0 || s->ngroups == 1)) {
        s->ctrl[i] = MS_CTRL_EMPTY;
        s->left++;
    } else {
        s->ctrl[i] = MS_CTRL_DELETED;
    }
    s->count--;
    t->count--;
    ms_table_write_end(t, q);
}

/* Takes ptr's record out into *out; 0, or -1 when absent. */
static inline __attribute__((always_inline)) int
ms_table_remove_h(ms_table_t *t, uintptr_t ptr, ms_rec_t *out)
{
    __m128i c;
    int i;
    ms_tseg_t *s = ms_table_find_h(t, ptr, &i, &c, 0);
    if (s == NULL)
        return -1;
    ms_tseg_get(s, (unsigned)i, ptr & ~(uintptr_t)MS_TSLOT_OFF_MASK, out);
    ms_table_take_h(t, s, i, c);
    if (MS_UNLIKELY(s->stride == MS_TSLOT_WIDE) && !ms_rec_narrow(out) &&
            --s->nwide == 0)
        ms_table_narrow_seg(t, ptr);
    else if (MS_UNLIKELY(s->count < s->low))
        ms_table_shrink_seg(t, ptr);
    return 0;
}

#endif
