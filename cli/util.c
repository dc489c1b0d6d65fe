/*
 * util.c - the tool's shared pieces: errors, options, reading a report
 * file, writing output and the progress line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "../exporters/bin_read.h"

void
cli_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* one line, whatever a file name holds */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = '?';
    cli_progress_done();
    fprintf(stderr, "memscope%s%s: %s\n", cmd ? " " : "", cmd ? cmd : "", msg);
}

int
cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int
cli_bad_arg(const char *cmd, const char *arg)
{
    if (arg[0] == '-' && arg[1] != '\0')
        cli_error(cmd, "unknown option '%s' (see memscope %s --help)", arg,
            cmd);
    else
        cli_error(cmd, "unexpected argument '%s' (see memscope %s --help)",
            arg, cmd);
    return CLI_USAGE;
}

/* Does argument a name option o (NAME alone, or NAME=VALUE for a long
 * option that takes a value)? *v gets the value after '=', else NULL. */
static int
opt_is(const cli_opt_t *o, const char *name, const char *a, const char **v)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || strncmp(a, name, n) != 0)
        return 0;
    *v = NULL;
    if (a[n] == '\0')
        return 1;
    if (a[n] == '=' && name[1] == '-' && o->value != NULL) {
        *v = a + n + 1;
        return 1;
    }
    return 0;
}

int
cli_parse(const cli_args_t *s, int argc, char **argv, int *next)
{
    int nargs = 0, i = 1;
    while (i < argc) {
        const char *a = argv[i], *v = NULL;
        if (s->prog && strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (cli_is_help(a)) {
            s->usage(stdout);
            return CLI_HELP;
        }
        const cli_opt_t *o = s->opts;
        while (o->name != NULL && !opt_is(o, o->name, a, &v) &&
               !opt_is(o, o->also, a, &v))
            o++;
        if (o->name != NULL && o->value == NULL) {
            *o->flag = 1;
            i++;
        } else if (o->name != NULL) {
            if (v == NULL && i + 1 >= argc) {
                cli_error(s->cmd, "option '%s' needs a value", a);
                return CLI_USAGE;
            }
            *o->value = v != NULL ? v : argv[i + 1];
            i += v != NULL ? 1 : 2;
        } else {
            int option = a[0] == '-' && (a[1] != '\0' || !s->dash_arg);
            if (s->prog && !option)
                break;          /* the program: what follows is its own */
            if (option || nargs == s->nargs)
                return cli_bad_arg(s->cmd, a);
            s->args[nargs++] = a;
            i++;
        }
    }
    if (next != NULL)
        *next = i;
    return CLI_OK;
}

/* ---- the progress line ---------------------------------------------------- */

/*
 * The line is drawn by a thread of its own, started with the first phase
 * when stderr is a terminal, so a phase that makes no calls for a while
 * (decoding, naming frames, rendering) still shows it goes on: every
 * quarter second once the command has run a second, the current phase,
 * and how far it is when that is known. progress_mu guards the phase and
 * the line; cli_progress_done() clears both, so nothing is drawn while
 * the command writes to the terminal itself.
 */
static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;
static double progress_start = -1, progress_last;
static int progress_tty = -1;       /* is stderr a terminal? -1: not asked */
static int progress_shown, progress_on, progress_thread;
static char progress_what[128];
static uint64_t progress_n, progress_total;

double
cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Draws the line; the caller holds progress_mu. */
static void
progress_draw(double t)
{
    if (!progress_on || t - progress_start < 1.0 || t - progress_last < 0.25)
        return;
    progress_last = t;
    char a[32], b[32];
    if (progress_total > 0)
        fprintf(stderr, "\rmemscope: %s: %s of %s (%d%%)\033[K", progress_what,
            cli_bytes(a, sizeof(a), (double)progress_n),
            cli_bytes(b, sizeof(b), (double)progress_total),
            (int)((double)progress_n * 100.0 / (double)progress_total));
    else
        fprintf(stderr, "\rmemscope: %s (%.0f s)\033[K", progress_what,
            t - progress_start);
    progress_shown = 1;
}

static void *
progress_main(void *arg)
{
    (void)arg;
    struct timespec tick = { 0, 250 * 1000 * 1000 };
    for (;;) {
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&progress_mu);
        progress_draw(cli_now());
        pthread_mutex_unlock(&progress_mu);
    }
    return NULL;
}

