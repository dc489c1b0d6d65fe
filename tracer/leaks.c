/*
 * leaks.c - leak classes by reachability, as memcheck and LeakSanitizer
 * tell them apart, over the exact table of live blocks (docs/design.md,
 * "Leak classes").
 *
 * A conservative mark phase. Roots: the writable PT_LOAD segments of every
 * loaded module but this library (the tracer's and the engine's static
 * data are not roots), the calling thread's stack from its stack pointer
 * up (its callee-saved registers spilled there first) and the static TLS
 * near its thread pointer, and the whole stack of every other live thread
 * (from its low end: the tracer does not know where their stack pointers
 * are, so dead frames below them count too; their TLS lies inside that
 * range, at the top of the mapping glibc made). Each aligned word that
 * points at a block's first byte marks it reachable; one pointing inside
 * it marks it possibly lost unless something reaches it. Reachable blocks
 * are scanned in turn (a work list), then blocks only possibly reached;
 * what is left is lost: a lost block pointed to by another lost block is
 * indirectly lost, the others definitely lost.
 *
 * Nothing read can fault: roots are copied with process_vm_readv (EFAULT,
 * not SIGSEGV, for a page unmapped or PROT_NONE), and a block is read only
 * when /proc/self/maps, read at the start, says its bytes are readable
 * (jemalloc keeps its address space mapped: a block freed meanwhile reads
 * as old bytes or zeros).
 *
 * Where: at exit, in the process itself (other threads are not stopped: a
 * pointer they move while the scan runs can be missed, so a block changing
 * hands at that moment may be classed as lost); for a snapshot that asks
 * for the classes, in a copy of the process made by clone (scan_copy),
 * which holds the heap as it was at one moment while the program's threads
 * run on (docs/design.md, "Leak classes", says what each costs). The
 * scan's memory is pages of its own (mem_alloc): never malloc, and no
 * lock.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "leaks.h"

__thread uintptr_t ms_leaks_stack_from MS_TLS;

enum { ST_NONE, ST_POSS, ST_REACH, ST_DEF, ST_IND };

typedef struct {
    uintptr_t start;
    uint64_t size;
    uint32_t site;          /* index into the report's sites, UINT32_MAX none */
    uint8_t state;
} blk_t;

typedef struct { uintptr_t lo, hi; } range_t;

typedef struct {
    blk_t *b;
    uint64_t n;
    uintptr_t lo, hi;       /* the lowest start, the highest end */
    uint32_t *work;         /* the work list */
    uint64_t nwork, capwork;
    range_t *maps;          /* readable mappings, sorted */
    uint64_t nmaps;
    range_t *roots;
    uint64_t nroots, caproots;
    int phase;              /* ST_REACH, ST_POSS or ST_DEF */
    uint32_t *site_of;      /* report site by stack id */
    uint32_t nsite_of;
    uintptr_t *buf;         /* 64 KiB: roots are copied through it */
    pid_t pid;              /* whose threads are live: this process's */
    uint64_t leader;        /* in the lost phase: the block scanned from */
    int frozen;             /* in the copy: no other thread runs */
    int oom;
} scan_t;

/* ---- memory: pages of its own ---------------------------------------------
 * The scan's arrays are mappings of their own, not the tracer's arena: a
 * copy of the process made by clone (scan_copy) holds jemalloc's locks as
 * the other threads held them at that moment, so nothing there may take
 * one. Each mapping starts with its length. */

#define MEM_HEAD 16

static void *
mem_alloc(size_t n)
{
    size_t len = (n + MEM_HEAD + 4095) & ~(size_t)4095;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE |
        MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *(size_t *)p = len;
    return (char *)p + MEM_HEAD;
}

