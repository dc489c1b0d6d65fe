/*
 * options.c - MEMSCOPE_* options: one table, read once at start-up with
 * secure_getenv (so a setuid process reads none), each value checked; a bad
 * value warns once and the default stays. docs/options.md lists them.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "../exporters/export.h"

ms_options_t ms_opt = {
    .enable = 1,
    .sample = 0,
    .stack_depth = 64,
    .interval_ms = 10,
    .auto_export = 1,
    .signal = SIGUSR1,
    .out = "MemoryAnalysis",
    .name = "",
    .formats = MS_FORMATS_DEFAULT,
    .verbose = 0,
    .test_mode = 0,
    .file_mode = 0600,
    .abort_on_error = 0,
    .leak_check = 1,
    .children = MS_CHILDREN_FORK,
};

static const char *const children_names[] = { "none", "fork", "all" };

typedef enum { OPT_BOOL, OPT_INT, OPT_SIZE, OPT_SIGNAL, OPT_STRING,
    OPT_FORMATS, OPT_MODE, OPT_CHILDREN } opt_type_t;

typedef struct {
    const char *name;
    opt_type_t type;
    void *dst;
    size_t dst_len;         /* strings */
    long long min, max;     /* numbers */
    const char *help;
} opt_desc_t;

static const opt_desc_t opts[] = {
    { "MEMSCOPE_ENABLE", OPT_BOOL, &ms_opt.enable, 0, 0, 1,
      "0 turns tracing off: the library is plain jemalloc" },
    { "MEMSCOPE_SAMPLE", OPT_SIZE, &ms_opt.sample, 0, 0, 1LL << 40,
      "0 = exact; else mean bytes between samples (k, m, g suffixes)" },
    { "MEMSCOPE_STACK_DEPTH", OPT_INT, &ms_opt.stack_depth, 0, 1,
      MS_MAX_DEPTH, "frames kept per call stack (1 = call site only)" },
    { "MEMSCOPE_INTERVAL_MS", OPT_INT, &ms_opt.interval_ms, 0, 0, 3600000,
      "timeline sampling interval in ms (0 = no timeline)" },
    { "MEMSCOPE_AUTO_EXPORT", OPT_BOOL, &ms_opt.auto_export, 0, 0, 1,
      "write the reports at exit" },
    { "MEMSCOPE_SIGNAL", OPT_SIGNAL, &ms_opt.signal, 0, 0, 0,
      "signal that writes a snapshot (USR1, USR2, a number, or 0)" },
    { "MEMSCOPE_OUT", OPT_STRING, ms_opt.out, sizeof(ms_opt.out), 0, 0,
      "directory for the reports" },
    { "MEMSCOPE_NAME", OPT_STRING, ms_opt.name, sizeof(ms_opt.name), 0, 0,
      "base name of the reports (default <program>-<pid>)" },
    { "MEMSCOPE_FORMATS", OPT_FORMATS, &ms_opt.formats, 0, 0, 0,
      "comma-separated: bin,json,html,md,folded" },
    { "MEMSCOPE_VERBOSE", OPT_BOOL, &ms_opt.verbose, 0, 0, 1,
      "print the options in force and where reports go" },
    { "MEMSCOPE_TEST_MODE", OPT_BOOL, &ms_opt.test_mode, 0, 0, 1,
      "fast runs in test suites: no timeline thread, no HTML" },
    { "MEMSCOPE_FILE_MODE", OPT_MODE, &ms_opt.file_mode, 0, 0, 0777,
      "octal permissions of report files" },
    { "MEMSCOPE_ABORT_ON_ERROR", OPT_BOOL, &ms_opt.abort_on_error, 0, 0, 1,
      "abort after reporting a heap error" },
    { "MEMSCOPE_LEAK_CHECK", OPT_BOOL, &ms_opt.leak_check, 0, 0, 1,
      "class the blocks live at exit by reachability (exact mode)" },
    { "MEMSCOPE_CHILDREN", OPT_CHILDREN, &ms_opt.children, 0, 0, 0,
      "child processes traced: none, fork (forked, not exec'd) or all" },
    { "MEMSCOPE_RUN_LOG", OPT_STRING, ms_opt.run_log, sizeof(ms_opt.run_log),
      0, 0, "file, made by memscope run, that each report written is "
      "appended to" },
    { "MEMSCOPE_SYMBOL_CACHE", OPT_STRING, ms_opt.symbol_cache,
      sizeof(ms_opt.symbol_cache), 0, 0,
      "directory of function names by build ID and debug files, kept "
      "across runs (none = off)" },
    { "MEMSCOPE_SUPPRESSIONS", OPT_STRING, ms_opt.suppressions,
      sizeof(ms_opt.suppressions), 0, 0,
      "file of leak:PATTERN lines: matching leaks left out of the reports" },
};

