/*
 * run.c - `memscope run -- PROG ARGS`: runs PROG with libmemscope_malloc
 * preloaded (the one next to the tool, or in its lib directory); the
 * options set the MEMSCOPE_* variables. The exit status is PROG's.
 *
 * PROG runs in a child of the tool, whose pid the tool gives it as
 * MEMSCOPE_ROOT_PID: the library traces that process (through exec: a
 * shim or wrapper script that ends in `exec` is traced as the program it
 * becomes) and, as MEMSCOPE_CHILDREN says, none of its descendants
 * (default), the ones it forks without exec (--follow-fork) or all
 * (--follow-children). Each traced process appends the paths of the
 * reports it writes to MEMSCOPE_RUN_LOG, a temporary file of the tool's.
 * At exit a process writes only its .bin and leaves its other formats to
 * the tool (a "render" line in the log, export.c says how the two agree):
 * the tool writes them from each .bin, next to it, while PROG runs and
 * when it has ended; then it prints a summary of PROG's exit report on
 * stderr (not with -q) and exits with PROG's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../exporters/md.h"
#include "../exporters/xalloc.h"

static const char *cmd = "run";

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: memscope run [-o DIR] [-n NAME] [--sample BYTES] [--depth N]\n"
        "                    [--formats LIST] [--follow-fork | --follow-children]\n"
        "                    [-q] -- PROG [ARGS...]\n"
        "\n"
        "Runs PROG with libmemscope_malloc preloaded and traces it, through\n"
        "exec, and none of the processes it starts unless asked:\n"
        "\n"
        "  --follow-fork      also the children it forks without exec\n"
        "  --follow-children  also every descendant\n"
        "  -q, --quiet        no summary on stderr at the end\n"
        "\n"
        "The exit status is PROG's. -o, -n, --sample, --depth and --formats\n"
        "set MEMSCOPE_OUT, MEMSCOPE_NAME, MEMSCOPE_SAMPLE, MEMSCOPE_STACK_DEPTH\n"
        "and MEMSCOPE_FORMATS; the follow options MEMSCOPE_CHILDREN\n"
        "(docs/options.md).\n");
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

typedef struct {
    int quiet;
    const char *children;       /* NULL: MEMSCOPE_CHILDREN as set, or none */
} run_args_t;

/* Sets the variables from the options; the index of PROG, or -1 after
 * printing the help, or -2 after a usage error. */
static int
parse(int argc, char **argv, run_args_t *a)
{
    static const char *const var[] = { "MEMSCOPE_OUT", "MEMSCOPE_NAME",
        "MEMSCOPE_SAMPLE", "MEMSCOPE_STACK_DEPTH", "MEMSCOPE_FORMATS" };
    const char *val[5] = { NULL, NULL, NULL, NULL, NULL };
    int fork_only = 0, all = 0;
    const cli_opt_t opts[] = {
        { "-o", NULL, &val[0], NULL }, { "-n", NULL, &val[1], NULL },
        { "--sample", NULL, &val[2], NULL }, { "--depth", NULL, &val[3], NULL },
        { "--formats", NULL, &val[4], NULL },
        { "-q", "--quiet", NULL, &a->quiet },
        { "--follow-fork", NULL, NULL, &fork_only },
        { "--follow-children", NULL, NULL, &all },
        { NULL, NULL, NULL, NULL },
    };
    const cli_args_t spec = { cmd, opts, usage, NULL, 0, 0, 1 };
    int i, rc = cli_parse(&spec, argc, argv, &i);
    if (rc != CLI_OK)
        return rc == CLI_HELP ? -1 : -2;
    if (fork_only && all) {
        cli_error(cmd, "--follow-fork and --follow-children: choose one");
        return -2;
    }
    a->children = fork_only ? "fork" : all ? "all" : NULL;
    for (size_t k = 0; k < sizeof(var) / sizeof(var[0]); k++)
        if (val[k] != NULL)
            setenv(var[k], val[k], 1);
    return i;
}