static void *
mem_realloc(void *q, size_t n)
{
    if (q == NULL)
        return mem_alloc(n);
    char *b = (char *)q - MEM_HEAD;
    size_t old = *(size_t *)b, len = (n + MEM_HEAD + 4095) & ~(size_t)4095;
    if (len <= old)
        return q;
    void *p = mremap(b, old, len, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return NULL;
    *(size_t *)p = len;
    return (char *)p + MEM_HEAD;
}

static void
mem_free(void *q)
{
    if (q != NULL) {
        char *b = (char *)q - MEM_HEAD;
        munmap(b, *(size_t *)b);
    }
}

static int
grow(void **p, uint64_t *cap, uint64_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    uint64_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *n = mem_realloc(*p, nc * elem);
    if (n == NULL)
        return -1;
    *p = n;
    *cap = nc;
    return 0;
}

static void
push(scan_t *s, uint32_t i)
{
    if (grow((void **)&s->work, &s->capwork, s->nwork + 1, sizeof(*s->work))) {
        s->oom = 1;
        return;
    }
    s->work[s->nwork++] = i;
}

static void
add_root(scan_t *s, uintptr_t lo, uintptr_t hi)
{
    lo = (lo + 7) & ~(uintptr_t)7;
    if (hi <= lo)
        return;
    if (grow((void **)&s->roots, &s->caproots, s->nroots + 1,
            sizeof(*s->roots))) {
        s->oom = 1;
        return;
    }
    s->roots[s->nroots++] = (range_t){ lo, hi };
}

/* ---- readable mappings ---------------------------------------------------- */

static uintptr_t
hex(const char **p)
{
    uintptr_t v = 0;
    for (;; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9')
            v = v * 16 + (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v * 16 + (uintptr_t)(c - 'a' + 10);
        else
            return v;
    }
}

/* Reads /proc/self/maps: the readable ranges, sorted, adjacent ones
 * joined. [vvar] pages are left out (some of them fault when read). */
static int
read_maps(scan_t *s)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    char *buf = NULL;
    uint64_t cap = 0, len = 0;
    for (;;) {
        if (grow((void **)&buf, &cap, len + 65536 + 1, 1)) {
            close(fd);
            mem_free(buf);
            return -1;
        }
        ssize_t k = read(fd, buf + len, 65536);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        len += (uint64_t)k;
    }
    close(fd);
    buf[len] = '\0';
    uint64_t capm = 0;
    for (const char *p = buf; *p;) {
        const char *eol = strchr(p, '\n');
        if (eol == NULL)
            eol = p + strlen(p);
        const char *q = p;
        uintptr_t lo = hex(&q);
        uintptr_t hi = *q == '-' ? (q++, hex(&q)) : 0;
        int readable = *q == ' ' && q[1] == 'r';
        int vvar = memmem(p, (size_t)(eol - p), "[vvar", 5) != NULL;
        if (readable && !vvar && hi > lo) {
            if (s->nmaps > 0 && s->maps[s->nmaps - 1].hi == lo) {
                s->maps[s->nmaps - 1].hi = hi;
            } else if (grow((void **)&s->maps, &capm, s->nmaps + 1,
                           sizeof(*s->maps)) == 0) {
                s->maps[s->nmaps++] = (range_t){ lo, hi };
            }
        }
        p = *eol ? eol + 1 : eol;
    }
    mem_free(buf);
    return 0;
}

/* The readable mapping holding addr, or NULL. */
static const range_t *
map_of(const scan_t *s, uintptr_t addr)
{
    uint64_t a = 0, b = s->nmaps;
    while (a < b) {
        uint64_t m = a + (b - a) / 2;
        if (s->maps[m].hi <= addr)
            a = m + 1;
        else
            b = m;
    }
    return a < s->nmaps && s->maps[a].lo <= addr ? &s->maps[a] : NULL;
}

/* ---- the blocks ----------------------------------------------------------- */

/* Copies the live records of table t into s->b (a consistent copy when the
 * owner lets one be read; a busy owner's last try is kept as it is: in a
 * copy of the process, a table caught changing waits its 1000 tries out,
 * then is read as it is). */
typedef struct {
    scan_t *s;
    ms_thread_t *t;
    uint64_t *cap, base;
    const uint32_t *site_of;
    uint32_t nsite_of;
} copy_t;

static void
copy_restart(void *arg)
{
    copy_t *c = arg;
    c->s->n = c->base;
}

static int
copy_one(void *arg, const ms_rec_t *r)
{
    copy_t *c = arg;
    scan_t *s = c->s;
    if (grow((void **)&s->b, c->cap, s->n + 1, sizeof(*s->b))) {
        s->oom = 1;
        return 1;
    }
    uint32_t st = ms_sites_stack_of(&c->t->sites, r->site);
    s->b[s->n++] = (blk_t){ .start = r->ptr, .size = r->size,
        .site = st < c->nsite_of ? c->site_of[st] : UINT32_MAX };
    return 0;
}

static void
copy_table(scan_t *s, ms_thread_t *t, uint64_t *cap, const uint32_t *site_of,
    uint32_t nsite_of)
{
    copy_t c = { s, t, cap, s->n, site_of, nsite_of };
    ms_table_each(&t->table, copy_restart, copy_one, &c);
    if (!__atomic_load_n(&t->inbox.pending, __ATOMIC_ACQUIRE))
        return;
    /* blocks other threads freed, waiting in t's inbox until t takes
     * their records out: freed, not scanned (as roots or as leaks). In
     * the copy no thread runs: a lock held there stays held, and the set
     * is then read only if it was not being changed */
    if (s->frozen) {
        if (__atomic_load_n(&t->inbox.lock.v, __ATOMIC_ACQUIRE) != 0)
            return;
    } else {
        ms_spin_lock(&t->inbox.lock);
    }
    for (uint64_t i = c.base; i < s->n; ) {
        if (ms_inbox_holds(t, s->b[i].start))
            s->b[i] = s->b[--s->n];
        else
            i++;
    }
    if (!s->frozen)
        ms_spin_unlock(&t->inbox.lock);
}

/* Sorts s->b by start: least significant digit first, 16 bits a pass,
 * or 8 for fewer blocks (a short process's few hundred: 512 KiB of
 * counters cleared four times cost more than its whole scan). */
static int
sort_blocks(scan_t *s)
{
    int bits = s->n < 65536 ? 8 : 16;
    uint64_t digits = 1ull << bits, dmask = digits - 1;
    blk_t *tmp = mem_alloc((s->n ? s->n : 1) * sizeof(*tmp));
    uint64_t *cnt = mem_alloc(digits * sizeof(*cnt));
    if (tmp == NULL || cnt == NULL) {
        mem_free(tmp);
        mem_free(cnt);
        return -1;
    }
    for (int shift = 0; shift < 64; shift += bits) {
        memset(cnt, 0, digits * sizeof(*cnt));
        for (uint64_t i = 0; i < s->n; i++)
            cnt[(s->b[i].start >> shift) & dmask]++;
        if (s->n == 0 || cnt[(s->b[0].start >> shift) & dmask] == s->n)
            continue;           /* one digit for all: nothing moves */
        uint64_t sum = 0;
        for (uint64_t d = 0; d < digits; d++) {
            uint64_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (uint64_t i = 0; i < s->n; i++)
            tmp[cnt[(s->b[i].start >> shift) & dmask]++] = s->b[i];
        blk_t *x = s->b;
        s->b = tmp;
        tmp = x;
    }
    mem_free(tmp);
    mem_free(cnt);
    /* a block seen twice (a record moving between tables) counts once */
    uint64_t k = 0;
    for (uint64_t i = 0; i < s->n; i++)
        if (k == 0 || s->b[k - 1].start != s->b[i].start)
            s->b[k++] = s->b[i];
    s->n = k;
    s->lo = s->n ? s->b[0].start : 0;
    s->hi = 0;
    for (uint64_t i = 0; i < s->n; i++) {
        uintptr_t e = s->b[i].start + (s->b[i].size ? s->b[i].size : 1);
        if (e > s->hi)
            s->hi = e;
    }
    return 0;
}

/* The block holding address w: its index, or UINT64_MAX. */
static inline uint64_t
find(const scan_t *s, uintptr_t w)
{
    uint64_t a = 0, b = s->n;
    while (b - a > 1) {
        uint64_t m = a + (b - a) / 2;
        if (s->b[m].start <= w)
            a = m;
        else
            b = m;
    }
    const blk_t *x = &s->b[a];
    if (x->start <= w && w - x->start < (x->size ? x->size : 1))
        return a;
    return UINT64_MAX;
}

/* ---- marking -------------------------------------------------------------- */

static void
visit(scan_t *s, uintptr_t w)
{
    if (w < s->lo || w >= s->hi)
        return;
    uint64_t i = find(s, w);
    if (i == UINT64_MAX)
        return;
    blk_t *x = &s->b[i];
    switch (s->phase) {
    case ST_REACH:          /* from roots and reachable blocks */
        if (w == x->start && x->state != ST_REACH) {
            x->state = ST_REACH;
            push(s, (uint32_t)i);
        } else if (x->state == ST_NONE) {
            x->state = ST_POSS;
        }
        break;
    case ST_POSS:           /* from blocks only possibly reached */
        if (x->state == ST_NONE) {
            x->state = ST_POSS;
            push(s, (uint32_t)i);
        }
        break;
    default:                /* from a lost block */
        if (i == s->leader)
            break;
        if (x->state == ST_NONE) {
            x->state = ST_IND;
            push(s, (uint32_t)i);
        } else if (x->state == ST_DEF) {
            x->state = ST_IND;      /* its own lost blocks are marked */
        }
    }
}

static void
scan_words(scan_t *s, const uintptr_t *p, uint64_t n)
{
    for (uint64_t k = 0; k < n; k++)
        visit(s, p[k]);
}

/* A block's words, when its bytes are mapped readable. */
static void
scan_block(scan_t *s, uint32_t i)
{
    const blk_t *x = &s->b[i];
    uint64_t n = x->size / sizeof(uintptr_t);
    if (n == 0)
        return;
    const range_t *m = map_of(s, x->start);
    if (m == NULL || x->start + n * sizeof(uintptr_t) > m->hi)
        return;
    scan_words(s, (const uintptr_t *)x->start, n);
}

static void
drain(scan_t *s)
{
    while (s->nwork > 0 && !s->oom)
        scan_block(s, s->work[--s->nwork]);
}

/* A root range, copied in chunks by the kernel, so that an unmapped or
 * PROT_NONE page is skipped rather than faulted on: each page of a chunk is
 * a remote vector of its own, and a transfer stops whole before the first
 * vector it cannot read. */
static void
scan_root(scan_t *s, uintptr_t lo, uintptr_t hi, uintptr_t *buf, size_t cap)
{
    enum { NPAGES = 16 };
    pid_t pid = getpid();
    if (cap > NPAGES * 4096)
        cap = NPAGES * 4096;
    for (uintptr_t a = lo; a < hi;) {
        struct iovec rv[NPAGES + 1];
        int nv = 0;
        size_t len = 0;
        for (uintptr_t b = a; b < hi && len < cap && nv < NPAGES + 1; nv++) {
            uintptr_t e = (b | 4095) + 1;
            if (e > hi)
                e = hi;
            if (len + (e - b) > cap)
                e = b + (cap - len);
            rv[nv] = (struct iovec){ (void *)b, e - b };
            len += e - b;
            b = e;
        }
        struct iovec l = { buf, len };
        ssize_t got = process_vm_readv(pid, &l, 1, rv, (unsigned long)nv, 0);
        if (got > 0) {
            scan_words(s, buf, (uint64_t)got / sizeof(uintptr_t));
            a += (uintptr_t)got;
            if ((size_t)got < len)
                a = (a | 4095) + 1;     /* the page it stopped at */
            continue;
        }
        if (got < 0 && (errno == ENOSYS || errno == EPERM)) {
            /* not allowed here: the readable mappings read at the start */
            const range_t *m = map_of(s, a);
            uintptr_t e = m == NULL ? (a | 4095) + 1 : m->hi < hi ? m->hi : hi;
            if (m != NULL)
                scan_words(s, (const uintptr_t *)a, (e - a) / sizeof(uintptr_t));
            a = e;
            continue;
        }
        a = (a | 4095) + 1;             /* an unreadable first page */
    }
}

/* ---- roots ---------------------------------------------------------------- */

static int
phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    scan_t *s = arg;
    uintptr_t self = (uintptr_t)&ms_leaks_scan;
    int ours = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && self >= lo && self < lo + ph->p_memsz)
            ours = 1;
    }
    /* this library's own segments are not roots; linked into the program
     * itself (libmemscope_malloc.a), the program's are, ours with them */
    if (ours && info->dlpi_name != NULL && info->dlpi_name[0] != '\0')
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        add_root(s, lo, lo + ph->p_memsz);
    }
    return 0;
}

