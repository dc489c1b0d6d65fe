/*
 * test_api_tasks.c - tasks (memscope_task_begin/end/enter/leave, the scope
 * macro, memscope_configure_tasks) in-process: each task's parent, state,
 * counters and live and peak bytes checked in the JSON report the library
 * writes of itself and against memscope_task_memory, and the calls it must
 * refuse. The reader and main() are api_report.h's.
 */
#include <pthread.h>

#include "api_report.h"

/* --- the task tree and its memory -------------------------------------------- */

static void
expect_task(const jval_t *r, memscope_task_t id, const char *name,
    memscope_task_t parent, long long allocs, long long frees, long long bytes,
    long long freed, long long live, long long peak, const char *state)
{
    const jval_t *t = task_with_id(r, id);
    EXPECT_STR(jstr(t, "name"), name);
    if (parent == 0)
        REQUIRE(jis_null(t, "parent"), "task %s: parent is not null", name);
    else
        REQUIRE(jint(t, "parent") == parent, "task %s: parent %lld, expected %u",
            name, jint(t, "parent"), (unsigned)parent);
#define TASK_FIELD(f, want) \
    REQUIRE(jint(t, f) == (want), "task %s: %s is %lld, expected %lld", name, f, \
        jint(t, f), (long long)(want))
    TASK_FIELD("allocs", allocs);
    TASK_FIELD("frees", frees);
    TASK_FIELD("bytes_allocated", bytes);
    TASK_FIELD("bytes_freed", freed);
    TASK_FIELD("live_bytes", live);
    TASK_FIELD("peak_live_bytes", peak);
#undef TASK_FIELD
    EXPECT_STR(jstr(t, "state"), state);
    REQUIRE(memscope_task_memory(id) == live,
        "memscope_task_memory(%s) = %lld, its live_bytes %lld", name,
        (long long)memscope_task_memory(id), live);
}

START_TEST(test_task_hierarchy)
{
    memscope_task_t cur0 = memscope_task_current();
    memscope_task_t parent = memscope_task_begin("parent");
    memscope_task_t cur_p = memscope_task_current();
    void *p1 = malloc(100);
    void *p2 = malloc(200);
    free(p2);                                   /* parent: live 100, peak 300 */

    memscope_task_t c1 = memscope_task_begin("child1");
    memscope_task_t cur_c1 = memscope_task_current();
    void *c1a = malloc(1000), *c1b = malloc(1000), *c1c = malloc(1000);
    free(c1b);                                  /* child1: live 2000, peak 3000 */

    memscope_task_t g = memscope_task_begin("grandchild");
    void *g1 = malloc(50), *g2 = calloc(5, 10);
    int end_g = memscope_task_end(g);
    memscope_task_t cur_after_g = memscope_task_current();
    int end_c1 = memscope_task_end(c1);
    memscope_task_t cur_after_c1 = memscope_task_current();

    memscope_task_t c2 = memscope_task_begin("child2");
    void *c2a = malloc(7);
    int end_c2 = memscope_task_end(c2);
    memscope_task_t cur_after_c2 = memscope_task_current();

    /* still inside "parent": report_now() must not allocate from the heap */
    jval_t *r = report_now();
    EXPECT_INT(cur0, 0);
    EXPECT(parent != 0 && c1 != 0 && g != 0 && c2 != 0);
    EXPECT_INT(cur_p, parent);
    EXPECT_INT(cur_c1, c1);
    EXPECT_INT(end_g, 0);
    EXPECT_INT(cur_after_g, c1);
    EXPECT_INT(end_c1, 0);
    EXPECT_INT(cur_after_c1, parent);
    EXPECT_INT(end_c2, 0);
    EXPECT_INT(cur_after_c2, parent);
    EXPECT_INT(jint(r, "summary.tasks"), 4);
    EXPECT_INT(jarr(r, "tasks")->n, 4);
    expect_task(r, parent, "parent", 0, 2, 1, 300, 200, 100, 300, "running");
    expect_task(r, c1, "child1", parent, 3, 1, 3000, 1000, 2000, 3000, "ended");
    expect_task(r, g, "grandchild", c1, 2, 0, 100, 0, 100, 100, "ended");
    expect_task(r, c2, "child2", parent, 1, 0, 7, 0, 7, 7, "ended");
    EXPECT(jis_null(task_with_id(r, parent), "end_ns"));
    EXPECT(!jis_null(task_with_id(r, c1), "end_ns"));

    /* a block counts against the task it was allocated in, whoever frees it */
    EXPECT_INT(memscope_task_end(parent), 0);
    EXPECT_INT(memscope_task_current(), 0);
    free(g1);
    free(c1a);
    free(p1);
    r = report_now();
    expect_task(r, parent, "parent", 0, 2, 2, 300, 300, 0, 300, "ended");
    expect_task(r, c1, "child1", parent, 3, 2, 3000, 2000, 1000, 3000, "ended");
    expect_task(r, g, "grandchild", c1, 2, 1, 100, 50, 50, 100, "ended");
    expect_task(r, c2, "child2", parent, 1, 0, 7, 0, 7, 7, "ended");
    free(g2);
    free(c1c);
    free(c2a);
}
END_TEST

