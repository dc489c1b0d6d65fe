/*
 * no_exit_report.h - for a unit test that compiles tracer code into
 * itself and runs over the library (linked): the library's exit report
 * would land in the working directory, the checkout, and none is wanted.
 * The library reads its options at start-up, so the test starts again
 * with MEMSCOPE_AUTO_EXPORT=0. Call first thing in main; returns only in
 * the second start (or exits when the exec fails).
 */
#ifndef MS_NO_EXIT_REPORT_H
#define MS_NO_EXIT_REPORT_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void
no_exit_report(char **argv)
{
    if (getenv("MEMSCOPE_AUTO_EXPORT") != NULL)
        return;
    setenv("MEMSCOPE_AUTO_EXPORT", "0", 1);
    execv("/proc/self/exe", argv);
    perror("execv /proc/self/exe");
    exit(EXIT_FAILURE);
}

#endif
