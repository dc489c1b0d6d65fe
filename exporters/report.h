/*
 * report.h - a report as plain data: what every exporter writes from, and
 * what the binary format stores whole, so that any format can be made
 * again from a .bin file with the same bytes (docs/format.md).
 */
#ifndef MS_REPORT_H
#define MS_REPORT_H

#include <stdint.h>
#include <stddef.h>

#define MS_REPORT_LIFE_BUCKETS 24
#define MS_REPORT_SIZE_BUCKETS 48
/* Allocation kinds (malloc ... xallocx) and release kinds (free ...
 * xallocx), in the order of ms_kind_t and ms_free_kind_t (tracer/trace.h);
 * ms_report_alloc_kind_name() and ms_report_free_kind_name() name them. */
#define MS_REPORT_ALLOC_KINDS 9
#define MS_REPORT_FREE_KINDS 8

/* Leak classes by reachability (tracer/leaks.c), the most severe first:
 * no pointer to the block from roots or reachable blocks; pointed to only
 * from lost blocks; reached only through pointers into its interior;
 * reachable. ms_report_leak_class_name() names them. */
enum { MS_LEAK_DEFINITE, MS_LEAK_INDIRECT, MS_LEAK_POSSIBLE,
    MS_LEAK_REACHABLE, MS_LEAK_CLASSES };

typedef struct {
    uint64_t addr;          /* return address in the traced process */
    uint64_t offset;        /* within its module */
    char *func;             /* NULL = unknown */
    char *file;             /* NULL = unknown */
    char *module;           /* NULL = unknown */
    int64_t line;           /* 0 = unknown */
    char *build_id;         /* the module's GNU build ID, hex; NULL = unknown */
    uint64_t flags;         /* MS_RFRAME_* */
} ms_rframe_t;

#define MS_RFRAME_INLINED 1u    /* inlined into the frame after it */

typedef struct {
    uint64_t id;            /* stack id */
    uint64_t depth;
    uint64_t *frames;       /* indexes into ms_report_t.frames */
    uint64_t allocs, bytes, frees, freed_bytes;     /* observed records */
    uint64_t live_blocks, live_bytes;               /* observed */
    uint64_t temporaries;   /* freed before the thread's next allocation */
    uint64_t usable_bytes, live_usable_bytes;   /* size classes' bytes */
    double est_allocs, est_bytes, est_live_blocks, est_live_bytes;
    uint64_t life[MS_REPORT_LIFE_BUCKETS];
    /* live blocks and their bytes by leak class (when leak_checked) */
    uint64_t leak_blocks[MS_LEAK_CLASSES], leak_bytes[MS_LEAK_CLASSES];
    uint64_t suppressed;    /* 1: a suppression matched a frame (suppress.c) */
} ms_rsite_t;

/* The part of a site's figures made by one thread in one task: a site's
 * rows sum to its allocs, bytes, frees, freed_bytes and estimates. A free
 * counts in the row of the block's thread and task, whoever freed it. */
typedef struct {
    uint64_t site;          /* index into ms_report_t.sites */
    uint64_t thread;        /* the allocating thread's id (ms_rthread_t.id) */
    uint64_t task;          /* task id (ms_rtask_t.id), 0 = none */
    uint64_t allocs, bytes, frees, freed_bytes;     /* observed records */
    double est_allocs, est_bytes, est_live_blocks, est_live_bytes;
} ms_rrow_t;

typedef struct {
    uint64_t id;
    int64_t tid;
    char *name;
    uint64_t exited;
    uint64_t allocs, frees, reallocs, bytes_allocated, bytes_freed;
    int64_t live_bytes;
} ms_rthread_t;

typedef struct {
    uint64_t id, parent;
    char *name;
    uint64_t ended, threads_seen;
    uint64_t begin_ns, end_ns;          /* since start; end 0 = running */
    uint64_t allocs, frees, bytes, freed_bytes;
    int64_t live_bytes, peak_live_bytes;
} ms_rtask_t;

typedef struct {
    char *owner;
    uint64_t t_ns;
} ms_rowner_t;

typedef struct {
    uint64_t id;
    uint64_t address;
    char *name, *type, *file, *func, *value;
    int64_t line;
    uint64_t size, elem_size, count;
    uint64_t owned;
    char *status;           /* live, freed, leaked, transferred, value */
    uint64_t thread, task, site;
    uint64_t created_ns, freed_ns;      /* since start */
    uint64_t nowners;
    ms_rowner_t *owners;
    uint64_t dropped_owners;
} ms_rvar_t;

typedef struct {
    char *kind;             /* double_free, invalid_free, interior_free,
                               mismatched_free */
    char *alloc_kind;       /* an allocation kind's name; NULL = unknown */
    char *free_kind;        /* a release kind's name */
    uint64_t address;       /* the pointer passed */
    uint64_t block, size;   /* the block it falls in, when known (0) */
    uint64_t thread, t_ns;
    uint64_t nalloc_frames, nfree_frames;
    uint64_t *alloc_frames, *free_frames;   /* indexes into frames */
} ms_rherr_t;

