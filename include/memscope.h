/*
 * memscope.h - the one public header of memscope, a malloc replacement
 * over jemalloc with built-in memory tracing.
 *
 * Linking -lmemscope_malloc (or preloading libmemscope_malloc.so) is all it
 * takes to replace and trace malloc; this header adds names, tasks,
 * snapshots and exports. docs/api.md describes each call.
 *
 * Error convention: functions returning int give 0 on success and a
 * negative errno value on failure; memscope_strerror() describes it.
 */
#ifndef MEMSCOPE_H
#define MEMSCOPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MEMSCOPE_VERSION_MAJOR 0
#define MEMSCOPE_VERSION_MINOR 1
#define MEMSCOPE_VERSION_PATCH 0
#define MEMSCOPE_VERSION_STRING "0.1.0"

/* Report formats, for memscope_export(). */
#define MEMSCOPE_FORMAT_BIN     1u
#define MEMSCOPE_FORMAT_JSON    2u
#define MEMSCOPE_FORMAT_HTML    4u
#define MEMSCOPE_FORMAT_MD      8u
#define MEMSCOPE_FORMAT_FOLDED 16u
#define MEMSCOPE_FORMAT_PPROF  32u     /* NAME.pb.gz: docs/pprof.md */
#define MEMSCOPE_FORMAT_TEXT   64u     /* NAME.txt: for a terminal, docs/text.md */
#define MEMSCOPE_FORMAT_ALL   127u
/* Or'ed into memscope_export()'s formats: the report classes every live
 * block by reachability (definitely, indirectly, possibly lost, still
 * reachable) as at exit, scanning a copy of the process while its threads
 * run on (docs/api.md). Not in sampled mode. A bit far above the formats'. */
#define MEMSCOPE_EXPORT_LEAKS 0x10000u

/* The library's version as "MAJOR.MINOR.PATCH" (a static string). */
const char *memscope_version(void);

/* 1 when the library is tracing, 0 when not (MEMSCOPE_ENABLE=0, stopped). */
int memscope_is_tracing(void);

/* A static description of a result of this API (0 or a negative errno). */
const char *memscope_strerror(int err);

/* ---- setup and export ---------------------------------------------------- */

/* Starts the tracer now (it also starts by itself). Idempotent; 0. */
int memscope_init(void);

/* Reports at exit go to MEMSCOPE_OUT/base.*; NULL keeps the default name. */
int memscope_enable_auto_export(const char *base);

/* Writes reports in the given formats (MEMSCOPE_FORMAT_* bits, 0 = the
 * MEMSCOPE_FORMATS option; MEMSCOPE_EXPORT_LEAKS added: with the leak
 * classes) as dir/base.EXT; NULL dir or base: defaults. */
int memscope_export(const char *dir, const char *base, unsigned formats);

/* Writes the JSON report to path (temp file, then rename). */
int memscope_export_json(const char *path);

/* Names the calling thread in reports (up to 63 bytes kept). */
int memscope_thread_name(const char *name);

/* ---- variables ------------------------------------------------------------
 * MEMSCOPE_TRACK_VAR(p) names the live heap block at p after the variable:
 * its name, type, element size and count, file, line and function. The
 * _OWNED form also keeps the ownership history (memscope_transfer) up to
 * the free that ends it, or names it as a leak at exit. The _SMART form
 * picks by type: a pointer is tracked as a heap block, a scalar recorded as
 * a value snapshot (it owns no heap memory). Each returns 0, -EINVAL for a
 * NULL pointer, -ENOENT when p is not a live block of this heap, -ENOTSUP
 * when tracing is off. A realloc that moves a named block keeps its name.
 */
int memscope_track_var_(const void *p, const char *name, const char *type,
    size_t elem_size, const char *file, int line, const char *func, int owned);
int memscope_track_value_(const char *name, const char *type,
    const char *value, const char *file, int line, const char *func);
/* Records that the named block at p now belongs to new_owner. */
int memscope_transfer(const void *p, const char *new_owner);

#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define MEMSCOPE_TYPE_NAME(p) _Generic((p), \
    char *: "char *", const char *: "const char *", \
    signed char *: "signed char *", unsigned char *: "unsigned char *", \
    short *: "short *", unsigned short *: "unsigned short *", \
    int *: "int *", unsigned *: "unsigned int *", \
    long *: "long *", unsigned long *: "unsigned long *", \
    long long *: "long long *", unsigned long long *: "unsigned long long *", \
    float *: "float *", double *: "double *", long double *: "long double *", \
    void *: "void *", char **: "char **", void **: "void **", \
    default: "pointer")
