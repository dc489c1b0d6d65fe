/*
 * api.c - the registries behind the public API: tasks (a hierarchy the
 * program declares) and named variables. Both change rarely next to
 * allocations, so one mutex (api_mu) guards them. The allocation path
 * takes no lock: it reads the calling thread's current task id, and a
 * block's task counters live apart from the registry, in chunks that never
 * move (one cache line per task), changed with atomic adds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <memscope.h>

#include "internal.h"
#include "hooks.h"
#include "fork.h"
#include "api_state.h"
#include "../engine/engine.h"

static pthread_mutex_t api_mu = PTHREAD_MUTEX_INITIALIZER;

/* Tasks: id = index + 1. The registry (names, times, parents) is tasks[],
 * under api_mu; its counter fields are unused: each task's counters are
 * ctr_chunks[(id - 1) / CTR_CHUNK][(id - 1) % CTR_CHUNK]. */
static ms_task_rec_t *tasks;
static uint32_t ntasks, cap_tasks;      /* ntasks published with release */

#define CTR_CHUNK   1024
#define CTR_CHUNKS  4096                /* up to 4 Mi tasks */
typedef struct {
    uint64_t allocs, frees, bytes, freed_bytes;
    int64_t live, peak;
} __attribute__((aligned(64))) ms_task_ctr_t;
static ms_task_ctr_t *ctr_chunks[CTR_CHUNKS];
static uint64_t dropped_tasks;
static size_t max_tasks = 1u << 20;
static int task_hierarchy = 1;
static __thread uint32_t tls_task_stack[32] MS_TLS;
static __thread int tls_task_depth MS_TLS;

/* Variables: id = index + 1; a small hash from pointer to id. */
static ms_var_rec_t *vars;
static uint32_t nvars, cap_vars;
static uint32_t *var_index;         /* open addressing: ptr -> id */
static uint64_t var_mask;
static uint64_t var_live;           /* entries in var_index */

static void fork_prepare(void) { pthread_mutex_lock(&api_mu); }
static void fork_parent(void) { pthread_mutex_unlock(&api_mu); }
static void fork_child(void) { pthread_mutex_init(&api_mu, NULL); }
MS_FORK_JOIN(MS_FORK_API, fork_prepare, fork_parent, fork_child);

/* ---- tasks ---------------------------------------------------------------- */

/* Task id's counters, or NULL when there is no such task; any thread,
 * no lock. */
static ms_task_ctr_t *
task_ctr(uint32_t id)
{
    if (id == 0 || id > __atomic_load_n(&ntasks, __ATOMIC_ACQUIRE))
        return NULL;
    ms_task_ctr_t *c = __atomic_load_n(&ctr_chunks[(id - 1) / CTR_CHUNK],
        __ATOMIC_ACQUIRE);
    return c != NULL ? &c[(id - 1) % CTR_CHUNK] : NULL;
}

