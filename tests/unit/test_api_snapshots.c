/*
 * test_api_snapshots.c - memscope_get_snapshot in-process: a snapshot
 * taken just before an export agrees with the JSON report, in exact and
 * in sampled mode; exporting allocates nothing from the program's heap;
 * the snapshot follows the program, and stops when tracing stops. The
 * reader and main() are api_report.h's.
 */
#include <malloc.h>
#include <pthread.h>

#include "api_report.h"

/* --- snapshots and the report ----------------------------------------------- */

static void *
keeper_main(void *arg)
{
    void **slot = arg;
    *slot = malloc(4096);
    free(malloc(100));
    return NULL;
}

START_TEST(test_snapshot_matches_export)
{
    /* some of everything: a finished thread with a live block, tasks, a
     * variable, a value */
    void *from_thread = NULL;
    pthread_t th;
    EXPECT_INT(pthread_create(&th, NULL, keeper_main, &from_thread), 0);
    pthread_join(th, NULL);
    memscope_task_t t = memscope_task_begin("snap");
    void *in_task = malloc(300);
    memscope_task_end(t);
    memscope_task_begin("still-running");
    memscope_task_leave();
    char *named = malloc(40);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(named), 0);
    int answer = 42;
    EXPECT_INT(MEMSCOPE_TRACK_VAR_SMART(answer), 0);

    char path[512];
    snprintf(path, sizeof(path), "%s/snap-%d.json", report_dir, (int)getpid());
    memscope_snapshot_t s1, s2;
    /* nothing between the two snapshots but the export itself */
    int rc1 = memscope_get_snapshot(&s1);
    int rc = memscope_export_json(path);
    int rc2 = memscope_get_snapshot(&s2);

    EXPECT_INT(rc1, 0);
    EXPECT_INT(rc, 0);
    EXPECT_INT(rc2, 0);
    jval_t *r = json_load(path);
    unlink(path);
#define SAME(field, path) \
    REQUIRE(jint(r, path) == (long long)s1.field, \
        "snapshot." #field " = %lld but the report's " path " = %lld", \
        (long long)s1.field, jint(r, path))
    SAME(allocs, "summary.allocs");
    SAME(frees, "summary.frees");
    SAME(live_blocks, "summary.live_blocks");
    SAME(live_bytes, "summary.live_bytes");
    SAME(peak_live_bytes, "summary.peak_live_bytes");
    SAME(threads, "summary.threads");
    SAME(tasks, "summary.tasks");
    SAME(variables, "summary.variables");
    SAME(sample_interval, "sample_interval");
#undef SAME
    EXPECT_INT(s1.tasks, 2);
    EXPECT_INT(s1.active_tasks, 1);
    EXPECT_INT(s1.variables, 2);
    EXPECT_INT(s1.sampled, sampled_pass);
    EXPECT_INT(s1.tracing, 1);
    EXPECT_STR(jstr(r, "mode"), sampled_pass ? "sampled" : "exact");
    long long running = 0;
    const jval_t *tasks = jarr(r, "tasks");
    for (size_t i = 0; i < tasks->n; i++)
        running += strcmp(jstr(tasks->items[i], "state"), "running") == 0;
    EXPECT_INT(running, s1.active_tasks);
    EXPECT_INT(jarr(r, "threads")->n, s1.threads);
    EXPECT(s1.threads >= 2);

    /* the export allocated nothing from the program's heap */
    REQUIRE(s2.allocs == s1.allocs && s2.frees == s1.frees &&
        s2.live_bytes == s1.live_bytes,
        "exporting changed the counts: allocs %llu -> %llu, frees %llu -> %llu, "
        "live_bytes %lld -> %lld", (unsigned long long)s1.allocs,
        (unsigned long long)s2.allocs, (unsigned long long)s1.frees,
        (unsigned long long)s2.frees, (long long)s1.live_bytes,
        (long long)s2.live_bytes);

    /* and the snapshot follows the program */
    void *more = malloc(1234);
    memscope_snapshot_t s3;
    memscope_get_snapshot(&s3);
    EXPECT_INT(s3.allocs, s2.allocs + 1);
    /* sampled mode counts usable bytes (docs/sampling.md) */
    EXPECT_INT(s3.live_bytes, s2.live_bytes +
        (long long)(sampled_pass ? malloc_usable_size(more) : 1234));
    EXPECT_INT(s3.live_blocks, s2.live_blocks + 1);
    free(more);
    free(named);
    free(in_task);
    free(from_thread);
}
END_TEST

/* --- stopping ---------------------------------------------------------------- */

START_TEST(test_stop_tracing)
{
    void *before = malloc(80);
    EXPECT_INT(memscope_is_tracing(), 1);
    EXPECT_INT(memscope_stop_tracing(), 0);
    EXPECT_INT(memscope_is_tracing(), 0);
    memscope_snapshot_t s1, s2;
    memscope_get_snapshot(&s1);
    void *after = malloc(90);
    memscope_get_snapshot(&s2);
    EXPECT_INT(s2.tracing, 0);
    EXPECT_INT(s2.allocs, s1.allocs);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(after), -ENOTSUP);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(before), -ENOTSUP);
    free(after);
    free(before);
}
END_TEST

/* --- running ------------------------------------------------------------------ */

static Suite *
snapshots_suite(void)
{
    Suite *s = suite_create(sampled_pass ? "api: snapshots (sampled mode)" :
        "api: snapshots");
    TCase *tc = tcase_create("snapshots");
    tcase_add_test(tc, test_snapshot_matches_export);
    suite_add_tcase(s, tc);
    if (!sampled_pass) {
        /* stopping is the same in both modes: once is enough */
        tc = tcase_create("stop");
        tcase_add_test(tc, test_stop_tracing);
        suite_add_tcase(s, tc);
    }
    return s;
}

MS_API_MAIN("test_api_snapshots", snapshots_suite, 1)
