/*
 * leak_classes.c - blocks of known leak classes, for leak_classes.sh:
 *   hold_global      1111 bytes, held by a global past a PROT_NONE page:
 *                    still_reachable (and the scan must skip that page)
 *   hold_on_stack    2222 bytes, held by a local of a thread still blocked
 *                    at exit: still_reachable
 *   lose_one         3333 bytes, its last pointer overwritten:
 *                    definitely_lost
 *   list_head        4444 bytes, the head of a list of 10 whose pointer was
 *                    overwritten: definitely_lost
 *   list_node        555 bytes x 9, the rest of that list: indirectly_lost
 *   hold_interior    6666 bytes, held only through a pointer 100 bytes in:
 *                    possibly_lost
 * Every pointer is made and lost in functions of its own, through volatile
 * stores, and the stack below main is scrubbed before main returns, so no
 * stale copy of a lost pointer survives in a register or a dead frame.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))

/* three pages: the middle one PROT_NONE, the pointer in the last */
static char pages[3 * 4096] __attribute__((aligned(4096)));
static char *volatile interior;

struct node { struct node *next; char pad[555 - sizeof(void *)]; };

static int ready[2], block[2];

NOINLINE static void
hold_global(void)
{
    void *p = malloc(1111);
    memset(p, 0, 1111);
    *(void *volatile *)&pages[2 * 4096 + 8] = p;
}

NOINLINE static void
hold_interior(void)
{
    char *p = malloc(6666);
    memset(p, 0, 6666);
    interior = p + 100;
}

NOINLINE static void
lose_one(void)
{
    void *volatile p = malloc(3333);
    memset(p, 0, 3333);
    p = NULL;
}

NOINLINE static struct node *
list_node(struct node *next)
{
    struct node *n = malloc(sizeof(*n));
    memset(n, 0, sizeof(*n));
    n->next = next;
    return n;
}

NOINLINE static void
list_head(struct node *next)
{
    struct node *volatile h = malloc(4444);
    memset(h, 0, 4444);
    h->next = next;
    h = NULL;
}

NOINLINE static void
lose_list(void)
{
    struct node *volatile n = NULL;
    for (int i = 0; i < 9; i++)
        n = list_node(n);
    list_head(n);
    n = NULL;
}

NOINLINE static void *
hold_on_stack(void *arg)
{
    (void)arg;
    void *volatile p = malloc(2222);
    memset(p, 0, 2222);
    char c = 1;
    if (write(ready[1], &c, 1) != 1)
        abort();
    for (;;)                        /* blocked until the process exits */
        if (read(block[0], &c, 1) <= 0)
            pause();
    return p;
}

/* Overwrites the dead stack below main, where the functions above left
 * their locals and the allocator its copies of their pointers. */
NOINLINE static void
scrub(void)
{
    volatile char buf[256 << 10];
    memset((char *)buf, 0, sizeof(buf));
    __asm__ volatile("" : : "r"(buf) : "memory");
}

int
main(void)
{
    if (pipe(ready) != 0 || pipe(block) != 0)
        return 1;
    if (mprotect(&pages[4096], 4096, PROT_NONE) != 0)
        return 1;
    pthread_t th;
    if (pthread_create(&th, NULL, hold_on_stack, NULL) != 0)
        return 1;
    char c;
    if (read(ready[0], &c, 1) != 1)
        return 1;
    hold_global();
    hold_interior();
    lose_one();
    lose_list();
    printf("leak_classes: done\n");     /* stdout's buffer: still_reachable */
    fflush(stdout);
    scrub();
    return 0;
}
