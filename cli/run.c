/*
 * run.c - `memscope run -- PROG ARGS`: runs PROG with libmemscope_malloc
 * preloaded (the one next to the tool, or in its lib directory); the
 * options set the MEMSCOPE_* variables. The exit status is PROG's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char *cmd = "run";

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: memscope run [-o DIR] [-n NAME] [--sample BYTES] [--depth N]\n"
        "                    [--formats LIST] -- PROG [ARGS...]\n"
        "\n"
        "Runs PROG with libmemscope_malloc preloaded; the exit status is\n"
        "PROG's. The options set MEMSCOPE_OUT, MEMSCOPE_NAME, MEMSCOPE_SAMPLE,\n"
        "MEMSCOPE_STACK_DEPTH and MEMSCOPE_FORMATS (docs/options.md).\n");
}

/* Finds the library next to the tool, then under the install prefix. */
static int
find_library(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    const char *rel[] = { "/libmemscope_malloc.so",
        "/../lib/libmemscope_malloc.so" };
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        if ((size_t)snprintf(out, len, "%s%s", self, rel[i]) < len &&
            access(out, R_OK) == 0)
            return 0;
    }
    return -1;
}

/* Sets the variables from the options; the index of PROG, or -1 after
 * printing the help, or -2 after a usage error. */
static int
parse(int argc, char **argv)
{
    static const struct { const char *flag, *var; } map[] = {
        { "-o", "MEMSCOPE_OUT" }, { "-n", "MEMSCOPE_NAME" },
        { "--sample", "MEMSCOPE_SAMPLE" }, { "--depth", "MEMSCOPE_STACK_DEPTH" },
        { "--formats", "MEMSCOPE_FORMATS" },
    };
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return i + 1;
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return -1;
        }
        size_t k;
        for (k = 0; k < sizeof(map) / sizeof(map[0]); k++)
            if (strcmp(argv[i], map[k].flag) == 0)
                break;
        if (k == sizeof(map) / sizeof(map[0])) {
            if (argv[i][0] != '-')
                return i;       /* the program, without a "--" before it */
            cli_error(cmd, "unknown option '%s'", argv[i]);
            return -2;
        }
        if (i + 1 >= argc) {
            cli_error(cmd, "option '%s' needs a value", argv[i]);
            return -2;
        }
        setenv(map[k].var, argv[++i], 1);
    }
    return i;
}

int
cmd_run(int argc, char **argv)
{
    int i = parse(argc, argv);
    if (i < 0)
        return i == -1 ? CLI_OK : CLI_USAGE;
    if (i >= argc) {
        cli_error(cmd, "no program given (memscope run -- PROG ARGS)");
        return CLI_USAGE;
    }
    char lib[PATH_MAX];
    if (find_library(lib, sizeof(lib)) != 0) {
        cli_error(cmd, "libmemscope_malloc.so not found next to the tool or "
            "in its lib directory");
        return CLI_USAGE;
    }
    const char *old = getenv("LD_PRELOAD");
    if (old != NULL && *old != '\0') {
        size_t len = strlen(lib) + strlen(old) + 2;
        char *both = malloc(len);
        if (both == NULL)
            return CLI_USAGE;
        snprintf(both, len, "%s:%s", lib, old);
        setenv("LD_PRELOAD", both, 1);
        free(both);
    } else {
        setenv("LD_PRELOAD", lib, 1);
    }
    execvp(argv[i], argv + i);
    int e = errno;
    cli_error(cmd, "cannot run '%s': %s", argv[i], strerror(e));
    return e == ENOENT ? 127 : 126;
}
