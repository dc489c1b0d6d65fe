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
 *
 * leak_classes api DIR: the same blocks, then a report with the classes
 * (memscope_export with MEMSCOPE_EXPORT_LEAKS, as DIR/api.*) while other
 * threads run: two churn threads allocate and free without pause, and
 * a mover thread keeps moving the one pointer to its block (mover, 7777
 * bytes: still_reachable) between a global and its own stack, storing the
 * new copy before clearing the old, so that a scan of memory that changes
 * under it would miss it.
 * leak_classes wait: the same, then "ready" on stdout, and it waits for
 * its stdin to close (for `memscope snapshot --leaks PID`).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memscope.h>

#pragma weak memscope_export

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

/* Overwrites the dead stack below the caller, where the functions it
 * called left their locals and the allocator its copies of their
 * pointers. */
NOINLINE static void
scrub_below(void)
{
    volatile char buf[64 << 10];
    memset((char *)buf, 0, sizeof(buf));
    __asm__ volatile("" : : "r"(buf) : "memory");
}

/* ---- threads that run while a snapshot is taken ----------------------------- */

static atomic_int stop;
static void *volatile mover_slot;

NOINLINE static void *
mover(void *arg)
{
    (void)arg;
    void *volatile here = malloc(7777);
    memset(here, 0, 7777);
    scrub_below();
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        /* the new copy first, then the old one cleared; half the time it
         * is only in the global, half only on this stack */
        mover_slot = here;
        here = NULL;
        for (volatile int i = 0; i < 200; i++)
            ;
        here = mover_slot;
        mover_slot = NULL;
        for (volatile int i = 0; i < 200; i++)
            ;
    }
    free(here);
    return NULL;
}

NOINLINE static void *
churn(void *arg)
{
    void *ring[64] = { 0 };
    unsigned x = (unsigned)(uintptr_t)arg;
    for (unsigned i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
        x = x * 1103515245u + 12345u;
        free(ring[i % 64]);
        ring[i % 64] = malloc(16 + (x >> 16) % 2000);
    }
    for (int i = 0; i < 64; i++)
        free(ring[i]);
    return NULL;
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
main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "exit";
    int snap = strcmp(mode, "api") == 0 || strcmp(mode, "wait") == 0;
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
    if (!snap)
        return 0;
    pthread_t run[3];
    if (pthread_create(&run[0], NULL, mover, NULL) != 0 ||
        pthread_create(&run[1], NULL, churn, (void *)1) != 0 ||
        pthread_create(&run[2], NULL, churn, (void *)2) != 0)
        return 1;
    usleep(100 * 1000);                 /* all of them running */
    scrub();
    if (strcmp(mode, "api") == 0) {
        if (memscope_export == NULL || argc < 3 ||
            memscope_export(argv[2], "api", MEMSCOPE_FORMAT_JSON |
                MEMSCOPE_FORMAT_MD | MEMSCOPE_FORMAT_BIN | MEMSCOPE_FORMAT_HTML |
                MEMSCOPE_EXPORT_LEAKS) != 0) {
            fprintf(stderr, "leak_classes: memscope_export failed\n");
            return 1;
        }
    } else {
        printf("ready\n");
        fflush(stdout);
        scrub();
        while (read(0, &c, 1) > 0)
            ;
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(run[i], NULL);
    return 0;
}
