/*
 * snapshot.c - `memscope snapshot PID`: makes a running traced process
 * write a numbered snapshot and prints its path once it is complete.
 *
 * The library writes a snapshot when it gets its signal (MEMSCOPE_SIGNAL,
 * SIGUSR1 by default) as DIR/NAME.snapshot-N.EXT, one file per format,
 * each renamed into place whole (tracer/triggers.c). DIR is MEMSCOPE_OUT
 * (default MemoryAnalysis, relative to the process's working directory)
 * and NAME is MEMSCOPE_NAME or <program>-<pid>; the tool reads both from
 * /proc/PID/environ when it may. It checks the process runs memscope
 * before sending anything (the signal would kill a program without it),
 * notes the snapshots already there, and waits for a new one: a higher N,
 * or a file that was replaced. With --leaks the signal is sent by
 * sigqueue, carrying MS_SNAPSHOT_LEAKS: that snapshot classes the live
 * blocks by reachability.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../exporters/export.h"

static const char *cmd = "snapshot";

#define MAX_SEEN 4096

typedef struct {
    pid_t pid;
    int sig;
    int leaks;                  /* --leaks */
    double timeout;
    const char *dir_opt;
    char env[65536];            /* /proc/PID/environ, NUL-separated */
    size_t envlen;
    int env_ok;
    char dir[PATH_MAX + 1100];  /* where to look (may go through /proc) */
    char shown[PATH_MAX + 1100];    /* the same directory, for people */
    char base[2][512];          /* candidate report names */
    int nbase;
    unsigned formats;           /* bit i: ms_formats[i] expected */
    int primary;                /* the format whose path is printed */
    struct { int base, fmt; unsigned long n; ino_t ino; } seen[MAX_SEEN];
    int nseen;
} snap_t;

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: memscope snapshot PID [--leaks] [--signal USR1|USR2|N]\n"
        "                         [--timeout SEC] [-o DIR]\n"
        "\n"
        "Sends process PID, which must run with memscope, its snapshot\n"
        "signal and prints the path of the new snapshot once it is written\n"
        "(its .bin file, or the first format written when bin is off).\n"
        "\n"
        "  --leaks        the snapshot classes every live block by\n"
        "                 reachability (definitely, indirectly, possibly\n"
        "                 lost, still reachable), scanning a copy of the\n"
        "                 process while its threads run on (exact mode)\n"
        "  --signal SIG   the signal to send (default: the process's\n"
        "                 MEMSCOPE_SIGNAL, else USR1)\n"
        "  --timeout SEC  how long to wait (default 30)\n"
        "  -o DIR         where the process writes its reports (default: its\n"
        "                 MEMSCOPE_OUT, else MemoryAnalysis in its working\n"
        "                 directory)\n"
        "\n"
        "Exit status: 0 done, 1 no such process, no memscope in it, or no\n"
        "snapshot in time, 2 bad usage.\n");
}

/* ---- the process's settings ---------------------------------------------- */

static const char *
env_get(const snap_t *s, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < s->envlen; i += strlen(s->env + i) + 1)
        if (strncmp(s->env + i, name, n) == 0 && s->env[i + n] == '=')
            return s->env + i + n + 1;
    return NULL;
}

static int
is_false(const char *v)
{
    return v != NULL && (strcmp(v, "0") == 0 || strcasecmp(v, "no") == 0 ||
        strcasecmp(v, "off") == 0 || strcasecmp(v, "false") == 0);
}

/* USR1, SIGUSR2, 10...; -1 when not a signal. */
static int
parse_signal(const char *v)
{
    if (strncasecmp(v, "SIG", 3) == 0)
        v += 3;
    if (strcasecmp(v, "USR1") == 0)
        return SIGUSR1;
    if (strcasecmp(v, "USR2") == 0)
        return SIGUSR2;
    char *end;
    long n = strtol(v, &end, 10);
    return *v != '\0' && *end == '\0' && n >= 0 && n < 65 ? (int)n : -1;
}

static ssize_t
read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t n;
    while (got < len && (n = read(fd, buf + got, len - got)) > 0)
        got += (size_t)n;
    close(fd);
    return (ssize_t)got;
}

/* Does the file hold needle? 1 yes, 0 no, -1 unreadable. */
static int
file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    size_t n = strlen(needle), have = 0;
    char buf[65536 + 256];
    int found = 0;
    size_t got;
    while (!found && (got = fread(buf + have, 1, sizeof(buf) - have, f)) > 0) {
        have += got;
        found = memmem(buf, have, needle, n) != NULL;
        size_t keep = have < n ? have : n - 1;
        memmove(buf, buf + have - keep, keep);
        have = keep;
    }
    fclose(f);
    return found;
}

