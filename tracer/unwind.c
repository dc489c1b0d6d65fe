/*
 * unwind.c - call stacks from the DWARF call frame information that every
 * module carries for C++ exceptions (.eh_frame, found through
 * .eh_frame_hdr), so that code built without frame pointers (gcc -O2,
 * libc, libstdc++, python3) unwinds whole. x86-64 only.
 *
 * The walk tracks three registers: the pc, the stack pointer and the frame
 * pointer (rbp). For each return address it needs one rule, "the caller's
 * frame (CFA) is rsp or rbp plus N, the return address is at CFA-8, rbp is
 * kept or saved at CFA+M": the shape of every frame compilers emit. A rule
 * is found once, by interpreting the FDE's CFA program up to the pc
 * (cfi.c), and kept in a global direct-mapped cache of 64-bit words (the
 * pc's high bits as tag, the rule packed beside them), read and written
 * without a lock. So a walk over known code costs a cache load and two stack reads
 * a frame; frame pointers are followed only where the CFI says so.
 *
 * Safety: modules are found with glibc's _dl_find_object, which takes no
 * lock (unlike dl_iterate_phdr or libgcc's _Unwind_Find_FDE, which fork and
 * signals can leave held) and allocates nothing. Every stack read is
 * bounded to a range known to be mapped: the thread's stack, the signal
 * stack it runs on, or, on any other stack (makecontext), pages checked
 * readable by the kernel first. A frame that cannot be unwound ends the
 * stack with the MS_FRAME_CUT mark; a stack longer than the depth limit
 * ends with MS_FRAME_TRUNCATED. Nothing is invented: a rule the cache
 * cannot hold is used uncached, a rule this code does not understand cuts.
 * dlclose() (interposed here) empties the cache, so no rule outlives its
 * module, and keeps what is needed to name the module's frames later.
 *
 * Replay (ms_stack_replay): a thread keeps its last walks with every
 * stack word they read; a walk from the same start in the same unload
 * epoch whose words all read the same again is not redone (internal.h,
 * ms_replay_t, says what is kept and why that is the same stack).
 */
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "internal.h"
#include "cfi.h"

#if !defined(__x86_64__)
#error "unwind.c unwinds x86-64 frames only"
#endif

/* ---- the rule cache ------------------------------------------------------ */
/* Word layout: kind (3 bits) | cfa_off / 8 (17, signed) | bp_off / 8 (10,
 * signed) | pc >> 16 (31) at bit 33. The slot is a function of the whole
 * pc, so equal tags in one slot mean equal pcs. */
#define CACHE_BITS 16
#define CACHE_SIZE (1u << CACHE_BITS)
static uint64_t cache[CACHE_SIZE];
static uint32_t cache_gen;          /* bumped by dlclose */

static inline uint32_t
cache_slot(uintptr_t pc)
{
    uint32_t tag = (uint32_t)(pc >> 16);
    return ((uint32_t)pc ^ ((tag * 0x9E3779B1u) >> 16)) & (CACHE_SIZE - 1);
}

static inline int
cache_get(uintptr_t pc, ms_rule_t *r)
{
    uint64_t w = __atomic_load_n(&cache[cache_slot(pc)], __ATOMIC_RELAXED);
    if ((w >> 33) != (uint64_t)(pc >> 16) || (w & 7) == MS_R_EMPTY)
        return 0;
    r->kind = (int)(w & 7);
    r->cfa_off = ((int64_t)(w << 44) >> 47) * 8;          /* bits 3..19 */
    r->bp_off = ((int64_t)(w << 34) >> 54) * 8;           /* bits 20..29 */
    return 1;
}

