/*
 * internal.h - what the files of tracer/ and exporters/ share.
 *
 * Data flow (docs/design.md): the allocator calls the hooks in trace.c;
 * each thread owns an ms_thread_t with its side table (table.c), its
 * per-site statistics (sites.c) and its exact counters. Exporters read all
 * of it through report.c, which builds an ms_report_t, and never touch the
 * hot-path structures directly.
 */
#ifndef MS_TRACER_INTERNAL_H
#define MS_TRACER_INTERNAL_H

#include <emmintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "memscope.h"
#include "trace.h"
#include "../exporters/report.h"

#define MS_HIDDEN  __attribute__((visibility("hidden")))
#define MS_EXPORT  __attribute__((visibility("default")))
#define MS_TLS     __attribute__((tls_model("initial-exec")))

#define MS_MAX_DEPTH       64
/* A stack holds up to MS_MAX_DEPTH frames and one mark after them: */
#define MS_MAX_FRAMES      (MS_MAX_DEPTH + 1)
#define MS_FRAME_TRUNCATED 1    /* more frames, past the depth limit */
#define MS_FRAME_CUT       2    /* the caller could not be unwound */
/* The histograms' buckets are the report's (exporters/report.h). */
#define MS_LIFE_BUCKETS    MS_REPORT_LIFE_BUCKETS   /* lifetime: <1 ms, x2 */
#define MS_SIZE_BUCKETS    MS_REPORT_SIZE_BUCKETS   /* request size: log2 */

