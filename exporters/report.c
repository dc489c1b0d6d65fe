/*
 * report.c - freeing a report, and the figures derived from one; shared by
 * the library and the memscope tool.
 */
#include "report.h"
#include "xalloc.h"

uint64_t
ms_report_life_lower_ms(int b)
{
    return b == 0 ? 0 : 1ull << (b - 1);
}

uint64_t
ms_report_life_upper_ms(int b)
{
    return b >= MS_REPORT_LIFE_BUCKETS - 1 ? UINT64_MAX : 1ull << b;
}

const char *
ms_report_alloc_kind_name(unsigned k)
{
    static const char *names[MS_REPORT_ALLOC_KINDS] = { "malloc", "calloc",
        "realloc", "aligned", "new", "new[]", "mallocx", "rallocx",
        "xallocx" };
    return k < MS_REPORT_ALLOC_KINDS ? names[k] : NULL;
}

const char *
ms_report_free_kind_name(unsigned k)
{
    static const char *names[MS_REPORT_FREE_KINDS] = { "free", "delete",
        "delete[]", "realloc", "dallocx", "sdallocx", "rallocx", "xallocx" };
    return k < MS_REPORT_FREE_KINDS ? names[k] : NULL;
}

void
ms_report_free(ms_report_t *r)
{
    if (r == NULL)
        return;
    ms_xfree(r->program);
    ms_xfree(r->mode);
    ms_xfree(r->trigger);
    ms_xfree(r->byte_basis);
    for (uint64_t i = 0; r->frames && i < r->nframes; i++) {
        ms_xfree(r->frames[i].func);
        ms_xfree(r->frames[i].file);
        ms_xfree(r->frames[i].module);
    }
    ms_xfree(r->frames);
    for (uint64_t i = 0; r->sites && i < r->nsites; i++)
        ms_xfree(r->sites[i].frames);
    ms_xfree(r->sites);
    for (uint64_t i = 0; r->threads && i < r->nthreads; i++)
        ms_xfree(r->threads[i].name);
    ms_xfree(r->threads);
    for (uint64_t i = 0; r->tasks && i < r->ntasks; i++)
        ms_xfree(r->tasks[i].name);
    ms_xfree(r->tasks);
    for (uint64_t i = 0; r->vars && i < r->nvars; i++) {
        ms_rvar_t *v = &r->vars[i];
        ms_xfree(v->name); ms_xfree(v->type); ms_xfree(v->file);
        ms_xfree(v->func); ms_xfree(v->value); ms_xfree(v->status);
        for (uint64_t k = 0; v->owners && k < v->nowners; k++)
            ms_xfree(v->owners[k].owner);
        ms_xfree(v->owners);
    }
    ms_xfree(r->vars);
    ms_xfree(r->timeline);
    for (uint64_t i = 0; r->heap_errors && i < r->nheap_errors; i++) {
        ms_rherr_t *e = &r->heap_errors[i];
        ms_xfree(e->kind);
        ms_xfree(e->alloc_kind);
        ms_xfree(e->free_kind);
        ms_xfree(e->alloc_frames);
        ms_xfree(e->free_frames);
    }
    ms_xfree(r->heap_errors);
    ms_xfree(r);
}