typedef struct {
    memscope_task_t task;
    size_t size;
    int n;
    void *blocks[4];
    int rc_enter, rc_leave;
    memscope_task_t inside, after;
} mover_t;

/* Resumes m->task on a thread of its own and allocates in it. */
static void *
mover_main(void *arg)
{
    mover_t *m = arg;
    m->rc_enter = memscope_task_enter(m->task);
    m->inside = memscope_task_current();
    for (int i = 0; i < m->n; i++)
        m->blocks[i] = malloc(m->size);
    m->rc_leave = memscope_task_leave();
    m->after = memscope_task_current();
    free(malloc(999));                          /* outside the task */
    return NULL;
}

static void
run_mover(mover_t *m)
{
    pthread_t th;
    int rc = pthread_create(&th, NULL, mover_main, m);
    REQUIRE(rc == 0, "pthread_create: %s", strerror(rc));
    pthread_join(th, NULL);
}

START_TEST(test_task_moves_between_threads)
{
    memscope_task_t t = memscope_task_begin("mover");
    void *m0 = malloc(10);
    int left = memscope_task_leave();
    memscope_task_t cur = memscope_task_current();
    void *outside = malloc(5000);               /* no task */
    mover_t a = { .task = t, .size = 64, .n = 2 };
    mover_t b = { .task = t, .size = 128, .n = 1 };
    run_mover(&a);
    run_mover(&b);
    int entered = memscope_task_enter(t);
    void *m1 = malloc(20);
    int left2 = memscope_task_leave();

    EXPECT(t != 0);
    EXPECT_INT(left, 0);
    EXPECT_INT(cur, 0);
    EXPECT_INT(a.rc_enter, 0);
    EXPECT_INT(a.inside, t);
    EXPECT_INT(a.rc_leave, 0);
    EXPECT_INT(a.after, 0);
    EXPECT_INT(b.rc_enter, 0);
    EXPECT_INT(b.rc_leave, 0);
    EXPECT_INT(entered, 0);
    EXPECT_INT(left2, 0);
    EXPECT(a.blocks[0] && a.blocks[1] && b.blocks[0] && m0 && m1 && outside);

    /* main 10 + 20, thread a 2 x 64, thread b 128 */
    jval_t *r = report_now();
    expect_task(r, t, "mover", 0, 5, 0, 286, 0, 286, 286, "running");
    EXPECT_INT(jint(task_with_id(r, t), "threads_entered"), 3);

    free(a.blocks[0]);                          /* freed by another thread */
    free(outside);
    r = report_now();
    expect_task(r, t, "mover", 0, 5, 1, 286, 64, 222, 286, "running");
    EXPECT_INT(memscope_task_end(t), 0);
    free(a.blocks[1]);
    free(b.blocks[0]);
    free(m0);
    free(m1);
    r = report_now();
    expect_task(r, t, "mover", 0, 5, 5, 286, 286, 0, 286, "ended");
}
END_TEST

START_TEST(test_task_scope_macro)
{
    memscope_task_t inside = 0;
    void *kept = NULL;
    MEMSCOPE_TASK_SCOPE("scoped") {
        inside = memscope_task_current();
        free(malloc(48));
        kept = malloc(16);
    }
    memscope_task_t after = memscope_task_current();
    EXPECT(inside != 0);
    EXPECT_INT(after, 0);
    jval_t *r = report_now();
    expect_task(r, inside, "scoped", 0, 2, 1, 64, 48, 16, 48, "ended");
    free(kept);
    EXPECT_INT(memscope_task_memory(inside), 0);
}
END_TEST

