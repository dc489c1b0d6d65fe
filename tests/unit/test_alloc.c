/*
 * test_alloc.c - the malloc family behaves as glibc's does.
 *
 * Linked against libmemscope_malloc.so, so every call below reaches our
 * entry points (test_resolves_to_us checks that). Sizes pass through
 * opaque() and pointers through escape() so that the compiler neither
 * folds a request nor drops an allocation it can see is unused. main()
 * runs the suite with the tracer on and again with it off (two paths
 * through alloc.c).
 */
#include <check.h>

#include "two_passes.h"
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A value the optimizer cannot see through. */
__attribute__((noinline)) static size_t
opaque(size_t v)
{
    __asm__ volatile("" : "+r"(v));
    return v;
}

/* Makes p (and what it points to) observable. */
static inline void
escape(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

static size_t
page(void)
{
    return (size_t)sysconf(_SC_PAGESIZE);
}

static int
is_aligned(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* The byte at offset i of a block filled with seed. */
static inline unsigned char
pat(size_t i, unsigned seed)
{
    return (unsigned char)((i * 131u + seed * 7u + (i >> 8)) & 0xff);
}

static void
fill(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pat(i, seed);
    escape(p);
}

/* Returns the first offset that does not hold the pattern, or n. */
static size_t
check_fill(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pat(i, seed))
            return i;
    return n;
}

static int
all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static int
cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Sizes no allocator can serve. */
static const size_t huge_sizes[] = {
    SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX / 2 + 1, SIZE_MAX / 2,
    (size_t)PTRDIFF_MAX, (size_t)1 << 62, (size_t)1 << 56, (size_t)1 << 50,
};
#define N_HUGE (sizeof(huge_sizes) / sizeof(huge_sizes[0]))

/* --- malloc and free ------------------------------------------------------ */

START_TEST(test_malloc_zero_unique)
{
    enum { N = 1000 };
    static void *ptrs[N];
    for (int i = 0; i < N; i++) {
        ptrs[i] = malloc(opaque(0));
        ck_assert_msg(ptrs[i] != NULL, "malloc(0) #%d returned NULL", i);
    }
    qsort(ptrs, N, sizeof(ptrs[0]), cmp_ptr);
    for (int i = 1; i < N; i++)
        ck_assert_msg(ptrs[i] != ptrs[i - 1], "malloc(0) returned %p twice",
            ptrs[i]);
    for (int i = 0; i < N; i++)
        free(ptrs[i]);
}
END_TEST

START_TEST(test_free_null)
{
    errno = 4321;
    free(NULL);
    ck_assert_int_eq(errno, 4321);
    for (int i = 0; i < 1000; i++)
        free((void *)opaque(0));
    ck_assert_int_eq(errno, 4321);
}
END_TEST

START_TEST(test_free_keeps_errno)
{
    static const size_t sizes[] = { 0, 1, 8, 100, 4096, 70000, 1 << 20,
        8 << 20, 64 << 20 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = malloc(opaque(sizes[i]));
        ck_assert_ptr_nonnull(p);
        memset(p, 0x5a, sizes[i]);
        escape(p);
        errno = 1234;
        free(p);
        ck_assert_msg(errno == 1234, "free of a %zu-byte block changed errno "
            "to %d", sizes[i], errno);
    }
    /* A batch, so that the engine flushes caches and may return memory. */
    void *batch[512];
    for (int i = 0; i < 512; i++)
        batch[i] = malloc(opaque((size_t)(i % 64 + 1) * 1024));
    errno = 1234;
    for (int i = 0; i < 512; i++)
        free(batch[i]);
    ck_assert_int_eq(errno, 1234);
}
END_TEST

START_TEST(test_malloc_huge_enomem)
{
    for (size_t i = 0; i < N_HUGE; i++) {
        errno = 0;
        void *p = malloc(opaque(huge_sizes[i]));
        ck_assert_msg(p == NULL, "malloc(%zu) succeeded", huge_sizes[i]);
        ck_assert_msg(errno == ENOMEM, "malloc(%zu): errno %d, want ENOMEM",
            huge_sizes[i], errno);
    }
    /* The allocator still works after the failures. */
    void *p = malloc(opaque(100));
    ck_assert_ptr_nonnull(p);
    free(p);
}
END_TEST

START_TEST(test_malloc_contents_independent)
{
    /* Live blocks of many sizes never overlap. */
    enum { N = 300 };
    static void *ptrs[N];
    static size_t sz[N];
    for (int i = 0; i < N; i++) {
        sz[i] = (size_t)(i * 37 % 5000) + (i % 7 == 0 ? 100000 : 1);
        ptrs[i] = malloc(opaque(sz[i]));
        ck_assert_ptr_nonnull(ptrs[i]);
        fill(ptrs[i], sz[i], (unsigned)i);
    }
    for (int i = 0; i < N; i++)
        ck_assert_msg(check_fill(ptrs[i], sz[i], (unsigned)i) == sz[i],
            "block %d (%zu bytes) was overwritten", i, sz[i]);
    for (int i = 0; i < N; i++)
        free(ptrs[i]);
}
END_TEST

/* --- calloc --------------------------------------------------------------- */

START_TEST(test_calloc_overflow)
{
    struct { size_t n, size; } bad[] = {
        { SIZE_MAX / 2 + 1, 4 }, { 4, SIZE_MAX / 2 + 1 }, { SIZE_MAX, 2 },
        { SIZE_MAX, SIZE_MAX }, { (size_t)1 << 32, (size_t)1 << 32 },
        { 3, SIZE_MAX / 3 + 1 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        void *p = calloc(opaque(bad[i].n), opaque(bad[i].size));
        ck_assert_msg(p == NULL, "calloc(%zu, %zu) succeeded", bad[i].n,
            bad[i].size);
        ck_assert_msg(errno == ENOMEM, "calloc(%zu, %zu): errno %d",
            bad[i].n, bad[i].size, errno);
    }
    /* No overflow, but far too large. */
    errno = 0;
    ck_assert_ptr_null(calloc(opaque(1), opaque(SIZE_MAX)));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(calloc(opaque((size_t)1 << 31), opaque(1 << 20)));
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(test_calloc_zero_size)
{
    void *a = calloc(opaque(0), opaque(16));
    void *b = calloc(opaque(16), opaque(0));
    void *c = calloc(opaque(0), opaque(0));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_ptr_ne(a, b);
    ck_assert_ptr_ne(b, c);
    free(a);
    free(b);
    free(c);
}
END_TEST

START_TEST(test_calloc_zeroed_after_reuse)
{
    static const size_t sizes[] = { 1, 8, 24, 100, 1000, 4096, 5000, 20000,
        100000, 1 << 20, 3 << 20 };
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t n = sizes[s];
        int rounds = n > 65536 ? 20 : 300;
        for (int r = 0; r < rounds; r++) {
            unsigned char *d = malloc(opaque(n));
            ck_assert_ptr_nonnull(d);
            size_t u = malloc_usable_size(d);
            memset(d, 0xff, u);
            escape(d);
            free(d);
            unsigned char *z = calloc(opaque(1), opaque(n));
            ck_assert_ptr_nonnull(z);
            ck_assert_msg(all_zero(z, n), "calloc(1, %zu) after a dirty "
                "free is not zeroed (round %d)", n, r);
            free(z);
        }
        /* Many dirty blocks freed at once, then taken back by calloc. */
        enum { B = 64 };
        void *dirty[B];
        int nb = n > 65536 ? 8 : B;
        for (int i = 0; i < nb; i++) {
            dirty[i] = malloc(opaque(n));
            ck_assert_ptr_nonnull(dirty[i]);
            memset(dirty[i], 0xff, malloc_usable_size(dirty[i]));
            escape(dirty[i]);
        }
        for (int i = 0; i < nb; i++)
            free(dirty[i]);
        for (int i = 0; i < nb; i++) {
            dirty[i] = calloc(opaque(n), opaque(1));
            ck_assert_ptr_nonnull(dirty[i]);
            ck_assert_msg(all_zero(dirty[i], n), "calloc(%zu, 1) #%d is "
                "not zeroed", n, i);
        }
        for (int i = 0; i < nb; i++)
            free(dirty[i]);
    }
}
END_TEST

/* --- realloc and reallocarray -------------------------------------------- */

/* Increasing sizes a block walks through: 8 B .. 4 MiB, odd ones too. */
static size_t
walk_size(int i)
{
    size_t base = (size_t)8 << (i / 3);           /* 8 .. 4 MiB */
    switch (i % 3) {
    case 0: return base;
    case 1: return base + base / 4 + 1;
    default: return base + base / 2 + 3;
    }
}
#define WALK_STEPS (3 * 20)     /* 8 << 19 = 4 MiB */

START_TEST(test_realloc_grow_shrink)
{
    size_t cur = walk_size(0);
    unsigned char *p = malloc(opaque(cur));
    ck_assert_ptr_nonnull(p);
    fill(p, cur, 1);
    /* Growing: the old contents stay, the new tail is writable. */
    for (int i = 1; i < WALK_STEPS && walk_size(i) <= (4u << 20); i++) {
        size_t n = walk_size(i);
        unsigned char *q = realloc(p, opaque(n));
        ck_assert_msg(q != NULL, "realloc to %zu failed", n);
        ck_assert_msg(check_fill(q, cur, 1) >= cur, "realloc %zu -> %zu "
            "lost contents at byte %zu", cur, n, check_fill(q, cur, 1));
        fill(q, n, 1);
        p = q;
        cur = n;
    }
    ck_assert_uint_ge(cur, 4u << 20);
    /* Shrinking: the kept prefix stays. */
    for (int i = WALK_STEPS - 1; i >= 0; i--) {
        size_t n = walk_size(i);
        if (n >= cur)
            continue;
        unsigned char *q = realloc(p, opaque(n));
        ck_assert_msg(q != NULL, "realloc to %zu failed", n);
        ck_assert_msg(check_fill(q, n, 1) == n, "realloc %zu -> %zu lost "
            "contents at byte %zu", cur, n, check_fill(q, n, 1));
        p = q;
        cur = n;
    }
    ck_assert_uint_eq(cur, 8);
    free(p);
}
END_TEST

START_TEST(test_realloc_jumps)
{
    /* Big jumps across classes, both ways, with a fresh pattern each time. */
    static const size_t seq[] = { 1, 4 << 20, 3, 100000, 17, 70000, 4096,
        4095, 2 << 20, 24, 1 << 20, 1 };
    size_t cur = seq[0];
    unsigned char *p = malloc(opaque(cur));
    fill(p, cur, 9);
    for (size_t i = 1; i < sizeof(seq) / sizeof(seq[0]); i++) {
        size_t n = seq[i], keep = cur < n ? cur : n;
        unsigned char *q = realloc(p, opaque(n));
        ck_assert_ptr_nonnull(q);
        ck_assert_msg(check_fill(q, keep, (unsigned)(8 + i)) == keep,
            "realloc %zu -> %zu lost contents", cur, n);
        ck_assert_uint_ge(malloc_usable_size(q), n);
        fill(q, n, (unsigned)(9 + i));
        p = q;
        cur = n;
    }
    free(p);
}
END_TEST

START_TEST(test_realloc_null_is_malloc)
{
    void *p = realloc(NULL, opaque(100));
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(malloc_usable_size(p), 100);
    fill(p, 100, 3);
    free(p);
    /* glibc: realloc(NULL, 0) is malloc(0), a unique non-NULL block. */
    void *a = realloc(NULL, opaque(0)), *b = realloc(NULL, opaque(0));
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b);
    free(a);
    free(b);
    errno = 0;
    ck_assert_ptr_null(realloc(NULL, opaque(SIZE_MAX)));
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(test_realloc_zero_frees)
{
    static const size_t sizes[] = { 1, 100, 5000, 1 << 20 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = malloc(opaque(sizes[i]));
        ck_assert_ptr_nonnull(p);
        errno = 77;
        void *q = realloc(p, opaque(0));
        ck_assert_msg(q == NULL, "realloc(p, 0) returned %p, glibc frees p "
            "and returns NULL", q);
        ck_assert_int_eq(errno, 77);
    }
    /* The block really is freed: its memory comes back. Were it leaked,
     * each of these malloc calls would return a new address. */
    enum { N = 20000 };
    static uintptr_t seen[N];
    for (int i = 0; i < N; i++) {
        void *p = malloc(opaque(64));
        ck_assert_ptr_nonnull(p);
        seen[i] = (uintptr_t)p;
        ck_assert_ptr_null(realloc(p, opaque(0)));
    }
    qsort(seen, N, sizeof(seen[0]), cmp_ptr);
    int distinct = 1;
    for (int i = 1; i < N; i++)
        distinct += seen[i] != seen[i - 1];
    ck_assert_msg(distinct < N / 2, "%d distinct addresses in %d "
        "malloc/realloc(p, 0) rounds: realloc(p, 0) does not free p",
        distinct, N);
}
END_TEST

START_TEST(test_realloc_failure_keeps_block)
{
    unsigned char *p = malloc(opaque(1000));
    fill(p, 1000, 5);
    for (size_t i = 0; i < N_HUGE; i++) {
        errno = 0;
        void *q = realloc(p, opaque(huge_sizes[i]));
        ck_assert_msg(q == NULL, "realloc(p, %zu) succeeded", huge_sizes[i]);
        ck_assert_msg(errno == ENOMEM, "realloc(p, %zu) failed with errno "
            "%d, want ENOMEM", huge_sizes[i], errno);
        ck_assert_uint_eq(check_fill(p, 1000, 5), 1000);
    }
    p = realloc(p, opaque(2000));
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(check_fill(p, 1000, 5), 1000);
    free(p);
}
END_TEST

START_TEST(test_reallocarray)
{
    /* NULL old: like malloc(n * size). */
    unsigned char *p = reallocarray(NULL, opaque(10), opaque(10));
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(malloc_usable_size(p), 100);
    fill(p, 100, 11);

    /* Growth keeps contents. */
    p = reallocarray(p, opaque(1000), opaque(100));
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(check_fill(p, 100, 11), 100);
    fill(p, 100000, 12);

    /* Overflow: NULL, ENOMEM, and the old block untouched and usable. */
    struct { size_t n, size; } bad[] = {
        { SIZE_MAX / 2 + 1, 4 }, { 2, SIZE_MAX }, { (size_t)1 << 33,
        (size_t)1 << 33 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        void *q = reallocarray(p, opaque(bad[i].n), opaque(bad[i].size));
        ck_assert_msg(q == NULL, "reallocarray(p, %zu, %zu) succeeded",
            bad[i].n, bad[i].size);
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(check_fill(p, 100000, 12), 100000);
    }
    /* Too large without overflow: same. */
    errno = 0;
    ck_assert_ptr_null(reallocarray(p, opaque(1), opaque(SIZE_MAX)));
    ck_assert_msg(errno == ENOMEM, "reallocarray(p, 1, SIZE_MAX) failed "
        "with errno %d, want ENOMEM", errno);
    ck_assert_uint_eq(check_fill(p, 100000, 12), 100000);

    /* Shrink keeps the prefix. */
    p = reallocarray(p, opaque(5), opaque(7));
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(check_fill(p, 35, 12), 35);
    free(p);

    /* Zero elements: like realloc(p, 0), frees and returns NULL. */
    p = malloc(opaque(50));
    ck_assert_ptr_null(reallocarray(p, opaque(0), opaque(8)));
    ck_assert_ptr_nonnull(p = reallocarray(NULL, opaque(0), opaque(8)));
    free(p);
}
END_TEST

/* --- malloc_usable_size --------------------------------------------------- */

START_TEST(test_usable_size)
{
    ck_assert_uint_eq(malloc_usable_size(NULL), 0);
    for (size_t n = 0; n <= 4096; n++) {
        unsigned char *p = malloc(opaque(n));
        ck_assert_ptr_nonnull(p);
        size_t u = malloc_usable_size(p);
        ck_assert_msg(u >= n, "malloc(%zu): usable size %zu", n, u);
        if (u > 0) {        /* the whole usable area may be written */
            p[0] = 1;
            p[u - 1] = 2;
        }
        escape(p);
        free(p);
    }
    for (size_t n = 4096; n <= ((size_t)64 << 20); n = n * 5 / 4) {
        for (size_t d = 0; d < 3; d++) {
            size_t m = n + d - 1;
            unsigned char *p = malloc(opaque(m));
            ck_assert_ptr_nonnull(p);
            size_t u = malloc_usable_size(p);
            ck_assert_msg(u >= m, "malloc(%zu): usable size %zu", m, u);
            p[0] = 1;
            p[u - 1] = 2;
            escape(p);
            free(p);
        }
    }
    /* realloc and calloc blocks too. */
    void *c = calloc(opaque(33), opaque(3));
    ck_assert_uint_ge(malloc_usable_size(c), 99);
    c = realloc(c, opaque(12345));
    ck_assert_uint_ge(malloc_usable_size(c), 12345);
    free(c);
}
END_TEST

/* --- the aligned family --------------------------------------------------- */

static const size_t align_sizes[] = { 0, 1, 7, 8, 100, 4095, 4097, 70000 };
#define N_ALIGN_SIZES (sizeof(align_sizes) / sizeof(align_sizes[0]))

/* A block from an aligned entry point: aligned, big enough, writable. */
static void
check_aligned_block(const char *fn, void *p, size_t align, size_t n)
{
    ck_assert_msg(p != NULL, "%s(%zu, %zu) returned NULL", fn, align, n);
    ck_assert_msg(is_aligned(p, align), "%s(%zu, %zu) = %p is misaligned",
        fn, align, n, p);
    ck_assert_msg(malloc_usable_size(p) >= n, "%s(%zu, %zu): usable %zu",
        fn, align, n, malloc_usable_size(p));
    fill(p, n, (unsigned)align);
    ck_assert_uint_eq(check_fill(p, n, (unsigned)align), n);
}

/* Every size to try at alignment a: fixed ones and a's neighbours. */
static size_t
align_size(size_t a, size_t k)
{
    if (k < N_ALIGN_SIZES)
        return align_sizes[k];
    switch (k - N_ALIGN_SIZES) {
    case 0: return a - 1;
    case 1: return a;
    case 2: return a + 1;
    default: return 3 * a + 5;
    }
}
#define N_SIZES_PER_ALIGN (N_ALIGN_SIZES + 4)

START_TEST(test_posix_memalign)
{
    for (size_t a = 8; a <= 65536; a <<= 1) {
        /* Keep several alive at once so they cannot share an address. */
        void *live[N_SIZES_PER_ALIGN];
        for (size_t k = 0; k < N_SIZES_PER_ALIGN; k++) {
            size_t n = align_size(a, k);
            void *p = (void *)0x1;
            errno = 555;
            int rc = posix_memalign(&p, opaque(a), opaque(n));
            ck_assert_msg(rc == 0, "posix_memalign(%zu, %zu) = %d", a, n, rc);
            ck_assert_int_eq(errno, 555);
            check_aligned_block("posix_memalign", p, a, n);
            live[k] = p;
        }
        for (size_t k = 0; k < N_SIZES_PER_ALIGN; k++)
            free(live[k]);
    }
}
END_TEST

START_TEST(test_posix_memalign_bad_alignment)
{
    const size_t bad[] = { 3, 24, 0, sizeof(void *) / 2, 1, 2, 12, 48, 100,
        4095, 4097, SIZE_MAX, SIZE_MAX / 2 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        void *p = (void *)&bad;     /* a sentinel that must survive */
        errno = 999;
        int rc = posix_memalign(&p, opaque(bad[i]), opaque(64));
        ck_assert_msg(rc == EINVAL, "posix_memalign(align %zu) = %d, want "
            "EINVAL", bad[i], rc);
        ck_assert_msg(p == (void *)&bad, "posix_memalign(align %zu) wrote "
            "the out pointer", bad[i]);
        ck_assert_msg(errno == 999, "posix_memalign(align %zu) set errno %d",
            bad[i], errno);
    }
}
END_TEST

START_TEST(test_posix_memalign_enomem)
{
    for (size_t i = 0; i < N_HUGE; i++) {
        void *p = (void *)&p;
        errno = 999;
        int rc = posix_memalign(&p, opaque(64), opaque(huge_sizes[i]));
        ck_assert_msg(rc == ENOMEM, "posix_memalign(64, %zu) = %d",
            huge_sizes[i], rc);
        ck_assert_ptr_eq(p, (void *)&p);
        ck_assert_int_eq(errno, 999);
    }
}
END_TEST

START_TEST(test_aligned_alloc)
{
    for (size_t a = 1; a <= 65536; a <<= 1) {
        void *live[N_SIZES_PER_ALIGN];
        for (size_t k = 0; k < N_SIZES_PER_ALIGN; k++) {
            size_t n = align_size(a, k);
            void *p = aligned_alloc(opaque(a), opaque(n));
            check_aligned_block("aligned_alloc", p, a, n);
            live[k] = p;
        }
        for (size_t k = 0; k < N_SIZES_PER_ALIGN; k++)
            free(live[k]);
    }
}
END_TEST

START_TEST(test_aligned_alloc_bad_alignment)
{
    const size_t bad[] = { 3, 24, 12, 48, 100, 4095, 4097, 65535,
        SIZE_MAX };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        void *p = aligned_alloc(opaque(bad[i]), opaque(64));
        ck_assert_msg(p == NULL, "aligned_alloc(%zu, 64) succeeded", bad[i]);
        ck_assert_msg(errno == EINVAL, "aligned_alloc(%zu, 64): errno %d",
            bad[i], errno);
    }
    for (size_t i = 0; i < N_HUGE; i++) {
        errno = 0;
        ck_assert_ptr_null(aligned_alloc(opaque(64), opaque(huge_sizes[i])));
        ck_assert_int_eq(errno, ENOMEM);
    }
}
END_TEST

START_TEST(test_memalign)
{
    for (size_t a = 1; a <= 65536; a <<= 1) {
        void *live[N_SIZES_PER_ALIGN];
        for (size_t k = 0; k < N_SIZES_PER_ALIGN; k++) {
            size_t n = align_size(a, k);
            void *p = memalign(opaque(a), opaque(n));
            check_aligned_block("memalign", p, a, n);
            live[k] = p;
        }
        for (size_t k = 0; k < N_SIZES_PER_ALIGN; k++)
            free(live[k]);
    }
    for (size_t i = 0; i < N_HUGE; i++) {
        errno = 0;
        ck_assert_ptr_null(memalign(opaque(64), opaque(huge_sizes[i])));
        ck_assert_int_eq(errno, ENOMEM);
    }
}
END_TEST

START_TEST(test_memalign_rounds_up)
{
    /* glibc rounds an alignment that is not a power of two up to one. */
    const struct { size_t align, want; } odd[] = {
        { 3, 4 }, { 24, 32 }, { 48, 64 }, { 100, 128 }, { 1000, 1024 },
        { 3000, 4096 }, { 4097, 8192 }, { 40000, 65536 }, { 65537, 131072 },
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        void *live[16];
        for (int k = 0; k < 16; k++) {
            size_t n = (size_t)k * 13 + 1;
            void *p = memalign(opaque(odd[i].align), opaque(n));
            ck_assert_msg(p != NULL, "memalign(%zu, %zu) failed",
                odd[i].align, n);
            ck_assert_msg(is_aligned(p, odd[i].want), "memalign(%zu, %zu) = "
                "%p, not aligned to %zu", odd[i].align, n, p, odd[i].want);
            ck_assert_uint_ge(malloc_usable_size(p), n);
            fill(p, n, 4);
            live[k] = p;
        }
        for (int k = 0; k < 16; k++)
            free(live[k]);
    }
}
END_TEST

START_TEST(test_valloc)
{
    size_t ps = page();
    static const size_t sizes[] = { 0, 1, 100, 4095, 4096, 4097, 10000,
        1 << 20 };
    void *live[sizeof(sizes) / sizeof(sizes[0])];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = valloc(opaque(sizes[i]));
        check_aligned_block("valloc", p, ps, sizes[i]);
        live[i] = p;
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        free(live[i]);
    for (size_t i = 0; i < N_HUGE; i++) {
        errno = 0;
        ck_assert_ptr_null(valloc(opaque(huge_sizes[i])));
        ck_assert_int_eq(errno, ENOMEM);
    }
}
END_TEST

START_TEST(test_pvalloc)
{
    size_t ps = page();
    static const size_t sizes[] = { 0, 1, 100, 4095, 4096, 4097, 10000,
        20000, 36000, 1 << 20, (1 << 20) + 1 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        size_t want = n == 0 ? ps : (n + ps - 1) / ps * ps;
        void *p = pvalloc(opaque(n));
        check_aligned_block("pvalloc", p, ps, want);
        size_t u = malloc_usable_size(p);
        ck_assert_msg(u % ps == 0, "pvalloc(%zu): usable size %zu is not a "
            "page multiple", n, u);
        ck_assert_msg(u >= ps, "pvalloc(%zu): usable size %zu", n, u);
        free(p);
    }
    for (size_t i = 0; i < N_HUGE; i++) {
        errno = 0;
        ck_assert_ptr_null(pvalloc(opaque(huge_sizes[i])));
        ck_assert_int_eq(errno, ENOMEM);
    }
}
END_TEST

/* --- the program's malloc is ours ---------------------------------------- */

static void
assert_in_our_lib(const char *what, void *addr)
{
    Dl_info info;
    ck_assert_msg(addr != NULL, "%s: no address", what);
    ck_assert_msg(dladdr(addr, &info) != 0, "%s: dladdr found no object",
        what);
    ck_assert_msg(info.dli_fname != NULL &&
        strstr(info.dli_fname, "libmemscope_malloc") != NULL,
        "%s resolves into %s, not libmemscope_malloc", what,
        info.dli_fname ? info.dli_fname : "(null)");
}

START_TEST(test_resolves_to_us)
{
    static const char *const names[] = { "malloc", "free", "calloc",
        "realloc", "reallocarray", "posix_memalign", "aligned_alloc",
        "memalign", "valloc", "pvalloc", "malloc_usable_size" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_in_our_lib(names[i], dlsym(RTLD_DEFAULT, names[i]));

    /* The addresses this program's own calls go to. */
    void *(*volatile m)(size_t) = malloc;
    void (*volatile f)(void *) = free;
    void *(*volatile r)(void *, size_t) = realloc;
    assert_in_our_lib("&malloc", (void *)m);
    assert_in_our_lib("&free", (void *)f);
    assert_in_our_lib("&realloc", (void *)r);
}
END_TEST

static Suite *
alloc_suite(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_malloc_zero_unique);
    tcase_add_test(tc, test_free_null);
    tcase_add_test(tc, test_free_keeps_errno);
    tcase_add_test(tc, test_malloc_huge_enomem);
    tcase_add_test(tc, test_malloc_contents_independent);
    tcase_add_test(tc, test_calloc_overflow);
    tcase_add_test(tc, test_calloc_zero_size);
    tcase_add_test(tc, test_calloc_zeroed_after_reuse);
    tcase_add_test(tc, test_realloc_grow_shrink);
    tcase_add_test(tc, test_realloc_jumps);
    tcase_add_test(tc, test_realloc_null_is_malloc);
    tcase_add_test(tc, test_realloc_zero_frees);
    tcase_add_test(tc, test_realloc_failure_keeps_block);
    tcase_add_test(tc, test_reallocarray);
    tcase_add_test(tc, test_usable_size);
    tcase_add_test(tc, test_posix_memalign);
    tcase_add_test(tc, test_posix_memalign_bad_alignment);
    tcase_add_test(tc, test_posix_memalign_enomem);
    tcase_add_test(tc, test_aligned_alloc);
    tcase_add_test(tc, test_aligned_alloc_bad_alignment);
    tcase_add_test(tc, test_memalign);
    tcase_add_test(tc, test_memalign_rounds_up);
    tcase_add_test(tc, test_valloc);
    tcase_add_test(tc, test_pvalloc);
    tcase_add_test(tc, test_resolves_to_us);
    suite_add_tcase(s, tc);
    return s;
}

MS_TWO_PASS_MAIN("alloc", alloc_suite)