/* The static TLS below a thread pointer, within its mapping: a thread's
 * own __thread variables, and glibc's TCB with its DTV above it. */
static void
tls_root(scan_t *s, uintptr_t tp)
{
    const range_t *m = map_of(s, tp);
    if (m != NULL) {
        uintptr_t lo = tp - m->lo > (256u << 10) ? tp - (256u << 10) : m->lo;
        uintptr_t hi = m->hi - tp > 4096 ? tp + 4096 : m->hi;
        add_root(s, lo, hi);
    }
}

static void __attribute__((noinline))
stack_roots(scan_t *s, ms_thread_t *self)
{
    uintptr_t sp;
    __builtin_unwind_init();    /* callee-saved registers to this frame */
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    uintptr_t from = ms_leaks_stack_from;
    if (from != MS_LEAKS_NO_STACK) {
        uintptr_t top = 0;
        if (self != NULL && sp >= self->stack_lo && sp < self->stack_hi)
            top = self->stack_hi;
        else {
            const range_t *m = map_of(s, sp);
            top = m ? m->hi : sp;
        }
        add_root(s, from > sp && from < top ? from : sp, top);
        /* the static TLS below the thread pointer (the main thread's is not
         * in its stack) */
        uintptr_t tp = (uintptr_t)__builtin_thread_pointer();
        if (!(tp >= sp && tp < top))
            tls_root(s, tp);
    }
    /* every other thread's whole stack (glibc puts a thread's TLS at the
     * top of the stack it maps), and its TLS when it lies elsewhere (the
     * main thread's, when another thread runs the scan) */
    pid_t pid = s->pid;
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next) {
        if (t == self || __atomic_load_n(&t->exited, __ATOMIC_ACQUIRE) ||
            t->pid != pid || t->stack_hi <= t->stack_lo)
            continue;
        add_root(s, t->stack_lo, t->stack_hi);
        if (t->tcb != 0 && (t->tcb < t->stack_lo || t->tcb >= t->stack_hi))
            tls_root(s, t->tcb);
    }
}

