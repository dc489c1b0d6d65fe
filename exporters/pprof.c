/*
 * pprof.c - the report as a pprof profile: profile.proto (the format of
 * github.com/google/pprof, read by `go tool pprof`, Grafana Pyroscope,
 * Parca, Google Cloud Profiler), gzipped. docs/pprof.md says what each
 * part holds and how to use it.
 *
 * The protobuf wire format is encoded by protobuf.c (why not a library:
 * there).
 *
 * The profile is built in memory (its size follows the number of sites
 * and frames, not of blocks), then compressed into the writer; an
 * allocation that fails sets the writer's error, so no partial file is
 * published.
 *
 * Samples, in the order written: one per row of the report (a site's
 * blocks of one allocating thread and task), labelled thread and task
 * (the task path, "a/b"), less the blocks of named variables from it;
 * then, in exact mode, one per named block, with the labels of its row
 * and variable and a numeric label bytes (the block's size). A report
 * without rows (read from an older .bin) has one sample per site.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "export.h"
#include "gzip.h"
#include "protobuf.h"
#include "report.h"
#include "writer.h"
#include "xalloc.h"

/* ---- a map of (u64, u64) keys to u64 values --------------------------------- */

typedef struct {
    uint64_t k1, k2, v;
    int used;
} slot_t;

typedef struct {
    slot_t *s;
    uint64_t mask, n;
    int oom;
} map_t;

static uint64_t
map_hash(uint64_t k1, uint64_t k2)
{
    uint64_t k[2] = { k1, k2 };
    return XXH3_64bits(k, sizeof(k));
}

/* The slot of (k1, k2): its value if used, else where to put it. NULL
 * when out of memory. */
static slot_t *
map_slot(map_t *m, uint64_t k1, uint64_t k2)
{
    if (m->oom)
        return NULL;
    if (m->s == NULL || (m->n + 1) * 2 > m->mask + 1) {
        uint64_t cap = m->s ? (m->mask + 1) * 2 : 1024;
        slot_t *s = ms_xcalloc(cap * sizeof(*s));
        if (s == NULL) {
            m->oom = 1;
            return NULL;
        }
        for (uint64_t i = 0; m->s && i <= m->mask; i++) {
            if (!m->s[i].used)
                continue;
            uint64_t j = map_hash(m->s[i].k1, m->s[i].k2) & (cap - 1);
            while (s[j].used)
                j = (j + 1) & (cap - 1);
            s[j] = m->s[i];
        }
        ms_xfree(m->s);
        m->s = s;
        m->mask = cap - 1;
    }
    for (uint64_t i = map_hash(k1, k2) & m->mask;; i = (i + 1) & m->mask) {
        slot_t *s = &m->s[i];
        if (!s->used || (s->k1 == k1 && s->k2 == k2))
            return s;
    }
}

static void
map_set(map_t *m, slot_t *s, uint64_t k1, uint64_t k2, uint64_t v)
{
    s->used = 1;
    s->k1 = k1;
    s->k2 = k2;
    s->v = v;
    m->n++;
}

/* ---- the profile being built ------------------------------------------------ */

typedef struct {
    uint64_t id, start, limit, file, build_id;
    uint64_t nloc, nfunc, nfile, nline;     /* locations, and those with ... */
} mapping_t;

typedef struct {
    const ms_report_t *r;
    ms_writer_t out;        /* the Profile message, strings last */
    ms_writer_t sub, sub2;  /* scratch for nested messages */
    /* string table: index -> text */
    const char **str;
    size_t *str_len;
    uint64_t nstr, cap_str;
    map_t str_map;          /* (hash, length) -> first index of that key */
    char **owned;           /* strings made here, freed at the end */
    uint64_t nowned, cap_owned;
    map_t func_map;         /* (name, file) -> function id */
    uint64_t nfunc;
    map_t map_map;          /* (file, start) -> mapping index + 1 */
    mapping_t *maps;
    uint64_t nmaps, cap_maps;
    map_t loc_map;          /* (first frame, hash of the run) -> location id */
    uint64_t nloc;
    uint64_t noloc_id;      /* the "[no stack]" location, 0 = none */
    uint64_t *fr, *ids;     /* a sample's frames, and its location ids */
    uint64_t cap_fr, cap_ids;
    const ms_rsite_t *last_site;    /* whose location ids are in ids */
    uint64_t last_nids;
    uint64_t *task_path;            /* per task: string index + 1 */
    uint64_t *thread_str;           /* per thread: its label's index + 1 */
    map_t id_map;                   /* (kind, id) -> index: threads, tasks */
    int oom;
} prof_t;

