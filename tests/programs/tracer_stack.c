/*
 * tracer_stack.c - an allocation three calls deep, for
 * tests/integration/tracer_stacks.sh.
 *
 * main -> stack_level1 -> stack_level2 -> stack_level3 -> malloc, each a
 * function of its own (noinline) with a frame pointer: the pragma below
 * does for this file what -fno-omit-frame-pointer does (tests/tests.mk
 * builds every program with the same flags, -O1 -g). Each call site is
 * marked with a CALL-n comment, so the test finds its line.
 */
#pragma GCC optimize("no-omit-frame-pointer")

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIZE 4242

__attribute__((noinline)) char *
stack_level3(size_t n)
{
    char *p = malloc(n);                    /* CALL-3 */
    if (p != NULL)
        memset(p, 3, n);
    return p;
}

__attribute__((noinline)) char *
stack_level2(size_t n)
{
    char *p = stack_level3(n + 1);          /* CALL-2 */
    if (p != NULL)
        p[1] = 2;
    return p;
}

__attribute__((noinline)) char *
stack_level1(size_t n)
{
    char *p = stack_level2(n + 1);          /* CALL-1 */
    if (p != NULL)
        p[2] = 1;
    return p;
}

int
main(void)
{
    char *p = stack_level1(SIZE - 2);       /* CALL-0 */
    if (p == NULL)
        return 1;
    printf("stack: %d %d %d %d\n", p[0], p[1], p[2], p[SIZE - 1]);
    free(p);
    return 0;
}