#define MEMSCOPE_ELEM_SIZE_(p) _Generic((p), void *: 1, const void *: 1, \
    default: sizeof(*(p)))
#else
#define MEMSCOPE_TYPE_NAME(p) "pointer"
#define MEMSCOPE_ELEM_SIZE_(p) sizeof(*(p))
#endif

#define MEMSCOPE_TRACK_VAR(p) \
    memscope_track_var_((const void *)(p), #p, MEMSCOPE_TYPE_NAME(p), \
        MEMSCOPE_ELEM_SIZE_(p), __FILE__, __LINE__, __func__, 0)
#define MEMSCOPE_TRACK_VAR_AS(p, type) \
    memscope_track_var_((const void *)(p), #p, #type, sizeof(type), \
        __FILE__, __LINE__, __func__, 0)
#define MEMSCOPE_TRACK_VAR_OWNED(p) \
    memscope_track_var_((const void *)(p), #p, MEMSCOPE_TYPE_NAME(p), \
        MEMSCOPE_ELEM_SIZE_(p), __FILE__, __LINE__, __func__, 1)

#if !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
/* Scalars become value snapshots; everything else is a pointer. */
int memscope_track_smart_i_(long long v, const char *name, const char *type,
    const char *file, int line, const char *func);
int memscope_track_smart_u_(unsigned long long v, const char *name,
    const char *type, const char *file, int line, const char *func);
int memscope_track_smart_d_(double v, const char *name, const char *type,
    const char *file, int line, const char *func);
#define MEMSCOPE_SCALAR_CASES_(x, v) \
    _Bool: v, char: v, signed char: v, unsigned char: v, short: v, \
    unsigned short: v, int: v, unsigned: v, long: v, unsigned long: v, \
    long long: v, unsigned long long: v, float: v, double: v, long double: v
/* x as an integer, a double or a pointer; 0 when it is not one */
#define MEMSCOPE_AS_LL_(x) _Generic((x), float: 0, double: 0, \
    long double: 0, _Bool: (x), char: (x), signed char: (x), \
    unsigned char: (x), short: (x), unsigned short: (x), int: (x), \
    unsigned: (x), long: (x), unsigned long: (x), long long: (x), \
    unsigned long long: (x), default: 0)
#define MEMSCOPE_AS_DBL_(x) _Generic((x), float: (x), double: (x), \
    long double: (x), default: 0.0)
#define MEMSCOPE_AS_PTR_(x) _Generic((x), \
    MEMSCOPE_SCALAR_CASES_(x, (void *)0), default: (x))
#define MEMSCOPE_SMART_(x, fn, v, type) \
    fn((v), #x, type, __FILE__, __LINE__, __func__)
#define MEMSCOPE_SMART_I_(x, type) MEMSCOPE_SMART_(x, memscope_track_smart_i_, \
    (long long)MEMSCOPE_AS_LL_(x), type)
#define MEMSCOPE_SMART_U_(x, type) MEMSCOPE_SMART_(x, memscope_track_smart_u_, \
    (unsigned long long)MEMSCOPE_AS_LL_(x), type)
#define MEMSCOPE_SMART_D_(x, type) MEMSCOPE_SMART_(x, memscope_track_smart_d_, \
    (double)MEMSCOPE_AS_DBL_(x), type)
#define MEMSCOPE_TRACK_VAR_SMART(x) _Generic((x), \
    _Bool: MEMSCOPE_SMART_U_(x, "bool"), \
    char: MEMSCOPE_SMART_I_(x, "char"), \
    signed char: MEMSCOPE_SMART_I_(x, "signed char"), \
    unsigned char: MEMSCOPE_SMART_U_(x, "unsigned char"), \
    short: MEMSCOPE_SMART_I_(x, "short"), \
    unsigned short: MEMSCOPE_SMART_U_(x, "unsigned short"), \
    int: MEMSCOPE_SMART_I_(x, "int"), \
    unsigned: MEMSCOPE_SMART_U_(x, "unsigned int"), \
    long: MEMSCOPE_SMART_I_(x, "long"), \
    unsigned long: MEMSCOPE_SMART_U_(x, "unsigned long"), \
    long long: MEMSCOPE_SMART_I_(x, "long long"), \
    unsigned long long: MEMSCOPE_SMART_U_(x, "unsigned long long"), \
    float: MEMSCOPE_SMART_D_(x, "float"), \
    double: MEMSCOPE_SMART_D_(x, "double"), \
    long double: MEMSCOPE_SMART_D_(x, "long double"), \
    default: memscope_track_var_((const void *)MEMSCOPE_AS_PTR_(x), #x, \
        MEMSCOPE_TYPE_NAME(x), MEMSCOPE_ELEM_SIZE_(MEMSCOPE_AS_PTR_(x)), \
        __FILE__, __LINE__, __func__, 0))