static int
preload(const char *lib)
{
    const char *old = getenv("LD_PRELOAD");
    if (old != NULL && *old != '\0') {
        size_t len = strlen(lib) + strlen(old) + 2;
        char *both = malloc(len);
        if (both == NULL)
            return -1;
        snprintf(both, len, "%s:%s", lib, old);
        setenv("LD_PRELOAD", both, 1);
        free(both);
    } else {
        setenv("LD_PRELOAD", lib, 1);
    }
    return 0;
}

/* MEMSCOPE_OUT made absolute (from the tool's directory, where the user
 * expects the reports even if PROG changes directory), so that the paths
 * in the summary are right. */
static void
absolute_out(void)
{
    const char *out = getenv("MEMSCOPE_OUT");
    if (out == NULL || *out == '\0')
        out = "MemoryAnalysis";
    if (out[0] == '/')
        return;
    char cwd[PATH_MAX], abs[PATH_MAX + 1024];
    if (getcwd(cwd, sizeof(cwd)) == NULL ||
        (size_t)snprintf(abs, sizeof(abs), "%s/%s", cwd, out) >= 1024)
        return;             /* the library's limit: left as it is */
    setenv("MEMSCOPE_OUT", abs, 1);
}

/* ---- the child and its signals ------------------------------------------- */

static volatile pid_t child;

/* A signal sent to the tool goes on to the program. One the terminal sends
 * (^C, ^\) went to the whole process group, the program too: not again. */
static void
forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved = errno;
    if (child > 0 && (si == NULL || si->si_code <= 0))
        kill(child, sig);
    errno = saved;
}

static void
forward_signals(void)
{
    static const int sigs[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1,
        SIGUSR2, SIGALRM };
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/* Starts PROG; its pid, or -1 after a one-line error (*status then the
 * shell's: 127 not found, 126 not runnable). exec's error comes back
 * through a close-on-exec pipe. */
static pid_t
start(char **argv, int *status)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        cli_error(cmd, "cannot run '%s': %s", argv[0], strerror(errno));
        *status = 126;
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        cli_error(cmd, "cannot run '%s': %s", argv[0], strerror(errno));
        close(p[0]);
        close(p[1]);
        *status = 126;
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        char me[24];
        snprintf(me, sizeof(me), "%d", (int)getpid());
        setenv("MEMSCOPE_ROOT_PID", me, 1);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(p[1], &e, sizeof(e));
        (void)w;
        _exit(127);
    }
    close(p[1]);
    int e = 0;
    ssize_t n;
    while ((n = read(p[0], &e, sizeof(e))) < 0 && errno == EINTR)
        ;
    close(p[0]);
    if (n == (ssize_t)sizeof(e)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        cli_error(cmd, "cannot run '%s': %s", argv[0], strerror(e));
        *status = e == ENOENT ? 127 : 126;
        return -1;
    }
    return pid;
}

/* ---- the summary --------------------------------------------------------- */

/* One report file of the run log. */
typedef struct {
    long pid;
    char *trigger, *path;
} logged_t;

typedef struct {
    logged_t *v;
    size_t n;
} run_log_t;

/* Adds a line to the log; 0, or -1 without memory. */
static int
log_add(run_log_t *log, long pid, const char *trigger, const char *path)
{
    logged_t *v = realloc(log->v, (log->n + 1) * sizeof(*v));
    if (v == NULL)
        return -1;
    log->v = v;
    v[log->n].pid = pid;
    v[log->n].trigger = strdup(trigger);
    v[log->n].path = strdup(path);
    if (v[log->n].trigger == NULL || v[log->n].path == NULL) {
        free(v[log->n].trigger);
        free(v[log->n].path);
        return -1;
    }
    log->n++;
    return 0;
}

static void
log_free(run_log_t *log)
{
    for (size_t i = 0; i < log->n; i++) {
        free(log->v[i].trigger);
        free(log->v[i].path);
    }
    free(log->v);
}