static int
grow(prof_t *p, void **arr, uint64_t *cap, uint64_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    uint64_t nc = *cap ? *cap * 2 : 256;
    void *a = ms_xrealloc(*arr, nc * elem);
    if (a == NULL) {
        p->oom = 1;
        return -1;
    }
    *arr = a;
    *cap = nc;
    return 0;
}

/* The index of s[0, n) in the string table, added if new. s must live as
 * long as the profile (the report's strings, literals, or owned ones). */
static uint64_t
str_n(prof_t *p, const char *s, size_t n)
{
    uint64_t h = XXH3_64bits(s, n);
    /* keys collide only on (hash, length); a collision probes on with a
     * different second key */
    for (uint64_t salt = 0;; salt++) {
        slot_t *sl = map_slot(&p->str_map, h, (uint64_t)n << 8 | salt);
        if (sl == NULL) {
            p->oom = 1;
            return 0;
        }
        if (sl->used) {
            if (memcmp(p->str[sl->v], s, n) == 0)
                return sl->v;
            continue;
        }
        if (p->nstr == p->cap_str) {
            uint64_t nc = p->cap_str ? p->cap_str * 2 : 1024;
            const char **a = ms_xrealloc(p->str, nc * sizeof(*a));
            if (a != NULL)
                p->str = a;
            size_t *l = ms_xrealloc(p->str_len, nc * sizeof(*l));
            if (l != NULL)
                p->str_len = l;
            if (a == NULL || l == NULL) {
                p->oom = 1;
                return 0;
            }
            p->cap_str = nc;
        }
        p->str[p->nstr] = s;
        p->str_len[p->nstr] = n;
        map_set(&p->str_map, sl, h, (uint64_t)n << 8 | salt, p->nstr);
        return p->nstr++;
    }
}

static uint64_t
str(prof_t *p, const char *s)
{
    return str_n(p, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

/* A string made here: kept until the end, then interned. */
static uint64_t
str_owned(prof_t *p, char *s)
{
    if (s == NULL || grow(p, (void **)&p->owned, &p->cap_owned, p->nowned,
        sizeof(*p->owned))) {
        ms_xfree(s);
        p->oom = 1;
        return 0;
    }
    p->owned[p->nowned++] = s;
    return str(p, s);
}

static uint64_t
str_fmt(prof_t *p, const char *fmt, unsigned long long v)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), fmt, v);
    return str_owned(p, ms_xstrdup(tmp));
}

static int
has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* ---- functions, mappings, locations ---------------------------------------- */

static uint64_t
function_id(prof_t *p, const char *name, const char *file)
{
    uint64_t n = str(p, name), f = str(p, file);
    slot_t *s = map_slot(&p->func_map, n, f);
    if (s == NULL) {
        p->oom = 1;
        return 0;
    }
    if (s->used)
        return s->v;
    uint64_t id = ++p->nfunc;
    map_set(&p->func_map, s, n, f, id);
    ms_pb_uint(&p->sub2, 1, id);
    ms_pb_uint(&p->sub2, 2, n);
    ms_pb_uint(&p->sub2, 3, n);        /* system_name: the name as symbolized */
    ms_pb_uint(&p->sub2, 4, f);
    ms_pb_msg(&p->out, 5, &p->sub2);
    return id;
}

/* The address pprof is given for a frame: the call instruction, one byte
 * before the return address, as memscope named it (tracer/symbols.c), and
 * as the frame's offset within its module counts it. */