/* glibc's thread control block keeps its DTV (the array of the thread's
 * TLS blocks, a block of the heap) one 16-byte entry in: a pointer into the
 * block's interior that the scan would take for a possibly lost one. The
 * DTV's own start is therefore visited for each live thread. */
static void
dtv_of(scan_t *s, uintptr_t tcb)
{
    uintptr_t dtv = 0;
    struct iovec l = { &dtv, sizeof(dtv) }, r = { (void *)(tcb + 8),
        sizeof(dtv) };
    if (process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)sizeof(dtv) &&
        dtv > 16)
        visit(s, dtv - 16);
}

static void
dtv_roots(scan_t *s, ms_thread_t *self)
{
    uintptr_t tp = (uintptr_t)__builtin_thread_pointer();
    for (ms_thread_t *t = ms_threads_head(); t != NULL; t = t->next) {
        uintptr_t tcb = t == self ? tp : t->tcb;
        if (tcb != 0 && (t == self ||
            (!__atomic_load_n(&t->exited, __ATOMIC_ACQUIRE) && t->pid == s->pid)))
            dtv_of(s, tcb);
    }
    if (self == NULL && tp != 0 && ms_leaks_stack_from != MS_LEAKS_NO_STACK)
        dtv_of(s, tp);
}

/* ---- the scan ------------------------------------------------------------- */