#endif

/* ---- threads ------------------------------------------------------------- */

/* Many-thread mode: sets the report directory (NULL keeps MEMSCOPE_OUT)
 * and makes sure tracing runs. */
int memscope_trace_all(const char *dir);
/* Stops tracing: later blocks are not recorded; counts so far are kept. */
int memscope_stop_tracing(void);
/* Every format of the full report (threads, tasks, variables) as
 * dir/base.*; NULL for either keeps the default. */
int memscope_export_comprehensive_analysis(const char *dir, const char *base);

/* The seed's sampling settings (docs/api.md tells how each maps):
 * sample_rate in (0, 1]: the fraction of allocated bytes to sample, turned
 *   into a mean interval of (mean block size seen so far) / sample_rate
 *   bytes; 1.0 means exact mode;
 * max_events: cap on tracked blocks (0 = no cap);
 * buffer_size: accepted, not used (records go straight to the table). */
typedef struct {
    double sample_rate;
    size_t max_events;
    size_t buffer_size;
} memscope_sampling_config_t;
int memscope_configure_sampling(const memscope_sampling_config_t *cfg);

/* ---- tasks --------------------------------------------------------------- */

typedef uint32_t memscope_task_t;       /* 0 = no task */

/* A new task, child of the calling thread's current task, made current. */
memscope_task_t memscope_task_begin(const char *name);
/* Ends a task (-EALREADY the second time, -EINVAL for an unknown id);
 * when it is the current task, the previous one becomes current. */
int memscope_task_end(memscope_task_t task);
/* Resumes a task on this thread / leaves it (event loops, coroutines). */
int memscope_task_enter(memscope_task_t task);
int memscope_task_leave(void);
memscope_task_t memscope_task_current(void);
/* A task's live bytes now, or -1 for an unknown task. */
int64_t memscope_task_memory(memscope_task_t task);

#define MEMSCOPE_CAT2_(a, b) a##b
#define MEMSCOPE_CAT_(a, b) MEMSCOPE_CAT2_(a, b)
/* MEMSCOPE_TASK_SCOPE("name") { ... } runs the block as a task. */
#define MEMSCOPE_TASK_SCOPE(name) \
    for (memscope_task_t MEMSCOPE_CAT_(ms_task_, __LINE__) = \
             memscope_task_begin(name), MEMSCOPE_CAT_(ms_once_, __LINE__) = 1; \
         MEMSCOPE_CAT_(ms_once_, __LINE__); \
         MEMSCOPE_CAT_(ms_once_, __LINE__) = 0, \
         (void)memscope_task_end(MEMSCOPE_CAT_(ms_task_, __LINE__)))

typedef struct {
    size_t max_tracked_tasks;       /* beyond it, tasks are counted as dropped */
    size_t buffer_size;             /* accepted, not used */
    int enable_task_hierarchy;      /* 0: every task is a root */
} memscope_visualization_config_t;
int memscope_configure_tasks(const memscope_visualization_config_t *cfg);

/* ---- snapshots ------------------------------------------------------------ */

typedef struct {
    uint64_t allocs, frees;
    int64_t live_blocks, live_bytes, peak_live_bytes;
    uint64_t active_tasks, tasks, threads, variables;
    int sampled;                    /* 1 in sampled mode */
    uint64_t sample_interval;       /* bytes, 0 in exact mode */
    int tracing;                    /* memscope_is_tracing() */
} memscope_snapshot_t;

/* Fills *s from the exact counters; cheap (no symbols, no I/O). */
int memscope_get_snapshot(memscope_snapshot_t *s);

#ifdef __cplusplus
}
#endif

#endif