static inline void
cache_put(uintptr_t pc, const ms_rule_t *r, uint32_t gen)
{
    if (pc >> 47)
        return;
    int64_t c = r->cfa_off, b = r->bp_off;
    if ((c & 7) || (b & 7) || c / 8 < -65536 || c / 8 > 65535 ||
        b / 8 < -512 || b / 8 > 511)
        return;                     /* used, not kept */
    uint64_t w = (uint64_t)r->kind | ((uint64_t)(c / 8) & 0x1ffff) << 3 |
        ((uint64_t)(b / 8) & 0x3ff) << 20 | (uint64_t)(pc >> 16) << 33;
    if (__atomic_load_n(&cache_gen, __ATOMIC_ACQUIRE) != gen)
        return;
    uint64_t *slot = &cache[cache_slot(pc)];
    __atomic_store_n(slot, w, __ATOMIC_SEQ_CST);
    /* a clear that began between the check and the store may have passed
     * the slot already: the rule is taken back */
    if (__atomic_load_n(&cache_gen, __ATOMIC_SEQ_CST) != gen)
        __atomic_compare_exchange_n(slot, &w, 0, 0, __ATOMIC_RELAXED,
            __ATOMIC_RELAXED);
}

static void
cache_clear(void)
{
    __atomic_add_fetch(&cache_gen, 1, __ATOMIC_SEQ_CST);
    for (uint32_t i = 0; i < CACHE_SIZE; i++)
        __atomic_store_n(&cache[i], 0, __ATOMIC_RELAXED);
}

/* ---- modules unloaded by dlclose ---------------------------------------- */
/* Each unload bumps ms_unload_epoch. Stacks are told apart by the epoch
 * they were walked in (it seeds their hash, stacks.c keeps it), so a new
 * module mapped where an unloaded one was never shares a stack with it;
 * and the unloaded module's path, range and load bias are kept, so its
 * frames are named at export, from its file, after it is gone. */
uint32_t ms_unload_epoch;

#define MAX_DEAD 1024
typedef struct {
    char *path;
    uintptr_t start, end, bias;
    uint32_t epoch;             /* the epoch it was unloaded in */
    int ready;                  /* published */
} dead_t;
static dead_t dead[MAX_DEAD];
static uint32_t ndead;          /* slots taken */

int
ms_dead_module_at(uintptr_t addr, uint32_t epoch, const char **path,
    uintptr_t *bias)
{
    uint32_t n = __atomic_load_n(&ndead, __ATOMIC_ACQUIRE);
    int best = -1;
    for (uint32_t i = 0; i < n && i < MAX_DEAD; i++) {
        dead_t *d = &dead[i];
        if (!__atomic_load_n(&d->ready, __ATOMIC_ACQUIRE) || d->epoch < epoch ||
            addr < d->start || addr >= d->end)
            continue;
        if (best < 0 || d->epoch < dead[best].epoch)
            best = (int)i;
    }
    if (best >= 0) {
        *path = dead[best].path;
        *bias = dead[best].bias;
    }
    return best;
}

int
ms_dead_module_info(int i, const char **path, uintptr_t *bias)
{
    if (i < 0 || (uint32_t)i >= __atomic_load_n(&ndead, __ATOMIC_ACQUIRE) ||
        i >= MAX_DEAD || !__atomic_load_n(&dead[i].ready, __ATOMIC_ACQUIRE))
        return -1;
    *path = dead[i].path;
    *bias = dead[i].bias;
    return 0;
}

/* dlclose unmaps a module's code and CFI: rules about it must go. The
 * cache is emptied after the module is gone, so that no walk that began
 * before can leave one behind (cache_put checks the generation). */
MS_EXPORT int
dlclose(void *handle)
{
    static int (*real)(void *);
    int (*f)(void *) = __atomic_load_n(&real, __ATOMIC_RELAXED);
    if (f == NULL) {
        *(void **)&f = dlsym(RTLD_NEXT, "dlclose");
        if (f == NULL)
            return -1;
        __atomic_store_n(&real, f, __ATOMIC_RELAXED);
    }
    struct link_map *lm = NULL;
    struct dl_find_object fo;
    uintptr_t start = 0, end = 0, bias = 0;
    char *path = NULL;
    int saved = errno;
    if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm != NULL &&
        lm->l_ld != NULL && lm->l_name != NULL && lm->l_name[0] != '\0' &&
        _dl_find_object(lm->l_ld, &fo) == 0) {
        start = (uintptr_t)fo.dlfo_map_start;
        end = (uintptr_t)fo.dlfo_map_end;
        bias = lm->l_addr;
        path = ms_tstrdup(lm->l_name);
    }
    errno = saved;
    int rc = f(handle);
    saved = errno;
    int gone = start != 0 && (_dl_find_object((void *)start, &fo) != 0 ||
        (uintptr_t)fo.dlfo_map_start != start || fo.dlfo_link_map != lm);
    uint32_t slot = gone && path != NULL ?
        __atomic_fetch_add(&ndead, 1, __ATOMIC_ACQ_REL) : MAX_DEAD;
    if (slot < MAX_DEAD) {
        dead_t *d = &dead[slot];
        d->path = path;
        d->start = start;
        d->end = end;
        d->bias = bias;
        d->epoch = __atomic_load_n(&ms_unload_epoch, __ATOMIC_ACQUIRE);
        __atomic_store_n(&d->ready, 1, __ATOMIC_RELEASE);
    } else {
        ms_tfree(path);
    }
    if (gone) {
        __atomic_add_fetch(&ms_unload_epoch, 1, __ATOMIC_ACQ_REL);
        cache_clear();
    }
    errno = saved;
    return rc;
}