/* Marks and classes the blocks of every table into r. The module roots
 * are in s already. Touches no lock: it runs in the copy too. */
static void
scan_here(scan_t *s, ms_report_t *r)
{
    if (read_maps(s) != 0)
        return;
    uint64_t cap = 0;
    for (ms_thread_t *t = ms_threads_head(); t != NULL && !s->oom; t = t->next)
        copy_table(s, t, &cap, s->site_of, s->nsite_of);
    if (s->oom || s->n >= UINT32_MAX || sort_blocks(s) != 0)
        return;

    s->phase = ST_REACH;
    stack_roots(s, ms_tls_self);
    dtv_roots(s, ms_tls_self);
    drain(s);
    for (uint64_t k = 0; k < s->nroots && !s->oom; k++) {
        scan_root(s, s->roots[k].lo, s->roots[k].hi, s->buf, 65536);
        drain(s);
    }
    s->phase = ST_POSS;
    for (uint64_t i = 0; i < s->n && !s->oom; i++)
        if (s->b[i].state == ST_POSS)
            push(s, (uint32_t)i);
    drain(s);
    s->phase = ST_DEF;
    for (uint64_t i = 0; i < s->n && !s->oom; i++) {
        if (s->b[i].state != ST_NONE)
            continue;
        s->b[i].state = ST_DEF;
        s->leader = i;
        push(s, (uint32_t)i);
        drain(s);
    }
    if (s->oom)
        return;

    static const int cls[] = { [ST_DEF] = MS_LEAK_DEFINITE,
        [ST_IND] = MS_LEAK_INDIRECT, [ST_POSS] = MS_LEAK_POSSIBLE,
        [ST_REACH] = MS_LEAK_REACHABLE };
    for (uint64_t i = 0; i < s->n; i++) {
        const blk_t *x = &s->b[i];
        int c = cls[x->state];
        r->leak_blocks[c]++;
        r->leak_bytes[c] += x->size;
        if (x->site != UINT32_MAX) {
            r->sites[x->site].leak_blocks[c]++;
            r->sites[x->site].leak_bytes[c] += x->size;
        }
    }
    r->leak_checked = 1;
}