/* A test-and-set lock: uncontended it costs one xchg. */
typedef struct { int v; } ms_spin_t;
static inline void
ms_spin_lock(ms_spin_t *l)
{
    while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE)) {
        for (int i = 0; __atomic_load_n(&l->v, __ATOMIC_RELAXED); i++)
            if (i > 64) {
                sched_yield();
                i = 0;
            } else {
                __builtin_ia32_pause();
            }
    }
}
static inline void
ms_spin_unlock(ms_spin_t *l)
{
    __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* ---- options (options.c) ------------------------------------------------ */
typedef struct {
    int enable;             /* MEMSCOPE_ENABLE */
    uint64_t sample;        /* MEMSCOPE_SAMPLE: 0 = exact, else bytes */
    int stack_depth;        /* MEMSCOPE_STACK_DEPTH */
    int interval_ms;        /* MEMSCOPE_INTERVAL_MS, 0 = no timeline */
    int auto_export;        /* MEMSCOPE_AUTO_EXPORT */
    int signal;             /* MEMSCOPE_SIGNAL: signal number, 0 = none */
    char out[1024];         /* MEMSCOPE_OUT */
    char name[256];         /* MEMSCOPE_NAME ("" = <program>-<pid>) */
    unsigned formats;       /* MEMSCOPE_FORMATS, MEMSCOPE_FORMAT_* bits */
    int verbose;            /* MEMSCOPE_VERBOSE */
    int test_mode;          /* MEMSCOPE_TEST_MODE */
    int file_mode;          /* MEMSCOPE_FILE_MODE */
    int abort_on_error;     /* MEMSCOPE_ABORT_ON_ERROR */
    int leak_check;         /* MEMSCOPE_LEAK_CHECK */
    int children;           /* MEMSCOPE_CHILDREN: MS_CHILDREN_* */
    char run_log[1024];     /* MEMSCOPE_RUN_LOG ("" = none) */
    char symbol_cache[1024]; /* MEMSCOPE_SYMBOL_CACHE ("" = none) */
    char suppressions[1024]; /* MEMSCOPE_SUPPRESSIONS ("" = none) */
} ms_options_t;

/* MEMSCOPE_CHILDREN: which processes started from the one named are
 * traced besides it (the exec of it is it: exec keeps the pid) */
enum { MS_CHILDREN_NONE, MS_CHILDREN_FORK, MS_CHILDREN_ALL };

extern ms_options_t ms_opt;
void ms_options_load(void);
/* Logs the options in force on stderr (MEMSCOPE_VERBOSE). */
void ms_options_print(void);

/* ---- the tracer's own memory (arena.c) ---------------------------------- */
/* Creates the arena (at start-up). */
void ms_arena_init(void);
/* Each returns a block of the arena, or NULL without memory (ms_trealloc
 * keeps p then); ms_tcalloc's is zeroed. */
void *ms_tmalloc(size_t n);
void *ms_tcalloc(size_t n);
void *ms_trealloc(void *p, size_t n);
void ms_tfree(void *p);
/* As ms_tcalloc, in whole cache lines of its own: for what one thread
 * writes at each malloc and free (freed by ms_tfree; not for
 * ms_trealloc). */
void *ms_tcalloc_line(size_t n);
/* Returns a copy of s in the arena, or NULL without memory. */
char *ms_tstrdup(const char *s);
/* Bytes the tracer's arena holds (allocated by the tracer for itself). */
uint64_t ms_arena_allocated(void);

/* ---- diagnostics (util.c) ----------------------------------------------- */
/* Writes a line to stderr without allocating; printf-style. */
void ms_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like ms_log but only the first time for a given once-flag. */
void ms_warn_once(int *flag, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* All n bytes written to fd (at off), or read from fd at off (util.c):
 * 0, or -1 at an error or (read) the end of the file first. */
int ms_fd_write(int fd, const void *p, size_t n);
int ms_fd_pwrite(int fd, const void *p, size_t n, uint64_t off);
int ms_fd_pread(int fd, void *p, size_t n, uint64_t off);
uint64_t ms_now_ns(void);           /* monotonic, coarse: cheap */
uint64_t ms_now_precise_ns(void);   /* monotonic, precise */
uint64_t ms_clock_resolution_ns(void);

/* ---- side table (table.c) ----------------------------------------------- */
/* A record of a live tracked block, as the table's callers see it (the
 * table keeps it packed in 16 bytes: ms_tslot_t). Its task is its site
 * slot's (slots are per stack and task); whether it was a temporary (freed
 * before the thread's next allocation) is told by ms_thread_t.last_ptr. */
typedef struct {
    uintptr_t ptr;
    uint64_t size;          /* requested bytes (up to 1 TiB kept) */
    uint32_t time_ms;       /* allocation time, ms since start (tick) */
    uint32_t site;          /* owner's site slot (sites.c), < 2^28 kept */
    uint8_t usable;         /* usable bytes, as ms_usable_code() */
    uint8_t kind;           /* ms_kind_t */
    uint8_t flags;          /* MS_REC_* */
} ms_rec_t;

/* A jemalloc size class in 8 bits: classes are (4 + m) << (lg - 2), m < 4,
 * so (lg, m) names each exactly. */
static inline unsigned
ms_usable_code(uint64_t u)
{
    if (u < 4)
        return 0;
    unsigned lg = 63u - (unsigned)__builtin_clzll(u);
    return (lg << 2) | (unsigned)((u >> (lg - 2)) & 3u);
}

static inline uint64_t
ms_usable_of_code(unsigned code)
{
    unsigned lg = code >> 2;
    return lg < 2 ? 0 : (uint64_t)(4u + (code & 3u)) << (lg - 2);
}

#define MS_REC_VARIABLE 1u  /* named by the program: see api.c */
#define MS_REC_SAMPLED  2u  /* in sampled mode: a sampled block */

#define MS_REGION_BITS    14    /* 16 KiB of address space a segment */

/* A record as a segment keeps it (table.h). Both forms begin with the
 * block's offset in the region (14 bits: the region is the segment's),
 * flags (2) and the usable size's code (8). Narrow, 12 bytes, the form
 * of most: the requested size (15), the kind (4), the site slot (21);
 * the time (32). Wide, 16 bytes, the form of a segment holding any record
 * the narrow one cannot: the requested size (40); the kind (4), the site
 * slot (28), the time (32). */
typedef struct {
    uint64_t a;             /* off:14 flags:2 usable:8, then narrow
                               size:15 kind:4 site:21, wide size:40 */
    uint64_t b;             /* narrow: time_ms; wide: kind:4 site:28
                               time_ms:32 */
} ms_tslot_t;

/* A segment of a table: the records of one address region, in groups of
 * 16 slots, each slot with a control byte (table.h). */
typedef struct {
    /* a region holds at most 2^14 records: 16 bits suffice */
    uint16_t cap;           /* slots: 4, 8, or 16 a group */
    uint16_t ngroups;       /* groups of 16 control bytes (1 below 16) */
    uint16_t count;         /* records */
    uint16_t left;          /* inserts into empty slots before a rehash */
    uint16_t low;           /* shrinks when count falls below */
    uint16_t shrunk_from;   /* its capacity before a shrink made it, or 0 */
    uint32_t made_ms;       /* when it was made (ms_clock_ms) */
    uint16_t stride;        /* bytes a slot: 12 (narrow) or 16 (wide) */
    uint16_t nwide;         /* records only the wide form holds */
    uint8_t ctrl[];         /* 16 * ngroups control bytes, then the cap
                               slots (ms_tseg_slots) */
} ms_tseg_t;

/* The directory: address region -> its segment, open addressing. */
typedef struct {
    uintptr_t region;       /* ptr >> MS_REGION_BITS; 0 = empty entry */
    ms_tseg_t *seg;
} ms_tdirent_t;

typedef struct {
    uint64_t mask;          /* entries - 1 */
    uint64_t count;
    ms_tdirent_t e[];
} ms_tdir_t;

#define MS_TABLE_SEG_MIN  4u    /* a segment's least capacity */
#define MS_TABLE_NEAR     16u   /* regions the owner keeps at hand */

/*
 * Only the owning thread writes its table. It bumps seq (odd while
 * writing) around every change, so other threads can read it without a
 * lock and retry when seq moved (a seqlock). Replaced segments and
 * directories are retired, and freed only when no reader is inside the
 * table.
 */
typedef struct {
    ms_tdir_t *dir;                     /* NULL until first used */
    /* count and seq, which the owner writes at each change, apart from
     * dir, which each foreign free reads (ms_table_peek_held) */
    uint64_t count __attribute__((aligned(64)));
    uint64_t seq;
    uint64_t bytes;                     /* segments and directory */
    struct ms_retired { void *p; uint64_t bytes; } *retired;
    uint32_t nretired, capretired;
    /* the owner's regions last looked up, at region % MS_TABLE_NEAR, and
     * their segments (region 0: none): a look-up's common case, without
     * the directory's hash and probe */
    ms_tdirent_t near[MS_TABLE_NEAR];
    /* threads reading this table now (ms_table_peek and the like): its
     * own line, so that readers do not slow the owner down */
    int64_t readers __attribute__((aligned(64)));
} ms_table_t;

/* Owner only. Returns 0, or -1 without memory or when r cannot be kept
 * (its site slot past 2^28) (r not kept). */
int ms_table_insert(ms_table_t *t, const ms_rec_t *r);
/* Owner only. Returns 0 and ptr's record in *out, or -1 when absent. */
int ms_table_remove(ms_table_t *t, uintptr_t ptr, ms_rec_t *out);
/* A consistent copy of ptr's record, read by any thread; 0 when found. */
int ms_table_peek(ms_table_t *t, uintptr_t ptr, ms_rec_t *out);
/* The same for a block the caller may free or resize (so its record, if
 * t holds it, stays as it is while the reader looks), held: *held (the
 * reader's own, that ms_table_held looks at) names t while the reader is
 * inside it; without seq (table.c says why); 0 when found. */
int ms_table_peek_held(ms_table_t *t, uintptr_t ptr, ms_rec_t *out,
    ms_table_t **held);
/* Whether a reader's slot names t now (threads.c: the live threads'
 * slots, and the late slot). */
int ms_table_held(const ms_table_t *t);
/* The slot of an exited thread's foreign frees (its last destructors'),
 * held until ms_peek_late_leave (threads.c). */
ms_table_t **ms_peek_late_enter(void);
void ms_peek_late_leave(void);
/* Owner only: a copy of ptr's record in *out (may be NULL); 0 when
 * found, -1 when absent. */
int ms_table_get(ms_table_t *t, uintptr_t ptr, ms_rec_t *out);
/* Owner only: adds MS_REC_* flags to ptr's record; 0, or -1 when absent. */
int ms_table_set_flags(ms_table_t *t, uintptr_t ptr, unsigned flags);
/* Returns the bytes of t's segments and directory (retired ones
 * included). */
uint64_t ms_table_bytes(const ms_table_t *t);
/* A record whose block contains ptr (not at its start); 0 when found.
 * Slow (a whole scan): for heap errors only. */
int ms_table_find_containing(ms_table_t *t, uintptr_t ptr, ms_rec_t *out);
/* Any thread: calls fn(arg, record) for each record, as one consistent
 * copy when the owner lets one be read in time (fn may then see a record
 * again on a retry: it is told with restart(arg) before each pass). */
void ms_table_each(ms_table_t *t, void (*restart)(void *),
    int (*fn)(void *, const ms_rec_t *), void *arg);
/* Owner only: frees retired segments when no reader is inside a table. */
void ms_table_reap(ms_table_t *t);
/* Rebuilds a table left half-changed by a thread that fork() did not copy. */
void ms_table_repair(ms_table_t *t);

/* ---- per-site statistics (sites.c) -------------------------------------- */
/* A thread's statistics of the blocks of one (stack, task, allocating
 * thread): allocations are counted by their thread, in a slot whose owner
 * is 0; a free of another thread's block is counted by the freeing thread,
 * in a slot that names the block's thread as owner, so that the report
 * can tell every block's figures by the thread that made it.
 *
 * A slot holds what each allocation adds; what frees add (and sampled
 * mode's estimates) lies in an ms_sitefree_t made on the slot's first free
 * or sample, so that the many slots of a thread whose blocks live on cost
 * 48 bytes each. A slot's frees are the sum of its lifetime histogram (one
 * bucket per free).
 *
 * The histogram's buckets are 16-bit, since most slots free few blocks
 * (80 bytes a free side, not 248): a bucket whose count reaches
 * MS_LIFE_CARRY (its top bit) moves that into a 64-bit carry of the
 * slot's ms_siteext_t at once (sites.c), so that no count ever wraps, for
 * one more instruction a free. A bucket's count is its carry plus its own
 * (ms_sitefree_read). */
#define MS_LIFE_CARRY 0x8000u

/* What only some slots need, made on first use (sampled mode's estimates,
 * a bucket's carry); published with release, never freed. */
typedef struct {
    double est_allocs, est_bytes, est_freed_allocs, est_freed_bytes;
    uint64_t carry[MS_LIFE_BUCKETS];
} ms_siteext_t;

typedef struct {
    uint64_t freed_bytes, freed_usable_bytes, temporaries;
    ms_siteext_t *ext;      /* NULL until needed: ms_sitefree_ext */
    uint16_t life[MS_LIFE_BUCKETS];
} ms_sitefree_t;

typedef struct {
    uint32_t stack;         /* global stack id */
    uint32_t task;          /* the blocks' task id, 0 = none */
    uint32_t owner;         /* the blocks' thread (ms_thread_t.id) when not
                               the table's own, else 0 */
    uint32_t slot;          /* its own slot number */
    uint64_t allocs, bytes;
    uint64_t usable_bytes;  /* size classes' bytes */
    ms_sitefree_t *free;    /* NULL until the first free or sample;
                               published with release, never freed */
} ms_sitestat_t;

/* The free side of slot st, made on first use (sites.c); NULL without
 * memory. */
ms_sitefree_t *ms_sites_free_make(ms_sitestat_t *st);
static inline __attribute__((always_inline)) ms_sitefree_t *
ms_sites_free(ms_sitestat_t *st)
{
    ms_sitefree_t *f = st->free;
    return MS_LIKELY(f != NULL) ? f : ms_sites_free_make(st);
}
/* The extension of free side f, made on first use (sites.c); NULL
 * without memory. Owner only. */
ms_siteext_t *ms_sitefree_ext(ms_sitefree_t *f);
/* Counts a free in lifetime bucket b of f, full (MS_LIFE_CARRY - 1): the
 * bucket's MS_LIFE_CARRY go to its 64-bit carry (sites.c). Owner only. */
void ms_sitefree_carry(ms_sitefree_t *f, int b);
/* Counts a free in lifetime bucket b of f. Owner only. */
static inline __attribute__((always_inline)) void
ms_sitefree_count(ms_sitefree_t *f, size_t b)
{
    unsigned v = f->life[b];
    if (MS_UNLIKELY(v == MS_LIFE_CARRY - 1))
        ms_sitefree_carry(f, (int)b);
    else
        f->life[b] = (uint16_t)(v + 1);
}

/* Whether a free in bucket b of f would carry: a path that must not call
 * (trace.c's free_fast) leaves such a free to ms_sitefree_count. */
static inline int
ms_sitefree_carries(const ms_sitefree_t *f, size_t b)
{
    return f->life[b] == MS_LIFE_CARRY - 1;
}

/* A free side's figures in full, as a reader sees them. */
typedef struct {
    uint64_t frees;         /* the sum of life */
    uint64_t freed_bytes, freed_usable_bytes, temporaries;
    double est_allocs, est_bytes, est_freed_allocs, est_freed_bytes;
    uint64_t life[MS_LIFE_BUCKETS];
} ms_sitefree_view_t;

/* Reads free side f (NULL: no frees yet) into *out; any thread (sites.c). */
void ms_sitefree_read(const ms_sitefree_t *f, ms_sitefree_view_t *out);

/* A thread's site slots lie in chunks that double: chunk k holds
 * MS_SITE_FIRST << k slots, so a thread of a few sites (a short-lived
 * worker's) keeps 768 bytes of them, not 12 KiB, and one of many has
 * few chunks. Each chunk's slots are one of jemalloc's size classes
 * exactly (3 x 2^n bytes; a header beside them would round up). */
#define MS_SITE_FIRST 16u
typedef struct ms_sitechunk {
    struct ms_sitechunk *next;
    uint32_t n;             /* slots in use, published with release */
    ms_sitestat_t *s;       /* MS_SITE_FIRST << k slots, chunk k */
} ms_sitechunk_t;

/* A thread's sites: slot i is in chunk ms_sites_chunk(i). */
typedef struct {
    ms_sitechunk_t *head, *tail;    /* chunks never move: readers walk them */
    ms_sitestat_t **dir;            /* owner's directory of chunks' slots */
    uint32_t ndir, capdir;
    uint32_t count;
    uint32_t *index;                /* open addressing: key -> slot+1 */
    uint64_t index_mask;
} ms_sites_t;

/* The chunk of slot i: chunk k starts at MS_SITE_FIRST * (2^k - 1). */
static inline unsigned
ms_sites_chunk(uint32_t i)
{
    return 31u - (unsigned)__builtin_clz((i + MS_SITE_FIRST) / MS_SITE_FIRST);
}

/* Slot i's place in its chunk k. */
static inline uint32_t
ms_sites_entry(uint32_t i, unsigned k)
{
    return i + MS_SITE_FIRST - (MS_SITE_FIRST << k);
}

/* The thread's slot for blocks of a global stack id made in task by the
 * thread owner (0: this one), made on first use; UINT32_MAX when out of
 * memory. */
uint32_t ms_sites_slot(ms_sites_t *s, uint32_t stack, uint32_t task,
    uint32_t owner);
static inline ms_sitestat_t *
ms_sites_at(ms_sites_t *s, uint32_t slot)
{
    unsigned k = ms_sites_chunk(slot);
    return &s->dir[k][ms_sites_entry(slot, k)];
}
/* The global stack id of a slot; any thread may ask (chunks never move). */
uint32_t ms_sites_stack_of(ms_sites_t *s, uint32_t slot);
/* The task of a slot's blocks (0: none); any thread may ask. */
uint32_t ms_sites_task_of(ms_sites_t *s, uint32_t slot);
/* Returns the lifetime bucket of a lifetime of ms milliseconds: [0,1),
 * [1,2), [2,4), [4,8), ... the last open. */
static inline size_t
ms_life_bucket(uint64_t ms)
{
    size_t b = ms == 0 ? 0 : 64 - (size_t)__builtin_clzll(ms);
    return b < MS_LIFE_BUCKETS ? b : MS_LIFE_BUCKETS - 1;
}

/* ---- replayed stack walks (unwind.c) ------------------------------------ */
/* A walk is a function of its start (ra, fp), the CFI rules (fixed until a
 * dlclose: the unload epoch), the depth limit and the stack words it reads.
 * A thread keeps its last walks with those words (fp-relative) and their
 * result; a walk from the same start in the same epoch whose words all
 * read the same again would find the same stack, so it is not redone. Only
 * walks that read nothing but the thread's own stack, read it in full and
 * ended by the CFI (or the depth limit) are kept: never a cut stack.
 *
 * The same holds from any frame on: a walk in the same state (pc, sp, rbp
 * and what is known of it) at a frame where a kept walk was goes on as
 * that one did while the words it read from there read the same. So the
 * frames of kept walks are noted by (pc, sp) in the memo, and a walk that
 * comes to one takes the rest of the kept walk (its frames), once its
 * words are read again. */
/* Entries: sets of ways by start (ra, fp). Ways let walks from one start
 * through different callers (python3's allocators, from each call site of
 * theirs) and starts of one set stay kept together: python3's JSON bench
 * walks 663k times for 2.04M allocations with 32 entries direct-mapped
 * (352k with 1024), 81k with 4 ways of 32 sets, 21k with 8 ways of 16
 * (173 KB a thread). At most 256 entries (ms_memo_t.entry). */
#define MS_REPLAY_SET_BITS 4
#define MS_REPLAY_WAYS  8
#define MS_REPLAY       (MS_REPLAY_WAYS << MS_REPLAY_SET_BITS)
_Static_assert(MS_REPLAY <= 256, "entries: ms_memo_t.entry");
/* words a kept walk may have read: one to two a frame */
#define MS_REPLAY_WORDS 64
#define MS_MEMO_BITS    7
#define MS_MEMO         (1u << MS_MEMO_BITS)
typedef struct {
    uintptr_t ra, fp;               /* the walk's start; ra 0: empty */
    uint32_t epoch;                 /* ms_unload_epoch it was walked in */
    uint32_t nw;                    /* words to compare */
    uint64_t hash;                  /* the stack's hash */
    ms_sitestat_t *st;              /* its site slot (trace.c), or NULL */
    uint64_t gen;                   /* its walk's number; 0: none */
    uint64_t used;                  /* its last walk or replay (LRU) */
    uint32_t nframes;
    int32_t off[MS_REPLAY_WORDS];   /* the words, fp-relative, in order */
    uintptr_t val[MS_REPLAY_WORDS];
    uintptr_t frames[MS_MAX_FRAMES];
} ms_replay_t;

/* A frame of a kept walk: its state, and where the walk was then. */
typedef struct {
    uintptr_t pc, sp, bp;
    uint64_t gen;                   /* the walk's (ms_replay_t.gen) */
    uint8_t entry, frame, word;     /* its entry, frames and words so far */
    uint8_t flags;                  /* rbp usable, pc exact */
} ms_memo_t;

/* A thread's, made on its first kept walk (owner only, inside a hook). */
typedef struct {
    /* a tag of each entry's start, beside the others of its set: a look-up
     * compares one line, not a word in each entry; 0: none kept */
    uint32_t tag[MS_REPLAY];
    ms_replay_t e[MS_REPLAY];
    ms_memo_t memo[MS_MEMO];
    uint64_t gen;                   /* walks so far: never wraps */
    uint64_t tick;                  /* walks and replays so far */
    /* the stack every word kept was read in (the thread's, for good) */
    uintptr_t stack_lo, stack_hi;
} ms_replay_cache_t;

/* The hash of a start (ra, fp): its set is its top bits, its tag the 32
 * below (never 0). */
static inline uint64_t
ms_replay_key(void *ra, void *fp)
{
    return ((uintptr_t)ra ^ (uintptr_t)fp << 20) * 0x9E3779B97F4A7C15ull;
}
static inline uint32_t
ms_replay_set(uint64_t key)
{
    return (uint32_t)(key >> (64 - MS_REPLAY_SET_BITS)) * MS_REPLAY_WAYS;
}
static inline uint32_t
ms_replay_tag(uint64_t key)
{
    return (uint32_t)(key >> (64 - MS_REPLAY_SET_BITS - 32)) | 1;
}

/* Whether every word e read reads the same again from fp f. Four at a
 * time, without a branch each: a word that differs is most often among
 * the first four. Reading on past it is safe: every word lies in the
 * thread's stack. */
static inline int
ms_replay_same(const ms_replay_t *e, uintptr_t f)
{
    const int32_t *off = e->off;
    const uintptr_t *val = e->val;
    size_t n = e->nw, i = 0;
#define MS_W(j) (*(const uintptr_t *)(f + (uintptr_t)(intptr_t)off[i + (j)]) ^ \
    val[i + (j)])
    for (; i + 4 <= n; i += 4)
        if ((MS_W(0) | MS_W(1) | MS_W(2) | MS_W(3)) != 0)
            return 0;
    for (; i < n; i++)
        if (MS_W(0) != 0)
            return 0;
#undef MS_W
    return 1;
}

/* ---- threads (threads.c) ------------------------------------------------ */
/* Entries of the per-thread stack cache: python3's JSON bench, 14k distinct
 * stacks, misses 16k of 10^6 allocations at 1024 (68k at 256) */
#define MS_SCACHE 1024

/* A site cache entry (ms_thread_t.scache); key 0: empty. */
struct ms_scache { uint64_t key; ms_sitestat_t *st; };
/* The cache of a thread without one of its own, all empty, never
 * written: a thread's first miss makes its own (trace.c), an exited
 * thread's state keeps none. */
extern struct ms_scache ms_scache_none[MS_SCACHE]
    __attribute__((visibility("hidden")));

typedef struct ms_thread {
    struct ms_thread *next;         /* registry, newest first */
    /* the threads that run now, under the registry's lock (threads.c) */
    struct ms_thread *run_prev, *run_next;
    uint32_t holder;                /* its index in the holders + 1, or 0 */
    uint32_t id;                    /* 1, 2, ... in order of first use */
    pid_t tid;
    pid_t pid;                      /* process the state was made in */
    int exited;
    int name_set;                   /* set by memscope_thread_name() */
    char name[64];                  /* the program's (name_set) */
    char comm[16];                  /* the kernel's, else */

    /* exact counters, owner-written */
    uint64_t allocs, frees, reallocs, bytes_alloc, bytes_freed;
    /* allocations and frees by kind; the inlined sampled path (fast.h)
     * counts only allocs and frees: its malloc and free calls are what the
     * other kinds leave of them (report.c) */
    uint64_t kind_allocs[MS_KIND_COUNT], kind_frees[MS_FREE_COUNT];
    int64_t live;                   /* may go negative (cross-thread frees) */
    int64_t live_flushed;           /* part of live added to ms_global_live */
    uint64_t size_hist[MS_SIZE_BUCKETS];

    /* the tick (timeline.c): hooks left before the clock is read again,
     * the stride between reads, the millisecond seen at the last read */
    int32_t tick_left, tick_every;
    uint32_t tick_seen;

    /* sampling */
    int64_t sample_left;
    uint64_t rng;
    /* Sampled mode counts bytes with jemalloc's own per-thread counters
     * (exact usable bytes, kept on jemalloc's fast path anyway), less what
     * jemalloc counted for the tracer itself (adj_*). NULL when unknown or
     * once the thread has exited (the figures are then frozen above). */
    uint64_t *je_allocp, *je_deallocp;
    uint64_t je_base_alloc, je_base_dealloc;
    uint64_t adj_alloc, adj_free;

    uintptr_t stack_lo, stack_hi;   /* for validating frame pointers */
    uintptr_t tcb;                  /* its thread pointer (leaks.c) */

    ms_table_t table;
    /* the last block recorded, 0 after an allocation that was not: a
     * free of it is a temporary */
    uintptr_t last_ptr;
    ms_sites_t sites;
    /* where its next free sides are cut (sites.c): fside_left of them from
     * fside, in a block of fside_block, whole cache lines of its own */
    ms_sitefree_t *fside;
    uint32_t fside_left, fside_block;
    struct ms_thread *last_owner;   /* where a foreign free last hit */
    /* the caches of its frees of other threads' blocks (remote.c): made
     * at the first, dropped at the thread's end; most threads make none */
    struct ms_foreign *foreign;
    /* where a foreign free names the table it reads now (ms_table_held):
     * a slot of the running threads' (threads.c); NULL once the thread
     * has exited or when none was left: the late slot, locked (remote.c) */
    ms_table_t **peek;

    /* the last frees, to tell a double free from a wild one */
    uintptr_t recent[64];
    uint32_t recent_stack[64];      /* their allocation stacks */
    uint32_t nrecent;

    /* per-thread cache: hash of a call stack (never 0) -> a site slot of
     * this thread's blocks, the one of the current task when its task
     * matches (trace.c): MS_SCACHE entries, ms_scache_none until the
     * first miss and again once the thread has exited */
    struct ms_scache *scache;
    /* the last stack walks (unwind.c); NULL until the first */
    ms_replay_cache_t *replay;

    /* Frees of this thread's blocks by other threads wait here, their
     * memory not yet given back, until the owner takes their records out:
     * a set of pointers (open addressing, cap a power of two, at most half
     * full), so that a second free of a waiting block is seen in one probe.
     * The owner drains by taking the whole set and leaving the spare one.
     * Once the thread has exited (orphan), the lock guards the table.
     * pending and orphan have a line of their own, apart from the lock
     * and the set that the freeing threads write: the owner reads orphan
     * at each change of its table and pending at each free hook, and a
     * freeing thread writes pending only when it goes from 0 to 1. */
    struct {
        int pending;                /* the set may hold frees */
        int orphan;
        ms_spin_t lock __attribute__((aligned(64)));
        uint32_t n, cap;
        uintptr_t *ptrs;
        uintptr_t *spare;           /* an empty set of spare_cap slots */
        uint32_t spare_cap;
    } inbox __attribute__((aligned(64)));
} ms_thread_t;

/* The calling thread's state, created on first use; NULL while unusable. */
ms_thread_t *ms_thread_self(void);
/* The calling thread's tracer state, in one thread-local struct so that a
 * hook, and the allocator's inlined sampled path (fast.h), find all of it
 * from one address. fast_left and fast_frees are what sampled mode lends
 * that path (sample.c): bytes malloc may take and frees free may count
 * without a hook; 0 (or less) sends every call to the hooks, as in exact
 * mode. */
typedef struct {
    ms_thread_t *self;
    int busy;               /* re-entry guard */
    /* Set on the snapshot writer and while exporting: what the tracer
     * then allocates through malloc (libc, libdw) is its own business. */
    int quiet;
    uint32_t task;          /* the current task (api.c), 0 = none */
    uint64_t fast_left;
    int64_t fast_frees;
} ms_tls_t;
extern __thread ms_tls_t ms_tls MS_TLS;
#define ms_tls_self  (ms_tls.self)
#define ms_tls_busy  (ms_tls.busy)
#define ms_tls_quiet (ms_tls.quiet)
#define ms_tls_task  (ms_tls.task)
/* The head of the registry; the list is only prepended to. */
ms_thread_t *ms_threads_head(void);
/* Names t (memscope_thread_name); kept over the kernel's name. */
void ms_thread_set_name(ms_thread_t *t, const char *name);
/* Reads the kernel's names of the threads not named by the program. */
void ms_threads_refresh_names(void);
/* Sets up the registry (at start-up). */
void ms_threads_init(void);
/* Gives back the blocks other threads freed (owner only). */
void ms_inbox_drain(ms_thread_t *t);
/* Whether p waits in t's inbox (its record freed by another thread);
 * with the inbox lock held, or in a frozen copy of the process. */
int ms_inbox_holds(const ms_thread_t *t, uintptr_t p);
/* Each returns one of a thread's byte counters, whatever the mode
 * (sample.c). */
uint64_t ms_thread_bytes_alloc(const ms_thread_t *t);
uint64_t ms_thread_bytes_freed(const ms_thread_t *t);
int64_t ms_thread_live(const ms_thread_t *t);
/* The live bytes of every thread that ever ran: those of the threads that
 * ended, kept as one sum, and each running thread's (threads.c), so that
 * a timeline point costs the threads that run, not all that ran. */
int64_t ms_threads_live(void);
/* The ended threads' live bytes; changed after its end by an ended
 * thread's last destructors (ms_live_add). */
extern int64_t ms_exited_live;
/* The threads whose tables may hold records, for a foreign free's look-up
 * (remote.c): those that run, and those that ended holding some, until a
 * change of the registry after their tables emptied. Without a lock: *n
 * entries, each a thread. A hint only: a thread may be missing (an ended
 * thread's last destructors' blocks, no memory), so a look-up that finds
 * no owner there walks the whole registry. */
ms_thread_t **ms_holders(uint32_t *n);
/* An ended thread's table emptied (under its inbox lock): the holders
 * drop it at the registry's next change. */
void ms_holders_emptied(void);
/* Drops a thread's foreign frees' caches (at its end; remote.c). */
void ms_foreign_drop(ms_thread_t *t);
/* Freezes a thread's counters before its thread-local storage goes. */
void ms_thread_freeze(ms_thread_t *t);

/* ---- stacks (stacks.c, unwind.c) ---------------------------------------- */
/* Walks the stack from an entry point (ra: its return address, fp: its
 * frame, built with frame pointers) into frames (MS_MAX_FRAMES); returns
 * the depth, fills *hash. The last frame may be a MS_FRAME_* mark. */
int ms_stack_walk(ms_thread_t *t, void *ra, void *fp, uintptr_t *frames,
    uint64_t *hash);
/* The frames of a stack interrupted at ip, with its stack pointer sp and
 * rbp bp (a signal's ucontext), into frames (MS_MAX_FRAMES), walked as the
 * thread t's (NULL: none known); frames[0] is ip. Any thread, in a signal
 * handler too: no lock, no allocation, every read bounded. */
int ms_stack_walk_regs(ms_thread_t *t, uintptr_t ip, uintptr_t sp, uintptr_t bp,
    uintptr_t *frames);
/* ms_stack_walk, keeping the walk for ms_stack_replay when it can be
 * replayed: *kept is then its entry (st NULL, for the caller to set),
 * else NULL. Owner only, inside a hook. */
int ms_stack_walk_keep(ms_thread_t *t, void *ra, void *fp, uintptr_t *frames,
    uint64_t *hash, ms_replay_t **kept);
/* The global id of a stack (made on first use); 0 when out of memory. */
uint32_t ms_stack_intern(uint64_t hash, const uintptr_t *frames, int depth);
/* Copies stack id's frames; returns the depth. */
int ms_stack_frames(uint32_t id, uintptr_t *out, int max);
/* Returns how many distinct stacks there are. */
uint32_t ms_stacks_count(void);
/* The unload epoch stack id was walked in (see ms_unload_epoch). */
uint32_t ms_stack_epoch(uint32_t id);
/* Bumped by each dlclose that unloads a module (unwind.c); seeds stack
 * hashes, so stacks of different epochs never merge. */
extern uint32_t ms_unload_epoch;
/* The ways of set whose tag is tag, a bit each (8 tags compared at once). */
static inline unsigned
ms_replay_ways(const ms_replay_cache_t *c, uint32_t set, uint32_t tag)
{
    _Static_assert(MS_REPLAY_WAYS == 8, "two vectors of four tags");
    __m128i want = _mm_set1_epi32((int)tag);
    const __m128i *tv = (const __m128i *)&c->tag[set];
    return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(
        _mm_cmpeq_epi32(_mm_loadu_si128(tv), want))) |
        (unsigned)_mm_movemask_ps(_mm_castsi128_ps(
        _mm_cmpeq_epi32(_mm_loadu_si128(tv + 1), want))) << 4;
}

