/*
 * tracer_simple.c - a small deterministic program for the tracer's option
 * and output tests (tracer_output.sh, tracer_options.sh).
 *
 * Usage: tracer_simple [STATUS [raise]]. Allocates, reallocates and frees
 * a fixed set of blocks (leaking a few), prints a checksum on stdout and
 * exits with STATUS (default 0). With "raise" it first sends itself
 * SIGUSR1, which the library's snapshot handler must catch (without one
 * the signal ends the program).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCKS 300

static void *leaked[8];

int
main(int argc, char **argv)
{
    int status = argc > 1 ? atoi(argv[1]) : 0;
    if (argc > 2 && strcmp(argv[2], "raise") == 0)
        raise(SIGUSR1);
    static char *blocks[BLOCKS];
    unsigned long sum = 0;
    for (int i = 0; i < BLOCKS; i++) {
        size_t n = 16 + (size_t)(i * 37) % 2000;
        blocks[i] = malloc(n);
        memset(blocks[i], i, n);
    }
    for (int i = 0; i < BLOCKS; i += 4)
        blocks[i] = realloc(blocks[i], 3000 + (size_t)i);
    for (int i = 0; i < BLOCKS; i++) {
        sum = sum * 31 + (unsigned char)blocks[i][0];
        free(blocks[i]);
    }
    for (int i = 0; i < 8; i++)
        leaked[i] = calloc(1, 100 + (size_t)i);
    printf("simple checksum %lu\n", sum);
    return status;
}
