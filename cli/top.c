/*
 * top.c - `memscope top PID`: a live view of a running traced process,
 * refreshed every second (-n SECONDS): its live heap and RSS with a short
 * history, the sites holding the most live bytes and those that grew most
 * since the view started, each by its first meaningful frame.
 *
 * Each refresh sends the process its snapshot signal with sigqueue and the
 * value MS_SNAPSHOT_LIVE: the library's snapshot helper then writes
 * DIR/NAME.live.bin, the .bin format alone, renamed over the last one
 * (tracer/triggers.c); no numbered snapshot, no handler of the program's
 * runs. The view waits for that file to be replaced (a new inode), reads
 * it (bin_read.c) and draws. Finding the process and its report directory
 * is `memscope snapshot`'s code (snapshot.c).
 *
 * On a terminal it draws over the screen (plain ANSI: home, clear) and `q`
 * quits; --batch writes one plain view after
 * another (until the process exits), --once one view. The terminal's
 * settings are put back however the view ends. The live file is removed
 * when the view ends.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../exporters/export.h"
#include "../exporters/text.h"
#include "../exporters/xalloc.h"

static const char *cmd = "top";

#define HISTORY     20      /* points in a sparkline */

static volatile sig_atomic_t stop_sig;     /* INT, TERM or HUP came */
#define WAIT_S      10.0    /* for the process to write its view */

typedef struct {
    uint64_t id;
    uint64_t live;
} base_site_t;

typedef struct {
    int pid;
    double interval;
    int once, batch, rows;
    const char *dir_opt;
    cli_traced_t t;
    char path[sizeof(((cli_traced_t *)0)->dir) + 600];  /* the live file */
    int found;                  /* path is known */
    /* the sites' live bytes at the first view */
    base_site_t *base;
    uint64_t nbase;
    double start;               /* monotonic, at the first view */
    int64_t heap[HISTORY], rss[HISTORY];
    int nhist;
    double took_ms;             /* the last refresh: signal to file */
    int views;
} top_t;

static void
usage(FILE *to)
{
    fprintf(to,
        "usage: memscope top PID [-n SECONDS] [--once | --batch] [--top N]\n"
        "                    [-o DIR]\n"
        "\n"
        "Shows the heap of process PID, which must run with memscope, while\n"
        "it runs: live heap and RSS, the sites holding the most live bytes\n"
        "and those that grew most since the view started. q quits; the\n"
        "process runs on.\n"
        "\n"
        "  -n SECONDS  between refreshes (default 1)\n"
        "  --once      one plain view, then exit\n"
        "  --batch     plain views one after another, until the process exits\n"
        "              (the default when standard output is not a terminal)\n"
        "  --top N     sites per list (default 10)\n"
        "  -o DIR      where the process writes its reports (default: its\n"
        "              MEMSCOPE_OUT, else MemoryAnalysis in its working\n"
        "              directory)\n"
        "\n"
        "Exit status: 0 done (q, INT or TERM, or the process exited), 1 no such\n"
        "process, no memscope in it or no view from it, 2 bad usage.\n");
}

static int
parse(int argc, char **argv, top_t *s)
{
    const char *pid = NULL, *n = NULL, *rows = NULL;
    const cli_opt_t opts[] = {
        { "--once", NULL, NULL, &s->once },
        { "--batch", NULL, NULL, &s->batch },
        { "-n", "--interval", &n, NULL },
        { "--top", NULL, &rows, NULL },
        { "-o", NULL, &s->dir_opt, NULL },
        { NULL, NULL, NULL, NULL },
    };
    const cli_args_t spec = { cmd, opts, usage, &pid, 1, 0, 0 };
    int rc = cli_parse(&spec, argc, argv, NULL);
    if (rc != CLI_OK)
        return rc;
    char *end = NULL;
    if (cli_pid_arg(cmd, pid, &s->pid) != CLI_OK)
        return CLI_USAGE;
    s->interval = n ? strtod(n, &end) : 1.0;
    if (n != NULL && (*end != '\0' || !(s->interval >= 0.05) ||
        s->interval > 86400)) {
        cli_error(cmd, "-n wants seconds from 0.05 to 86400, not '%s'", n);
        return CLI_USAGE;
    }
    long k = rows ? strtol(rows, &end, 10) : 10;
    if (rows != NULL && (*rows == '\0' || *end != '\0' || k < 1 || k > 1000)) {
        cli_error(cmd, "--top wants a number from 1 to 1000, not '%s'", rows);
        return CLI_USAGE;
    }
    s->rows = (int)k;
    if (s->once && s->batch) {
        cli_error(cmd, "--once and --batch are two different modes");
        return CLI_USAGE;
    }
    return CLI_OK;
}