/* One leak suppression (LeakSanitizer's leak:PATTERN) and what it hid:
 * the sites it was the first to match, their live blocks and bytes. */
typedef struct {
    char *pattern;          /* as written */
    char *glob;             /* '*' for any run, anchored at both ends */
    uint64_t sites, blocks, bytes;
} ms_rsupp_t;

typedef struct {
    uint64_t t_ns;
    int64_t heap_live, rss, cpu_ns, io_read, io_write;
    int64_t je_allocated, je_active, je_resident, je_mapped, je_retained;
} ms_rpoint_t;

typedef struct {
    /* header */
    char *program;
    int64_t pid;
    char *mode;                 /* "exact" or "sampled" */
    uint64_t sample_interval;   /* bytes, 0 in exact mode */
    uint64_t stack_depth;
    char *trigger;              /* "exit", "signal", "api", "heap_error" */
    uint64_t snapshot;          /* snapshot number, 0 = not a snapshot */
    uint64_t start_unix_ns, duration_ns;
    uint64_t clock_resolution_ns;
    uint64_t timeline_interval_ns;
    char *byte_basis;           /* "requested" or "usable" */

    /* summary */
    uint64_t allocs, frees, reallocs, bytes_allocated, bytes_freed;
    int64_t live_blocks, live_bytes, peak_live_bytes;
    uint64_t dropped_events, untracked_frees, dropped_tasks;
    uint64_t tracer_overhead_bytes, table_bytes, tracked_blocks;
    uint64_t stacks;
    int64_t rss, peak_rss;
    int64_t je_allocated, je_active, je_resident, je_mapped, je_retained;

    uint64_t size_hist[MS_REPORT_SIZE_BUCKETS];
    uint64_t life_hist[MS_REPORT_LIFE_BUCKETS];
    /* allocs and frees by kind: they sum to allocs and frees */
    uint64_t alloc_kinds[MS_REPORT_ALLOC_KINDS];
    uint64_t free_kinds[MS_REPORT_FREE_KINDS];

    ms_rframe_t *frames;    uint64_t nframes;
    ms_rsite_t *sites;      uint64_t nsites;
    /* the sites by (site, thread, task), in that order; none in a report
     * read from a .bin written before rows were kept */
    ms_rrow_t *rows;        uint64_t nrows;
    ms_rthread_t *threads;  uint64_t nthreads;
    ms_rtask_t *tasks;      uint64_t ntasks;
    ms_rvar_t *vars;        uint64_t nvars;
    ms_rpoint_t *timeline;  uint64_t ntimeline;
    ms_rherr_t *heap_errors; uint64_t nheap_errors;
    uint64_t dropped_heap_errors;

    /* leak classes: 1 when measured (exact mode, at exit), with the live
     * blocks and bytes of each class; 0 = not measured */
    uint64_t leak_checked;
    uint64_t leak_blocks[MS_LEAK_CLASSES], leak_bytes[MS_LEAK_CLASSES];

    /* leak suppressions applied (suppress.c), nsupps 0 = none: the sites
     * one matched are out of the leak lists, their live blocks counted
     * here, and by class in supp_leak_*, which the summaries take out of
     * leak_blocks/leak_bytes above (ms_report_leak_shown); the .bin keeps
     * the classes whole and no suppression */
    ms_rsupp_t *supps;      uint64_t nsupps;
    char *supp_file;
    uint64_t supp_sites, supp_blocks, supp_bytes;
    uint64_t supp_leak_blocks[MS_LEAK_CLASSES], supp_leak_bytes[MS_LEAK_CLASSES];
} ms_report_t;

/* A frame's name for display in every format: its function (with
 * " [inlined]" after it for an inlined one); without one, its module's file name and offset ("libstdc++.so.6+0x9ba80",
 * stable across runs); without a module, "[unknown]". Made in buf (64
 * bytes at least) when it is not the function. */
const char *ms_frame_label(const ms_rframe_t *f, char *buf, size_t len);

/* Sorts the n items of size bytes at a in place (heapsort: it allocates
 * nothing, where qsort may call malloc), so that before(x, y, ctx) holds
 * for no item x after an item y. */
void ms_report_sort(void *a, uint64_t n, size_t size,
    int (*before)(const void *x, const void *y, void *ctx), void *ctx);

/* Frees r and all it holds (r may be NULL). */
void ms_report_free(ms_report_t *r);

/* ---- the render layer: what every exporter and `memscope diff` derive
 * from a report, written once (report.c) ---------------------------------- */

/* A sampled estimate as a whole number: rounded to nearest, 0 for one not
 * positive (NaN too), UINT64_MAX for one beyond it. */