static inline __attribute__((always_inline)) void
rule_of(uintptr_t pc, ms_rule_t *r)
{
    if (MS_LIKELY(cache_get(pc, r)))
        return;
    uint32_t gen = __atomic_load_n(&cache_gen, __ATOMIC_ACQUIRE);
    ms_cfi_rule(pc, r);
    cache_put(pc, r, gen);
}

/* ---- reading the stack --------------------------------------------------- */
/* Ranges a walk may read: the thread's stack, the signal stack, and pages
 * of another stack that the kernel said are readable. */
typedef struct {
    uintptr_t lo[3], hi[3];
    int n;
    int alt_asked;
} bounds_t;

static int
page_readable(uintptr_t page)
{
    char b;
    struct iovec local = { &b, 1 }, remote = { (void *)page, 1 };
    int saved = errno;
    int ok = process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == 1;
    errno = saved;
    return ok;
}

/* Adds the range holding addr, when one can be known; 0 when added. */
static int
bounds_extend(bounds_t *b, uintptr_t addr)
{
    if (!b->alt_asked) {
        b->alt_asked = 1;
        stack_t ss;
        int saved = errno;
        int rc = sigaltstack(NULL, &ss);
        errno = saved;
        if (rc == 0 && !(ss.ss_flags & SS_DISABLE) &&
            ss.ss_size > 0 && b->n < 3) {
            b->lo[b->n] = (uintptr_t)ss.ss_sp;
            b->hi[b->n] = (uintptr_t)ss.ss_sp + ss.ss_size;
            b->n++;
            if (addr >= b->lo[b->n - 1] && addr < b->hi[b->n - 1])
                return 0;
        }
    }
    /* another stack (makecontext): one page at a time, checked */
    uintptr_t page = addr & ~(uintptr_t)4095;
    if (b->n == 3)
        b->n = 2;               /* the last slot follows the walk */
    int k = b->n;
    if (k > 0 && b->hi[k - 1] == page && b->lo[k - 1] != 0 &&
        b->hi[k - 1] - b->lo[k - 1] < (64u << 10) && page_readable(page)) {
        b->hi[k - 1] = page + 4096;
        return 0;
    }
    if (!page_readable(page))
        return -1;
    b->lo[k] = page;
    b->hi[k] = page + 4096;
    b->n = k + 1;
    return 0;
}

static inline int
read_word(bounds_t *b, uintptr_t addr, uintptr_t *out)
{
    if (addr & 7)
        return -1;
    for (int i = 0; i < b->n; i++)
        if (addr >= b->lo[i] && addr <= b->hi[i] - 8) {
            *out = *(const uintptr_t *)addr;
            return 0;
        }
    if (bounds_extend(b, addr) != 0)
        return -1;
    *out = *(const uintptr_t *)addr;
    return 0;
}

/* ---- keeping a walk to replay ------------------------------------------ */
/* While a walk is kept, each word it reads is noted, fp-relative, in the
 * entry. A saved rbp is noted only once a frame's CFA is found from it: a
 * value never used does not change the stack, and a general register kept
 * in rbp would otherwise make every walk differ. A read outside the
 * thread's stack, a failed read, a cut, too many words: not kept. */
