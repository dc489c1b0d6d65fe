/*
 * main.c - memscope, the command-line tool: runs programs under the
 * library and reads the binary reports it writes (docs/memscope.1).
 *
 *   memscope run      [-o DIR] [-n NAME] ... -- PROG ARGS...
 *   memscope report   FILE.bin [--format F] [--metric M] [-o OUT]
 *   memscope diff     A.bin B.bin [--format md|json] [--top N] [-o OUT]
 *   memscope snapshot PID [--signal SIG] [--timeout SEC] [-o DIR]
 *   memscope top      PID [-n SECONDS] [--once|--batch] [--top N] [-o DIR]
 *   memscope info     FILE.bin
 */
#include <stdio.h>
#include <string.h>

#include <memscope.h>

#include "cli.h"

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: memscope --version\n"
        "       memscope run [-o DIR] [-n NAME] [--sample BYTES] [--depth N]\n"
        "                    [--formats LIST] -- PROG [ARGS...]\n"
        "       memscope report FILE.bin [--format text|json|md|html|folded|pprof|bin]\n"
        "                    [--metric live|allocated|lost] [-o OUT]\n"
        "       memscope diff A.bin B.bin [--format md|json] [--top N] [-o OUT]\n"
        "       memscope snapshot PID [--signal USR1|USR2|N] [--timeout SEC]\n"
        "                    [-o DIR]\n"
        "       memscope top PID [-n SECONDS] [--once|--batch] [--top N] [-o DIR]\n"
        "       memscope info FILE.bin\n"
        "\n"
        "run       runs PROG with libmemscope_malloc preloaded\n"
        "report    writes a report again from a binary report\n"
        "diff      what grew between two binary reports\n"
        "snapshot  makes a running traced process write a snapshot\n"
        "top       a live view of a running traced process's heap\n"
        "info      the header and summary of a binary report\n"
        "\n"
        "memscope COMMAND --help tells more; man memscope tells all.\n");
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "run", cmd_run }, { "report", cmd_report }, { "diff", cmd_diff },
        { "snapshot", cmd_snapshot }, { "info", cmd_info }, { "top", cmd_top },
    };
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("memscope %s\n", MEMSCOPE_VERSION_STRING);
        return CLI_OK;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    cli_error(NULL, "unknown command '%s' (try memscope --help)", argv[1]);
    return CLI_USAGE;
}
