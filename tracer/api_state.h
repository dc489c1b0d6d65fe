/*
 * api_state.h - tasks and named variables, as the report sees them
 * (api.c keeps them; report.c copies them under ms_api_lock).
 */
#ifndef MS_API_STATE_H
#define MS_API_STATE_H

#include <stdint.h>

#define MS_OWNER_MAX 16

typedef struct {
    uint32_t id, parent;
    char *name;
    int ended;
    uint32_t threads_seen;          /* distinct threads that entered it */
    uint64_t begin_ns, end_ns;
    uint64_t allocs, frees, bytes, freed_bytes;
    int64_t live, peak;
} ms_task_rec_t;

typedef enum { MS_VAR_LIVE = 0, MS_VAR_FREED, MS_VAR_TRANSFERRED,
    MS_VAR_VALUE } ms_var_status_t;

typedef struct {
    uint32_t id;
    uintptr_t ptr;                  /* 0 for a value snapshot */
    char *name, *type, *file, *func;
    int line;
    uint64_t size, elem_size, count;
    int owned;                      /* TRACK_VAR_OWNED */
    int status;                     /* ms_var_status_t */
    uint32_t thread, task, stack;
    uint64_t created_ns, freed_ns;
    char *value;                    /* value snapshot, as text */
    int nowners;
    struct { char *owner; uint64_t t_ns; } owners[MS_OWNER_MAX];
    uint32_t dropped_owners;
} ms_var_rec_t;

/* Copies of the registries for a report; free with ms_api_copy_free. */
typedef struct {
    ms_task_rec_t *tasks;
    uint32_t ntasks;
    uint64_t dropped_tasks;
    ms_var_rec_t *vars;
    uint32_t nvars;
} ms_api_copy_t;

void ms_api_copy(ms_api_copy_t *out);
void ms_api_copy_free(ms_api_copy_t *c);

#endif
