/*
 * report.c - `memscope report FILE.bin`: makes any report format again
 * from a binary report, with the same exporters the library uses, so the
 * JSON is byte for byte the JSON the traced process wrote; frames it
 * could not name are named from debug information installed since
 * (debuginfo.c), when there is some.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../exporters/export.h"

static const char *cmd = "report";

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: memscope report FILE.bin [--format FORMAT] [--metric METRIC]\n"
        "                       [--suppressions FILE] [-o OUT]\n"
        "\n"
        "Writes a report again from the binary report FILE.bin.\n"
        "\n"
        "  --format FORMAT  text (the default on a terminal: in its width, or\n"
        "                   COLUMNS), json (the default elsewhere), md, html,\n"
        "                   folded, pprof (a gzipped profile.proto:\n"
        "                   docs/pprof.md) or bin\n"
        "  --metric METRIC  folded only: weigh stacks by live bytes (live,\n"
        "                   the default), by bytes allocated (allocated) or\n"
        "                   by bytes lost: definitely, indirectly and\n"
        "                   possibly lost (lost)\n"
        "  --suppressions FILE  leak:PATTERN lines (LeakSanitizer's and\n"
        "                   heaptrack's format): sites with a frame whose\n"
        "                   function, file or module matches are left out of\n"
        "                   the leaks and counted as suppressed (not for bin)\n"
        "  -o OUT           write OUT (whole, or not at all) instead of\n"
        "                   standard output\n"
        "\n"
        "Exit status: 0 done, 1 bad input or a failed write, 2 bad usage.\n");
}

typedef void (*write_fn)(ms_writer_t *, const ms_report_t *);

/* The text report's width (cli_term_width). */
static int text_width = 80;

static void
text_write(ms_writer_t *w, const ms_report_t *r)
{
    ms_text_write_width(w, r, text_width);
}

/* The writer for a format (exporters/formats.c) and metric. */
static int
pick(const char *format, const char *metric, write_fn *fn)
{
    const ms_format_t *f = ms_format_named(format);
    if (f == NULL || strcmp(f->name, format) != 0) {
        char names[256];
        size_t n = 0;
        for (size_t i = 0; i < ms_nformats && n < sizeof(names); i++)
            n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s",
                i == 0 ? "" : i + 1 == ms_nformats ? " or " : ", ",
                ms_formats[i].name);
        cli_error(cmd, "unknown format '%s' (%s)", format, names);
        return CLI_USAGE;
    }
    *fn = f->write == ms_text_write ? text_write : f->write;
    if (f->write == ms_folded_write && metric != NULL &&
        strcmp(metric, "allocated") == 0)
        *fn = ms_folded_write_allocated;
    if (f->write == ms_folded_write && metric != NULL &&
        strcmp(metric, "lost") == 0)
        *fn = ms_folded_write_lost;
    return CLI_OK;
}

typedef struct {
    const char *file, *format, *metric, *out, *supp;
} args_t;

static int
parse(int argc, char **argv, args_t *a)
{
    memset(a, 0, sizeof(*a));
    const cli_opt_t opts[] = {
        { "--format", NULL, &a->format, NULL },
        { "--metric", NULL, &a->metric, NULL },
        { "--suppressions", NULL, &a->supp, NULL },
        { "-o", "--output", &a->out, NULL },
        { NULL, NULL, NULL, NULL },
    };
    const cli_args_t spec = { cmd, opts, usage, &a->file, 1, 1, 0 };
    int rc = cli_parse(&spec, argc, argv, NULL);
    if (rc != CLI_OK)
        return rc;
    if (a->file == NULL) {
        cli_error(cmd, "no input file (memscope report FILE.bin)");
        return CLI_USAGE;
    }
    if (a->format == NULL)
        a->format = (a->out == NULL || strcmp(a->out, "-") == 0) &&
            isatty(STDOUT_FILENO) ? "text" : "json";
    if (a->metric != NULL && strcmp(a->metric, "live") != 0 &&
        strcmp(a->metric, "allocated") != 0 && strcmp(a->metric, "lost") != 0) {
        cli_error(cmd, "unknown metric '%s' (live, allocated or lost)",
            a->metric);
        return CLI_USAGE;
    }
    if (a->metric != NULL && strcmp(a->format, "folded") != 0) {
        cli_error(cmd, "--metric applies to --format folded only");
        return CLI_USAGE;
    }
    return CLI_OK;
}

int
cmd_report(int argc, char **argv)
{
    args_t a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    write_fn fn;
    if ((rc = pick(a.format, a.metric, &fn)) != CLI_OK)
        return rc;
    text_width = cli_term_width();
    int to_stdout = a.out == NULL || strcmp(a.out, "-") == 0;
    if (to_stdout && (fn == ms_bin_write || fn == ms_pprof_write) &&
        isatty(STDOUT_FILENO)) {
        cli_error(cmd, "will not write binary data to a terminal (use -o)");
        return CLI_USAGE;
    }
    if (a.supp != NULL && fn == ms_bin_write) {
        cli_error(cmd, "--suppressions does not apply to --format bin (a .bin "
            "keeps every leak)");
        return CLI_USAGE;
    }
    cli_input_t in;
    if (cli_load(cmd, a.file, &in) != CLI_OK)
        return CLI_BAD;
    if (fn == ms_folded_write_lost && !in.r->leak_checked) {
        cli_error(cmd, "%s: leak classes not measured (%s)", a.file,
            strcmp(in.r->mode, "exact") != 0 ? "sampled mode" :
            "a snapshot taken without --leaks, or MEMSCOPE_LEAK_CHECK=0");
        cli_unload(&in);
        return CLI_BAD;
    }
    char err[1024];
    if (a.supp != NULL && ms_report_supp_load(in.r, a.supp, err,
        sizeof(err)) != 0) {
        cli_error(cmd, "%s", err);
        cli_unload(&in);
        return CLI_BAD;
    }
    cli_out_t o;
    rc = cli_out_open(cmd, &o, a.out);
    if (rc == CLI_OK) {
        if (fn != ms_bin_write) {   /* a .bin stays the bytes it was */
            cli_progress("naming frames", 0, 0);
            cli_name_frames(in.r);
        }
        if (a.supp != NULL)
            ms_report_suppress(in.r);   /* by the frames' names */
        if (o.to_stdout && isatty(STDOUT_FILENO))
            cli_progress_done();    /* the report shares the terminal */
        else
            cli_progress(a.format, 0, 0);
        fn(o.w, in.r);
        rc = cli_out_close(cmd, &o);
    }
    cli_unload(&in);
    return rc;
}
