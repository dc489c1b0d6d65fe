/* heaperr.h - heap errors (heaperr.c). */
#ifndef MS_HEAPERR_H
#define MS_HEAPERR_H

#include "internal.h"

enum {
    MS_HERR_DOUBLE_FREE = 1,
    MS_HERR_INVALID_FREE,
    MS_HERR_INTERIOR_FREE,
    MS_HERR_MISMATCH
};

typedef struct {
    int kind;
    unsigned alloc_kind;            /* ms_kind_t, 255 = unknown */
    unsigned free_kind;             /* ms_free_kind_t */
    uint32_t thread;
    uintptr_t addr;                 /* the pointer passed */
    uintptr_t block;                /* the block it names, when known */
    uint64_t size;                  /* that block's size */
    uint32_t alloc_stack, free_stack;   /* stack ids, 0 = unknown */
    uint64_t t_ns;
} ms_herr_t;

/* Remembers a block made before start-up (or by libc for the tracer). */
void ms_early_add(uintptr_t p);
/* Returns 0 (and forgets p) when p was such a block, -1 when not. */
int ms_early_take(uintptr_t p);
/* Returns 1 when more such blocks came than could be remembered. */
int ms_early_overflowed(void);
/* Returns 1 when a release of kind how matches the allocation's kind. */
int ms_kinds_match(unsigned alloc_kind, ms_free_kind_t how);
/* Records a heap error (and, under MEMSCOPE_ABORT_ON_ERROR, reports it
 * and aborts). */
void ms_heap_error(int kind, uintptr_t addr, ms_free_kind_t how,
    const ms_rec_t *r, ms_thread_t *owner, ms_thread_t *t, void *ra, void *fp);
void ms_heap_error_stack(int kind, uintptr_t addr, ms_free_kind_t how,
    uint32_t alloc_stack, ms_thread_t *t, void *ra, void *fp);
/* Copies up to max heap errors; returns how many, *dropped the rest. */
uint32_t ms_heap_errors_copy(ms_herr_t *out, uint32_t max, uint64_t *dropped);
/* Each returns a kind's name in reports: "unknown" for an unknown heap
 * error, NULL for an unknown allocation kind, "free" for a release. */
const char *ms_herr_kind_name(int kind);
const char *ms_alloc_kind_name(unsigned k);
const char *ms_free_kind_name(unsigned k);

#endif