/* Whether entry i replays a walk from (ra, f) in epoch; counted used. */
static inline __attribute__((always_inline)) int
ms_replay_hit(ms_replay_cache_t *c, uint32_t i, void *ra, uintptr_t f,
    uint32_t epoch)
{
    ms_replay_t *e = &c->e[i];
    if (e->ra == (uintptr_t)ra && e->fp == f && e->epoch == epoch &&
        ms_replay_same(e, f)) {
        e->used = ++c->tick;
        return 1;
    }
    return 0;
}

/* The thread's kept walk from (ra, fp), when its words read the same now
 * (its stack and site slot are then the walk's); NULL otherwise. Owner
 * only, inside a hook (the allocation hook's: inline). */
static inline __attribute__((always_inline)) ms_replay_t *
ms_stack_replay(ms_thread_t *t, void *ra, void *fp)
{
    ms_replay_cache_t *c = t->replay;
    if (MS_UNLIKELY(c == NULL))
        return NULL;
    /* The words were read in this stack: it is still the thread's. */
    if (MS_UNLIKELY(c->stack_lo != t->stack_lo || c->stack_hi != t->stack_hi))
        return NULL;
    uint64_t key = ms_replay_key(ra, fp);
    uint32_t set = ms_replay_set(key), tag = ms_replay_tag(key);
    uintptr_t f = (uintptr_t)fp;
    uint32_t epoch = __atomic_load_n(&ms_unload_epoch, __ATOMIC_RELAXED);
    /* the set's first way alone first (a thread with few starts has them
     * there), then the others by their tags at once */
    unsigned m;
    if (c->tag[set] == tag) {
        if (ms_replay_hit(c, set, ra, f, epoch))
            return &c->e[set];
        m = ms_replay_ways(c, set, tag) & ~1u;
    } else {
        m = ms_replay_ways(c, set, tag);
    }
    for (; m != 0; m &= m - 1) {
        uint32_t i = set + (uint32_t)__builtin_ctz(m);
        if (ms_replay_hit(c, i, ra, f, epoch))
            return &c->e[i];
    }
    return NULL;
}
/* The module unloaded first, in or after epoch, whose range held addr:
 * its index (its path and load bias in *path, *bias), or -1: none. */
