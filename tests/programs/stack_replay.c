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
 * frame alone would give every block the path of the first. Each path
 * allocates its own size, a known number of times. The program says
 * whether leaf's frame was indeed the same on both paths of each pair
 * (else the test would prove nothing).
 */
#pragma GCC optimize("no-omit-frame-pointer")

#include <stdio.h>
#include <stdlib.h>

enum { PATH_A, PATH_B, PATH_C, PATH_D, NPATHS };

static void *frame_of[NPATHS];
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
    }
    int ab = frame_of[PATH_A] == frame_of[PATH_B] && frame_of[PATH_A] != (void *)1;
    int cd = frame_of[PATH_C] == frame_of[PATH_D] && frame_of[PATH_C] != (void *)1;
    printf("leaf's frame: a/b %s, c/d %s; total %lu\n", ab ? "same" : "differs",
        cd ? "same" : "differs", total);
    return 0;
}