static int
parse_bool(const char *v, int *out)
{
    static const char *yes[] = { "1", "yes", "on", "true" };
    static const char *no[] = { "0", "no", "off", "false" };
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) { *out = 1; return 0; }
        if (strcasecmp(v, no[i]) == 0) { *out = 0; return 0; }
    }
    return -1;
}

/* A whole number with an optional k/m/g suffix (powers of 1024). */
static int
parse_size(const char *v, long long min, long long max, unsigned long long *out)
{
    char *end;
    if (!isdigit((unsigned char)*v))
        return -1;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno != 0)
        return -1;
    unsigned shift = 0;
    switch (tolower((unsigned char)*end)) {
    case 'k': shift = 10; end++; break;
    case 'm': shift = 20; end++; break;
    case 'g': shift = 30; end++; break;
    default: break;
    }
    if (tolower((unsigned char)*end) == 'b' || tolower((unsigned char)*end) == 'i')
        end++;
    if (*end != '\0' || (shift && n > (ULLONG_MAX >> shift)))
        return -1;
    n <<= shift;
    if ((long long)n < min || n > (unsigned long long)max)
        return -1;
    *out = n;
    return 0;
}

static int
parse_signal(const char *v, int *out)
{
    if (strncasecmp(v, "SIG", 3) == 0)
        v += 3;
    if (strcasecmp(v, "USR1") == 0) { *out = SIGUSR1; return 0; }
    if (strcasecmp(v, "USR2") == 0) { *out = SIGUSR2; return 0; }
    unsigned long long n;
    if (parse_size(v, 0, 64, &n) != 0 || (n != 0 && (n == SIGKILL ||
        n == SIGSTOP || n == SIGSEGV || n == SIGBUS || n == SIGFPE ||
        n == SIGILL || n == SIGABRT)))
        return -1;
    *out = (int)n;
    return 0;
}


static int
parse_one(const opt_desc_t *d, const char *v)
{
    unsigned long long n;
    switch (d->type) {
    case OPT_BOOL:
        return parse_bool(v, d->dst);
    case OPT_INT:
        if (parse_size(v, d->min, d->max, &n) != 0)
            return -1;
        *(int *)d->dst = (int)n;
        return 0;
    case OPT_SIZE:
        if (parse_size(v, d->min, d->max, &n) != 0)
            return -1;
        *(uint64_t *)d->dst = n;
        return 0;
    case OPT_SIGNAL:
        return parse_signal(v, d->dst);
    case OPT_STRING:
        if (d->dst == ms_opt.symbol_cache &&
            (*v == '\0' || strcmp(v, "none") == 0)) {
            ms_opt.symbol_cache[0] = '\0';
            return 0;
        }
        if (*v == '\0' || strlen(v) >= d->dst_len)
            return -1;
        if (d->dst == ms_opt.name && strchr(v, '/') != NULL)
            return -1;
        strcpy(d->dst, v);
        return 0;
    case OPT_FORMATS:
        return ms_formats_parse(v, d->dst);
    case OPT_CHILDREN:
        for (int k = 0; k < 3; k++)
            if (strcasecmp(v, children_names[k]) == 0) {
                *(int *)d->dst = k;
                return 0;
            }
        return -1;
    case OPT_MODE: {
        char *end;
        errno = 0;
        long m = strtol(v, &end, 8);
        if (*v == '\0' || *end != '\0' || errno || m < 0 || m > 0777)
            return -1;
        *(int *)d->dst = (int)m;
        return 0;
    }
    }
    return -1;
}