/* ---- one refresh ----------------------------------------------------------- */

/* The inode of each candidate live file now (0: none). */
static void
inodes(const top_t *s, ino_t *ino)
{
    for (int b = 0; b < s->t.nbase; b++) {
        char path[sizeof(s->path)];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s.live.bin", s->t.dir, s->t.base[b]);
        ino[b] = stat(path, &st) == 0 ? st.st_ino : 0;
    }
}

/* Asks for a live view and waits for it; CLI_OK (s->path is the new
 * file), or CLI_BAD after a one-line error (*gone: the process exited). */
static int
request(top_t *s, int *gone)
{
    ino_t before[2], after[2];
    inodes(s, before);
    double t0 = cli_now();
    union sigval v = { .sival_int = MS_SNAPSHOT_LIVE };
    *gone = 0;
    if (sigqueue(s->pid, s->t.sig, v) != 0) {
        *gone = errno == ESRCH;
        if (!*gone)
            cli_error(cmd, "cannot signal process %d: %s", s->pid,
                strerror(errno));
        return CLI_BAD;
    }
    struct timespec tick = { 0, 2 * 1000 * 1000 };
    while (cli_now() - t0 < WAIT_S) {
        inodes(s, after);
        for (int b = 0; b < s->t.nbase; b++)
            if (after[b] != 0 && after[b] != before[b]) {
                snprintf(s->path, sizeof(s->path), "%s/%s.live.bin",
                    s->t.dir, s->t.base[b]);
                s->found = 1;
                s->took_ms = (cli_now() - t0) * 1e3;
                return CLI_OK;
            }
        if (!cli_alive(s->pid)) {
            *gone = 1;
            return CLI_BAD;
        }
        if (stop_sig)
            return CLI_BAD;
        nanosleep(&tick, NULL);
    }
    cli_error(cmd, "no live view from process %d within %g s (in %s)", s->pid,
        WAIT_S, s->t.shown);
    return CLI_BAD;
}

