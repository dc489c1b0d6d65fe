/*
 * symcache.c - names of return addresses kept across processes, by module
 * build ID, in MEMSCOPE_SYMBOL_CACHE (a directory; `memscope run` makes
 * one for its run). Naming an address with libdw costs a short process
 * most of its exit (dlopen, the process's modules, their symbol tables
 * and DWARF: some 60 ms with libc's debug symbols); a process of a program
 * seen before finds every address of its stacks here and never loads
 * libdw.
 *
 * DIR/BUILDID holds one line per address of that module: its offset in
 * hex, then the function, file and line, then those of each function
 * inlined there (innermost first), tab-separated, an empty field for
 * unknown. A process appends its new lines with one write per module,
 * O_APPEND: processes exiting at once never mix theirs; an address named twice is harmless (the first
 * line wins). A name holding a tab or a newline is not kept. The file is
 * read as untrusted input: a line that does not parse is skipped.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "symcache.h"

#define MAX_FILE (64u << 20)

typedef struct {
    uintptr_t offset;
    char *line;             /* the fields after the offset, in buf */
} entry_t;

struct ms_symcache_mod {
    uintptr_t base;         /* dli_fbase */
    char bid[129];          /* hex, "" = none */
    int loaded;
    char *buf;              /* the file, fields cut in place */
    entry_t *e;
    size_t n;
    char *add;              /* lines to append */
    size_t nadd, capadd;
};

/* ---- build IDs of loaded modules, from their notes --------------------- */

typedef struct {
    uintptr_t base;
    char *out;
    int found;
} bid_arg_t;

static int
bid_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    bid_arg_t *a = arg;
    uintptr_t lo = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD &&
            info->dlpi_addr + info->dlpi_phdr[i].p_vaddr < lo)
            lo = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
    /* dladdr's base is the lowest mapping (the load bias for a PIE or a
     * shared object, the first segment's address for a fixed executable) */
    if (lo - (lo & 4095) != a->base && info->dlpi_addr != a->base)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr +
            ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t nsz = (nh->n_namesz + 3) & ~3u, dsz = (nh->n_descsz + 3) & ~3u;
            const unsigned char *name = p + sizeof(*nh), *desc = name + nsz;
            if (desc + dsz > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(name, "GNU", 4) == 0 && nh->n_descsz > 0 &&
                nh->n_descsz <= 64) {
                for (unsigned k = 0; k < nh->n_descsz; k++)
                    snprintf(a->out + 2 * k, 3, "%02x", desc[k]);
                a->found = 1;
                return 1;
            }
            p = desc + dsz;
        }
    }
    return 1;
}

/* ---- the table of modules ----------------------------------------------- */

static int
valid_dir(void)
{
    return ms_opt.symbol_cache[0] != '\0';
}

ms_symcache_mod_t *
ms_symcache_module(ms_symcache_t *c, uintptr_t base)
{
    if (!valid_dir())
        return NULL;
    for (int i = 0; i < c->n; i++)
        if (c->mods[i]->base == base)
            return c->mods[i]->bid[0] ? c->mods[i] : NULL;
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 16;
        ms_symcache_mod_t **m = ms_trealloc(c->mods, (size_t)nc * sizeof(*m));
        if (m == NULL)
            return NULL;
        c->mods = m;
        c->cap = nc;
    }
    ms_symcache_mod_t *m = ms_tcalloc(sizeof(*m));
    if (m == NULL)
        return NULL;
    m->base = base;
    bid_arg_t a = { base, m->bid, 0 };
    dl_iterate_phdr(bid_cb, &a);
    if (!a.found)
        m->bid[0] = '\0';
    c->mods[c->n++] = m;
    return m->bid[0] ? m : NULL;
}

const char *
ms_symcache_bid(const ms_symcache_mod_t *m)
{
    return m->bid;
}

static int
entry_cmp(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void
load(ms_symcache_mod_t *m)
{
    m->loaded = 1;
    char path[1200];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", ms_opt.symbol_cache,
        m->bid) >= sizeof(path))
        return;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > MAX_FILE ||
        (m->buf = ms_tmalloc((size_t)st.st_size + 1)) == NULL) {
        close(fd);
        return;
    }
    size_t len = 0;
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, m->buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    m->buf[len] = '\0';
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += m->buf[i] == '\n';
    if (lines == 0 || (m->e = ms_tmalloc(lines * sizeof(*m->e))) == NULL)
        return;
    char *p = m->buf;
    while (*p != '\0' && m->n < lines) {
        char *nl = strchr(p, '\n');
        if (nl == NULL)
            break;          /* a line cut short: not used */
        *nl = '\0';
        char *end;
        unsigned long long off = strtoull(p, &end, 16);
        if (end != p && *end == '\t') {
            m->e[m->n].offset = (uintptr_t)off;
            m->e[m->n].line = end + 1;
            m->n++;
        }
        p = nl + 1;
    }
    /* stable on equal offsets would need more: any of the lines of one
     * address names it the same */
    qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
}

/* The next tab-separated field of *p (cut in a copy), or NULL at the end. */
static int
field(const char **p, const char **start, size_t *len)
{
    if (*p == NULL)
        return 0;
    *start = *p;
    const char *t = strchr(*p, '\t');
    *len = t ? (size_t)(t - *p) : strlen(*p);
    *p = t ? t + 1 : NULL;
    return 1;
}