static int
ends_with(const char *s, const char *tail)
{
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

/* The exit report of process pid with extension ext; NULL when none. */
static const char *
log_find(const run_log_t *log, long pid, const char *ext)
{
    for (size_t i = 0; i < log->n; i++)
        if (log->v[i].pid == pid && strcmp(log->v[i].trigger, "exit") == 0 &&
            ends_with(log->v[i].path, ext))
            return log->v[i].path;
    return NULL;
}

#define SAY(...) fprintf(stderr, "memscope: " __VA_ARGS__)

static int hide_bin;        /* the .bin files were the tool's, removed */

/* A leak class's name as words: "definitely lost". */
static const char *
class_words(unsigned c, char *buf, size_t len)
{
    snprintf(buf, len, "%s", ms_report_leak_class_name(c));
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = ' ';
    return buf;
}

/* "func (file:line)" of frame k of a site, or the label alone. */
static void
say_frame(const ms_report_t *r, const ms_rsite_t *s, uint64_t k)
{
    char label[512];
    const ms_rframe_t *f = &r->frames[s->frames[k]];
    fputs(ms_frame_label(f, label, sizeof(label)), stderr);
    if (f->file != NULL)
        fprintf(stderr, " (%s:%lld)", cli_basename(f->file),
            (long long)f->line);
}

/* The three sites that leak most (the most severe class first, then
 * live bytes), with their class and the first two meaningful frames of
 * their stack. */
static void
say_leak_sites(const ms_report_t *r)
{
    uint64_t top[3];
    int n = ms_report_top_sites(r, MS_RANK_LEAK, top, 3);
    int sampled = r->sample_interval != 0;
    for (int i = 0; i < n; i++) {
        const ms_rsite_t *s = &r->sites[top[i]];
        unsigned c = ms_report_site_class(r, s);
        char words[32];
        uint64_t blocks = sampled ? ms_report_est(s->est_live_blocks) :
            s->live_blocks;
        SAY("    %d. %s%llu bytes in %s%llu block%s (%s): ", i + 1,
            sampled ? "~" : "", (unsigned long long)(sampled ?
                ms_report_est(s->est_live_bytes) : s->live_bytes),
            sampled ? "~" : "", (unsigned long long)blocks,
            blocks == 1 ? "" : "s", c < MS_LEAK_CLASSES ?
            class_words(c, words, sizeof(words)) : "class not measured");
        uint64_t m = ms_report_first_frame(r, s);
        if (m < s->depth) {
            say_frame(r, s, m);
            if (m + 1 < s->depth) {
                fputs(" <- ", stderr);
                say_frame(r, s, m + 1);
            }
        } else {
            fputs("[no stack]", stderr);
        }
        fputc('\n', stderr);
    }
}

/* The summary of the named process's exit report r. */
static void
say_report(const ms_report_t *r, const char *how)
{
    char b[32];
    uint64_t temps = 0;
    for (uint64_t i = 0; i < r->nsites; i++)
        temps += r->sites[i].temporaries;
    SAY("%s (pid %lld) %s after %.3f s, traced in %s mode\n",
        r->program ? r->program : "?", (long long)r->pid, how,
        (double)r->duration_ns / 1e9, r->mode ? r->mode : "?");
    SAY("  allocations:    %llu (%llu bytes), %llu frees, %llu reallocs\n",
        (unsigned long long)r->allocs, (unsigned long long)r->bytes_allocated,
        (unsigned long long)r->frees, (unsigned long long)r->reallocs);
    SAY("  peak live heap: %lld bytes (%s)\n", (long long)r->peak_live_bytes,
        cli_bytes(b, sizeof(b), (double)r->peak_live_bytes));
    SAY("  leaked:         %lld blocks, %lld bytes (%s) live at exit\n",
        (long long)r->live_blocks, (long long)r->live_bytes,
        cli_bytes(b, sizeof(b), (double)r->live_bytes));
    if (r->leak_checked) {
        for (unsigned c = 0; c < MS_LEAK_CLASSES; c++) {
            char words[32], name[40];
            snprintf(name, sizeof(name), "%s:",
                class_words(c, words, sizeof(words)));
            SAY("    %-17s %llu blocks, %llu bytes\n", name,
                (unsigned long long)r->leak_blocks[c],
                (unsigned long long)r->leak_bytes[c]);
        }
    } else {
        const char *why = ms_report_leak_unmeasured(r);
        SAY("    leak classes: not measured (%s)\n", why ? why : "?");
    }
    if (r->live_blocks > 0) {
        SAY("  top leak sites:\n");
        say_leak_sites(r);
    }
    SAY("  temporaries:    %llu\n", (unsigned long long)temps);
    SAY("  heap errors:    %llu\n",
        (unsigned long long)(r->nheap_errors + r->dropped_heap_errors));
}

/* The reports of process pid, as "DIR/BASE.{bin,json,...}". */
static void
say_paths(const run_log_t *log, long pid, const char *indent)
{
    const char *first = NULL;
    size_t stem = 0;
    for (size_t i = 0; i < log->n; i++) {
        const logged_t *v = &log->v[i];
        if (v->pid != pid || strcmp(v->trigger, "exit") != 0 ||
            (hide_bin && ends_with(v->path, ".bin")))
            continue;
        const char *slash = strrchr(v->path, '/');
        const char *dot = strchr(slash ? slash : v->path, '.');
        size_t len = dot ? (size_t)(dot - v->path) : strlen(v->path);
        if (first == NULL) {
            first = v->path;
            stem = len;
            SAY("%s%.*s.{%s", indent, (int)stem, first, v->path + len + 1);
        } else if (len == stem && strncmp(v->path, first, stem) == 0) {
            fprintf(stderr, ",%s", v->path + len + 1);
        } else {
            fprintf(stderr, "}\n");
            SAY("%s%s", indent, v->path);
            first = v->path;
            stem = strlen(v->path);
            fputc('{', stderr);
        }
    }
    if (first != NULL)
        fputs("}\n", stderr);
}

static int
pid_cmp(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

static void
summary(const run_log_t *log, pid_t root, int kept_bin, const char *prog,
    const char *how)
{
    const char *bin = log_find(log, root, ".bin");
    cli_input_t in;
    memset(&in, 0, sizeof(in));
    if (bin == NULL || cli_load(cmd, bin, &in) != CLI_OK) {
        SAY("%s (pid %d) %s: no exit report (it ended without exit(): by "
            "_exit, as dash does, or a signal; or MEMSCOPE_AUTO_EXPORT=0, or it "
            "is setuid)\n", prog, (int)root, how);
    } else {
        say_report(in.r, how);
        cli_unload(&in);
        SAY("  reports:\n");
        say_paths(log, root, "    ");
        const char *html = log_find(log, root, ".html");
        if (html != NULL)
            SAY("  open:    xdg-open %s\n", html);
        if (kept_bin)
            SAY("  more:    memscope report %s [--format text|md|html|json|folded|pprof]\n",
                bin);
    }
    /* the other processes traced: one line each, the first ten */
    long seen[10];
    size_t nseen = 0, others = 0, npids = 0;
    long *pids = malloc((log->n ? log->n : 1) * sizeof(*pids));
    for (size_t i = 0; i < log->n; i++) {
        long pid = log->v[i].pid;
        if (pid == root || strcmp(log->v[i].trigger, "exit") != 0)
            continue;
        if (pids != NULL)
            pids[npids++] = pid;
        size_t k = 0;
        while (k < nseen && seen[k] != pid)
            k++;
        if (k == nseen && nseen < 10)
            seen[nseen++] = pid;
    }
    /* how many: the distinct pids (a process's lines need not be together) */
    if (pids != NULL) {
        qsort(pids, npids, sizeof(*pids), pid_cmp);
        for (size_t i = 0; i < npids; i++)
            others += i == 0 || pids[i] != pids[i - 1];
        free(pids);
    } else {
        others = nseen;
    }
    if (others == 0)
        return;
    SAY("%zu other process%s traced:\n", others, others == 1 ? "" : "es");
    for (size_t k = 0; k < nseen; k++)
        say_paths(log, seen[k], "  ");
    if (others > nseen)
        SAY("  and %zu more, in the same directory\n", others - nseen);
}

/* ---- the formats the processes left to the tool ------------------------- */

/* Writes one format of r as path, with mode; 0 or a negative errno. */
static int
render_one(const char *path, const ms_report_t *r,
    void (*fn)(ms_writer_t *, const ms_report_t *), int mode)
{
    ms_writer_t *w = malloc(sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    int rc = ms_writer_open(w, path, mode);
    if (rc == 0) {
        fn(w, r);
        rc = ms_writer_close(w);
    }
    free(w);
    return rc;
}

/* The markdown of the report being written, made once for its .md and
 * the HTML page that embeds it. */
static const char *md_text;
static size_t md_len;

static void
md_from_text(ms_writer_t *w, const ms_report_t *r)
{
    (void)r;
    ms_w_bytes(w, md_text, md_len);
}

static void
html_from_text(ms_writer_t *w, const ms_report_t *r)
{
    ms_html_write_md(w, r, md_text, md_len);
}

/*
 * A .bin whose process left formats to the tool: logged, and those
 * formats written from it, next to it (BASE.bin -> BASE.EXT), with the
 * .bin's mode (the process's MEMSCOPE_FILE_MODE), as the process would
 * have written them (the same bytes: tests/integration/roundtrip.sh); the
 * log gets their lines in the order the process would have written them.
 * A .bin that cannot be read or a file not written: a one-line error, the
 * others go on.
 */
static void
render_set(run_log_t *log, long pid, const char *bin, unsigned formats)
{
    if (log_add(log, pid, "exit", bin) != 0)
        return;
    struct stat st;
    if (!ends_with(bin, ".bin") || stat(bin, &st) != 0) {
        SAY("cannot write the reports of %s: %s\n", bin,
            ends_with(bin, ".bin") ? strerror(errno) : "not a .bin");
        return;
    }
    cli_input_t in;
    memset(&in, 0, sizeof(in));
    if (cli_load(cmd, bin, &in) != CLI_OK)     /* it says why */
        return;
    size_t stem = strlen(bin) - 4;
    const unsigned both = MEMSCOPE_FORMAT_MD | MEMSCOPE_FORMAT_HTML;
    char *md = (formats & both) == both ? ms_md_render(in.r, &md_len) : NULL;
    md_text = md;
    for (size_t k = 0; k < ms_nformats; k++) {
        const ms_format_t *f = &ms_formats[k];
        if (!(formats & f->bit) || f->bit == MEMSCOPE_FORMAT_BIN)
            continue;
        void (*fn)(ms_writer_t *, const ms_report_t *) = f->write;
        if (md != NULL && f->bit == MEMSCOPE_FORMAT_MD)
            fn = md_from_text;
        else if (md != NULL && f->bit == MEMSCOPE_FORMAT_HTML)
            fn = html_from_text;
        char *path = malloc(stem + strlen(f->ext) + 2);
        if (path == NULL)
            continue;
        memcpy(path, bin, stem);
        snprintf(path + stem, strlen(f->ext) + 2, ".%s", f->ext);
        int rc = render_one(path, in.r, fn, (int)(st.st_mode & 07777));
        if (rc != 0)
            SAY("cannot write %s: %s\n", path, strerror(-rc));
        else
            log_add(log, pid, "exit", path);
        free(path);
    }
    ms_xfree(md);
    md_text = NULL;
    cli_unload(&in);
}

/*
 * The log's complete lines from *pos on, into log, *pos moved past them
 * (a line being written is read the next time): "PID TAB TRIGGER TAB
 * PATH", and "PID TAB render TAB FORMATS TAB BIN" (FORMATS in hex), whose
 * formats are written then (render_set).
 */
static void
log_take(int fd, off_t *pos, run_log_t *log)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        ssize_t n = pread(fd, buf + len, cap - len, *pos + (off_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            char *more = realloc(buf, 2 * cap + 1);
            if (more == NULL)
                break;
            buf = more;
            cap *= 2;
        }
    }
    if (buf == NULL)
        return;
    buf[len] = '\0';
    char *line = buf, *nl;
    while ((nl = memchr(line, '\n', len - (size_t)(line - buf))) != NULL) {
        *nl = '\0';
        char *next = nl + 1;
        char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2 != NULL) {
            *t1 = *t2 = '\0';
            long pid = strtol(line, NULL, 10);
            const char *trigger = t1 + 1, *path = t2 + 1;
            if (strcmp(trigger, "render") != 0) {
                log_add(log, pid, trigger, path);
            } else {
                char *end;
                unsigned long bits = strtoul(path, &end, 16);
                if (end != path && *end == '\t' && bits != 0 &&
                    (bits & ~(unsigned long)MEMSCOPE_FORMAT_ALL) == 0)
                    render_set(log, pid, end + 1, (unsigned)bits);
            }
        }
        line = next;
    }
    *pos += (off_t)(line - buf);
    free(buf);
}

/* SIGCHLD, for the wait that writes reports meanwhile: a byte in a pipe. */
static int chld_pipe[2] = { -1, -1 };

static void
on_chld(int sig)
{
    (void)sig;
    int saved = errno;
    char c = 0;
    ssize_t w = write(chld_pipe[1], &c, 1);
    (void)w;
    errno = saved;
}

/*
 * Waits for PROG (its wait status into *ws) while writing, as they come,
 * the formats the processes that ended meanwhile left to the tool: a
 * script of many short processes has most of its reports when it ends,
 * written on another core while it ran. The log's growth (inotify) and
 * SIGCHLD wake it; without inotify it looks every 50 ms.
 */
static void
wait_rendering(pid_t pid, int *ws, int logfd, const char *logpath,
    off_t *pos, run_log_t *log)
{
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in >= 0 && inotify_add_watch(in, logpath, IN_MODIFY) < 0) {
        close(in);
        in = -1;
    }
    for (;;) {
        pid_t w = waitpid(pid, ws, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        log_take(logfd, pos, log);
        struct pollfd p[2] = { { in, POLLIN, 0 }, { chld_pipe[0], POLLIN, 0 } };
        if (poll(p, 2, in >= 0 ? 1000 : 50) > 0) {
            char drain[4096];
            if (in >= 0)
                while (read(in, drain, sizeof(drain)) > 0)
                    ;
            while (read(chld_pipe[0], drain, sizeof(drain)) > 0)
                ;
        }
    }
    if (in >= 0)
        close(in);
}

/* ---- the command ---------------------------------------------------------- */

/* The reports keep a .bin, for the summary and for the formats the tool
 * writes from it; added to MEMSCOPE_FORMATS when the user's list has none
 * (and removed at the end). Returns whether the user's formats have it. */
static int
want_bin(void)
{
    const char *f = getenv("MEMSCOPE_FORMATS");
    if (f == NULL || *f == '\0')
        return 1;       /* the default has it */
    char *copy = strdup(f);
    if (copy == NULL)
        return 1;
    int has = 0;
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save))
        if (strcmp(t, "bin") == 0 || strcmp(t, "all") == 0)
            has = 1;
    free(copy);
    if (!has) {
        size_t len = strlen(f) + 5;
        char *more = malloc(len);
        if (more != NULL) {
            snprintf(more, len, "%s,bin", f);
            setenv("MEMSCOPE_FORMATS", more, 1);
            free(more);
        }
    }
    return has;
}

