/*
 * top_prog.c - a process to watch with `memscope top`
 * (tests/integration/top.sh). It prints "started", then grows one site,
 * grow_known, by a 4096-byte block every 10 ms up to 64 blocks (256 KiB)
 * while other_site keeps 10 blocks of 100 bytes and churn allocates and
 * frees small blocks; prints "grown", holds everything for HOLD_MS
 * (argument, default 1500) and exits with status 3 after printing
 * "done". Its sleeps go on where a signal cut them short, so the view's
 * signals change neither its output nor its timing much.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NOINLINE __attribute__((noinline, noclone))

static void *kept[128];
static int nkept;

static void
escape(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

static void
sleep_ms(long ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += ms / 1000;
    t.tv_nsec += (ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
        ;
}

NOINLINE static void
grow_known(void)
{
    void *p = malloc(4096);
    memset(p, 7, 4096);
    kept[nkept++] = p;
}

NOINLINE static void
other_site(void)
{
    void *p = malloc(100);
    memset(p, 1, 100);
    kept[nkept++] = p;
}

NOINLINE static void
churn(void)
{
    for (int i = 0; i < 50; i++) {
        void *p = malloc(16 + (size_t)i);
        escape(p);
        free(p);
    }
}

int
main(int argc, char **argv)
{
    long hold = argc > 1 ? atol(argv[1]) : 1500;
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("started\n");
    for (int i = 0; i < 10; i++)
        other_site();
    for (int i = 0; i < 64; i++) {
        grow_known();
        churn();
        sleep_ms(10);
    }
    printf("grown\n");
    sleep_ms(hold);
    printf("done\n");
    return 3;
}
