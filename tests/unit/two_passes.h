/*
 * two_passes.h - main() for the allocator suites: the suite runs twice,
 * each time in a fresh process (the tracer reads its options at load
 * time): first as the environment says, tracing on by default, then with
 * MEMSCOPE_ENABLE=0, the allocator without the tracer. Reports at exit are
 * off (unless the caller turned them on), so that no run leaves files
 * behind. A suite file defines NAME_suite() and then:
 *
 *     MS_TWO_PASS_MAIN("alloc", alloc_suite)
 */
#ifndef MS_TWO_PASSES_H
#define MS_TWO_PASSES_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int
ms_run_suite(const char *name, Suite *(*make)(void), const char *pass)
{
    printf("%s: %s\n", name, pass);
    fflush(stdout);
    SRunner *sr = srunner_create(make());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* Runs this program again for one pass; returns its exit status. */
static int
ms_run_pass(const char *name, const char *pass, const char *enable)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return EXIT_FAILURE;
    if (pid == 0) {
        setenv("MS_TEST_PASS", pass, 1);
        if (enable != NULL)
            setenv("MEMSCOPE_ENABLE", enable, 1);
        execl("/proc/self/exe", name, (char *)NULL);
        perror("exec /proc/self/exe");
        _exit(127);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return EXIT_FAILURE;
    if (WIFSIGNALED(st))
        printf("%s: %s pass killed by signal %d\n", name, pass, WTERMSIG(st));
    return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAILURE;
}

static int
ms_two_pass_main(int argc, char **argv, const char *name,
    Suite *(*make)(void))
{
    const char *argv0 = argc > 0 ? argv[0] : name;
    const char *pass = getenv("MS_TEST_PASS");
    if (pass != NULL)
        return ms_run_suite(name, make, pass);
    if (getenv("MS_TEST_DRIVER") == NULL) {
        /* This process was traced with the caller's options: start over
         * (exec runs no exit handler, so it writes no report). */
        setenv("MS_TEST_DRIVER", "1", 1);
        setenv("MEMSCOPE_AUTO_EXPORT", "0", 0);
        execl("/proc/self/exe", argv0, (char *)NULL);
        perror("exec /proc/self/exe");
        return EXIT_FAILURE;
    }
    int traced = ms_run_pass(name, "as configured (tracing on by default)",
        NULL);
    int plain = ms_run_pass(name, "MEMSCOPE_ENABLE=0", "0");
    return traced == 0 && plain == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define MS_TWO_PASS_MAIN(name, make) \
    int main(int argc, char **argv) \
    { return ms_two_pass_main(argc, argv, name, make); }

#endif