/* 0, or CLI_BAD after the error. */
static int
check_memscope(snap_t *s)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)s->pid);
    /* the library marks a process whose snapshot handler it installed
     * with a memfd mapping of that name (tracer/triggers.c) */
    if (file_has(path, "/memfd:memscope (deleted)") == 1)
        return 0;
    if (file_has(path, "/libmemscope_malloc.so") == 1)
        cli_error(cmd, "process %d has memscope loaded but is not tracing "
            "(MEMSCOPE_ENABLE=0?)", (int)s->pid);
    else
        cli_error(cmd, "process %d does not run memscope", (int)s->pid);
    return CLI_BAD;
}

/* The report directory, for access and for display. */
static int
find_dir(snap_t *s)
{
    const char *out = s->dir_opt ? s->dir_opt : env_get(s, "MEMSCOPE_OUT");
    if (out == NULL || *out == '\0')
        out = "MemoryAnalysis";
    if (s->dir_opt != NULL || out[0] == '/') {
        snprintf(s->dir, sizeof(s->dir), "%s", out);
        snprintf(s->shown, sizeof(s->shown), "%s", out);
        return 0;
    }
    char link[64], cwd[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/%d/cwd", (int)s->pid);
    ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
    if (n < 0) {
        cli_error(cmd, "cannot find the working directory of process %d: %s "
            "(give the report directory with -o)", (int)s->pid,
            strerror(errno));
        return CLI_BAD;
    }
    cwd[n] = '\0';
    snprintf(s->dir, sizeof(s->dir), "%s/%.1024s", link, out);
    snprintf(s->shown, sizeof(s->shown), "%s%s%.1024s", cwd,
        strcmp(cwd, "/") ? "/" : "", out);
    return 0;
}

/* The report names the library may use: MEMSCOPE_NAME (NAME-PID in a
 * forked child), else <program>-<pid>, program being argv[0]'s base name. */
static void
find_bases(snap_t *s)
{
    const char *name = env_get(s, "MEMSCOPE_NAME");
    if (name != NULL && *name != '\0') {
        snprintf(s->base[0], sizeof(s->base[0]), "%.400s", name);
        snprintf(s->base[1], sizeof(s->base[1]), "%.400s-%d", name,
            (int)s->pid);
        s->nbase = 2;
        return;
    }
    char argv0[4096];
    ssize_t n = read_proc(s->pid, "cmdline", argv0, sizeof(argv0) - 1);
    argv0[n > 0 ? n : 0] = '\0';
    if (n <= 0 && read_proc(s->pid, "comm", argv0, 16) > 0)
        argv0[strcspn(argv0, "\n")] = '\0';
    snprintf(s->base[0], sizeof(s->base[0]), "%.400s-%d",
        cli_basename(argv0), (int)s->pid);
    s->nbase = 1;
}

/* The formats the process writes, as the library reads MEMSCOPE_FORMATS
 * (tracer/options.c): its default when unset or not valid, no html in test
 * mode. */
static int
find_formats(snap_t *s)
{
    const char *v = env_get(s, "MEMSCOPE_FORMATS");
    unsigned want = MS_FORMATS_DEFAULT;
    if (v != NULL)
        ms_formats_parse(v, &want);     /* not valid: the default stays */
    const char *test = env_get(s, "MEMSCOPE_TEST_MODE");
    if (test != NULL && !is_false(test))
        want &= ~MEMSCOPE_FORMAT_HTML;
    s->formats = 0;
    for (size_t i = 0; i < ms_nformats; i++)
        if (want & ms_formats[i].bit)
            s->formats |= 1u << i;
    s->primary = s->formats ? __builtin_ctz(s->formats) : -1;
    if (s->primary < 0) {
        cli_error(cmd, "process %d writes no report format this memscope "
            "knows (MEMSCOPE_FORMATS=%s)", (int)s->pid, v ? v : "");
        return CLI_BAD;
    }
    return 0;
}

/* "BASE.snapshot-N.EXT": the index of BASE among the candidates, N and
 * the index of EXT, or -1. */
static int
match(const snap_t *s, const char *file, int *fmt, unsigned long *n)
{
    for (int b = 0; b < s->nbase; b++) {
        size_t bl = strlen(s->base[b]);
        if (strncmp(file, s->base[b], bl) != 0 ||
            strncmp(file + bl, ".snapshot-", 10) != 0)
            continue;
        const char *p = file + bl + 10;
        char *end;
        if (*p < '0' || *p > '9')
            continue;
        *n = strtoul(p, &end, 10);
        for (*fmt = 0; *end == '.' && *fmt < (int)ms_nformats; (*fmt)++)
            if (strcmp(end + 1, ms_formats[*fmt].ext) == 0)
                return b;
    }
    return -1;
}

/* Was this file there before the signal? A file renamed over it since is
 * another inode. */
static int
was_seen(const snap_t *s, int b, int fmt, unsigned long n, ino_t ino)
{
    for (int i = 0; i < s->nseen; i++)
        if (s->seen[i].base == b && s->seen[i].fmt == fmt &&
            s->seen[i].n == n && s->seen[i].ino == ino)
            return 1;
    return 0;
}

/* Notes the snapshot files there now (record), or finds the newest
 * snapshot whose primary file is not one of them (returns 1 and sets *bo,
 * *no). */
static int
scan(snap_t *s, int record, int *bo, unsigned long *no)
{
    DIR *d = opendir(s->dir);
    int found = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        unsigned long n;
        int fmt, b = match(s, e->d_name, &fmt, &n);
        struct stat st;
        if (b < 0 || fstatat(dirfd(d), e->d_name, &st, 0) != 0)
            continue;
        if (record && s->nseen < MAX_SEEN) {
            s->seen[s->nseen].base = b;
            s->seen[s->nseen].fmt = fmt;
            s->seen[s->nseen].n = n;
            s->seen[s->nseen++].ino = st.st_ino;
        } else if (!record && fmt == s->primary &&
                   !was_seen(s, b, fmt, n, st.st_ino) && (!found || n > *no)) {
            found = 1;
            *bo = b;
            *no = n;
        }
    }
    if (d != NULL)
        closedir(d);
    return found;
}