/* Removes the run's directory: its log. */
static void
remove_rundir(const char *dir)
{
    if (dir[0] == '\0')
        return;
    char path[1200];
    snprintf(path, sizeof(path), "%s/reports", dir);
    unlink(path);
    rmdir(dir);
}

int
cmd_run(int argc, char **argv)
{
    run_args_t a = { 0, NULL };
    int i = parse(argc, argv, &a);
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
    if (preload(lib) != 0)
        return CLI_USAGE;
    if (a.children != NULL)
        setenv("MEMSCOPE_CHILDREN", a.children, 1);
    else
        setenv("MEMSCOPE_CHILDREN", "none", 0);     /* one set is kept */

    char logpath[PATH_MAX] = "";
    absolute_out();
    int kept_bin = want_bin();
    /* the run's own directory: the run log (the symbol cache is the
     * library's default, kept across runs: each process of the run, and
     * of the next run, finds what the others named) */
    const char *tmp = getenv("TMPDIR");
    if (tmp == NULL || *tmp != '/' || strlen(tmp) > 900)
        tmp = "/tmp";
    char rundir[1024];
    int logfd = -1;
    snprintf(rundir, sizeof(rundir), "%s/memscope-run.XXXXXX", tmp);
    if (mkdtemp(rundir) == NULL) {
        rundir[0] = '\0';
    } else {
        snprintf(logpath, sizeof(logpath), "%s/reports", rundir);
        logfd = open(logpath, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (logfd >= 0)
            setenv("MEMSCOPE_RUN_LOG", logpath, 1);
        else
            logpath[0] = '\0';
    }
    if (logfd < 0)
        unsetenv("MEMSCOPE_RUN_LOG");   /* no log: each process writes all */

    forward_signals();
    /* the reports written while PROG runs: the heap kept between them,
     * not given back and faulted in again for each */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    if (logfd >= 0 && pipe2(chld_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_chld;
        sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGCHLD, &sa, NULL);
    }
    int status = 0;
    pid_t pid = start(argv + i, &status);
    if (pid < 0) {
        if (logfd >= 0)
            close(logfd);
        remove_rundir(rundir);
        return status;
    }
    child = pid;
    int ws = 0;
    run_log_t log = { NULL, 0 };
    off_t pos = 0;
    if (chld_pipe[0] >= 0)
        wait_rendering(pid, &ws, logfd, logpath, &pos, &log);
    else
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
    child = 0;

    /* the log's lines are all there once it is unlinked (no process
     * starts a hand-over then) and no process holds its lock (export.c);
     * a process that ends later writes all its formats itself */
    if (logfd >= 0) {
        unlink(logpath);
        while (flock(logfd, LOCK_EX) != 0 && errno == EINTR)
            ;
        log_take(logfd, &pos, &log);
        close(logfd);
    }
    if (!a.quiet) {
        char how[96];
        if (WIFSIGNALED(ws))
            snprintf(how, sizeof(how), "was killed by signal %d (%s)",
                WTERMSIG(ws), strsignal(WTERMSIG(ws)));
        else
            snprintf(how, sizeof(how), "exited with status %d",
                WIFEXITED(ws) ? WEXITSTATUS(ws) : 1);
        hide_bin = !kept_bin;
        summary(&log, pid, kept_bin, argv[i], how);
    }
    if (!kept_bin)
        for (size_t k = 0; k < log.n; k++)
            if (ends_with(log.v[k].path, ".bin"))
                unlink(log.v[k].path);
    log_free(&log);
    remove_rundir(rundir);

    if (WIFSIGNALED(ws)) {
        /* die the same way, so that a shell sees what the program did */
        int sig = WTERMSIG(ws);
        signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        struct rlimit none = { 0, 0 };
        setrlimit(RLIMIT_CORE, &none);  /* the program's core, not ours */
        raise(sig);
        return 128 + sig;
    }
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : 1;
}