typedef struct {
    ms_replay_cache_t *c;
    ms_replay_t *e;
    uintptr_t fp;
    uintptr_t lo_off;               /* (lowest word kept) - fp */
    uintptr_t span;                 /* highest - lowest word kept */
    uint32_t epoch;
    int ok;
    int pend;                       /* rbp's last read is not noted yet */
    int32_t pend_off;
    uintptr_t pend_val;
} keep_t;

static inline __attribute__((always_inline)) void
keep_note(keep_t *k, int32_t off, uintptr_t val)
{
    ms_replay_t *e = k->e;
    if (MS_UNLIKELY(e->nw == MS_REPLAY_WORDS)) {
        k->ok = 0;
        return;
    }
    e->off[e->nw] = off;
    e->val[e->nw++] = val;
}

/* read_word, noting the word when the walk is kept; is_bp: a saved rbp */
static inline __attribute__((always_inline)) int
read_kept(bounds_t *b, keep_t *k, uintptr_t addr, uintptr_t *out, int is_bp)
{
    if (k == NULL)
        return read_word(b, addr, out);
    /* in the thread's stack, and fp-relative in an int32 */
    if (MS_LIKELY(k->ok && !(addr & 7) &&
            addr - k->fp - k->lo_off <= k->span)) {
        uintptr_t v = *(const uintptr_t *)addr;
        int32_t off = (int32_t)(intptr_t)(addr - k->fp);
        if (is_bp) {
            k->pend = 1;
            k->pend_off = off;
            k->pend_val = v;
        } else {
            keep_note(k, off, v);
        }
        *out = v;
        return 0;
    }
    if (k->ok)
        k->ok = 0;
    return read_word(b, addr, out);
}

static inline ms_memo_t *
memo_slot(ms_replay_cache_t *c, uintptr_t pc, uintptr_t sp)
{
    uint64_t x = (pc ^ sp << 16) * 0x9E3779B97F4A7C15ull;
    return &c->memo[x >> (64 - MS_MEMO_BITS)];
}

/* At frame n of a kept walk, in state (pc, sp, bp, flags): takes the rest
 * of another kept walk that was in that state at that point, when every
 * word it read from there reads the same again; its frames are then
 * appended and the new depth returned, else 0. */
static int
splice(ms_replay_cache_t *c, keep_t *k, const ms_memo_t *m,
    uintptr_t *frames, int n, int max)
{
    if (m->entry >= MS_REPLAY)
        return 0;
    ms_replay_t *s = &c->e[m->entry];
    if (s == k->e || m->gen == 0 || s->gen != m->gen || s->epoch != k->epoch)
        return 0;
    uint32_t j = m->frame, rest = s->nframes - j;
    if (j >= s->nframes || m->word > s->nw)
        return 0;
    int trunc = s->frames[s->nframes - 1] == MS_FRAME_TRUNCATED;
    /* elsewhere than its own frame, only a tail a fresh walk would take
     * whole: one that ended by the depth limit, or that reaches it (a
     * fresh walk there stops at the limit before it reads on), would not */
    if ((uint32_t)n != j && (trunc || (uint32_t)n + rest >= (uint32_t)max))
        return 0;
    for (uint32_t i = m->word; i < s->nw; i++)
        if (*(const uintptr_t *)(s->fp + (uintptr_t)(intptr_t)s->off[i]) !=
            s->val[i])
            return 0;
    if (k->pend) {          /* conservative: the rest may use it */
        keep_note(k, k->pend_off, k->pend_val);
        k->pend = 0;
    }
    for (uint32_t i = m->word; i < s->nw && k->ok; i++) {
        uintptr_t addr = s->fp + (uintptr_t)(intptr_t)s->off[i];
        if (addr - k->fp - k->lo_off <= k->span)
            keep_note(k, (int32_t)(intptr_t)(addr - k->fp), s->val[i]);
        else
            k->ok = 0;
    }
    memcpy(frames + n, s->frames + j, rest * sizeof(*frames));
    return n + (int)rest;
}

/* the stack ends here, cut: never kept (a rule may be missing only until
 * a module is loaded) */
#define CUT() do { frames[n++] = MS_FRAME_CUT; if (k) k->ok = 0; } while (0)

