/*
 * memscope - the command-line tool.
 *
 *   memscope --version
 *   memscope run [-o DIR] [-n NAME] [--sample BYTES] [--depth N]
 *                [--formats LIST] -- PROG ARGS...
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <memscope.h>

static const char *progname = "memscope";

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: %s --version\n"
        "       %s run [-o DIR] [-n NAME] [--sample BYTES] [--depth N]\n"
        "                  [--formats LIST] -- PROG [ARGS...]\n"
        "\n"
        "run      runs PROG with libmemscope_malloc preloaded; its exit\n"
        "         status is PROG's. Options set the MEMSCOPE_* variables\n"
        "         (docs/options.md).\n",
        progname, progname);
}

/* Finds the library next to the tool, then under the install prefix. */
static int
find_library(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            const char *rel[] = { "/libmemscope_malloc.so",
                "/../lib/libmemscope_malloc.so" };
            for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
                if ((size_t)snprintf(out, len, "%s%s", self, rel[i]) < len &&
                    access(out, R_OK) == 0)
                    return 0;
            }
        }
    }
    return -1;
}

static int
cmd_run(int argc, char **argv)
{
    static const struct { const char *flag, *var; } map[] = {
        { "-o", "MEMSCOPE_OUT" }, { "-n", "MEMSCOPE_NAME" },
        { "--sample", "MEMSCOPE_SAMPLE" }, { "--depth", "MEMSCOPE_STACK_DEPTH" },
        { "--formats", "MEMSCOPE_FORMATS" },
    };
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        size_t k;
        for (k = 0; k < sizeof(map) / sizeof(map[0]); k++)
            if (strcmp(argv[i], map[k].flag) == 0)
                break;
        if (k == sizeof(map) / sizeof(map[0])) {
            if (argv[i][0] != '-')
                break;      /* the program, without a "--" before it */
            fprintf(stderr, "%s run: unknown option '%s'\n", progname, argv[i]);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "%s run: option '%s' needs a value\n", progname,
                argv[i]);
            return 2;
        }
        setenv(map[k].var, argv[++i], 1);
    }
    if (i >= argc) {
        fprintf(stderr, "%s run: no program given (memscope run -- PROG ARGS)\n",
            progname);
        return 2;
    }
    char lib[PATH_MAX];
    if (find_library(lib, sizeof(lib)) != 0) {
        fprintf(stderr, "%s run: libmemscope_malloc.so not found next to the "
            "tool or in its lib directory\n", progname);
        return 2;
    }
    const char *old = getenv("LD_PRELOAD");
    if (old != NULL && *old != '\0') {
        size_t len = strlen(lib) + strlen(old) + 2;
        char *both = malloc(len);
        if (both == NULL)
            return 2;
        snprintf(both, len, "%s:%s", lib, old);
        setenv("LD_PRELOAD", both, 1);
        free(both);
    } else {
        setenv("LD_PRELOAD", lib, 1);
    }
    execvp(argv[i], argv + i);
    fprintf(stderr, "%s run: cannot run '%s': %s\n", progname, argv[i],
        strerror(errno));
    return errno == ENOENT ? 127 : 126;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("memscope %s\n", MEMSCOPE_VERSION_STRING);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (try %s --help)\n", progname,
        argv[1], progname);
    return 2;
}