int ms_dead_module_at(uintptr_t addr, uint32_t epoch, const char **path,
    uintptr_t *bias);
/* Unloaded module i's path and load bias; 0, or -1 when there is none. */
int ms_dead_module_info(int i, const char **path, uintptr_t *bias);

/* ---- global state (trace.c) --------------------------------------------- */
extern int64_t ms_global_live;       /* flushed per-thread live bytes */
extern uint32_t ms_tick_ms;          /* ms since start, kept by the tick */
extern int ms_ticking;               /* the tick keeps ms_tick_ms (not test mode) */
/* ms since start: the tick's, or (test mode) the coarse clock's now. */
uint32_t ms_clock_ms_now(void);
static inline uint32_t
ms_clock_ms(void)
{
    if (MS_LIKELY(__atomic_load_n(&ms_ticking, __ATOMIC_RELAXED)))
        return __atomic_load_n(&ms_tick_ms, __ATOMIC_RELAXED);
    return ms_clock_ms_now();
}
/* The same, in a hook that has ticked (ms_tick): the tick keeps ms_tick_ms
 * in test mode too, reading the clock at every hook there. */
static inline uint32_t
ms_hook_clock_ms(void)
{
    return __atomic_load_n(&ms_tick_ms, __ATOMIC_RELAXED);
}
extern int64_t ms_global_peak;
extern uint64_t ms_untracked_frees;
extern uint64_t ms_dropped_events;
extern size_t ms_max_events;         /* cap on tracked blocks, 0 = none */
extern uint64_t ms_named_unsampled;
void ms_fast_update(void);           /* after a change of mode or of the above */
extern uint64_t ms_vars_foreign;      /* named blocks of other threads */
extern uint64_t ms_start_ns;
void ms_tracer_start(void);
/* Reads jemalloc's size classes for the hooks (at start-up, before
 * tracing). */