/* The formats of snapshot n not yet written anew, as bits. */
static unsigned
missing(const snap_t *s, int b, unsigned long n)
{
    unsigned miss = 0;
    for (int i = 0; i < (int)ms_nformats; i++) {
        char path[sizeof(s->dir) + 600];
        struct stat st;
        if (!(s->formats & (1u << i)))
            continue;
        snprintf(path, sizeof(path), "%s/%s.snapshot-%lu.%s", s->dir,
            s->base[b], n, ms_formats[i].ext);
        if (stat(path, &st) != 0 || was_seen(s, b, i, n, st.st_ino))
            miss |= 1u << i;
    }
    return miss;
}

/* Waits for the new snapshot, then prints its path; CLI_OK or CLI_BAD. */
static int
wait_snapshot(snap_t *s)
{
    double end = cli_now() + s->timeout;
    struct timespec tick = { 0, 20 * 1000 * 1000 };
    int b = -1;
    unsigned long n = 0;
    unsigned miss = ~0u;
    while (cli_now() < end) {
        if (b < 0 && scan(s, 0, &b, &n))
            miss = missing(s, b, n);
        else if (b >= 0)
            miss = missing(s, b, n);
        if (b >= 0 && miss == 0)
            break;
        if (!cli_alive(s->pid)) {
            cli_error(cmd, "process %d exited before its snapshot was "
                "written", (int)s->pid);
            return CLI_BAD;
        }
        cli_progress("waiting for the snapshot", 0, 0);
        nanosleep(&tick, NULL);
    }
    cli_progress_done();
    if (b < 0) {
        cli_error(cmd, "no new snapshot in %s within %g s", s->shown,
            s->timeout);
        return CLI_BAD;
    }
    if (miss != 0)
        cli_error(cmd, "warning: snapshot %lu has no .%s file after %g s",
            n, ms_formats[__builtin_ctz(miss)].ext, s->timeout);
    printf("%s/%s.snapshot-%lu.%s\n", s->shown, s->base[b], n,
        ms_formats[s->primary].ext);
    return fflush(stdout) == 0 ? CLI_OK : CLI_BAD;
}

static int
parse(int argc, char **argv, snap_t *s)
{
    const char *pid = NULL, *sig = NULL, *timeout = NULL;
    const cli_opt_t opts[] = {
        { "--leaks", NULL, NULL, &s->leaks },
        { "--signal", NULL, &sig, NULL },
        { "--timeout", NULL, &timeout, NULL },
        { "-o", NULL, &s->dir_opt, NULL },
        { NULL, NULL, NULL, NULL },
    };
    const cli_args_t spec = { cmd, opts, usage, &pid, 1, 0, 0 };
    int rc = cli_parse(&spec, argc, argv, NULL);
    if (rc != CLI_OK)
        return rc;
    char *end = NULL;
    int p;
    if (cli_pid_arg(cmd, pid, &p) != CLI_OK)
        return CLI_USAGE;
    s->pid = (pid_t)p;
    s->sig = sig ? parse_signal(sig) : 0;
    if (sig != NULL && s->sig <= 0) {
        cli_error(cmd, "'%s' is not a signal (USR1, USR2 or a number)", sig);
        return CLI_USAGE;
    }
    s->timeout = timeout ? strtod(timeout, &end) : 30;
    if (timeout != NULL && (*end != '\0' || !(s->timeout > 0))) {
        cli_error(cmd, "--timeout wants a number of seconds, not '%s'",
            timeout);
        return CLI_USAGE;
    }
    return CLI_OK;
}