void
cli_progress(const char *what, uint64_t done, uint64_t total)
{
    if (progress_tty < 0)
        progress_tty = isatty(STDERR_FILENO);
    if (!progress_tty)
        return;
    pthread_mutex_lock(&progress_mu);
    double t = cli_now();
    if (progress_start < 0)
        progress_start = t;
    snprintf(progress_what, sizeof(progress_what), "%s", what);
    progress_n = done;
    progress_total = total;
    progress_on = 1;
    if (!progress_thread) {
        /* the thread takes no signal: they stay the main thread's */
        sigset_t all, old;
        pthread_t th;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        progress_thread = pthread_create(&th, NULL, progress_main, NULL) == 0;
        if (progress_thread)
            pthread_detach(th);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    progress_draw(t);
    pthread_mutex_unlock(&progress_mu);
}

void
cli_progress_never(void)
{
    progress_tty = 0;
}

void
cli_progress_done(void)
{
    pthread_mutex_lock(&progress_mu);
    if (progress_shown)
        fputs("\r\033[K", stderr);
    progress_shown = 0;
    progress_on = 0;
    pthread_mutex_unlock(&progress_mu);
}

const char *
cli_bytes(char *buf, size_t len, double bytes)
{
    static const char *unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    double v = bytes < 0 ? -bytes : bytes;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%s%.0f B", bytes < 0 ? "-" : "", v);
    else
        snprintf(buf, len, "%s%.1f %s", bytes < 0 ? "-" : "", v, unit[u]);
    return buf;
}

int
cli_pid_arg(const char *cmd, const char *arg, int *pid)
{
    char *end = NULL;
    long p = arg ? strtol(arg, &end, 10) : 0;
    if (arg == NULL || *arg == '\0' || *end != '\0' || p <= 0 || p > INT_MAX) {
        if (arg != NULL)
            cli_error(cmd, "'%s' is not a process id", arg);
        else
            cli_error(cmd, "no process id (memscope %s PID)", cmd);
        return CLI_USAGE;
    }
    *pid = (int)p;
    return CLI_OK;
}

int
cli_alive(int pid)
{
    return kill(pid, 0) == 0 || errno != ESRCH;
}

int
cli_term_width(void)
{
    const char *c = getenv("COLUMNS");
    char *end;
    long n = c != NULL ? strtol(c, &end, 10) : 0;
    if (c != NULL && *c != '\0' && *end == '\0' && n > 0 && n < 100000)
        return (int)n;
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

const char *
cli_basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s != NULL && s[1] != '\0' ? s + 1 : path;
}

/* ---- input ---------------------------------------------------------------- */

/* Reads the whole of fd; 0 or an errno. */
static int
read_all(int fd, const char *path, size_t hint, unsigned char **out,
    size_t *outlen)
{
    size_t cap = hint ? hint + 1 : 65536, len = 0;
    unsigned char *buf = malloc(cap);
    if (buf == NULL)
        return ENOMEM;
    for (;;) {
        if (len == cap) {
            unsigned char *n = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (n == NULL) {
                free(buf);
                return ENOMEM;
            }
            buf = n;
            cap *= 2;
        }
        size_t want = cap - len < (1u << 20) ? cap - len : (1u << 20);
        ssize_t n = read(fd, buf + len, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            return e;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        cli_progress(cli_basename(path), len, hint);
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int
cli_load(const char *cmd, const char *path, cli_input_t *in)
{
    memset(in, 0, sizeof(*in));
    cli_progress("reading", 0, 0);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        cli_error(cmd, "cannot open %s: %s", path, strerror(errno));
        return CLI_BAD;
    }
    struct stat st;
    int dir = 0;
    if (fstat(fd, &st) != 0 || (dir = S_ISDIR(st.st_mode)) != 0) {
        cli_error(cmd, "cannot read %s: %s", path,
            dir ? "it is a directory" : strerror(errno));
        close(fd);
        return CLI_BAD;
    }
    size_t hint = S_ISREG(st.st_mode) ? (size_t)st.st_size : 0;
    int e = read_all(fd, path, hint, &in->data, &in->len);
    close(fd);
    if (e != 0) {
        cli_error(cmd, "cannot read %s: %s", path, strerror(e));
        return CLI_BAD;
    }
    char err[512];
    cli_progress("decoding", 0, 0);
    if (ms_bin_read(in->data, in->len, &in->r, err, sizeof(err)) != 0) {
        cli_error(cmd, "%s: %s", path, err);
        cli_unload(in);
        return CLI_BAD;
    }
    return CLI_OK;
}

void
cli_unload(cli_input_t *in)
{
    ms_report_free(in->r);
    free(in->data);
    memset(in, 0, sizeof(*in));
}

/* ---- output --------------------------------------------------------------- */

int
cli_out_open(const char *cmd, cli_out_t *o, const char *path)
{
    memset(o, 0, sizeof(*o));
    o->w = malloc(sizeof(*o->w));
    if (o->w == NULL) {
        cli_error(cmd, "out of memory");
        return CLI_BAD;
    }
    if (path == NULL || strcmp(path, "-") == 0) {
        memset(o->w, 0, offsetof(ms_writer_t, buf));
        o->w->fd = STDOUT_FILENO;
        o->to_stdout = 1;
        o->path = "standard output";
        return CLI_OK;
    }
    o->path = path;
    mode_t mask = umask(0);
    umask(mask);
    int rc = ms_writer_open(o->w, path, 0666 & ~(int)mask);
    if (rc != 0) {
        cli_error(cmd, "cannot write %s: %s", path, strerror(-rc));
        free(o->w);
        o->w = NULL;
        return CLI_BAD;
    }
    return CLI_OK;
}

/* The writer flushes whenever its buffer fills; the rest goes here. */
static int
flush_stdout(ms_writer_t *w)
{
    size_t off = 0;
    while (off < w->len && w->err == 0) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0 && errno != EINTR)
            w->err = errno;
        else if (n > 0)
            off += (size_t)n;
    }
    w->len = 0;
    return -w->err;
}

int
cli_out_close(const char *cmd, cli_out_t *o)
{
    int rc = o->to_stdout ? flush_stdout(o->w) : ms_writer_close(o->w);
    free(o->w);
    o->w = NULL;
    cli_progress_done();
    if (rc != 0) {
        cli_error(cmd, "cannot write %s: %s", o->path, strerror(-rc));
        return CLI_BAD;
    }
    return CLI_OK;
}
