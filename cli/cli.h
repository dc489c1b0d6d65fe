/*
 * cli.h - what the files of the memscope tool share: the commands, reading
 * a report file, writing output, option parsing and the progress line.
 *
 * Exit statuses: 0 success, 1 bad input or a failure to write (one line on
 * stderr), 2 a usage error (one line on stderr). `run` exits with the
 * status of the program it runs.
 */
#ifndef MS_CLI_H
#define MS_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "../exporters/export.h"

#define CLI_OK      0
#define CLI_BAD     1
#define CLI_USAGE   2

/* The commands: argv[0] is the command's name. */
int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_top(int argc, char **argv);

/* A running traced process, as `memscope snapshot` finds it (snapshot.c):
 * its pid (the program's where the pid given was `memscope run`'s), its
 * snapshot signal, where it writes its reports (dir, through /proc
 * when relative; shown: the same for people) and the report names it may
 * use (base[0..nbase-1]). */
typedef struct {
    int pid;
    int sig;
    char dir[4096 + 1100];
    char shown[4096 + 1100];
    char base[2][512];
    int nbase;
} cli_traced_t;

/* Checks that process pid exists, runs memscope and takes a snapshot
 * signal, and finds its places (dir_opt: -o); CLI_OK, or CLI_BAD after a
 * one-line error that names caller. */
int cli_traced_find(const char *caller, int pid, const char *dir_opt,
    cli_traced_t *t);

/* Folded stacks weighted by allocated bytes (exporters/folded.c). */

/* "memscope CMD: MESSAGE" and a newline on stderr. */
void cli_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One option of a command (a table ends with a NULL name): NAME, or its
 * other spelling ALSO (NULL: none), takes a value into *value, as "NAME
 * VALUE" or, for a long name, "NAME=VALUE"; with value NULL it is a flag
 * that sets *flag to 1. The last of repeated options wins. */
typedef struct {
    const char *name, *also;
    const char **value;
    int *flag;
} cli_opt_t;

/* A command's arguments: the options of opts, and at most nargs others
 * into args[0..nargs-1] in order. "-" is such an argument where dash_arg
 * is set (standard input or output), else a usage error. With prog set
 * (memscope run), the first argument that is not an option, or what
 * follows "--", starts the program's command line. */
typedef struct {
    const char *cmd;
    const cli_opt_t *opts;
    void (*usage)(FILE *to);
    const char **args;
    int nargs;
    int dash_arg;
    int prog;
} cli_args_t;

#define CLI_HELP    (-1)

/* Parses argv[1..argc-1] as s says; *next (when not NULL) gets the index
 * past what was parsed. Returns CLI_OK; CLI_HELP after printing the usage
 * on stdout (-h, --help); CLI_USAGE after a one-line error (an unknown
 * option, a missing value, an argument too many). */
int cli_parse(const cli_args_t *s, int argc, char **argv, int *next);
/* Is argv[i] -h or --help? */
int cli_is_help(const char *arg);
/* The usage error for an unknown option or a stray argument. */
int cli_bad_arg(const char *cmd, const char *arg);

/* A report file read whole and decoded. */
typedef struct {
    unsigned char *data;
    size_t len;
    ms_report_t *r;
} cli_input_t;

/* Reads and decodes path; CLI_OK, or CLI_BAD after a one-line error. */
int cli_load(const char *cmd, const char *path, cli_input_t *in);
void cli_unload(cli_input_t *in);
/* Names frames the traced process could not, from debug information
 * found by their module's build ID (debuginfo.c). */
void cli_name_frames(ms_report_t *r);

/* Output: a file that appears whole or not at all (path), or stdout
 * (path NULL or "-"). */
typedef struct {
    ms_writer_t *w;
    int to_stdout;
    const char *path;
} cli_out_t;

/* CLI_OK or CLI_BAD after a one-line error. */
int cli_out_open(const char *cmd, cli_out_t *o, const char *path);
int cli_out_close(const char *cmd, cli_out_t *o);

/* A progress line on stderr, only when stderr is a terminal and the
 * command has run more than a second: what it does now (and done of total
 * bytes when total is not 0), redrawn by a thread of its own while the
 * phase goes on; cleared by cli_progress_done (and before an error),
 * which stops it until the next phase. */
void cli_progress(const char *what, uint64_t done, uint64_t total);
void cli_progress_done(void);
/* No progress line from now on (a command that draws the terminal). */
void cli_progress_never(void);

/* Formatting helpers. */
const char *cli_bytes(char *buf, size_t len, double bytes);  /* "1.5 MiB" */
const char *cli_basename(const char *path);
/* Seconds on the monotonic clock. */
double cli_now(void);
/* A process id argument (NULL: none given) into *pid: CLI_OK, or
 * CLI_USAGE after a one-line error. */
int cli_pid_arg(const char *cmd, const char *arg, int *pid);
/* Does process pid exist (a zombie too)? */
int cli_alive(int pid);
/* Columns for text: COLUMNS when it is a number, else the width of the
 * terminal on standard output, else 80. */
int cli_term_width(void);

#endif