/*
 * `memscope run`'s own pid (the $! of a run put in the background) stands
 * for the program it runs: a process of this same tool with exactly one
 * child is replaced by that child.
 */
static void
follow_run(snap_t *s)
{
    char self[PATH_MAX], exe[PATH_MAX], path[64], kids[64];
    ssize_t a = readlink("/proc/self/exe", self, sizeof(self) - 1);
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)s->pid);
    ssize_t b = readlink(path, exe, sizeof(exe) - 1);
    if (a <= 0 || a != b || memcmp(self, exe, (size_t)a) != 0 ||
        s->pid == getpid())
        return;
    snprintf(path, sizeof(path), "task/%d/children", (int)s->pid);
    ssize_t n = read_proc(s->pid, path, kids, sizeof(kids) - 1);
    if (n <= 0)
        return;
    kids[n] = '\0';
    char *end;
    long c = strtol(kids, &end, 10);
    while (*end == ' ' || *end == '\n')
        end++;
    if (c > 0 && *end == '\0')     /* one child, no other */
        s->pid = (pid_t)c;
}

/* The process exists, runs memscope and takes a snapshot signal. */
static int
check_process(snap_t *s)
{
    follow_run(s);
    if (kill(s->pid, 0) != 0) {
        cli_error(cmd, errno == ESRCH ? "no process with id %d" :
            "not allowed to signal process %d", (int)s->pid);
        return CLI_BAD;
    }
    ssize_t n = read_proc(s->pid, "environ", s->env, sizeof(s->env) - 1);
    s->envlen = n > 0 ? (size_t)n : 0;
    s->env[s->envlen] = '\0';
    if (check_memscope(s) != 0)
        return CLI_BAD;
    const char *v = env_get(s, "MEMSCOPE_SIGNAL");
    int env_sig = v ? parse_signal(v) : SIGUSR1;
    if (s->sig == 0 && env_sig == 0) {
        cli_error(cmd, "process %d takes no snapshot signal "
            "(MEMSCOPE_SIGNAL=%s)", (int)s->pid, v);
        return CLI_BAD;
    }
    if (s->sig == 0)
        s->sig = env_sig > 0 ? env_sig : SIGUSR1;
    return 0;
}

int
cmd_snapshot(int argc, char **argv)
{
    snap_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        cli_error(cmd, "out of memory");
        return CLI_BAD;
    }
    int rc = parse(argc, argv, s);
    if (rc == CLI_OK)
        rc = check_process(s);
    if (rc == CLI_OK)
        rc = find_dir(s);
    if (rc == CLI_OK) {
        find_bases(s);
        rc = find_formats(s);
    }
    if (rc == CLI_OK) {
        int b;
        unsigned long n;
        scan(s, 1, &b, &n);
        /* the leak classes are asked for by the value the signal carries */
        union sigval v = { .sival_int = MS_SNAPSHOT_LEAKS };
        if ((s->leaks ? sigqueue(s->pid, s->sig, v) : kill(s->pid, s->sig)) != 0) {
            cli_error(cmd, "cannot signal process %d: %s", (int)s->pid,
                strerror(errno));
            rc = CLI_BAD;
        } else {
            rc = wait_snapshot(s);
        }
    }
    free(s);
    return rc < 0 ? CLI_OK : rc;
}

/* For `memscope top` (top.c): the same checks and the same places. */
int
cli_traced_find(const char *caller, int pid, const char *dir_opt,
    cli_traced_t *t)
{
    snap_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        cli_error(caller, "out of memory");
        return CLI_BAD;
    }
    const char *was = cmd;
    cmd = caller;
    s->pid = pid;
    s->dir_opt = dir_opt;
    int rc = check_process(s);
    if (rc == CLI_OK)
        rc = find_dir(s);
    if (rc == CLI_OK) {
        find_bases(s);
        t->pid = (int)s->pid;
        t->sig = s->sig;
        snprintf(t->dir, sizeof(t->dir), "%s", s->dir);
        snprintf(t->shown, sizeof(t->shown), "%s", s->shown);
        memcpy(t->base, s->base, sizeof(t->base));
        t->nbase = s->nbase;
    }
    cmd = was;
    free(s);
    return rc;
}
