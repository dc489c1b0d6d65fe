/*
 * export.h - what makes the library write reports: one request, passed
 * from every trigger (exit, a signal's snapshot, the API, a heap error
 * under MEMSCOPE_ABORT_ON_ERROR) to export.c, which builds one report of
 * the process (report.c) and writes each format the request names with
 * the exporters (exporters/export.h).
 */
#ifndef MS_TRACER_EXPORT_H
#define MS_TRACER_EXPORT_H

#include <stdint.h>

#include "../exporters/report.h"

typedef enum {
    MS_TRIGGER_EXIT = 0,        /* the process is exiting */
    MS_TRIGGER_SIGNAL,          /* MEMSCOPE_SIGNAL: a numbered snapshot */
    MS_TRIGGER_API,             /* memscope_export() and friends */
    MS_TRIGGER_HEAP_ERROR,      /* MEMSCOPE_ABORT_ON_ERROR, before abort() */
    MS_TRIGGER_LIVE             /* `memscope top`: NAME.live.bin, replaced */
} ms_trigger_t;

typedef struct {
    ms_trigger_t trigger;
    uint64_t snapshot;          /* MS_TRIGGER_SIGNAL: its number, from 1 */
    unsigned formats;           /* MEMSCOPE_FORMAT_* bits */
    const char *dir;            /* where the files go (made if missing) */
    const char *base;           /* dir/base.EXT; NULL = the trigger's own
                                   name: NAME, NAME.snapshot-N,
                                   NAME.heap-error or NAME.live
                                   (ms_report_base) */
    const char *json_path;      /* instead of dir and base: one JSON report
                                   at this path (memscope_export_json) */
    int leaks;                  /* class the live blocks by reachability
                                   (leaks.c) though not at exit */
} ms_export_req_t;

/* Returns the trigger's name in reports: "exit", "signal", "api",
 * "heap_error", "live". */
const char *ms_trigger_name(ms_trigger_t trigger);

/*
 * Writes the reports req asks for, one export at a time. Returns 0, or the
 * first negative errno (-ESHUTDOWN once the exit report has started). A
 * failure warns once on stderr unless the trigger is the API, which gets
 * the error back instead.
 */
int ms_export(const ms_export_req_t *req);

/* The exit report: after it no export starts (one cut short by the
 * process's end would leave a temporary file behind). */
void ms_export_final(const ms_export_req_t *req);

/* From now on every export is refused (-ENOTSUP) and the exit report is
 * not written: a process MEMSCOPE_CHILDREN does not follow. */
void ms_export_refuse(void);

/* Returns a report of the running process for req (report.c), or NULL
 * without memory. */
ms_report_t *ms_report_build(const ms_export_req_t *req);

#endif