/* The symbol cache by default: $XDG_CACHE_HOME/memscope/symbols, else
 * $HOME/.cache/memscope/symbols (symcache.c makes it); none without an
 * absolute one of these (a setuid process reads neither). */
static void
symbol_cache_default(void)
{
    const char *xdg = secure_getenv("XDG_CACHE_HOME"),
        *home = secure_getenv("HOME");
    int n = -1;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(ms_opt.symbol_cache, sizeof(ms_opt.symbol_cache),
            "%s/memscope/symbols", xdg);
    else if (home != NULL && home[0] == '/')
        n = snprintf(ms_opt.symbol_cache, sizeof(ms_opt.symbol_cache),
            "%s/.cache/memscope/symbols", home);
    if (n < 0 || (size_t)n >= sizeof(ms_opt.symbol_cache))
        ms_opt.symbol_cache[0] = '\0';
}

void
ms_options_load(void)
{
    if (secure_getenv("MEMSCOPE_SYMBOL_CACHE") == NULL)
        symbol_cache_default();
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        /* secure_getenv: NULL in a setuid or otherwise AT_SECURE process. */
        const char *v = secure_getenv(opts[i].name);
        if (v == NULL)
            continue;
        if (parse_one(&opts[i], v) != 0) {
            /* the value as printable text, so the warning stays one line */
            char shown[65];
            size_t k = 0;
            for (; v[k] != '\0' && k < sizeof(shown) - 1; k++)
                shown[k] = (v[k] >= 0x20 && v[k] < 0x7f) ? v[k] : '?';
            shown[k] = '\0';
            ms_log("%s='%s' is not valid (%s); using the default",
                opts[i].name, shown, opts[i].help);
        }
    }
    if (ms_opt.test_mode)
        ms_opt.formats &= ~MEMSCOPE_FORMAT_HTML;
}

void
ms_options_print(void)
{
    ms_log("options in force:");
    ms_log("  MEMSCOPE_ENABLE=%d", ms_opt.enable);
    ms_log("  MEMSCOPE_SAMPLE=%llu (%s)", (unsigned long long)ms_opt.sample,
        ms_opt.sample ? "sampled" : "exact");
    ms_log("  MEMSCOPE_STACK_DEPTH=%d", ms_opt.stack_depth);
    ms_log("  MEMSCOPE_INTERVAL_MS=%d", ms_opt.interval_ms);
    ms_log("  MEMSCOPE_AUTO_EXPORT=%d", ms_opt.auto_export);
    ms_log("  MEMSCOPE_SIGNAL=%d", ms_opt.signal);
    ms_log("  MEMSCOPE_OUT=%s", ms_opt.out);
    ms_log("  MEMSCOPE_NAME=%s", ms_opt.name[0] ? ms_opt.name :
        "(program-pid)");
    char fmts[256];
    size_t n = 0;
    fmts[0] = '\0';
    for (size_t i = 0; i < ms_nformats; i++)
        if ((ms_opt.formats & ms_formats[i].bit) && n < sizeof(fmts))
            n += (size_t)snprintf(fmts + n, sizeof(fmts) - n, "%s%s",
                n ? " " : "", ms_formats[i].name);
    ms_log("  MEMSCOPE_FORMATS=%s", fmts);
    ms_log("  MEMSCOPE_TEST_MODE=%d", ms_opt.test_mode);
    ms_log("  MEMSCOPE_FILE_MODE=%03o", ms_opt.file_mode);
    ms_log("  MEMSCOPE_ABORT_ON_ERROR=%d", ms_opt.abort_on_error);
    ms_log("  MEMSCOPE_LEAK_CHECK=%d", ms_opt.leak_check);
    ms_log("  MEMSCOPE_CHILDREN=%s", children_names[ms_opt.children]);
    ms_log("  MEMSCOPE_SYMBOL_CACHE=%s", ms_opt.symbol_cache[0] ?
        ms_opt.symbol_cache : "(none: names from libdw at each exit)");
}
