/*
 * export.c - the library's side of exporting: build one report of the
 * process for a request, then write each requested format from it with the
 * exporters. One export runs at a time (export_mu); a failure to write
 * warns once and never stops the program.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "export.h"
#include "fork.h"
#include "../exporters/export.h"

static int warned_write;
static pthread_mutex_t export_mu = PTHREAD_MUTEX_INITIALIZER;
static int exiting;
static int refused;                 /* a process not followed: no export */

const char *
ms_trigger_name(ms_trigger_t trigger)
{
    switch (trigger) {
    case MS_TRIGGER_EXIT: return "exit";
    case MS_TRIGGER_SIGNAL: return "signal";
    case MS_TRIGGER_API: return "api";
    case MS_TRIGGER_HEAP_ERROR: return "heap_error";
    case MS_TRIGGER_LIVE: return "live";
    }
    return "unknown";
}

/* Returns 0 or a negative errno. */
static int
write_one(const char *path, const ms_report_t *r,
    void (*fn)(ms_writer_t *, const ms_report_t *))
{
    ms_writer_t *w = ms_tmalloc(sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    int rc = ms_writer_open(w, path, ms_opt.file_mode);
    if (rc == 0) {
        fn(w, r);
        rc = ms_writer_close(w);
    }
    ms_tfree(w);
    return rc;
}

/*
 * Under `memscope run`: one line "PID TAB TRIGGER TAB PATH" appended to
 * MEMSCOPE_RUN_LOG for each report file written, so the tool finds every
 * process's reports for its summary. The file must exist (the tool made
 * it); one write per line, O_APPEND: the lines of processes exiting at
 * once never mix. fd: the log already open, or -1. Returns 0, or -1 when
 * the line was not written whole.
 */
static int
log_line(int fd, const char *trigger, unsigned formats, const char *path)
{
    char line[4200];
    int n = formats == 0 ?
        snprintf(line, sizeof(line), "%d\t%s\t%s\n", (int)getpid(), trigger,
            path) :
        snprintf(line, sizeof(line), "%d\t%s\t%x\t%s\n", (int)getpid(),
            trigger, formats, path);
    if (n <= 0 || (size_t)n >= sizeof(line) || strchr(path, '\n') != NULL)
        return -1;
    int own = fd < 0;
    if (own && (fd = open(ms_opt.run_log, O_WRONLY | O_APPEND | O_CLOEXEC |
        O_NOFOLLOW | O_NOCTTY)) < 0)
        return -1;
    ssize_t w = write(fd, line, (size_t)n);
    if (own)
        close(fd);
    return w == n ? 0 : -1;
}

static void
log_report(const ms_export_req_t *req, const char *path)
{
    if (ms_opt.run_log[0] != '\0')
        log_line(-1, ms_trigger_name(req->trigger), 0, path);
}

/*
 * The exit report under `memscope run`: the process writes its .bin and
 * leaves the other formats to the tool, which writes them from that .bin
 * when the program it ran has ended (a line "PID TAB render TAB FORMATS
 * TAB BIN" in the run log, FORMATS in hex): a short process pays for its
 * .bin alone. The hand-over: the process holds a shared flock on the log
 * from before it checks that the log is still linked until its line is
 * written; the tool unlinks the log, then takes the lock exclusively
 * before it reads it. So a line is either written while the log is
 * linked and read by the tool, or the process finds the log gone (the
 * tool done, or not there) or not its owner's and writes every format
 * itself, as it does when its .bin or its line cannot be written.
 *
 * Returns the log, open and locked, or -1: no hand-over.
 */
static int
handover_open(const ms_export_req_t *req)
{
    if (ms_opt.run_log[0] == '\0' || req->trigger != MS_TRIGGER_EXIT ||
        !(req->formats & MEMSCOPE_FORMAT_BIN) ||
        (req->formats & ~MEMSCOPE_FORMAT_BIN) == 0 || req->dir[0] != '/')
        return -1;
    int fd = open(ms_opt.run_log, O_WRONLY | O_APPEND | O_CLOEXEC |
        O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return -1;
    int rc;
    while ((rc = flock(fd, LOCK_SH)) != 0 && errno == EINTR)
        ;
    struct stat st;
    if (rc != 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_nlink == 0 || st.st_uid != geteuid()) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The files' base name for req into out; returns out. */
static const char *
base_name(const ms_export_req_t *req, char *out, size_t len)
{
    if (req->base != NULL)
        return req->base;
    char name[512];
    ms_report_base(name, sizeof(name));
    if (req->trigger == MS_TRIGGER_SIGNAL)
        snprintf(out, len, "%s.snapshot-%llu", name,
            (unsigned long long)req->snapshot);
    else if (req->trigger == MS_TRIGGER_HEAP_ERROR)
        snprintf(out, len, "%s.heap-error", name);
    else if (req->trigger == MS_TRIGGER_LIVE)
        snprintf(out, len, "%s.live", name);
    else
        snprintf(out, len, "%s", name);
    return out;
}

/*
 * Writes the formats of mask from r as dir/base.EXT. With later (formats
 * handed over: *log_fd is the locked run log) the .bin's line in the log
 * asks the tool for them; when the .bin or that line is not written,
 * *log_fd is closed and set to -1, and the caller writes them. Returns 0
 * or the first negative errno.
 */
static int
write_formats(const ms_export_req_t *req, const ms_report_t *r,
    const char *base, unsigned mask, int *log_fd, unsigned later)
{
    int quiet = req->trigger == MS_TRIGGER_API;
    int first_err = 0, handed = 0;
    for (size_t i = 0; i < ms_nformats; i++) {
        const ms_format_t *f = &ms_formats[i];
        if (!(mask & f->bit))
            continue;
        char path[4096];
        int rc;
        if ((size_t)snprintf(path, sizeof(path), "%s/%s.%s", req->dir, base,
            f->ext) >= sizeof(path)) {
            rc = -ENAMETOOLONG;
        } else {
            rc = write_one(path, r, f->write);
        }
        if (rc != 0) {
            if (!quiet)
                ms_warn_once(&warned_write, "cannot write report '%s': %s; "
                    "the program runs on without it", path, strerror(-rc));
            if (first_err == 0)
                first_err = rc;
            continue;
        }
        if (later != 0 && f->bit == MEMSCOPE_FORMAT_BIN &&
            strchr(path, '\n') == NULL &&
            log_line(*log_fd, "render", later, path) == 0) {
            handed = 1;
            if (ms_opt.verbose)
                ms_log("report written: %s (its other formats: by memscope "
                    "run at its end)", path);
            continue;
        }
        log_report(req, path);
        if (ms_opt.verbose)
            ms_log("report written: %s", path);
    }
    if (later != 0 && !handed && *log_fd >= 0) {
        close(*log_fd);
        *log_fd = -1;
    }
    return first_err;
}

/* Builds and writes; the caller holds export_mu (or needs no lock). */
static int
export_now(const ms_export_req_t *req)
{
    int quiet = req->trigger == MS_TRIGGER_API;
    if (req->json_path != NULL) {
        ms_report_t *r = ms_report_build(req);
        if (r == NULL)
            return -ENOMEM;
        int rc = write_one(req->json_path, r, ms_json_write);
        ms_report_free(r);
        return rc;
    }
    int rc = ms_mkdir_p(req->dir);
    if (rc != 0) {
        if (!quiet)
            ms_warn_once(&warned_write, "cannot create '%s' for reports: %s; "
                "the program runs on without them", req->dir, strerror(-rc));
        return rc;
    }
    char buf[640];
    const char *base = base_name(req, buf, sizeof(buf));
    ms_report_t *r = ms_report_build(req);
    if (r == NULL)
        return -ENOMEM;
    /* the exit report under `memscope run`: the .bin here, the rest by
     * the tool, unless the hand-over fails: then all of it here */
    int log_fd = handover_open(req);
    unsigned later = log_fd >= 0 ? req->formats & ~MEMSCOPE_FORMAT_BIN : 0;
    int first_err = write_formats(req, r, base, req->formats & ~later,
        &log_fd, later);
    if (log_fd >= 0) {
        close(log_fd);          /* handed over: the tool may read now */
    } else if (later != 0) {
        int rc2 = write_formats(req, r, base, later, &log_fd, 0);
        if (first_err == 0)
            first_err = rc2;
    }
    ms_report_free(r);
    return first_err;
}

/* The frees other threads made of the calling thread's blocks, waiting
 * in its inbox, taken in before a report reads its table: the owner may
 * make no hook call again (a program's main thread at exit, after its
 * workers freed what it gave them), and the report would count them
 * live. Not from inside a hook (busy: its table may be half-changed). */
static void
take_own_inbox(int busy)
{
    ms_thread_t *t = ms_tls_self;
    if (!busy && t != NULL && !t->exited &&
        __atomic_load_n(&t->inbox.pending, __ATOMIC_ACQUIRE))
        ms_inbox_drain(t);
}

int
ms_export(const ms_export_req_t *req)
{
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    take_own_inbox(busy);
    int rc;
    if (__atomic_load_n(&refused, __ATOMIC_ACQUIRE)) {
        rc = -ENOTSUP;
    } else if (req->json_path != NULL) {
        /* one file named by the program: written even after the exit
         * report, so never waits for the lock that report keeps */
        rc = export_now(req);
    } else if (__atomic_load_n(&exiting, __ATOMIC_ACQUIRE)) {
        rc = -ESHUTDOWN;        /* the exit report is the last one */
    } else {
        pthread_mutex_lock(&export_mu);
        rc = export_now(req);
        pthread_mutex_unlock(&export_mu);
    }
    ms_tls_busy = busy;
    return rc;
}

/*
 * The export lock is taken and kept: a snapshot being written is finished
 * first, and any later one waits until the process is gone.
 */
void
ms_export_final(const ms_export_req_t *req)
{
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    take_own_inbox(busy);
    pthread_mutex_lock(&export_mu);
    __atomic_store_n(&exiting, 1, __ATOMIC_RELEASE);
    if (req != NULL && !__atomic_load_n(&refused, __ATOMIC_ACQUIRE))
        export_now(req);
    ms_tls_busy = busy;
}

void
ms_export_refuse(void)
{
    __atomic_store_n(&refused, 1, __ATOMIC_RELEASE);
}

static void fork_prepare(void) { pthread_mutex_lock(&export_mu); }
static void fork_parent(void) { pthread_mutex_unlock(&export_mu); }
static void fork_child(void) { pthread_mutex_init(&export_mu, NULL); }
MS_FORK_JOIN(MS_FORK_EXPORT, fork_prepare, fork_parent, fork_child);