/* The frames above one at pc (exact: pc is not a return address), with the
 * stack pointer sp and rbp bp, appended to frames[0..n); returns the new
 * count, at most max + 1 (the last may be a MS_FRAME_* mark). k NULL: the
 * walk is not kept. */
static inline __attribute__((always_inline)) int
walk_from(bounds_t *b, keep_t *k, uintptr_t pc, uintptr_t sp, uintptr_t bp,
    int exact, uintptr_t *frames, int n, int max)
{
    int bp_ok = 1;
    for (;;) {
        ms_rule_t r;
        if (k != NULL && n >= 2 && k->ok) {
            ms_memo_t *m = memo_slot(k->c, pc, sp);
            uint8_t fl = (uint8_t)(bp_ok | exact << 1);
            if (m->pc == pc && m->sp == sp && m->bp == bp && m->flags == fl) {
                int n2 = splice(k->c, k, m, frames, n, max);
                if (n2 > 0) {
                    n = n2;
                    break;
                }
            }
            m->pc = pc;
            m->sp = sp;
            m->bp = bp;
            m->flags = fl;
            m->gen = k->e->gen;
            m->entry = (uint8_t)(k->e - k->c->e);
            m->frame = (uint8_t)n;
            m->word = (uint8_t)k->e->nw;
        }
        rule_of(exact ? pc : pc - 1, &r);
        if (r.kind == MS_R_END)
            break;
        if (n >= max) {
            frames[n++] = MS_FRAME_TRUNCATED;
            break;
        }
        uintptr_t cfa, npc;
        if (r.kind == MS_R_SIGNAL) {
            /* rt_sigframe: the ucontext at rsp, gregs from byte 40 */
            uintptr_t nsp;
            if (read_kept(b, k, sp + 40 + 16 * 8, &npc, 0) != 0 ||
                read_kept(b, k, sp + 40 + 15 * 8, &nsp, 0) != 0 ||
                read_kept(b, k, sp + 40 + 10 * 8, &bp, 1) != 0) {
                CUT();
                break;
            }
            bp_ok = 1;
            exact = 1;
            sp = nsp;
            pc = npc;
            if (pc < 4096) {
                CUT();
                break;
            }
            frames[n++] = pc + 1;   /* looked up as a return address */
            continue;
        }
        if (r.kind == MS_R_CUT || (r.kind == MS_R_BP && !bp_ok)) {
            CUT();
            break;
        }
        if (k != NULL && r.kind == MS_R_BP && k->pend) {
            keep_note(k, k->pend_off, k->pend_val);
            k->pend = 0;
        }
        cfa = (r.kind == MS_R_SP ? sp : bp) + (uintptr_t)r.cfa_off;
        if (cfa <= sp || read_kept(b, k, cfa - 8, &npc, 0) != 0) {
            CUT();
            break;
        }
        if (r.bp_off == MS_BP_LOST)
            bp_ok = 0;
        else if (r.bp_off != MS_BP_SAME &&
                 read_kept(b, k, cfa + (uintptr_t)r.bp_off, &bp, 1) != 0)
            bp_ok = 0;
        sp = cfa;
        pc = npc;
        exact = 0;
        if (pc == 0)            /* a zero return address: the end */
            break;
        if (pc < 4096) {
            CUT();
            break;
        }
        frames[n++] = pc;
    }
    return n;
}

/* The bounds of a walk on t's stack (t may be NULL: a thread that has not
 * allocated; every page is then checked before it is read). */
static inline bounds_t
bounds_of(const ms_thread_t *t)
{
    bounds_t b = { .n = 0 };
    if (t != NULL && t->stack_hi > t->stack_lo) {
        b.lo[0] = t->stack_lo;
        b.hi[0] = t->stack_hi;
        b.n = 1;
    }
    return b;
}

/* The walk; k NULL: not kept. */
static inline __attribute__((always_inline)) int
walk(ms_thread_t *t, void *ra, void *fp, uintptr_t *frames, uint64_t *hash,
    keep_t *k)
{
    int max = ms_opt.stack_depth, n = 0;
    bounds_t b = bounds_of(t);
    uintptr_t bp;
    frames[n++] = (uintptr_t)ra;
    /* fp is the entry point's frame (built with frame pointers): the
     * caller's rbp is saved at fp, its stack pointer is fp + 16. */
    if (max > 1 && read_kept(&b, k, (uintptr_t)fp, &bp, 1) == 0)
        n = walk_from(&b, k, (uintptr_t)ra, (uintptr_t)fp + 16, bp, 0,
            frames, n, max);
    else if (max > 1)
        CUT();
    *hash = XXH3_64bits_withSeed(frames, (size_t)n * sizeof(uintptr_t),
        __atomic_load_n(&ms_unload_epoch, __ATOMIC_RELAXED));
    return n;
}