static uint64_t
frame_pc(const ms_rframe_t *f)
{
    return f->addr ? f->addr - 1 : 0;
}

/* The mapping of a frame's module, made or widened to hold its address. */
static mapping_t *
mapping_of(prof_t *p, const ms_rframe_t *f)
{
    uint64_t pc = frame_pc(f);
    if (f->module == NULL || f->module[0] == '\0' || f->offset > pc)
        return NULL;
    uint64_t file = str(p, f->module), start = pc - f->offset;
    slot_t *s = map_slot(&p->map_map, file, start);
    if (s == NULL) {
        p->oom = 1;
        return NULL;
    }
    if (!s->used) {
        if (grow(p, (void **)&p->maps, &p->cap_maps, p->nmaps,
            sizeof(*p->maps)))
            return NULL;
        mapping_t *m = &p->maps[p->nmaps++];
        memset(m, 0, sizeof(*m));
        m->id = p->nmaps;
        m->start = start;
        m->limit = start;
        m->file = file;
        map_set(&p->map_map, s, file, start, p->nmaps);
    }
    mapping_t *m = &p->maps[s->v - 1];
    if (m->build_id == 0 && has(f->build_id))
        m->build_id = str(p, f->build_id);
    if (pc >= m->limit)
        m->limit = pc + 1;
    return m;
}

/* The location of a run of frames fr[0, n), innermost first: frames
 * the report marks inlined into the next one, then the frame they were
 * inlined into (one address). Its lines go innermost first, the caller
 * last, as profile.proto orders them. Written the first time it is used;
 * 0 when out of memory. */
static uint64_t
location_of(prof_t *p, const uint64_t *fr, uint64_t n)
{
    const ms_report_t *r = p->r;
    uint64_t h = XXH3_64bits(fr, n * sizeof(*fr));
    slot_t *sl = map_slot(&p->loc_map, fr[0], h);
    if (sl == NULL) {
        p->oom = 1;
        return 0;
    }
    if (sl->used)
        return sl->v;
    uint64_t id = ++p->nloc;
    map_set(&p->loc_map, sl, fr[0], h, id);
    const ms_rframe_t *f = &r->frames[fr[n - 1]];
    mapping_t *m = mapping_of(p, f);
    /* the functions first: writing one uses the scratch buffers */
    int all_fn = 1, all_file = 1, all_line = 1;
    for (uint64_t k = 0; k < n; k++) {
        const ms_rframe_t *g = &r->frames[fr[k]];
        if (has(g->func))
            function_id(p, g->func, g->file);
        all_fn &= has(g->func);
        all_file &= has(g->func) && has(g->file);
        all_line &= has(g->func) && g->line > 0;
    }
    if (m != NULL) {
        m->nloc++;
        m->nfunc += all_fn;
        m->nfile += all_file;
        m->nline += all_line;
    }
    ms_pb_uint(&p->sub, 1, id);
    ms_pb_uint(&p->sub, 2, m != NULL ? m->id : 0);
    ms_pb_uint(&p->sub, 3, frame_pc(f));
    for (uint64_t k = 0; k < n; k++) {
        const ms_rframe_t *g = &r->frames[fr[k]];
        if (!has(g->func))
            continue;
        ms_pb_uint(&p->sub2, 1, function_id(p, g->func, g->file));
        ms_pb_uint(&p->sub2, 2, g->line > 0 ? (uint64_t)g->line : 0);
        ms_pb_msg(&p->sub, 4, &p->sub2);
    }
    ms_pb_msg(&p->out, 4, &p->sub);
    return id;
}

/* A stack that was not walked still counts: one location of that name. */
static uint64_t
nostack_id(prof_t *p)
{
    if (p->noloc_id != 0)
        return p->noloc_id;
    p->noloc_id = ++p->nloc;
    uint64_t fn = function_id(p, "[no stack]", NULL);
    ms_pb_uint(&p->sub, 1, p->noloc_id);
    ms_pb_uint(&p->sub2, 1, fn);
    ms_pb_msg(&p->sub, 4, &p->sub2);
    ms_pb_msg(&p->out, 4, &p->sub);
    return p->noloc_id;
}

