/*
 * stack_replay.c - one call site of malloc reached through different call
 * paths, alternately, from the same stack frame, for
 * tests/integration/stack_replay.sh.
 *
 * leaf's malloc is called with the same return address and the same frame
 * whichever path led there: path_a or path_b (they differ in leaf's
 * caller), outer_c or outer_d (through mid: they differ two frames up).
 * The tracer keeps its last stack walks and reuses one only after reading
 * again every stack word it read: a cache keyed by return address and
 * frame alone would give every block the path of the first.
 *
 * leaf_x and leaf_y (each with a malloc call of its own) are called from
 * one call site of mid2 in one frame, under outer_e or outer_f: a walk
 * from leaf_y may take the rest of a walk from leaf_x at mid2's frame only
 * if the words above read the same (they do not: outer_e or outer_f).
 *
 * path_g0 ... path_g9 call leaf too, in turn: with path_a and path_b,
 * twelve walks from one start, more than the ways the tracer keeps of one
 * set, so that each is evicted and walked again in turn.
 *
 * Each path allocates its own size, a known number of times. The program
 * says whether the frames were indeed the same on both paths of each pair
 * (else the test would prove nothing).
 */
#pragma GCC optimize("no-omit-frame-pointer")

#include <stdio.h>
#include <stdlib.h>

enum { PATH_A, PATH_B, PATH_C, PATH_D, PATH_E, PATH_F, PATH_G0,
    NPATHS = PATH_G0 + 10 };

static void *frame_of[NPATHS];      /* leaf's, per path (1: it moved) */
static void *mid2_frame[NPATHS];
static unsigned long total;

__attribute__((noinline)) static void
leaf(size_t n, int path)
{
    void *fa = __builtin_frame_address(0);
    if (frame_of[path] == NULL)
        frame_of[path] = fa;
    else if (frame_of[path] != fa)
        frame_of[path] = (void *)1;     /* moved: no longer one frame */
    char *p = malloc(n);                /* the one call site */
    if (p == NULL)
        exit(1);
    p[0] = (char)path;
    total += (unsigned char)p[0] + n;
    free(p);
}

__attribute__((noinline)) static void
path_a(void)
{
    leaf(10, PATH_A);
    total++;
}

__attribute__((noinline)) static void
path_b(void)
{
    leaf(20, PATH_B);
    total++;
}

/* path_g0 ... path_g9: 100 blocks of 100 ... 109 bytes each */
#define PATH_G(g) \
    __attribute__((noinline)) static void \
    path_g##g(void) \
    { \
        leaf(100 + (g), PATH_G0 + (g)); \
        total++; \
    }
PATH_G(0) PATH_G(1) PATH_G(2) PATH_G(3) PATH_G(4)
PATH_G(5) PATH_G(6) PATH_G(7) PATH_G(8) PATH_G(9)
static void (*const path_g[10])(void) = {
    path_g0, path_g1, path_g2, path_g3, path_g4,
    path_g5, path_g6, path_g7, path_g8, path_g9
};

__attribute__((noinline)) static void
mid(size_t n, int path)
{
    leaf(n, path);
    total++;
}

__attribute__((noinline)) static void
outer_c(void)
{
    mid(30, PATH_C);
    total++;
}

__attribute__((noinline)) static void
outer_d(void)
{
    mid(40, PATH_D);
    total++;
}

/* leaf_x and leaf_y: leaf's body, each with a malloc call of its own */
#define LEAF_BODY(n, path, bump) do { \
        char *p = malloc(n); \
        if (p == NULL) \
            exit(1); \
        p[0] = (char)(path); \
        total += (unsigned char)p[0] + (n) + (bump); \
        free(p); \
    } while (0)

__attribute__((noinline)) static void
leaf_x(size_t n, int path)
{
    LEAF_BODY(n, path, 1);
}

__attribute__((noinline)) static void
leaf_y(size_t n, int path)
{
    LEAF_BODY(n, path, 2);
}

static void (*volatile which[2])(size_t, int) = { leaf_x, leaf_y };

__attribute__((noinline)) static void
mid2(size_t n, int path, int w)
{
    void *fa = __builtin_frame_address(0);
    if (mid2_frame[path] == NULL)
        mid2_frame[path] = fa;
    else if (mid2_frame[path] != fa)
        mid2_frame[path] = (void *)1;
    which[w](n, path);                  /* one call site for both */
    total++;
}

__attribute__((noinline)) static void
outer_e(int w)
{
    mid2(50, PATH_E, w);
    total++;
}

__attribute__((noinline)) static void
outer_f(int w)
{
    mid2(60, PATH_F, w);
    total++;
}

int
main(void)
{
    /* A 600 times, B 400, C 625, D 375, interleaved */
    for (int i = 0; i < 1000; i++) {
        if (i % 5 < 3)
            path_a();
        else
            path_b();
        if (i % 8 < 5)
            outer_c();
        else
            outer_d();
        /* e and f, each through leaf_x and leaf_y, 250 times each */
        switch (i % 4) {
        case 0: outer_e(0); break;
        case 1: outer_f(1); break;
        case 2: outer_e(1); break;
        default: outer_f(0); break;
        }
        path_g[i % 10]();
    }
    int ab = frame_of[PATH_A] == frame_of[PATH_B] && frame_of[PATH_A] != (void *)1;
    for (int g = 0; g < 10; g++)
        ab = ab && frame_of[PATH_G0 + g] == frame_of[PATH_A];
    int cd = frame_of[PATH_C] == frame_of[PATH_D] && frame_of[PATH_C] != (void *)1;
    int ef = mid2_frame[PATH_E] == mid2_frame[PATH_F] &&
        mid2_frame[PATH_E] != (void *)1;
    printf("frames: a/b %s, c/d %s, e/f %s; total %lu\n", ab ? "same" : "differs",
        cd ? "same" : "differs", ef ? "same" : "differs", total);
    return 0;
}