void ms_trace_tables_init(void);
void ms_trace_stop(void);

/* ---- timeline (timeline.c) ---------------------------------------------- */
/* A point is the report's (exporters/report.h): t_ns since start, exact
 * live bytes summed, RSS, process CPU time, /proc/self/io and jemalloc's
 * figures; -1 = not measured. */
typedef ms_rpoint_t ms_tl_point_t;

/*
 * The tick, called by the hooks on the program's own threads (no thread of
 * ours runs): every few hooks a thread reads the coarse monotonic clock,
 * moves ms_tick_ms on, takes a timeline point when one is due and starts
 * the snapshot writer when a snapshot was asked for. may_start: the caller
 * is an allocation hook, where a thread may be created (triggers.c).
 */
void ms_tick_slow(ms_thread_t *t, int may_start);
static inline void
ms_tick(ms_thread_t *t, int may_start)
{
    if (MS_UNLIKELY(--t->tick_left < 0))
        ms_tick_slow(t, may_start);
}
/* Takes a timeline point when one is due at now (ns since start). */
void ms_timeline_poll(uint64_t now);
/* Returns the least time between two kept points, in ns. */
uint64_t ms_timeline_interval_ns(void);
void ms_timeline_init(void);        /* at start-up: the clock's resolution */
/* Copies up to max points (oldest first, decimated); returns the count. */
size_t ms_timeline_copy(ms_tl_point_t *out, size_t max);
/* Fills *p with the process's figures now. */
void ms_timeline_sample(ms_tl_point_t *p);
/* Reads jemalloc's statistics (-1 each when they cannot be read). */
void ms_je_stats(int64_t *allocated, int64_t *active, int64_t *resident,
    int64_t *mapped, int64_t *retained);