int
ms_stack_walk_regs(ms_thread_t *t, uintptr_t ip, uintptr_t sp, uintptr_t bp,
    uintptr_t *frames)
{
    bounds_t b = bounds_of(t);
    keep_t *k = NULL;
    int n = 0;
    frames[n++] = ip;
    return walk_from(&b, k, ip, sp, bp, 1, frames, n, MS_MAX_DEPTH);
}
#undef CUT

int
ms_stack_walk(ms_thread_t *t, void *ra, void *fp, uintptr_t *frames,
    uint64_t *hash)
{
    return walk(t, ra, fp, frames, hash, NULL);
}

/* The way a new walk from (ra, fp) is kept in: an empty one, else the one
 * least recently walked or replayed. */
static inline uint32_t
replay_victim(ms_replay_cache_t *c, uint32_t set)
{
    uint32_t v = set;
    for (uint32_t i = set; i < set + MS_REPLAY_WAYS; i++) {
        if (c->tag[i] == 0)
            return i;
        if (c->e[i].used < c->e[v].used)
            v = i;
    }
    return v;
}

int
ms_stack_walk_keep(ms_thread_t *t, void *ra, void *fp, uintptr_t *frames,
    uint64_t *hash, ms_replay_t **kept)
{
    ms_replay_cache_t *c = t->replay;
    if (MS_UNLIKELY(c == NULL)) {
        /* none for a thread's last destructors (see threads.c) */
        c = t->exited ? NULL : (t->replay = ms_tcalloc_line(sizeof(*c)));
        if (c == NULL) {
            *kept = NULL;
            return walk(t, ra, fp, frames, hash, NULL);
        }
        c->stack_lo = t->stack_lo;
        c->stack_hi = t->stack_hi;
    }
    uint64_t rkey = ms_replay_key(ra, fp);
    uint32_t way = replay_victim(c, ms_replay_set(rkey));
    ms_replay_t *e = &c->e[way];
    uint32_t epoch = __atomic_load_n(&ms_unload_epoch, __ATOMIC_RELAXED);
    uintptr_t f = (uintptr_t)fp;
    /* the words a kept walk may read: its thread's stack, within 2^31
     * bytes of fp */
    uintptr_t lo = t->stack_lo, hi = t->stack_hi - 8;
    if (f > (1ull << 31) && lo < f - (1ull << 31))
        lo = f - (1ull << 31);
    if (hi > f + (1ull << 31) - 16)
        hi = f + (1ull << 31) - 16;
    keep_t k = { .c = c, .e = e, .fp = f, .lo_off = lo - f, .span = hi - lo,
        .ok = ra != NULL && t->stack_hi >= t->stack_lo + 8 && lo <= hi &&
            c->stack_lo == t->stack_lo && c->stack_hi == t->stack_hi };
    c->tag[way] = 0;
    e->ra = 0;
    e->nw = 0;
    e->gen = ++c->gen;
    e->used = ++c->tick;
    k.epoch = epoch;
    int n = walk(t, ra, fp, frames, hash, &k);
    *kept = NULL;
    /* kept only when no dlclose ended the epoch during the walk (the hash
     * is of the epoch at its end) */
    if (k.ok && e->nw > 0 &&
        epoch == __atomic_load_n(&ms_unload_epoch, __ATOMIC_RELAXED)) {
        e->ra = (uintptr_t)ra;
        e->fp = f;
        e->epoch = epoch;
        e->hash = *hash;
        e->st = NULL;
        e->nframes = (uint32_t)n;
        memcpy(e->frames, frames, (size_t)n * sizeof(*frames));
        c->tag[way] = ms_replay_tag(rkey);
        *kept = e;
    } else {
        e->gen = 0;
    }
    return n;
}
