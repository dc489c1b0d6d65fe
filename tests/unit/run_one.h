/*
 * run_one.h - runs one Check suite and returns the test's exit status
 * (for a test that runs its suite once, in the usual fork mode).
 */
#ifndef MS_RUN_ONE_H
#define MS_RUN_ONE_H

#include <check.h>
#include <stdlib.h>

static int
ms_run_one(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