START_TEST(test_task_hierarchy_off)
{
    memscope_visualization_config_t cfg = { .max_tracked_tasks = 0,
        .buffer_size = 0, .enable_task_hierarchy = 0 };
    EXPECT_INT(memscope_configure_tasks(&cfg), 0);
    memscope_task_t outer = memscope_task_begin("outer");
    memscope_task_t inner = memscope_task_begin("inner");
    void *p = malloc(24);
    memscope_task_end(inner);
    memscope_task_end(outer);
    jval_t *r = report_now();
    expect_task(r, outer, "outer", 0, 0, 0, 0, 0, 0, 0, "ended");
    expect_task(r, inner, "inner", 0, 1, 0, 24, 0, 24, 24, "ended");
    free(p);
}
END_TEST

/* --- misuse ----------------------------------------------------------------- */

START_TEST(test_misuse_tasks)
{
    memscope_task_t t = memscope_task_begin("once");
    EXPECT(t != 0);
    EXPECT_INT(memscope_task_end(t), 0);
    EXPECT_INT(memscope_task_end(t), -EALREADY);
    EXPECT_INT(memscope_task_end(0), -EINVAL);
    EXPECT_INT(memscope_task_end(t + 1000), -EINVAL);
    EXPECT_INT(memscope_task_enter(t), -EINVAL);        /* ended */
    EXPECT_INT(memscope_task_enter(0), -EINVAL);
    EXPECT_INT(memscope_task_enter(t + 1000), -EINVAL);
    EXPECT_INT(memscope_task_current(), 0);
    EXPECT_INT(memscope_task_leave(), -EINVAL);         /* in no task */
    EXPECT_INT(memscope_task_memory(0), -1);
    EXPECT_INT(memscope_task_memory(t + 1000), -1);
    EXPECT_INT(memscope_configure_tasks(NULL), -EINVAL);

    memscope_task_t anon = memscope_task_begin(NULL);
    EXPECT(anon != 0);
    EXPECT_INT(memscope_task_current(), anon);
    EXPECT_INT(memscope_task_end(anon), 0);
    jval_t *r = report_now();
    EXPECT_STR(jstr(task_with_id(r, anon), "name"), "(unnamed)");
    EXPECT_STR(jstr(task_with_id(r, t), "state"), "ended");
    EXPECT_INT(jint(r, "summary.dropped_tasks"), 0);
}
END_TEST

START_TEST(test_misuse_too_many_tasks)
{
    memscope_visualization_config_t cfg = { .max_tracked_tasks = 3,
        .buffer_size = 0, .enable_task_hierarchy = 1 };
    EXPECT_INT(memscope_configure_tasks(&cfg), 0);
    memscope_task_t id[5];
    for (int i = 0; i < 5; i++)
        id[i] = memscope_task_begin("many");
    for (int i = 0; i < 3; i++)
        REQUIRE(id[i] != 0, "task %d of 3 allowed got id 0", i + 1);
    EXPECT_INT(id[3], 0);
    EXPECT_INT(id[4], 0);
    /* an excess task is not current: the last registered one still is */
    EXPECT_INT(memscope_task_current(), id[2]);
    EXPECT_INT(memscope_task_end(id[3]), -EINVAL);
    EXPECT_INT(memscope_task_memory(id[3]), -1);
    memscope_snapshot_t s;
    EXPECT_INT(memscope_get_snapshot(&s), 0);
    EXPECT_INT(s.tasks, 3);
    jval_t *r = report_now();
    EXPECT_INT(jint(r, "summary.tasks"), 3);
    EXPECT_INT(jint(r, "summary.dropped_tasks"), 2);
    EXPECT_INT(jarr(r, "tasks")->n, 3);
}
END_TEST

/* --- running ------------------------------------------------------------------ */

static Suite *
tasks_suite(void)
{
    Suite *s = suite_create("api: tasks");
    TCase *tc = tcase_create("tasks");
    tcase_add_test(tc, test_task_hierarchy);
    tcase_add_test(tc, test_task_moves_between_threads);
    tcase_add_test(tc, test_task_scope_macro);
    tcase_add_test(tc, test_task_hierarchy_off);
    suite_add_tcase(s, tc);
    tc = tcase_create("misuse");
    tcase_add_test(tc, test_misuse_tasks);
    tcase_add_test(tc, test_misuse_too_many_tasks);
    suite_add_tcase(s, tc);
    return s;
}

MS_API_MAIN("test_api_tasks", tasks_suite, 0)
