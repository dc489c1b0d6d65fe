/*
 * realloc_growth.c - buffers grown in many steps, as a string builder or
 * a vector does: 16 buffers at once, each grown round-robin by 1/8 of its
 * size plus 16 bytes from 16 bytes up to about 256 KiB (80 reallocs), the
 * new tail written, then freed and started again. Interleaving keeps a
 * buffer's neighbour in the way, so some reallocs move the block.
 *
 *   realloc_growth BUFFERS_GROWN
 *
 * One thread. pairs counts the malloc and every realloc (each ends one
 * block and starts another).
 */
#include "common.h"

#define LIVE 16
#define MAX  (256 * 1024)

int
main(int argc, char **argv)
{
    long rounds = bench_arg(argc, argv, 1, 20000) / LIVE + 1;
    char *buf[LIVE];
    size_t len[LIVE];
    uint64_t pairs = 0;
    uint64_t t0 = bench_now_ns(), c0 = bench_cpu_ns();
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < LIVE; i++) {
            len[i] = 16;
            if ((buf[i] = malloc(len[i])) == NULL)
                bench_die("malloc");
            buf[i][0] = (char)i;
            pairs++;
        }
        for (int step = 0; len[LIVE - 1] < MAX; step++) {
            for (int i = 0; i < LIVE; i++) {
                size_t n = len[i] + len[i] / 8 + 16;
                char *b = realloc(buf[i], n);
                if (b == NULL)
                    bench_die("realloc");
                memset(b + len[i], step, n - len[i] < 64 ? n - len[i] : 64);
                b[n - 1] = (char)step;
                buf[i] = b;
                len[i] = n;
                pairs++;
            }
        }
        for (int i = 0; i < LIVE; i++)
            free(buf[i]);
    }
    uint64_t t1 = bench_now_ns(), c1 = bench_cpu_ns();
    bench_report(pairs, t1 - t0, c1 - c0, 1);
    return 0;
}