static void
write_mappings(prof_t *p)
{
    for (uint64_t i = 0; i < p->nmaps; i++) {
        const mapping_t *m = &p->maps[i];
        ms_pb_uint(&p->sub, 1, m->id);
        ms_pb_uint(&p->sub, 2, m->start);
        ms_pb_uint(&p->sub, 3, m->limit);
        /* file_offset 0: addresses are offsets from the module's load
         * base (dladdr's dli_fbase), which maps the file's start */
        ms_pb_uint(&p->sub, 5, m->file);
        ms_pb_uint(&p->sub, 6, m->build_id);
        ms_pb_uint(&p->sub, 7, m->nloc > 0 && m->nfunc == m->nloc);
        ms_pb_uint(&p->sub, 8, m->nloc > 0 && m->nfile == m->nloc);
        ms_pb_uint(&p->sub, 9, m->nloc > 0 && m->nline == m->nloc);
        ms_pb_msg(&p->out, 3, &p->sub);
    }
}

/* ---- samples ---------------------------------------------------------------- */

enum { V_ALLOC_OBJECTS, V_ALLOC_SPACE, V_INUSE_OBJECTS, V_INUSE_SPACE, NV };

static int64_t
clamp64(uint64_t v)
{
    return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* A sample's values: the observed figures in exact mode, the rounded
 * estimates in sampled mode. */
static void
fill_values(const ms_report_t *r, uint64_t v[NV], const uint64_t obs[NV],
    const double est[NV])
{
    for (int k = 0; k < NV; k++)
        v[k] = r->sample_interval != 0 ? ms_report_est(est[k]) : obs[k];
}

/* The values of sample i: of row i, or of site i in a report without
 * rows. */
static void
sample_values(const ms_report_t *r, uint64_t i, uint64_t v[NV])
{
    if (r->nrows == 0) {
        const ms_rsite_t *s = &r->sites[i];
        fill_values(r, v, (const uint64_t[NV]){ s->allocs, s->bytes,
            s->live_blocks, s->live_bytes }, (const double[NV]){
            s->est_allocs, s->est_bytes, s->est_live_blocks,
            s->est_live_bytes });
        return;
    }
    /* a snapshot may count a free before its allocation */
    const ms_rrow_t *w = &r->rows[i];
    fill_values(r, v, (const uint64_t[NV]){ w->allocs, w->bytes,
        w->allocs > w->frees ? w->allocs - w->frees : 0,
        w->bytes > w->freed_bytes ? w->bytes - w->freed_bytes : 0 },
        (const double[NV]){ w->est_allocs, w->est_bytes, w->est_live_blocks,
        w->est_live_bytes });
}

typedef struct {
    uint64_t key, str;      /* label key; string value index */
    int64_t num;            /* numeric value when str is 0 */
    uint64_t unit;
} label_t;

/* The site's location ids into p->ids (p->last_nids of them); the site's
 * frames that exist, then their locations: writing one uses the scratch
 * buffers, so before the sample's own message. 0, or -1 without memory. */
static int
site_locations(prof_t *p, const ms_rsite_t *s)
{
    const ms_report_t *r = p->r;
    p->last_site = NULL;
    if (grow(p, (void **)&p->fr, &p->cap_fr, s->depth, sizeof(*p->fr)) ||
        grow(p, (void **)&p->ids, &p->cap_ids, s->depth + 1, sizeof(*p->ids)))
        return -1;
    uint64_t n = 0, nids = 0;
    for (uint64_t k = 0; k < s->depth; k++)
        if (s->frames[k] < r->nframes)
            p->fr[n++] = s->frames[k];
    for (uint64_t k = 0; k < n; ) {
        uint64_t j = k;
        while (j + 1 < n && (r->frames[p->fr[j]].flags & MS_RFRAME_INLINED))
            j++;
        p->ids[nids++] = location_of(p, p->fr + k, j + 1 - k);
        k = j + 1;
    }
    if (nids == 0)
        p->ids[nids++] = nostack_id(p);
    if (p->oom)
        return -1;
    p->last_site = s;
    p->last_nids = nids;
    return 0;
}

static void
write_sample(prof_t *p, const ms_rsite_t *s, const uint64_t v[NV],
    const label_t *lab, int nlab)
{
    if (v[0] == 0 && v[1] == 0 && v[2] == 0 && v[3] == 0)
        return;
    /* the site's samples come one after another: its location ids are
     * made once */
    if (s != p->last_site && site_locations(p, s) != 0)
        return;
    uint64_t nids = p->last_nids;
    /* location ids, leaf first (the site's order), packed */
    ms_writer_t *ids = &p->sub2;
    for (uint64_t k = 0; k < nids; k++)
        ms_pb_varint(ids, p->ids[k]);
    ms_pb_msg(&p->sub, 1, ids);
    for (int k = 0; k < NV; k++)
        ms_pb_varint(ids, (uint64_t)clamp64(v[k]));
    ms_pb_msg(&p->sub, 2, ids);
    for (int k = 0; k < nlab; k++) {
        ms_pb_uint(ids, 1, lab[k].key);
        ms_pb_uint(ids, 2, lab[k].str);
        if (lab[k].str == 0)
            ms_pb_uint(ids, 3, (uint64_t)lab[k].num);
        ms_pb_uint(ids, 4, lab[k].unit);
        ms_pb_msg(&p->sub, 3, ids);
    }
    ms_pb_msg(&p->out, 2, &p->sub);
}

enum { ID_THREAD = 1, ID_TASK = 2, ID_SITE = 3, ID_LIVEVAR = 4 };

static uint64_t
index_of(prof_t *p, uint64_t kind, uint64_t id)
{
    slot_t *s = map_slot(&p->id_map, kind, id);
    return s != NULL && s->used ? s->v : UINT64_MAX;
}

static void
index_add(prof_t *p, uint64_t kind, uint64_t id, uint64_t ix)
{
    slot_t *s = map_slot(&p->id_map, kind, id);
    if (s == NULL)
        p->oom = 1;
    else if (!s->used)      /* the first of a repeated id wins */
        map_set(&p->id_map, s, kind, id, ix);
}

/* The task's path from its outermost ancestor, "outer/inner"; a parent
 * chain that loops or runs past the task count stops. */
static uint64_t
task_path(prof_t *p, uint64_t ix)
{
    const ms_report_t *r = p->r;
    if (p->task_path[ix] != 0)
        return p->task_path[ix] - 1;
    uint64_t chain[64], n = 0;
    for (uint64_t t = ix; t != UINT64_MAX && n < r->ntasks && n < 64; n++) {
        chain[n] = t;
        t = r->tasks[t].parent != 0 ?
            index_of(p, ID_TASK, r->tasks[t].parent) : UINT64_MAX;
        for (uint64_t k = 0; k <= n && t != UINT64_MAX; k++)
            if (chain[k] == t)
                t = UINT64_MAX;
    }
    size_t len = 0;
    for (uint64_t k = 0; k < n; k++)
        len += (r->tasks[chain[k]].name ? strlen(r->tasks[chain[k]].name) : 0) + 1;
    char *s = ms_xmalloc(len + 1), *q = s;
    if (s == NULL) {
        p->oom = 1;
        return 0;
    }
    for (uint64_t k = n; k-- > 0; ) {
        const char *name = r->tasks[chain[k]].name ? r->tasks[chain[k]].name : "";
        size_t l = strlen(name);
        memcpy(q, name, l);
        q += l;
        if (k > 0)
            *q++ = '/';
    }
    *q = '\0';
    uint64_t i = str_owned(p, s);
    p->task_path[ix] = i + 1;
    return i;
}

static int
var_is_live(const ms_rvar_t *v)
{
    return v->status != NULL && (strcmp(v->status, "live") == 0 ||
        strcmp(v->status, "leaked") == 0 ||
        strcmp(v->status, "transferred") == 0);
}

/* The samples: one per row (or per site, in a report without rows),
 * then one per named block taken out of them. */
typedef struct {
    uint64_t n;                 /* rows, or sites */
    uint64_t (*rest)[NV];       /* each one's values less its named blocks */
    uint64_t *first, *end;      /* per site: its run of samples */
    uint64_t *var_of;           /* per variable: its sample, UINT64_MAX */
} samples_t;

static uint64_t
site_of(const ms_report_t *r, uint64_t i)
{
    return r->nrows ? r->rows[i].site : i;
}

/* The sample a named block comes out of: one of its site's whose values
 * hold it, of the block's thread and task if there is such a one. */
static uint64_t
var_sample(const ms_report_t *r, const samples_t *sm, const ms_rvar_t *v,
    uint64_t s, const uint64_t want[NV])
{
    uint64_t any = UINT64_MAX;
    for (uint64_t i = sm->first[s]; i < sm->end[s]; i++) {
        int fits = 1;
        for (int k = 0; k < NV; k++)
            fits &= sm->rest[i][k] >= want[k];
        if (!fits)
            continue;
        if (r->nrows == 0 || (r->rows[i].thread == v->thread &&
                r->rows[i].task == v->task))
            return i;
        if (any == UINT64_MAX)
            any = i;
    }
    return any;
}

/* In exact mode, a named block is a sample of its own, taken out of one of
 * its site's; one that fits in none of them (a block named twice, or
 * resized by realloc since) stays where it is. */
static void
split_vars(prof_t *p, samples_t *sm)
{
    const ms_report_t *r = p->r;
    for (uint64_t i = 0; i < r->nvars; i++) {
        const ms_rvar_t *v = &r->vars[i];
        sm->var_of[i] = UINT64_MAX;
        if (r->sample_interval != 0 || v->address == 0 || v->size == 0 ||
            v->status == NULL || strcmp(v->status, "value") == 0)
            continue;
        uint64_t s = index_of(p, ID_SITE, v->site);
        if (s == UINT64_MAX)
            continue;
        int live = var_is_live(v);
        if (live && index_of(p, ID_LIVEVAR, v->address) != UINT64_MAX)
            continue;
        uint64_t want[NV] = { 1, v->size, (uint64_t)live, live ? v->size : 0 };
        uint64_t j = var_sample(r, sm, v, s, want);
        if (j == UINT64_MAX)
            continue;
        for (int k = 0; k < NV; k++)
            sm->rest[j][k] -= want[k];
        if (live)
            index_add(p, ID_LIVEVAR, v->address, i);
        sm->var_of[i] = j;
    }
}

/* The thread and task labels of sample i (of rows: its thread and task);
 * returns how many it put in lab. */
static int
owner_labels(prof_t *p, uint64_t thread, uint64_t task, label_t *lab)
{
    const ms_report_t *r = p->r;
    int n = 0;
    uint64_t t = index_of(p, ID_THREAD, thread);
    if (t != UINT64_MAX) {
        if (p->thread_str[t] == 0) {
            const ms_rthread_t *th = &r->threads[t];
            p->thread_str[t] = 1 + (has(th->name) ? str(p, th->name) :
                str_fmt(p, "%llu", (unsigned long long)th->tid));
        }
        lab[n++] = (label_t){ str(p, "thread"), p->thread_str[t] - 1, 0, 0 };
    }
    uint64_t k = task != 0 ? index_of(p, ID_TASK, task) : UINT64_MAX;
    if (k != UINT64_MAX)
        lab[n++] = (label_t){ str(p, "task"), task_path(p, k), 0, 0 };
    return n;
}

static void
write_row_sample(prof_t *p, const samples_t *sm, uint64_t i)
{
    const ms_report_t *r = p->r;
    label_t lab[2];
    int n = r->nrows ? owner_labels(p, r->rows[i].thread, r->rows[i].task,
        lab) : 0;
    write_sample(p, &r->sites[site_of(r, i)], sm->rest[i], lab, n);
}

/* A named block's sample: labelled with the thread and task of the row it
 * came out of (where its allocation was counted), or in a report without
 * rows with the variable's own. */
static void
write_var_sample(prof_t *p, const samples_t *sm, const ms_rvar_t *v)
{
    const ms_report_t *r = p->r;
    uint64_t j = sm->var_of[v - r->vars];
    int live = var_is_live(v);
    uint64_t val[NV] = { 1, v->size, (uint64_t)live, live ? v->size : 0 };
    label_t lab[4];
    int n = r->nrows ? owner_labels(p, r->rows[j].thread, r->rows[j].task, lab) :
        owner_labels(p, v->thread, v->task, lab);
    lab[n++] = (label_t){ str(p, "variable"), str(p, has(v->name) ?
        v->name : "?"), 0, 0 };
    lab[n++] = (label_t){ str(p, "bytes"), 0, clamp64(v->size),
        str(p, "bytes") };
    write_sample(p, &r->sites[site_of(r, j)], val, lab, n);
}

/* Lays out the samples; -1 without memory. */
static int
samples_make(prof_t *p, samples_t *sm)
{
    const ms_report_t *r = p->r;
    sm->n = r->nrows ? r->nrows : r->nsites;
    sm->rest = ms_xmalloc((sm->n ? sm->n : 1) * sizeof(*sm->rest));
    sm->first = ms_xcalloc((r->nsites ? r->nsites : 1) * sizeof(uint64_t));
    sm->end = ms_xcalloc((r->nsites ? r->nsites : 1) * sizeof(uint64_t));
    sm->var_of = ms_xmalloc((r->nvars ? r->nvars : 1) * sizeof(uint64_t));
    if (sm->rest == NULL || sm->first == NULL || sm->end == NULL ||
        sm->var_of == NULL)
        return -1;
    /* a site's samples are one run (rows come sorted by site) */
    for (uint64_t i = sm->n; i-- > 0; ) {
        uint64_t s = site_of(r, i);
        if (s >= r->nsites)
            continue;
        if (sm->end[s] == 0 || sm->first[s] != i + 1)
            sm->end[s] = i + 1;
        sm->first[s] = i;
        sample_values(r, i, sm->rest[i]);
    }
    return 0;
}

static void
samples_free(samples_t *sm)
{
    ms_xfree(sm->rest);
    ms_xfree(sm->first);
    ms_xfree(sm->end);
    ms_xfree(sm->var_of);
}

static void
value_type(prof_t *p, unsigned field, const char *type, const char *unit)
{
    ms_pb_uint(&p->sub, 1, str(p, type));
    ms_pb_uint(&p->sub, 2, str(p, unit));
    ms_pb_msg(&p->out, field, &p->sub);
}

static void
build(prof_t *p)
{
    const ms_report_t *r = p->r;
    str(p, "");     /* string 0 is the empty string */
    value_type(p, 1, "alloc_objects", "count");
    value_type(p, 1, "alloc_space", "bytes");
    value_type(p, 1, "inuse_objects", "count");
    value_type(p, 1, "inuse_space", "bytes");

    for (uint64_t i = 0; i < r->nthreads; i++)
        index_add(p, ID_THREAD, r->threads[i].id, i);
    for (uint64_t i = 0; i < r->ntasks; i++)
        index_add(p, ID_TASK, r->tasks[i].id, i);
    for (uint64_t i = 0; i < r->nsites; i++)
        index_add(p, ID_SITE, r->sites[i].id, i);
    samples_t sm;
    memset(&sm, 0, sizeof(sm));
    if (samples_make(p, &sm) != 0 || p->oom) {
        p->oom = 1;
        goto out;
    }
    split_vars(p, &sm);
    for (uint64_t i = 0; i < sm.n && !p->oom; i++)
        if (site_of(r, i) < r->nsites)
            write_row_sample(p, &sm, i);
    for (uint64_t i = 0; i < r->nvars && !p->oom; i++)
        if (sm.var_of[i] != UINT64_MAX)
            write_var_sample(p, &sm, &r->vars[i]);
    write_mappings(p);

    ms_pb_uint(&p->out, 9, clamp64(r->start_unix_ns + r->duration_ns));
    ms_pb_uint(&p->out, 10, clamp64(r->duration_ns));
    /* sampled mode: one sample per `period` bytes on average; exact
     * mode: every block, a period of one byte */
    value_type(p, 11, "space", "bytes");
    ms_pb_uint(&p->out, 12, r->sample_interval != 0 ? r->sample_interval : 1);
    char c[512];
    snprintf(c, sizeof(c), "memscope: %s, pid %lld, %s mode%s, written at %s",
        r->program ? r->program : "?", (long long)r->pid,
        r->mode ? r->mode : "?", r->sample_interval ? " (estimates)" : "",
        r->trigger ? r->trigger : "?");
    ms_pb_uint(&p->out, 13, str_owned(p, ms_xstrdup(c)));
    if (r->snapshot != 0)
        ms_pb_uint(&p->out, 13, str_fmt(p, "snapshot %llu",
            (unsigned long long)r->snapshot));
    ms_pb_uint(&p->out, 14, str(p, "inuse_space"));
    for (uint64_t i = 0; i < p->nstr; i++)
        ms_pb_bytes(&p->out, 6, p->str[i], p->str_len[i]);
out:
    samples_free(&sm);
}

int
ms_pprof_encode(const ms_report_t *r, unsigned char **out, size_t *len)
{
    prof_t *p = ms_xcalloc(sizeof(*p));
    if (p == NULL)
        return -ENOMEM;
    p->r = r;
    ms_writer_open_mem(&p->out);
    ms_writer_open_mem(&p->sub);
    ms_writer_open_mem(&p->sub2);
    p->task_path = ms_xcalloc((r->ntasks ? r->ntasks : 1) * sizeof(uint64_t));
    p->thread_str = ms_xcalloc((r->nthreads ? r->nthreads : 1) *
        sizeof(uint64_t));
    if (p->task_path == NULL || p->thread_str == NULL)
        p->oom = 1;
    else
        build(p);
    int bad = p->oom || p->out.err || p->sub.err || p->sub2.err ||
        p->str_map.oom || p->func_map.oom || p->map_map.oom ||
        p->id_map.oom || p->loc_map.oom;
    ms_pb_free(&p->sub);
    ms_pb_free(&p->sub2);
    ms_xfree(p->str);
    ms_xfree(p->str_len);
    for (uint64_t i = 0; i < p->nowned; i++)
        ms_xfree(p->owned[i]);
    ms_xfree(p->owned);
    ms_xfree(p->str_map.s);
    ms_xfree(p->func_map.s);
    ms_xfree(p->map_map.s);
    ms_xfree(p->id_map.s);
    ms_xfree(p->maps);
    ms_xfree(p->loc_map.s);
    ms_xfree(p->fr);
    ms_xfree(p->ids);
    ms_xfree(p->task_path);
    ms_xfree(p->thread_str);
    if (bad) {
        ms_pb_free(&p->out);
        ms_xfree(p);
        *out = NULL;
        *len = 0;
        return -ENOMEM;
    }
    *out = (unsigned char *)ms_writer_take(&p->out, len);
    ms_xfree(p);
    return *out != NULL ? 0 : -ENOMEM;
}

void
ms_pprof_write_gz(ms_writer_t *w, const ms_report_t *r, int stored)
{
    unsigned char *buf;
    size_t len;
    if (ms_pprof_encode(r, &buf, &len) != 0) {
        if (w->err == 0)
            w->err = ENOMEM;    /* no file rather than a partial one */
        return;
    }
    ms_gzip_write(w, buf != NULL ? buf : (unsigned char *)"", len,
        stored ? MS_GZIP_STORED : MS_GZIP_DEFLATE);
    ms_xfree(buf);
}

void
ms_pprof_write(ms_writer_t *w, const ms_report_t *r)
{
    ms_pprof_write_gz(w, r, 0);
}
