/*
 * leaks.h - leak classes by reachability (leaks.c).
 */
#ifndef MS_LEAKS_H
#define MS_LEAKS_H

#include <stdint.h>

#include "../exporters/report.h"

/* Classes every live block of the table by a conservative scan of the
 * process's memory, into r's summary and its sites (whose ids are stack
 * ids); sets r->leak_checked when it could, leaves r as it was otherwise
 * (no memory, no /proc). copy: scan a copy of the process made by clone,
 * so that the heap holds still while the program's threads run (in place
 * when no copy can be made). Runs with the re-entry guard set. */
void ms_leaks_scan(ms_report_t *r, int copy);

/* Where the scan reads the calling thread's stack from, when it is
 * within it (the frame of the tracer's entry point: what lies below is the
 * tracer's); 0 = from the scan's own stack pointer; MS_LEAKS_NO_STACK =
 * not at all (the snapshot writer, a thread of the tracer's). */
#define MS_LEAKS_NO_STACK UINTPTR_MAX
extern __thread uintptr_t ms_leaks_stack_from __attribute__((tls_model("initial-exec")));

#endif