void
ms_task_account(uint32_t task, int64_t bytes, int alloc)
{
    ms_task_ctr_t *c = task_ctr(task);
    if (c == NULL)
        return;
    if (alloc) {
        __atomic_add_fetch(&c->allocs, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&c->bytes, (uint64_t)bytes, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&c->frees, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&c->freed_bytes, (uint64_t)-bytes, __ATOMIC_RELAXED);
    }
    int64_t live = __atomic_add_fetch(&c->live, bytes, __ATOMIC_RELAXED);
    int64_t peak = __atomic_load_n(&c->peak, __ATOMIC_RELAXED);
    while (live > peak && !__atomic_compare_exchange_n(&c->peak, &peak, live,
        1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static uint32_t
task_new(const char *name, uint32_t parent)
{
    uint32_t id = 0;
    pthread_mutex_lock(&api_mu);
    if (ntasks >= max_tasks || ntasks >= (uint32_t)CTR_CHUNK * CTR_CHUNKS) {
        dropped_tasks++;
        goto out;
    }
    if (ctr_chunks[ntasks / CTR_CHUNK] == NULL) {
        ms_task_ctr_t *c = ms_tcalloc(CTR_CHUNK * sizeof(*c));
        if (c == NULL) {
            dropped_tasks++;
            goto out;
        }
        __atomic_store_n(&ctr_chunks[ntasks / CTR_CHUNK], c, __ATOMIC_RELEASE);
    }
    if (ntasks == cap_tasks) {
        uint32_t ncap = cap_tasks ? cap_tasks * 2 : 64;
        ms_task_rec_t *n = ms_trealloc(tasks, ncap * sizeof(*n));
        if (n == NULL) {
            dropped_tasks++;
            goto out;
        }
        tasks = n;
        cap_tasks = ncap;
    }
    ms_task_rec_t *t = &tasks[ntasks];
    memset(t, 0, sizeof(*t));
    t->name = ms_tstrdup(name ? name : "(unnamed)");
    t->id = ntasks + 1;
    t->parent = task_hierarchy ? parent : 0;
    t->begin_ns = ms_now_precise_ns();
    id = t->id;
    __atomic_store_n(&ntasks, id, __ATOMIC_RELEASE);    /* task_ctr sees it */
out:
    pthread_mutex_unlock(&api_mu);
    return id;
}

static int
task_ended(uint32_t id)
{
    pthread_mutex_lock(&api_mu);
    int ended = id >= 1 && id <= ntasks && tasks[id - 1].ended;
    pthread_mutex_unlock(&api_mu);
    return ended;
}

MS_EXPORT memscope_task_t
memscope_task_begin(const char *name)
{
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    uint32_t id = task_new(name, ms_tls_task);
    if (id != 0 && tls_task_depth < 32)
        tls_task_stack[tls_task_depth++] = ms_tls_task;
    if (id != 0)
        ms_tls_task = id;
    ms_tls_busy = busy;
    return id;
}

MS_EXPORT int
memscope_task_end(memscope_task_t id)
{
    int rc = 0;
    pthread_mutex_lock(&api_mu);
    if (id == 0 || id > ntasks)
        rc = -EINVAL;
    else if (tasks[id - 1].ended)
        rc = -EALREADY;
    else {
        tasks[id - 1].ended = 1;
        tasks[id - 1].end_ns = ms_now_precise_ns();
    }
    pthread_mutex_unlock(&api_mu);
    if (rc != 0)
        return rc;
    if (ms_tls_task == id) {
        ms_tls_task = tls_task_depth > 0 ? tls_task_stack[--tls_task_depth] : 0;
        /* an ended task met on the way back is skipped too */
        while (ms_tls_task != 0 && task_ended(ms_tls_task))
            ms_tls_task = tls_task_depth > 0 ? tls_task_stack[--tls_task_depth] : 0;
    } else {
        /* ended out of order: it must not come back as current later */
        for (int i = 0; i < tls_task_depth; i++)
            if (tls_task_stack[i] == id) {
                memmove(&tls_task_stack[i], &tls_task_stack[i + 1],
                    (size_t)(tls_task_depth - i - 1) * sizeof(uint32_t));
                tls_task_depth--;
                break;
            }
    }
    return 0;
}

MS_EXPORT int
memscope_task_enter(memscope_task_t id)
{
    pthread_mutex_lock(&api_mu);
    int ok = id >= 1 && id <= ntasks && !tasks[id - 1].ended;
    if (ok)
        tasks[id - 1].threads_seen++;
    pthread_mutex_unlock(&api_mu);
    if (!ok)
        return -EINVAL;
    if (tls_task_depth < 32)
        tls_task_stack[tls_task_depth++] = ms_tls_task;
    ms_tls_task = id;
    return 0;
}

MS_EXPORT int
memscope_task_leave(void)
{
    if (ms_tls_task == 0)
        return -EINVAL;
    ms_tls_task = tls_task_depth > 0 ? tls_task_stack[--tls_task_depth] : 0;
    return 0;
}

MS_EXPORT memscope_task_t
memscope_task_current(void)
{
    return ms_tls_task;
}

MS_EXPORT int64_t
memscope_task_memory(memscope_task_t id)
{
    ms_task_ctr_t *c = task_ctr(id);
    return c != NULL ? __atomic_load_n(&c->live, __ATOMIC_RELAXED) : -1;
}

MS_EXPORT int
memscope_configure_tasks(const memscope_visualization_config_t *cfg)
{
    if (cfg == NULL)
        return -EINVAL;
    pthread_mutex_lock(&api_mu);
    if (cfg->max_tracked_tasks > 0)
        max_tasks = cfg->max_tracked_tasks;
    task_hierarchy = cfg->enable_task_hierarchy != 0;
    pthread_mutex_unlock(&api_mu);
    return 0;
}

/* ---- variables ------------------------------------------------------------ */

static inline uint64_t
ptr_hash(uintptr_t p)
{
    uint64_t h = p * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 31);
}

static uint32_t
var_lookup(uintptr_t p, uint64_t *slot)
{
    if (var_index == NULL)
        return 0;
    for (uint64_t i = ptr_hash(p) & var_mask; var_index[i] != 0;
         i = (i + 1) & var_mask) {
        if (vars[var_index[i] - 1].ptr == p) {
            if (slot)
                *slot = i;
            return var_index[i];
        }
    }
    return 0;
}

static void
var_unindex(uint64_t hole)
{
    uint64_t i = (hole + 1) & var_mask;
    while (var_index[i] != 0) {
        uint64_t home = ptr_hash(vars[var_index[i] - 1].ptr) & var_mask;
        if (((i - home) & var_mask) >= ((i - hole) & var_mask)) {
            var_index[hole] = var_index[i];
            hole = i;
        }
        i = (i + 1) & var_mask;
    }
    var_index[hole] = 0;
    var_live--;
}

static int
var_index_add(uint32_t id)
{
    if (var_index == NULL || (var_live + 1) * 2 > var_mask + 1) {
        uint64_t cap = var_index ? (var_mask + 1) * 2 : 256;
        uint32_t *n = ms_tcalloc(cap * sizeof(*n));
        if (n == NULL)
            return -ENOMEM;
        for (uint64_t i = 0; var_index && i <= var_mask; i++) {
            if (var_index[i] == 0)
                continue;
            uint64_t j = ptr_hash(vars[var_index[i] - 1].ptr) & (cap - 1);
            while (n[j] != 0)
                j = (j + 1) & (cap - 1);
            n[j] = var_index[i];
        }
        ms_tfree(var_index);
        var_index = n;
        var_mask = cap - 1;
    }
    uint64_t j = ptr_hash(vars[id - 1].ptr) & var_mask;
    while (var_index[j] != 0)
        j = (j + 1) & var_mask;
    var_index[j] = id;
    var_live++;
    return 0;
}

static ms_var_rec_t *
var_new(void)
{
    if (nvars == cap_vars) {
        uint32_t ncap = cap_vars ? cap_vars * 2 : 64;
        ms_var_rec_t *n = ms_trealloc(vars, ncap * sizeof(*n));
        if (n == NULL)
            return NULL;
        vars = n;
        cap_vars = ncap;
    }
    ms_var_rec_t *v = &vars[nvars];
    memset(v, 0, sizeof(*v));
    v->id = ++nvars;
    v->created_ns = ms_now_precise_ns();
    v->task = ms_tls_task;
    ms_thread_t *t = ms_tls_self;
    v->thread = t ? t->id : 0;
    return v;
}

/*
 * Marks the block's record as named, when the calling thread owns it; a
 * block of another thread is found by reading its table, and frees then
 * consult the registry (ms_vars_foreign). Returns 0 with size and stack.
 */
static int
mark_record(uintptr_t p, uint64_t *size, uint32_t *stack)
{
    ms_thread_t *t = ms_tls_self;
    ms_rec_t r;
    if (t != NULL && ms_own_get(t, p, &r) == 0) {
        ms_own_set_flags(t, p, MS_REC_VARIABLE);
        *size = r.size;
        *stack = ms_sites_stack_of(&t->sites, r.site);
        return 0;
    }
    for (ms_thread_t *o = ms_threads_head(); o != NULL; o = o->next) {
        ms_rec_t copy;
        if (o != t && ms_table_peek(&o->table, p, &copy) == 0) {
            *size = copy.size;
            *stack = ms_sites_stack_of(&o->sites, copy.site);
            __atomic_add_fetch(&ms_vars_foreign, 1, __ATOMIC_RELAXED);
            return 0;
        }
    }
    return -1;
}

MS_EXPORT int
memscope_track_var_(const void *ptr, const char *name, const char *type,
    size_t elem_size, const char *file, int line, const char *func, int owned)
{
    if (ptr == NULL)
        return -EINVAL;
    if (ms_trace_on != MS_TRACE_ON)
        return -ENOTSUP;
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    ms_thread_self();
    int rc = 0;
    uint64_t size = 0;
    uint32_t stack = 0;
    uintptr_t p = (uintptr_t)ptr;
    if (mark_record(p, &size, &stack) != 0) {
        if (ms_opt.sample == 0) {
            rc = -ENOENT;       /* not a live block of this heap */
            goto out;
        }
        /* Sampled mode: named blocks are always recorded. */
        size = ms_je_sallocx((void *)ptr, 0);
        ms_thread_t *t = ms_tls_self;
        uintptr_t frames[MS_MAX_FRAMES];
        uint64_t h;
        int n = ms_stack_walk(t, __builtin_return_address(0),
            __builtin_frame_address(0), frames, &h);
        stack = ms_stack_intern(h, frames, n);
        uint32_t slot = ms_sites_slot(&t->sites, stack, ms_tls_task, 0);
        if (slot == UINT32_MAX) {
            rc = -ENOMEM;
            goto out;
        }
        ms_rec_t r = { .ptr = p, .size = size,
            .usable = ms_usable_code(size), .kind = MS_KIND_MALLOC,
            .flags = MS_REC_VARIABLE | MS_REC_SAMPLED, .time_ms = ms_clock_ms(),
            .site = slot };
        ms_own_insert(t, &r);
        __atomic_add_fetch(&ms_named_unsampled, 1, __ATOMIC_RELAXED);
        ms_fast_update();
    }
    pthread_mutex_lock(&api_mu);
    uint32_t old = var_lookup(p, NULL);
    ms_var_rec_t *v;
    if (old != 0) {
        /* Named again: one variable, its newest name and place. */
        v = &vars[old - 1];
        ms_tfree(v->name);
        ms_tfree(v->type);
        ms_tfree(v->file);
        ms_tfree(v->func);
        owned |= v->owned;
        v->name = ms_tstrdup(name ? name : "(unnamed)");
        v->type = ms_tstrdup(type ? type : "unknown");
        v->file = ms_tstrdup(file ? file : "");
        v->func = ms_tstrdup(func ? func : "");
        v->line = line;
        v->elem_size = elem_size;
        v->count = elem_size ? v->size / elem_size : 0;
        v->owned = owned;
        pthread_mutex_unlock(&api_mu);
        goto out;
    }
    v = var_new();
    if (v == NULL) {
        rc = -ENOMEM;
    } else {
        v->ptr = p;
        v->stack = stack;
        v->name = ms_tstrdup(name ? name : "(unnamed)");
        v->type = ms_tstrdup(type ? type : "unknown");
        v->file = ms_tstrdup(file ? file : "");
        v->func = ms_tstrdup(func ? func : "");
        v->line = line;
        v->size = size;
        v->elem_size = elem_size;
        v->count = elem_size ? size / elem_size : 0;
        v->owned = owned;
        if (owned) {
            v->owners[0].owner = ms_tstrdup(func ? func : "creator");
            v->owners[0].t_ns = v->created_ns;
            v->nowners = 1;
        }
        if (var_index_add(v->id) != 0)
            rc = -ENOMEM;
    }
    pthread_mutex_unlock(&api_mu);
out:
    ms_tls_busy = busy;
    return rc;
}

MS_EXPORT int
memscope_track_value_(const char *name, const char *type, const char *value,
    const char *file, int line, const char *func)
{
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    int rc = 0;
    pthread_mutex_lock(&api_mu);
    ms_var_rec_t *v = var_new();
    if (v == NULL) {
        rc = -ENOMEM;
    } else {
        v->name = ms_tstrdup(name ? name : "(unnamed)");
        v->type = ms_tstrdup(type ? type : "unknown");
        v->value = ms_tstrdup(value ? value : "");
        v->file = ms_tstrdup(file ? file : "");
        v->func = ms_tstrdup(func ? func : "");
        v->line = line;
        v->status = MS_VAR_VALUE;
    }
    pthread_mutex_unlock(&api_mu);
    ms_tls_busy = busy;
    return rc;
}

MS_EXPORT int
memscope_transfer(const void *ptr, const char *new_owner)
{
    if (ptr == NULL || new_owner == NULL)
        return -EINVAL;
    int busy = ms_tls_busy;
    ms_tls_busy = 1;
    int rc = 0;
    pthread_mutex_lock(&api_mu);
    uint32_t id = var_lookup((uintptr_t)ptr, NULL);
    if (id == 0) {
        rc = -ENOENT;
    } else {
        ms_var_rec_t *v = &vars[id - 1];
        v->owned = 1;
        if (v->nowners < MS_OWNER_MAX) {
            v->owners[v->nowners].owner = ms_tstrdup(new_owner);
            v->owners[v->nowners].t_ns = ms_now_precise_ns();
            v->nowners++;
        } else {
            v->dropped_owners++;
        }
        v->status = MS_VAR_TRANSFERRED;
    }
    pthread_mutex_unlock(&api_mu);
    ms_tls_busy = busy;
    return rc;
}

void
ms_variable_on_free(uintptr_t ptr)
{
    pthread_mutex_lock(&api_mu);
    uint64_t slot;
    uint32_t id = var_lookup(ptr, &slot);
    if (id != 0) {
        vars[id - 1].status = MS_VAR_FREED;
        vars[id - 1].freed_ns = ms_now_precise_ns();
        var_unindex(slot);
    }
    pthread_mutex_unlock(&api_mu);
}

void
ms_variable_on_realloc(uintptr_t old, uintptr_t new_ptr, size_t size)
{
    pthread_mutex_lock(&api_mu);
    uint64_t slot;
    uint32_t id = var_lookup(old, &slot);
    if (id != 0) {
        var_unindex(slot);
        ms_var_rec_t *v = &vars[id - 1];
        v->ptr = new_ptr;
        v->size = size;
        v->count = v->elem_size ? size / v->elem_size : 0;
        v->status = v->nowners > 1 ? MS_VAR_TRANSFERRED : MS_VAR_LIVE;
        var_index_add(id);
    }
    pthread_mutex_unlock(&api_mu);
}

/* ---- copies for the report ---------------------------------------------- */

static char *
dup_or_null(const char *s)
{
    return s ? ms_tstrdup(s) : NULL;
}

void
ms_api_copy(ms_api_copy_t *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&api_mu);
    out->tasks = ms_tmalloc((ntasks ? ntasks : 1) * sizeof(*out->tasks));
    out->vars = ms_tmalloc((nvars ? nvars : 1) * sizeof(*out->vars));
    if (out->tasks && out->vars) {
        for (uint32_t i = 0; i < ntasks; i++) {
            ms_task_rec_t *d = &out->tasks[i];
            const ms_task_ctr_t *c = task_ctr(i + 1);
            *d = tasks[i];
            d->name = dup_or_null(tasks[i].name);
            d->allocs = __atomic_load_n(&c->allocs, __ATOMIC_RELAXED);
            d->frees = __atomic_load_n(&c->frees, __ATOMIC_RELAXED);
            d->bytes = __atomic_load_n(&c->bytes, __ATOMIC_RELAXED);
            d->freed_bytes = __atomic_load_n(&c->freed_bytes, __ATOMIC_RELAXED);
            d->live = __atomic_load_n(&c->live, __ATOMIC_RELAXED);
            d->peak = __atomic_load_n(&c->peak, __ATOMIC_RELAXED);
        }
        out->ntasks = ntasks;
        for (uint32_t i = 0; i < nvars; i++) {
            ms_var_rec_t *d = &out->vars[i], *s = &vars[i];
            *d = *s;
            d->name = dup_or_null(s->name);
            d->type = dup_or_null(s->type);
            d->file = dup_or_null(s->file);
            d->func = dup_or_null(s->func);
            d->value = dup_or_null(s->value);
            for (int k = 0; k < s->nowners; k++)
                d->owners[k].owner = dup_or_null(s->owners[k].owner);
        }
        out->nvars = nvars;
    }
    out->dropped_tasks = dropped_tasks;
    pthread_mutex_unlock(&api_mu);
}

void
ms_api_copy_free(ms_api_copy_t *c)
{
    for (uint32_t i = 0; i < c->ntasks; i++)
        ms_tfree(c->tasks[i].name);
    for (uint32_t i = 0; i < c->nvars; i++) {
        ms_var_rec_t *v = &c->vars[i];
        ms_tfree(v->name); ms_tfree(v->type); ms_tfree(v->file);
        ms_tfree(v->func); ms_tfree(v->value);
        for (int k = 0; k < v->nowners; k++)
            ms_tfree(v->owners[k].owner);
    }
    ms_tfree(c->tasks);
    ms_tfree(c->vars);
    memset(c, 0, sizeof(*c));
}

void
ms_api_counts(uint64_t *ntask, uint64_t *active, uint64_t *nvar)
{
    pthread_mutex_lock(&api_mu);
    *ntask = ntasks;
    *active = 0;
    for (uint32_t i = 0; i < ntasks; i++)
        *active += !tasks[i].ended;
    *nvar = nvars;
    pthread_mutex_unlock(&api_mu);
}

static int
track_smart_text(const char *text, const char *name, const char *type,
    const char *file, int line, const char *func)
{
    return memscope_track_value_(name, type, text, file, line, func);
}

MS_EXPORT int
memscope_track_smart_i_(long long v, const char *name, const char *type,
    const char *file, int line, const char *func)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", v);
    return track_smart_text(buf, name, type, file, line, func);
}

MS_EXPORT int
memscope_track_smart_u_(unsigned long long v, const char *name,
    const char *type, const char *file, int line, const char *func)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu", v);
    return track_smart_text(buf, name, type, file, line, func);
}

MS_EXPORT int
memscope_track_smart_d_(double v, const char *name, const char *type,
    const char *file, int line, const char *func)
{
    char buf[48];
    snprintf(buf, sizeof(buf), "%.17g", v);
    return track_smart_text(buf, name, type, file, line, func);
}