/* ---- triggers (triggers.c) ---------------------------------------------- */
extern pid_t ms_pid_first;          /* the process the tracer started in */
/* Writes the reports' base name into out: MEMSCOPE_NAME, or
 * <program>-<pid>; a forked child's always has its own pid. */
void ms_report_base(char *out, size_t len);
/* Starts the snapshot writer when a snapshot waits (from the tick). */
void ms_snapshot_poll(int may_start);

/* ---- symbols (symbols.c) ------------------------------------------------ */
typedef struct {
    char *func;         /* NULL when unknown */
    char *file;         /* NULL when unknown */
    int line;
    char *module;       /* object file name */
    char *build_id;     /* the module's GNU build ID in hex, NULL unknown */
    /* Functions inlined at this address, innermost first: func, file and
     * line of each (its call site's line is in the next one, the last's
     * in the fields above). */
    struct ms_inl { char *func, *file; int line; } *inl;
    int ninl;
    uintptr_t offset;   /* address within module */
} ms_sym_t;

typedef struct ms_symtab ms_symtab_t;
/* Returns an empty symbol table, or NULL without memory. */
ms_symtab_t *ms_symtab_new(void);
/* Returns what st knows of addr (names NULL when unknown), or NULL;
 * dead >= 0: addr is in the unloaded module of that index. */
const ms_sym_t *ms_symtab_lookup(ms_symtab_t *st, uintptr_t addr, int dead);
void ms_symtab_free(ms_symtab_t *st);

/* ---- variables and tasks (api.c) ---------------------------------------- */
/* A named block (or any block, while other threads' named blocks exist)
 * was freed, or moved by realloc. */
void ms_variable_on_free(uintptr_t ptr);
void ms_variable_on_realloc(uintptr_t old, uintptr_t new_ptr, size_t size);
/* Counts an allocation (alloc, bytes > 0) or a free (bytes < 0) in a
 * task's counters; takes no lock. */
void ms_task_account(uint32_t task, int64_t bytes, int alloc);
/* Sets the numbers of tasks, of tasks not ended, and of variables. */
void ms_api_counts(uint64_t *ntask, uint64_t *active, uint64_t *nvar);

#endif