/* The site's live bytes at the first view (0: it had none). */
static uint64_t
base_live(const top_t *s, uint64_t id)
{
    uint64_t lo = 0, hi = s->nbase;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (s->base[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nbase && s->base[lo].id == id ? s->base[lo].live : 0;
}

static int
by_id(const void *a, const void *b)
{
    const base_site_t *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static void
remember(top_t *s, const ms_report_t *r)
{
    s->base = malloc((r->nsites ? r->nsites : 1) * sizeof(*s->base));
    if (s->base == NULL)
        return;
    for (uint64_t i = 0; i < r->nsites; i++) {
        ms_site_figs_t f;
        ms_report_site_figs(r, &r->sites[i], &f);
        s->base[i].id = r->sites[i].id;
        s->base[i].live = f.live_bytes;
    }
    s->nbase = r->nsites;
    qsort(s->base, s->nbase, sizeof(*s->base), by_id);
}

/* ---- drawing --------------------------------------------------------------- */

static int
utf8_locale(void)
{
    const char *v = getenv("LC_ALL");
    if (v == NULL || *v == '\0')
        v = getenv("LC_CTYPE");
    if (v == NULL || *v == '\0')
        v = getenv("LANG");
    return v != NULL && (strstr(v, "UTF-8") || strstr(v, "utf8") ||
        strstr(v, "UTF8") || strstr(v, "utf-8"));
}

/* A sparkline of the last points, from 0 to their largest; -1 points (not
 * measured) as blanks. */
static void
spark(ms_text_t *t, const int64_t *v, int n)
{
    static const char *blocks[] = { "\xe2\x96\x81", "\xe2\x96\x82",
        "\xe2\x96\x83", "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
        "\xe2\x96\x87", "\xe2\x96\x88" };
    static const char ascii[] = "_.-=+*#@";
    int utf8 = utf8_locale();
    int64_t max = 0;
    for (int i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    for (int i = 0; i < n; i++) {
        char c[2] = { ' ', 0 };
        if (v[i] < 0 || max <= 0) {
            ms_text_put(t, " ");
            continue;
        }
        int lvl = (int)((double)v[i] * 7.0 / (double)max + 0.5);
        if (utf8) {
            ms_text_put(t, blocks[lvl]);
        } else {
            c[0] = ascii[lvl];
            ms_text_put(t, c);
        }
    }
}

/* A figure in bytes, or "-" when not measured. */
static const char *
mbytes(char *buf, size_t len, int64_t v)
{
    return v < 0 ? "-" : ms_text_bytes(buf, len, (uint64_t)v);
}

/* A row's live bytes: observed, or estimated in a sampled report. */
static double
row_live(const ms_report_t *r, const ms_rrow_t *w)
{
    if (r->sample_interval != 0)
        return w->est_live_bytes;
    return w->bytes > w->freed_bytes ? (double)(w->bytes - w->freed_bytes) : 0;
}

static const char *
thread_name(const ms_report_t *r, uint64_t id)
{
    for (uint64_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].id == id)
            return r->threads[i].name;
    return NULL;
}

static const char *
task_name(const ms_report_t *r, uint64_t id)
{
    for (uint64_t i = 0; i < r->ntasks; i++)
        if (r->tasks[i].id == id)
            return r->tasks[i].name;
    return NULL;
}

/* Under a site's row: the thread (and task) that allocated most of its
 * live bytes, and how many others hold some; nothing when the report has
 * no rows (a .bin from before they were kept). */
static void
owner(ms_text_t *t, uint64_t site)
{
    const ms_report_t *r = t->r;
    uint64_t lo = 0, hi = r->nrows;
    while (lo < hi) {           /* rows are sorted by site */
        uint64_t mid = (lo + hi) / 2;
        if (r->rows[mid].site < site)
            lo = mid + 1;
        else
            hi = mid;
    }
    const ms_rrow_t *best = NULL;
    int others = 0;
    for (uint64_t j = lo; j < r->nrows && r->rows[j].site == site; j++) {
        double v = row_live(r, &r->rows[j]);
        if (!(v > 0))
            continue;
        if (best != NULL)
            others++;
        if (best == NULL || v > row_live(r, best))
            best = &r->rows[j];
    }
    if (best == NULL)
        return;
    const char *th = thread_name(r, best->thread);
    ms_text_putf(t, "      thread %llu", (unsigned long long)best->thread);
    if (th != NULL && *th != '\0') {
        ms_text_put(t, " ");
        ms_text_put_max(t, th, 40);
    }
    if (best->task != 0) {
        const char *tk = task_name(r, best->task);
        ms_text_putf(t, ", task %llu", (unsigned long long)best->task);
        if (tk != NULL && *tk != '\0') {
            ms_text_put(t, " ");
            ms_text_put_max(t, tk, 40);
        }
    }
    if (others > 0)
        ms_text_putf(t, " (and %d more holding some)", others);
    ms_text_nl(t);
}

/* One row of a list: live, blocks, growth, then the site's frame. */
static void
row(top_t *s, ms_text_t *t, int i, const ms_rsite_t *site)
{
    const ms_report_t *r = t->r;
    ms_site_figs_t f;
    ms_report_site_figs(r, site, &f);
    int64_t grown = (int64_t)(f.live_bytes - base_live(s, site->id));
    char a[80], b[64];
    ms_text_bytes(b, sizeof(b), (uint64_t)(grown < 0 ? -grown : grown));
    snprintf(a, sizeof(a), "%s%s", grown < 0 ? "-" : "+", b);
    ms_text_putf(t, "%3d. %11s %8llu %12s %6llu  ", i + 1,
        ms_text_bytes(b, sizeof(b), f.live_bytes),
        (unsigned long long)f.live_blocks, a, (unsigned long long)site->id);
    uint64_t k = ms_report_first_frame(r, site);
    if (k < site->depth)
        ms_text_frame(t, site->frames[k]);
    else
        ms_text_put(t, "(no stack)");
    ms_text_nl(t);
    owner(t, (uint64_t)(site - r->sites));
}

/* The sites with the largest positive growth since the first view, largest
 * first (ties: the lower index), up to k. */
static int
top_grown(const top_t *s, const ms_report_t *r, uint64_t *idx, int k)
{
    int n = 0;
    int64_t *g = malloc((size_t)k * sizeof(*g));
    if (g == NULL)
        return 0;
    for (uint64_t i = 0; i < r->nsites; i++) {
        ms_site_figs_t f;
        ms_report_site_figs(r, &r->sites[i], &f);
        int64_t v = (int64_t)(f.live_bytes - base_live(s, r->sites[i].id));
        if (v <= 0 || (n == k && v <= g[k - 1]))
            continue;
        int j = n < k ? n++ : k - 1;
        while (j > 0 && g[j - 1] < v) {
            idx[j] = idx[j - 1];
            g[j] = g[j - 1];
            j--;
        }
        idx[j] = i;
        g[j] = v;
    }
    free(g);
    return n;
}

static void
list_header(ms_text_t *t, const char *title)
{
    ms_text_nl(t);
    ms_text_put(t, title);
    ms_text_nl(t);
    ms_text_put(t, "             live   blocks        grown   site  where");
    ms_text_nl(t);
}

static void
draw(top_t *s, ms_writer_t *w, const ms_report_t *r, int width)
{
    ms_text_t t = { .w = w, .r = r, .width = width < 40 ? 40 :
        width > 1000 ? 1000 : width };
    char a[64], b[64];
    ms_text_put(&t, "memscope top: ");
    ms_text_put_max(&t, r->program ? r->program : "?", t.width - t.col - 40);
    ms_text_putf(&t, " (pid %d), every %g s%s", s->pid, s->interval,
        s->batch || s->once ? "" : ", q quits");
    ms_text_nl(&t);
    ms_text_putf(&t, "heap %11s live in %lld blocks, peak %s  ",
        mbytes(a, sizeof(a), r->live_bytes), (long long)r->live_blocks,
        mbytes(b, sizeof(b), r->peak_live_bytes));
    spark(&t, s->heap, s->nhist);
    ms_text_nl(&t);
    ms_text_putf(&t, "RSS  %11s, peak %s  ", mbytes(a, sizeof(a), r->rss),
        mbytes(b, sizeof(b), r->peak_rss));
    spark(&t, s->rss, s->nhist);
    ms_text_nl(&t);
    ms_text_putf(&t, "%llu allocations, %llu frees, %s; view %d at %.1f s, in %.1f ms",
        (unsigned long long)r->allocs, (unsigned long long)r->frees,
        r->sample_interval ? "sampled" : "exact", s->views,
        cli_now() - s->start, s->took_ms);
    ms_text_nl(&t);

    uint64_t *idx = malloc((size_t)s->rows * sizeof(*idx));
    if (idx == NULL)
        return;
    list_header(&t, r->sample_interval ? "MOST LIVE BYTES (estimates)" :
        "MOST LIVE BYTES");
    int n = ms_report_top_sites(r, MS_RANK_LIVE, idx, s->rows);
    for (int i = 0; i < n; i++)
        row(s, &t, i, &r->sites[idx[i]]);
    if (n == 0) {
        ms_text_put(&t, "  none");
        ms_text_nl(&t);
    }
    list_header(&t, "GREW MOST SINCE THE VIEW STARTED");
    n = top_grown(s, r, idx, s->rows);
    for (int i = 0; i < n; i++)
        row(s, &t, i, &r->sites[idx[i]]);
    if (n == 0) {
        ms_text_put(&t, "  none");
        ms_text_nl(&t);
    }
    free(idx);
}

/* ---- the terminal ---------------------------------------------------------- */

static struct termios saved_tio;
static int tio_saved;
static void
on_stop(int sig)
{
    stop_sig = sig;
}

/* INT, TERM and HUP end the view as q does (the live file is removed). */
static void
catch_stops(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static void
screen_leave(void)
{
    if (!tio_saved)
        return;
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    tio_saved = 0;
}

static void
screen_enter(void)
{
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
        struct termios raw = saved_tio;
        raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tio_saved = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    }
}

/* Waits up to sec seconds; 1 when q was pressed or a signal came. */
static int
wait_key(double sec, int interactive)
{
    double end = cli_now() + sec;
    for (;;) {
        if (stop_sig)
            return 1;
        double left = end - cli_now();
        if (left <= 0)
            return 0;
        if (!interactive || !isatty(STDIN_FILENO)) {
            struct timespec ts = { (time_t)left,
                (long)((left - (double)(time_t)left) * 1e9) };
            nanosleep(&ts, NULL);
            continue;
        }
        struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
        if (poll(&p, 1, (int)(left * 1000) + 1) > 0) {
            char c;
            ssize_t got = read(STDIN_FILENO, &c, 1);
            if (got == 0)
                return 0;       /* no more input: keys end, the view goes on */
            if (got == 1 && (c == 'q' || c == 'Q' || c == 3))
                return 1;
        }
    }
}

/* Writes what w holds to standard output. */
static int
emit(ms_writer_t *w, int interactive)
{
    size_t len;
    char *text = ms_writer_take(w, &len);
    if (text == NULL)
        return -1;
    if (interactive)
        fputs("\033[H\033[2J", stdout);
    /* on the raw terminal a newline does not return the carriage */
    for (size_t i = 0; i < len; i++) {
        if (interactive && text[i] == '\n')
            fputc('\r', stdout);
        fputc(text[i], stdout);
    }
    if (!interactive)
        fputc('\n', stdout);
    ms_xfree(text);
    return fflush(stdout) == 0 ? 0 : -1;
}

int
cmd_top(int argc, char **argv)
{
    top_t *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        cli_error(cmd, "out of memory");
        return CLI_BAD;
    }
    int rc = parse(argc, argv, s);
    if (rc == CLI_OK)
        rc = cli_traced_find(cmd, s->pid, s->dir_opt, &s->t);
    if (rc == CLI_OK)
        s->pid = s->t.pid;      /* memscope run's pid: its program's */
    if (rc != CLI_OK) {
        free(s);
        return rc < 0 ? CLI_OK : rc;
    }
    if (!s->once && !s->batch && !isatty(STDOUT_FILENO))
        s->batch = 1;
    cli_progress_never();       /* the views are the progress */
    int interactive = !s->once && !s->batch;
    int gone = 0, quit = 0;
    catch_stops();
    if (interactive)
        screen_enter();
    while (!quit) {
        double t0 = cli_now();
        if (request(s, &gone) != CLI_OK) {
            rc = (gone && s->views > 0) || stop_sig ? CLI_OK : CLI_BAD;
            if (gone && s->views == 0)
                cli_error(cmd, "process %d exited before its first view",
                    s->pid);
            break;
        }
        cli_input_t in;
        if (cli_load(cmd, s->path, &in) != CLI_OK) {
            rc = CLI_BAD;
            break;
        }
        if (s->views++ == 0) {
            s->start = cli_now();
            remember(s, in.r);
        }
        if (s->nhist == HISTORY) {
            memmove(s->heap, s->heap + 1, (HISTORY - 1) * sizeof(s->heap[0]));
            memmove(s->rss, s->rss + 1, (HISTORY - 1) * sizeof(s->rss[0]));
            s->nhist--;
        }
        s->heap[s->nhist] = in.r->live_bytes;
        s->rss[s->nhist++] = in.r->rss;
        ms_writer_t *w = malloc(sizeof(*w));
        if (w == NULL) {
            cli_unload(&in);
            rc = CLI_BAD;
            break;
        }
        ms_writer_open_mem(w);
        draw(s, w, in.r, cli_term_width());
        cli_unload(&in);
        int e = emit(w, interactive);
        free(w);
        if (e != 0) {
            rc = CLI_BAD;
            break;
        }
        if (s->once)
            break;
        double left = s->interval - (cli_now() - t0);
        quit = wait_key(left > 0 ? left : 0, interactive);
    }
    screen_leave();
    if (gone && s->views > 0)
        fprintf(stderr, "memscope top: process %d exited\n", s->pid);
    if (s->found)
        unlink(s->path);
    free(s->base);
    free(s);
    return rc;
}