/* ---- in a copy of the process ---------------------------------------------
 * clone without CLONE_VM (fork, without the program's or glibc's fork
 * handlers, and with no exit signal: the program gets no SIGCHLD and its
 * wait() does not reap it) gives a child that holds the whole address
 * space as it was at that moment, the tracer's tables included, while the
 * program's threads run on. The child scans, writes the classes to a pipe
 * and exits; the parent reads them into its report. The child's only
 * thread is a copy of the caller, with every signal blocked; it takes no
 * lock (another thread may have held any at the copy) and allocates only
 * pages of its own. */

#define COPY_MAGIC 0x6d736c6b31ull      /* "mslk1" */

typedef struct {
    uint64_t magic, nrec;
    uint64_t blocks[MS_LEAK_CLASSES], bytes[MS_LEAK_CLASSES];
} copy_head_t;

typedef struct {
    uint64_t site;
    uint64_t blocks[MS_LEAK_CLASSES], bytes[MS_LEAK_CLASSES];
} copy_rec_t;

/* In the child: the classes of r to fd. */
static void
copy_send(int fd, const ms_report_t *r)
{
    copy_head_t h = { .magic = COPY_MAGIC };
    if (!r->leak_checked)
        h.magic = 0;
    for (uint64_t i = 0; i < r->nsites; i++)
        for (unsigned c = 0; c < MS_LEAK_CLASSES; c++)
            if (r->sites[i].leak_blocks[c] != 0) {
                h.nrec++;
                break;
            }
    memcpy(h.blocks, r->leak_blocks, sizeof(h.blocks));
    memcpy(h.bytes, r->leak_bytes, sizeof(h.bytes));
    if (ms_fd_write(fd, &h, sizeof(h)) != 0 || h.magic == 0)
        return;
    copy_rec_t buf[64];
    unsigned nb = 0;
    for (uint64_t i = 0; i < r->nsites; i++) {
        const ms_rsite_t *x = &r->sites[i];
        uint64_t any = 0;
        for (unsigned c = 0; c < MS_LEAK_CLASSES; c++)
            any |= x->leak_blocks[c];
        if (any == 0)
            continue;
        buf[nb].site = i;
        memcpy(buf[nb].blocks, x->leak_blocks, sizeof(buf[nb].blocks));
        memcpy(buf[nb].bytes, x->leak_bytes, sizeof(buf[nb].bytes));
        if (++nb == sizeof(buf) / sizeof(buf[0])) {
            if (ms_fd_write(fd, buf, nb * sizeof(buf[0])) != 0)
                return;
            nb = 0;
        }
    }
    if (nb > 0)
        ms_fd_write(fd, buf, nb * sizeof(buf[0]));
}

/* In the parent: n bytes from fd, waiting at most until deadline (ms of
 * CLOCK_MONOTONIC); 0, or -1 at the end, an error or the deadline. */
static int
read_all(int fd, void *p, size_t n, uint64_t deadline)
{
    while (n > 0) {
        uint64_t now = ms_now_precise_ns() / 1000000;
        if (now >= deadline)
            return -1;
        struct pollfd pfd = { fd, POLLIN, 0 };
        int k = poll(&pfd, 1, (int)(deadline - now < 60000 ? deadline - now : 60000));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            continue;
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p = (char *)p + got;
        n -= (size_t)got;
    }
    return 0;
}

static int
copy_receive(int fd, ms_report_t *r, uint64_t deadline)
{
    copy_head_t h;
    if (read_all(fd, &h, sizeof(h), deadline) != 0 || h.magic != COPY_MAGIC ||
        h.nrec > r->nsites)
        return -1;
    memcpy(r->leak_blocks, h.blocks, sizeof(h.blocks));
    memcpy(r->leak_bytes, h.bytes, sizeof(h.bytes));
    for (uint64_t k = 0; k < h.nrec; k++) {
        copy_rec_t x;
        if (read_all(fd, &x, sizeof(x), deadline) != 0 || x.site >= r->nsites)
            return -1;
        memcpy(r->sites[x.site].leak_blocks, x.blocks, sizeof(x.blocks));
        memcpy(r->sites[x.site].leak_bytes, x.bytes, sizeof(x.bytes));
    }
    r->leak_checked = 1;
    return 0;
}

