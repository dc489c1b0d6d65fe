/*
 * public.c - the setup, export and thread parts of the public API.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <memscope.h>

#include "internal.h"
#include "export.h"
#include "leaks.h"

MS_EXPORT const char *
memscope_version(void)
{
    return MEMSCOPE_VERSION_STRING;
}

MS_EXPORT int
memscope_is_tracing(void)
{
    return __atomic_load_n(&ms_trace_on, __ATOMIC_ACQUIRE) == MS_TRACE_ON;
}

MS_EXPORT const char *
memscope_strerror(int err)
{
    switch (-err) {
    case 0: return "success";
    case EINVAL: return "invalid argument";
    case ENOMEM: return "out of memory";
    case ENOENT: return "not a live block of this heap (or no such file)";
    case EALREADY: return "already done";
    case ENOTSUP: return "tracing is off";
    case EACCES: return "permission denied";
    case ENOSPC: return "no space left on device";
    case EROFS: return "read-only file system";
    case ENAMETOOLONG: return "name too long";
    case EEXIST: return "exists and is not a directory";
    case ELOOP: return "refusing to follow a symbolic link";
    default: return "system error";
    }
}

MS_EXPORT int
memscope_init(void)
{
    ms_tracer_start();
    return 0;
}

static char auto_base[256];

MS_EXPORT int
memscope_enable_auto_export(const char *base)
{
    if (base != NULL) {
        if (*base == '\0' || strlen(base) >= sizeof(ms_opt.name) ||
            strchr(base, '/') != NULL)
            return -EINVAL;
        snprintf(auto_base, sizeof(auto_base), "%s", base);
        memcpy(ms_opt.name, auto_base, sizeof(auto_base));
    }
    ms_opt.auto_export = 1;
    return 0;
}

MS_EXPORT int
memscope_export(const char *dir, const char *base, unsigned formats)
{
    if (!ms_opt.enable)
        return -ENOTSUP;
    if (base != NULL && (*base == '\0' || strchr(base, '/') != NULL))
        return -EINVAL;
    int leaks = (formats & MEMSCOPE_EXPORT_LEAKS) != 0;
    formats &= ~MEMSCOPE_EXPORT_LEAKS;
    if (formats == 0)
        formats = ms_opt.formats;
    if (formats & ~(unsigned)MEMSCOPE_FORMAT_ALL)
        return -EINVAL;
    ms_export_req_t req = { .trigger = MS_TRIGGER_API, .formats = formats,
        .dir = dir ? dir : ms_opt.out, .base = base, .leaks = leaks };
    /* the leak scan reads this thread's stack from the caller's frames up */
    uintptr_t from = ms_leaks_stack_from;
    ms_leaks_stack_from = (uintptr_t)__builtin_frame_address(0);
    int rc = ms_export(&req);
    ms_leaks_stack_from = from;
    return rc;
}

MS_EXPORT int
memscope_export_json(const char *path)
{
    if (path == NULL || *path == '\0')
        return -EINVAL;
    if (!ms_opt.enable)
        return -ENOTSUP;
    ms_export_req_t req = { .trigger = MS_TRIGGER_API, .json_path = path };
    return ms_export(&req);
}

MS_EXPORT int
memscope_thread_name(const char *name)
{
    if (name == NULL)
        return -EINVAL;
    if (ms_trace_on != MS_TRACE_ON)
        return -ENOTSUP;
    ms_thread_t *t = ms_thread_self();
    if (t == NULL)
        return -ENOMEM;
    ms_thread_set_name(t, name);
    return 0;
}

MS_EXPORT int
memscope_trace_all(const char *dir)
{
    if (dir != NULL) {
        if (*dir == '\0' || strlen(dir) >= sizeof(ms_opt.out))
            return -EINVAL;
        snprintf(ms_opt.out, sizeof(ms_opt.out), "%s", dir);
    }
    ms_tracer_start();
    if (!ms_opt.enable)
        return -ENOTSUP;
    __atomic_store_n(&ms_trace_on, MS_TRACE_ON, __ATOMIC_RELEASE);
    return 0;
}

MS_EXPORT int
memscope_stop_tracing(void)
{
    ms_trace_stop();
    return 0;
}

MS_EXPORT int
memscope_export_comprehensive_analysis(const char *dir, const char *base)
{
    return memscope_export(dir, base, MEMSCOPE_FORMAT_BIN |
        MEMSCOPE_FORMAT_JSON | MEMSCOPE_FORMAT_HTML | MEMSCOPE_FORMAT_MD);
}

/*
 * The seed's sampling knobs over byte-based sampling: a rate of 1 (or
 * more) is exact mode; a rate r in (0, 1) samples about r of the blocks:
 * the mean interval becomes (mean request size seen so far) / r bytes.
 * Switching between exact and sampled is allowed only before the first
 * traced allocation, since records of both kinds cannot be mixed.
 */
MS_EXPORT int
memscope_configure_sampling(const memscope_sampling_config_t *cfg)
{
    if (cfg == NULL || !(cfg->sample_rate > 0) || cfg->sample_rate != cfg->sample_rate)
        return -EINVAL;
    uint64_t allocs = 0, bytes = 0;
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next) {
        allocs += t->allocs;
        bytes += t->bytes_alloc;
    }
    uint64_t interval = 0;
    if (cfg->sample_rate < 1.0) {
        double mean = allocs ? (double)bytes / (double)allocs : 64.0;
        double v = mean / cfg->sample_rate;
        interval = v < 1 ? 1 : (uint64_t)v;
    }
    uint64_t tracked = 0;
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next)
        tracked += __atomic_load_n(&t->table.count, __ATOMIC_RELAXED);
    if (interval != 0 && ms_opt.sample == 0 && tracked != 0) {
        /* Blocks recorded in exact mode are not page-aligned: from now on
         * every free must look them up (slower, still correct). */
        __atomic_add_fetch(&ms_named_unsampled, 1, __ATOMIC_RELAXED);
    }
    if (interval == 0 && ms_opt.sample != 0 && allocs != 0)
        return -EBUSY;      /* unsampled blocks have no records to free */
    ms_opt.sample = interval;
    ms_max_events = cfg->max_events;
    ms_fast_update();       /* reads both */
    return 0;
}

MS_EXPORT int
memscope_get_snapshot(memscope_snapshot_t *s)
{
    if (s == NULL)
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next) {
        s->allocs += __atomic_load_n(&t->allocs, __ATOMIC_RELAXED);
        s->frees += __atomic_load_n(&t->frees, __ATOMIC_RELAXED);
        s->live_bytes += ms_thread_live(t);
        s->threads++;
    }
    s->live_blocks = (int64_t)(s->allocs - s->frees);
    int64_t peak = __atomic_load_n(&ms_global_peak, __ATOMIC_RELAXED);
    s->peak_live_bytes = peak > s->live_bytes ? peak : s->live_bytes;
    ms_api_counts(&s->tasks, &s->active_tasks, &s->variables);
    s->sampled = ms_opt.sample != 0;
    s->sample_interval = ms_opt.sample;
    s->tracing = memscope_is_tracing();
    return 0;
}
