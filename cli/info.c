/*
 * info.c - `memscope info FILE.bin`: what a binary report is (its header,
 * version, sections) and its summary figures, one "key: value" a line.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "../exporters/bin_read.h"

static const char *cmd = "info";

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: memscope info FILE.bin\n"
        "\n"
        "Prints the header, format version, sections and summary figures of\n"
        "the binary report FILE.bin, one \"key: value\" a line.\n"
        "\n"
        "Exit status: 0 done, 1 bad input, 2 bad usage.\n");
}

static void
measured(const char *key, int64_t v, int64_t peak)
{
    if (v < 0)
        printf("%-13s not measured\n", key);
    else if (peak < 0)
        printf("%-13s %lld bytes\n", key, (long long)v);
    else
        printf("%-13s %lld bytes (peak %lld)\n", key, (long long)v,
            (long long)peak);
}

static void
print_file(const char *path, const cli_input_t *in)
{
    ms_bin_section_t s[32];
    size_t n = ms_bin_sections(in->data, in->len, s, 32);
    printf("%-13s %s\n", "file:", path);
    printf("%-13s memscope binary report, version %u, %zu bytes\n", "format:",
        (unsigned)(in->data[8] | in->data[9] << 8), in->len);
    printf("%-13s xxh3-64 %016llx (verified)\n", "checksum:",
        (unsigned long long)ms_bin_checksum(in->data, in->len));
    printf("%-13s", "sections:");
    for (size_t i = 0; i < n && i < 32; i++)
        printf(" %s=%llu", s[i].tag, (unsigned long long)s[i].length);
    printf("\n");
}

static void
print_header(const ms_report_t *r)
{
    printf("%-13s %s (pid %lld)\n", "program:", r->program, (long long)r->pid);
    if (r->snapshot)
        printf("%-13s %s, snapshot %llu\n", "trigger:", r->trigger,
            (unsigned long long)r->snapshot);
    else
        printf("%-13s %s\n", "trigger:", r->trigger);
    if (r->sample_interval)
        printf("%-13s %s, one sample per %llu bytes (figures per site are "
            "estimates)\n", "mode:", r->mode,
            (unsigned long long)r->sample_interval);
    else
        printf("%-13s %s\n", "mode:", r->mode);
    printf("%-13s %llu frames\n", "stack depth:",
        (unsigned long long)r->stack_depth);
    printf("%-13s %s\n", "byte basis:", r->byte_basis);
    time_t t = (time_t)(r->start_unix_ns / 1000000000u);
    struct tm tm;
    char when[64] = "?";
    if (gmtime_r(&t, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("%-13s %s\n", "started:", when);
    if (r->duration_ns < 1000000000u)
        printf("%-13s %.3f ms\n", "duration:", (double)r->duration_ns / 1e6);
    else
        printf("%-13s %.3f s\n", "duration:", (double)r->duration_ns / 1e9);
}

static void
print_summary(const ms_report_t *r)
{
    printf("%-13s %llu (%llu bytes)\n", "allocations:",
        (unsigned long long)r->allocs, (unsigned long long)r->bytes_allocated);
    printf("%-13s %llu (%llu bytes)\n", "frees:",
        (unsigned long long)r->frees, (unsigned long long)r->bytes_freed);
    printf("%-13s %llu\n", "reallocs:", (unsigned long long)r->reallocs);
    printf("%-13s %lld blocks, %lld bytes (peak %lld)\n", "live:",
        (long long)r->live_blocks, (long long)r->live_bytes,
        (long long)r->peak_live_bytes);
    measured("rss:", r->rss, r->peak_rss);
    measured("je allocated:", r->je_allocated, -1);
    measured("je active:", r->je_active, -1);
    printf("%-13s %llu threads, %llu tasks, %llu variables, %llu sites, "
        "%llu frames, %llu timeline points\n", "counts:",
        (unsigned long long)r->nthreads, (unsigned long long)r->ntasks,
        (unsigned long long)r->nvars, (unsigned long long)r->nsites,
        (unsigned long long)r->nframes, (unsigned long long)r->ntimeline);
    printf("%-13s %llu (%llu more not kept)\n", "heap errors:",
        (unsigned long long)r->nheap_errors,
        (unsigned long long)r->dropped_heap_errors);
    printf("%-13s %llu events, %llu untracked frees, %llu tasks\n",
        "dropped:", (unsigned long long)r->dropped_events,
        (unsigned long long)r->untracked_frees,
        (unsigned long long)r->dropped_tasks);
    printf("%-13s %llu bytes\n", "overhead:",
        (unsigned long long)r->tracer_overhead_bytes);
}

int
cmd_info(int argc, char **argv)
{
    const char *file = NULL;
    const cli_opt_t opts[] = { { NULL, NULL, NULL, NULL } };
    const cli_args_t spec = { cmd, opts, usage, &file, 1, 1, 0 };
    int rc = cli_parse(&spec, argc, argv, NULL);
    if (rc != CLI_OK)
        return rc == CLI_HELP ? CLI_OK : rc;
    if (file == NULL) {
        cli_error(cmd, "no input file (memscope info FILE.bin)");
        return CLI_USAGE;
    }
    cli_input_t in;
    if (cli_load(cmd, file, &in) != CLI_OK)
        return CLI_BAD;
    cli_progress_done();
    print_file(file, &in);
    print_header(in.r);
    print_summary(in.r);
    cli_unload(&in);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error(cmd, "cannot write standard output");
        return CLI_BAD;
    }
    return CLI_OK;
}
