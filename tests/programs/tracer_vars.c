/*
 * tracer_vars.c - named blocks still live at exit, for
 * tests/integration/tracer_vars.sh.
 *
 * Usage: tracer_vars PATH. Names three blocks with the API (declared weak:
 * the program links nothing of ours and runs preloaded): "kept" is never
 * freed, "gone" is freed, "handed" is owned, transferred to "consumer" and
 * never freed. Writes a report of itself to PATH, then exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memscope.h>

#pragma weak memscope_track_var_
#pragma weak memscope_transfer
#pragma weak memscope_export_json

static char *kept;
static int *handed;

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: tracer_vars PATH\n");
        return 2;
    }
    if (memscope_track_var_ == NULL) {
        fprintf(stderr, "tracer_vars: run it with libmemscope_malloc.so preloaded\n");
        return 2;
    }
    kept = malloc(100);
    char *gone = malloc(50);
    handed = malloc(16 * sizeof(*handed));
    memset(kept, 1, 100);
    int rc = MEMSCOPE_TRACK_VAR(kept);
    rc |= MEMSCOPE_TRACK_VAR(gone);
    rc |= MEMSCOPE_TRACK_VAR_OWNED(handed);
    rc |= memscope_transfer(handed, "consumer");
    free(gone);
    rc |= memscope_export_json(argv[1]);
    printf("vars: %d\n", rc);
    return rc != 0;
}
