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
 * once never mix.
 */
static void
log_report(const ms_export_req_t *req, const char *path)
{
    if (ms_opt.run_log[0] == '\0')
        return;
    char line[4200];
    int n = snprintf(line, sizeof(line), "%d\t%s\t%s\n", (int)getpid(),
        ms_trigger_name(req->trigger), path);
    if (n <= 0 || (size_t)n >= sizeof(line) || strchr(path, '\n') != NULL)
        return;
    int fd = open(ms_opt.run_log, O_WRONLY | O_APPEND | O_CLOEXEC |
        O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
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
    int first_err = 0;
    for (size_t i = 0; i < ms_nformats; i++) {
        const ms_format_t *f = &ms_formats[i];
        if (!(req->formats & f->bit))
            continue;
        char path[4096];
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
        } else {
            log_report(req, path);
            if (ms_opt.verbose)
                ms_log("report written: %s", path);
        }
    }
    ms_report_free(r);
    return first_err;
}

int
ms_export(const ms_export_req_t *req)
{
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
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