uint64_t ms_report_est(double v);
/* The same for a difference of estimates, of either sign. */
int64_t ms_report_est_signed(double v);

/* Size bucket b holds request sizes in [lower, upper] bytes: bucket 0 is
 * size 0, bucket b is [2^(b-1), 2^b - 1]. */
uint64_t ms_report_size_lower(int b);
uint64_t ms_report_size_upper(int b);

/* The index, within s->frames, of the site's first meaningful frame: the
 * first with a function name that is not an allocation wrapper (malloc,
 * operator new, std::allocator...); 0 when there is none. */
uint64_t ms_report_first_frame(const ms_report_t *r, const ms_rsite_t *s);
/* The same for any list of n frame indexes. */
uint64_t ms_report_first_of(const ms_report_t *r, const uint64_t *frames,
    uint64_t n);

/* Lifetime bucket b holds lifetimes in [lower, upper) ms: bucket 0 is
 * [0, 1), bucket b is [2^(b-1), 2^b); the last has no upper bound
 * (UINT64_MAX). The clock ticks each millisecond. */
uint64_t ms_report_life_lower_ms(int b);
uint64_t ms_report_life_upper_ms(int b);

/* The name of allocation kind k and of release kind k; NULL when k is out
 * of range. */
const char *ms_report_alloc_kind_name(unsigned k);
const char *ms_report_free_kind_name(unsigned k);

/* The name of leak class c ("definitely_lost", "indirectly_lost",
 * "possibly_lost", "still_reachable"); NULL when out of range. */
const char *ms_report_leak_class_name(unsigned c);
/* A leak group's class: the most severe class among a site's live blocks;
 * MS_LEAK_CLASSES when the report has no classes or the site none. */
unsigned ms_report_site_class(const ms_report_t *r, const ms_rsite_t *s);
/* The lost bytes of a site: its definitely, indirectly and possibly lost. */
uint64_t ms_report_site_lost_bytes(const ms_rsite_t *s);

/* ---- leak suppressions (suppress.c) ----------------------------------------
 * A file of LeakSanitizer's suppressions, which heaptrack also reads: one
 * TYPE:PATTERN a line, '#' comments and blank lines skipped; lines of type
 * "leak" are kept, other types (other sanitizers') ignored. A pattern
 * matches a frame whose function, source file or module holds it: a
 * substring, '*' standing for any run of characters, '^' at its start and
 * '$' at its end anchoring it there. A site one matches in any frame of
 * its stack is suppressed. */

/* Reads path's suppressions into r (replacing any). Returns 0, or -1 with
 * a one-line reason in err. Reads with open/read: no stdio. */
int ms_report_supp_load(ms_report_t *r, const char *path, char *err,
    size_t errlen);
/* Marks the sites r's suppressions match and counts them in each
 * suppression and in r's supp_* totals. After the leak classes are in. */
void ms_report_suppress(ms_report_t *r);
/* The summary's blocks and bytes by leak class, less the suppressed. */
void ms_report_leak_shown(const ms_report_t *r, uint64_t *blocks,
    uint64_t *bytes);
/* Does glob (a suppression's) match s? */
int ms_report_supp_match(const char *glob, const char *s);
void ms_report_supp_free(ms_report_t *r);

/* What sites are ranked by: live bytes; bytes allocated; allocation
 * calls; leaks (the most severe leak class first, then live bytes);
 * temporaries. Estimates in a sampled report, except temporaries (sampled
 * blocks only). */
typedef enum { MS_RANK_LIVE, MS_RANK_ALLOCATED, MS_RANK_CALLS, MS_RANK_LEAK,
    MS_RANK_TEMPORARIES } ms_rank_t;
/* A site's key for a ranking (larger ranks first; 0 or less: not ranked). */
double ms_report_site_rank(const ms_report_t *r, const ms_rsite_t *s,
    ms_rank_t by);
/* Up to k indexes into r->sites of the sites with the largest positive
 * keys, largest first (ties: the lower index first); returns how many. */
int ms_report_top_sites(const ms_report_t *r, ms_rank_t by, uint64_t *idx,
    int k);

/* A site's figures as every format shows them: observed counts in an
 * exact report, rounded estimates in a sampled one (then estimated = 1). */
typedef struct {
    uint64_t allocs, bytes, live_blocks, live_bytes;
    int estimated;
} ms_site_figs_t;
void ms_report_site_figs(const ms_report_t *r, const ms_rsite_t *s,
    ms_site_figs_t *f);

/* Whether the report was taken at exit (a live block is then a leak). */
int ms_report_at_exit(const ms_report_t *r);
/* Why the leak classes were not measured ("sampled mode: ..."), or NULL
 * when they were. */
const char *ms_report_leak_unmeasured(const ms_report_t *r);

#endif