static char *
dup_field(const char *s, size_t len)
{
    if (len == 0)
        return NULL;
    char *d = ms_tmalloc(len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static int
parse_int(const char *s, size_t len)
{
    int v = 0;
    for (size_t i = 0; i < len && i < 9; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int
ms_symcache_get(ms_symcache_mod_t *m, uintptr_t offset, ms_sym_t *out)
{
    if (!m->loaded)
        load(m);
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->e[mid].offset < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= m->n || m->e[lo].offset != offset)
        return 0;
    const char *p = m->e[lo].line, *s[3] = { "", "", "" };
    size_t l[3] = { 0, 0, 0 };
    /* func, file, line, then triples of the inlined functions */
    int nf = 0;
    for (const char *q = p; q != NULL; q = strchr(q, '\t') ? strchr(q, '\t') + 1 : NULL)
        nf++;
    if (nf < 3 || (nf - 3) % 3 != 0 || (nf - 3) / 3 > 32)
        return 0;
    int ninl = (nf - 3) / 3;
    field(&p, &s[0], &l[0]);
    field(&p, &s[1], &l[1]);
    field(&p, &s[2], &l[2]);
    out->func = dup_field(s[0], l[0]);
    out->file = dup_field(s[1], l[1]);
    out->line = parse_int(s[2], l[2]);
    if (ninl > 0 && (out->inl = ms_tcalloc((size_t)ninl * sizeof(*out->inl)))) {
        for (int k = 0; k < ninl; k++) {
            field(&p, &s[0], &l[0]);
            field(&p, &s[1], &l[1]);
            field(&p, &s[2], &l[2]);
            out->inl[k].func = dup_field(s[0], l[0]);
            out->inl[k].file = dup_field(s[1], l[1]);
            out->inl[k].line = parse_int(s[2], l[2]);
        }
        out->ninl = ninl;
    }
    out->build_id = ms_tstrdup(m->bid);
    return 1;
}

/* Appends s to m's new lines; 0 or -1. */
static int
add(ms_symcache_mod_t *m, const char *s, size_t len)
{
    if (m->nadd + len + 1 > m->capadd) {
        size_t nc = m->capadd ? m->capadd * 2 : 4096;
        while (nc < m->nadd + len + 1)
            nc *= 2;
        char *n = ms_trealloc(m->add, nc);
        if (n == NULL)
            return -1;
        m->add = n;
        m->capadd = nc;
    }
    memcpy(m->add + m->nadd, s, len);
    m->nadd += len;
    return 0;
}

static int
clean(const char *s)
{
    return s == NULL || strpbrk(s, "\t\n") == NULL;
}

void
ms_symcache_put(ms_symcache_mod_t *m, uintptr_t offset, const ms_sym_t *sym)
{
    if (!clean(sym->func) || !clean(sym->file))
        return;
    for (int k = 0; k < sym->ninl; k++)
        if (!clean(sym->inl[k].func) || !clean(sym->inl[k].file))
            return;
    size_t mark = m->nadd;
    char num[40];
    int n = snprintf(num, sizeof(num), "%llx", (unsigned long long)offset);
    int ok = add(m, num, (size_t)n) == 0;
    const char *f[1 + 32], *fl[1 + 32];
    int ln[1 + 32];
    f[0] = sym->func;
    fl[0] = sym->file;
    ln[0] = sym->line;
    for (int k = 0; k < sym->ninl && k < 32; k++) {
        f[k + 1] = sym->inl[k].func;
        fl[k + 1] = sym->inl[k].file;
        ln[k + 1] = sym->inl[k].line;
    }
    for (int k = 0; k <= sym->ninl && k <= 32 && ok; k++) {
        n = snprintf(num, sizeof(num), "\t%d", ln[k]);
        ok = add(m, "\t", 1) == 0 &&
            add(m, f[k] ? f[k] : "", f[k] ? strlen(f[k]) : 0) == 0 &&
            add(m, "\t", 1) == 0 &&
            add(m, fl[k] ? fl[k] : "", fl[k] ? strlen(fl[k]) : 0) == 0 &&
            add(m, num, (size_t)n) == 0;
    }
    if (!ok || add(m, "\n", 1) != 0)
        m->nadd = mark;
}

void
ms_symcache_flush(ms_symcache_t *c)
{
    for (int i = 0; i < c->n; i++) {
        ms_symcache_mod_t *m = c->mods[i];
        if (m->nadd > 0) {
            char path[1200];
            if ((size_t)snprintf(path, sizeof(path), "%s/%s",
                    ms_opt.symbol_cache, m->bid) < sizeof(path)) {
                int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
                    O_NOFOLLOW | O_NOCTTY, ms_opt.file_mode);
                if (fd >= 0) {
                    ssize_t w = write(fd, m->add, m->nadd);
                    (void)w;
                    close(fd);
                }
            }
        }
        ms_tfree(m->add);
        ms_tfree(m->e);
        ms_tfree(m->buf);
        ms_tfree(m);
    }
    ms_tfree(c->mods);
    c->mods = NULL;
    c->n = c->cap = 0;
}
