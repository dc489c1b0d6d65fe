/*
 * comprehensive_async_showcase - the task-centric async mode on a real
 * event loop (libuv): each request is a task that runs in steps on timer
 * callbacks, allocating, yielding to the loop and resuming later; some
 * steps spawn child tasks (a parse job, a cache fill) that run on their
 * own. Writes AsyncAnalysis/async.*.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <memscope.h>

#define REQUESTS 40

typedef struct job {
    uv_timer_t timer;
    memscope_task_t task;
    int step, steps, id;
    char *buf;              /* lives across yields */
    size_t len;
    struct job *parent;
    int children_left;
} job_t;

static unsigned long checksum;
static int finished;

static void job_step(uv_timer_t *timer);

static job_t *
job_start(uv_loop_t *loop, const char *name, int id, int steps, job_t *parent)
{
    job_t *j = calloc(1, sizeof(*j));
    j->id = id;
    j->steps = steps;
    j->parent = parent;
    /* begin makes the task current; children of the running task get it
     * as their parent */
    j->task = memscope_task_begin(name);
    memscope_task_leave();
    if (parent != NULL)
        parent->children_left++;
    uv_timer_init(loop, &j->timer);
    j->timer.data = j;
    uv_timer_start(&j->timer, job_step, (uint64_t)(id % 3), 0);
    return j;
}

static void
job_closed(uv_handle_t *h)
{
    job_t *j = h->data;
    free(j);
}

static void
job_finish(job_t *j)
{
    for (size_t i = 0; i < j->len; i++)
        checksum += (unsigned char)j->buf[i];
    free(j->buf);
    memscope_task_leave();
    memscope_task_end(j->task);
    if (j->parent != NULL)
        j->parent->children_left--;
    finished++;
    uv_close((uv_handle_t *)&j->timer, job_closed);
}

static void
job_step(uv_timer_t *timer)
{
    job_t *j = timer->data;
    memscope_task_enter(j->task);       /* resume the task on this thread */
    size_t grow = 256 + (size_t)(j->id * 97 + j->step * 31) % 2048;
    j->buf = realloc(j->buf, j->len + grow);
    memset(j->buf + j->len, 'a' + j->step % 26, grow);
    j->len += grow;
    char *scratch = malloc(grow / 2 + 1);   /* a temporary of this step */
    memcpy(scratch, j->buf, grow / 2);
    checksum += (unsigned char)scratch[0];
    free(scratch);

    if (j->parent == NULL && j->step == 1) {
        char name[48];
        snprintf(name, sizeof(name), "parse-%d", j->id);
        job_start(timer->loop, name, j->id * 10 + 1, 2, j);
        if (j->id % 4 == 0) {
            snprintf(name, sizeof(name), "cache-fill-%d", j->id);
            job_start(timer->loop, name, j->id * 10 + 2, 3, j);
        }
    }
    j->step++;
    if (j->step >= j->steps && j->children_left == 0) {
        job_finish(j);
        return;
    }
    memscope_task_leave();              /* yield to the loop */
    uv_timer_start(&j->timer, job_step, 1, 0);
}

int
main(void)
{
    memscope_trace_all("AsyncAnalysis");
    memscope_enable_auto_export("async");
    uv_loop_t *loop = uv_default_loop();
    MEMSCOPE_TASK_SCOPE("server") {
        for (int i = 0; i < REQUESTS; i++) {
            char name[32];
            snprintf(name, sizeof(name), "request-%d", i);
            job_start(loop, name, i, 4 + i % 3, NULL);
        }
    }
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    printf("tasks finished=%d checksum=%lu\n", finished, checksum);
    printf("reports: AsyncAnalysis/async.*\n");
    return 0;
}