/* 0 when the copy ran (r->leak_checked says whether it classed the
 * blocks), -1 when no copy could be made. */
static int
scan_copy(scan_t *s, ms_report_t *r)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    uint64_t t0 = ms_now_precise_ns();
    long pid = syscall(SYS_clone, 0UL, NULL, NULL, NULL, NULL);
    if (pid == 0) {
        /* the child: a frozen copy; nothing here returns */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        prctl(PR_SET_NAME, "memscope-scan", 0, 0, 0);
        close(fds[0]);
        s->frozen = 1;
        scan_here(s, r);        /* s->pid stays the parent's: its threads */
        copy_send(fds[1], r);
        _exit(0);
    }
    uint64_t t1 = ms_now_precise_ns();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int err = errno;
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        errno = err;
        return -1;
    }
    /* the scan's time grows with the blocks: a minute, and a minute more
     * for each 10^6 blocks, before the child is taken for hung */
    uint64_t deadline = ms_now_precise_ns() / 1000000 + 60000 +
        r->tracked_blocks / 1000000 * 60000;
    if (copy_receive(fds[0], r, deadline) != 0) {
        r->leak_checked = 0;
        kill((pid_t)pid, SIGKILL);
        if (ms_opt.verbose)
            ms_log("leak scan: the copy of the process sent no classes "
                "(out of memory, or killed): not measured");
    }
    if (ms_opt.verbose)
        ms_log("leak scan: the copy of the process made in %.3f ms",
            (double)(t1 - t0) / 1e6);
    close(fds[0]);
    int st;
    while (waitpid((pid_t)pid, &st, __WALL) < 0 && errno == EINTR)
        ;
    return 0;
}

void
ms_leaks_scan(ms_report_t *r, int copy)
{
    scan_t s;
    memset(&s, 0, sizeof(s));
    s.pid = getpid();
    /* report sites by stack id */
    s.nsite_of = ms_stacks_count() + 1;
    for (uint64_t i = 0; i < r->nsites; i++)
        if (r->sites[i].id >= s.nsite_of)
            s.nsite_of = (uint32_t)r->sites[i].id + 1;
    s.site_of = mem_alloc((size_t)s.nsite_of * sizeof(*s.site_of));
    s.buf = mem_alloc(65536);
    if (s.site_of == NULL || s.buf == NULL)
        goto out;
    memset(s.site_of, 0xff, (size_t)s.nsite_of * sizeof(*s.site_of));
    for (uint64_t i = 0; i < r->nsites; i++)
        s.site_of[r->sites[i].id] = (uint32_t)i;
    /* the modules' writable segments: found here, where dl_iterate_phdr
     * may take the loader's lock */
    dl_iterate_phdr(phdr_cb, &s);
    if (s.oom)
        goto out;
    uint64_t t0 = ms_now_precise_ns();
    int copied = copy && scan_copy(&s, r) == 0;
    if (copy && !copied && ms_opt.verbose)
        ms_log("leak scan: no copy of the process could be made (%s): "
            "scanned in place", strerror(errno));
    if (!copied)
        scan_here(&s, r);
    if (ms_opt.verbose && r->leak_checked) {
        uint64_t n = 0;
        for (unsigned c = 0; c < MS_LEAK_CLASSES; c++)
            n += r->leak_blocks[c];
        ms_log("leak scan: %llu blocks classed in %.3f s, %s",
            (unsigned long long)n, (double)(ms_now_precise_ns() - t0) / 1e9,
            copied ? "in a copy of the process" : "in place");
    }
out:
    if (!r->leak_checked) {     /* all or nothing */
        memset(r->leak_blocks, 0, sizeof(r->leak_blocks));
        memset(r->leak_bytes, 0, sizeof(r->leak_bytes));
        for (uint64_t i = 0; i < r->nsites; i++) {
            memset(r->sites[i].leak_blocks, 0, sizeof(r->sites[i].leak_blocks));
            memset(r->sites[i].leak_bytes, 0, sizeof(r->sites[i].leak_bytes));
        }
    }
    mem_free(s.site_of);
    mem_free(s.buf);
    mem_free(s.b);
    mem_free(s.work);
    mem_free(s.maps);
    mem_free(s.roots);
}
