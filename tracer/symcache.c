/*
 * symcache.c - names of return addresses kept across processes and runs,
 * by module, in the directory MEMSCOPE_SYMBOL_CACHE (by default
 * $XDG_CACHE_HOME/memscope/symbols, else ~/.cache/memscope/symbols; see
 * options.c). Naming an address with libdw costs a short process most of
 * its exit (dlopen, the process's modules, their symbol tables and DWARF:
 * some 60 ms and 20 MB with libc's compressed debug symbols); a process of
 * a program seen before finds every address of its stacks here and never
 * loads libdw.
 *
 * Never stale: a module's file is DIR/BUILDID-KEY, KEY a hash of all that
 * decides what this process would say of its addresses besides the
 * module's own bytes (its build ID): the build ID of this library (our
 * naming code) and of the demangler, and the identity (device, inode,
 * size, mtime; or the error of stat) of every file libdw's standard search
 * could take as the module's separate debug information
 * (/usr/lib/debug/.build-id/xx/yyyy.debug, then the module's
 * .gnu_debuglink name or NAME.debug next to it, in .debug/ and under
 * /usr/lib/debug, for its name and its canonical name; with
 * DEBUGINFOD_URLS, the debuginfod client's cached file). Installing or
 * removing a debug package changes KEY: a new file, filled by libdw. The
 * key costs an open, a few preads of the section headers and some ten
 * stat calls per module, and is taken again before lines are written:
 * lines named while the debug files changed are dropped. Not cached: a
 * module without a build ID, one whose file on disk is not the one loaded
 * (another build ID), and with DEBUGINFOD_URLS one that has no debug file
 * here (the answer depends on the server).
 *
 * A file holds one line per address of that module: its offset in hex,
 * then the function, file and line, then those of each function inlined
 * there (innermost first), tab-separated, an empty field for unknown. A
 * process appends its new lines with one write per module, O_APPEND:
 * processes exiting at once never mix theirs; an address named twice is
 * harmless (the first line wins). A file past MAX_KEPT is replaced (a
 * temporary file, then rename) by the lines this process used and named:
 * a writer still appending to the old one loses its lines, nothing else.
 * A name holding a tab or a newline is not kept. The file is read as
 * untrusted input: a line that does not parse is skipped. A directory
 * that cannot be made or written is not an error: names come from libdw.
 * Files unused for PRUNE_AGE go when a process makes a new file (see
 * prune); a file read is touched at most once a day.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "elfplain.h"
#include "symcache.h"

#define MAX_FILE (64u << 20)     /* read */
#define MAX_KEPT (16u << 20)     /* past this, replaced at the next write */
/* A file not used for PRUNE_AGE seconds is removed by the next process
 * that makes a file; one used is touched when its mtime is over
 * TOUCH_AGE old; a temporary file (a writer that died) goes after
 * TMP_AGE. */
#define PRUNE_AGE (30 * 86400)
#define TOUCH_AGE 86400
#define TMP_AGE   3600

typedef struct {
    uintptr_t offset;
    char *line;             /* the fields after the offset, in buf */
    int used;
} entry_t;

struct ms_symcache_mod {
    uintptr_t base;         /* dli_fbase */
    char bid[129];          /* hex, "" = none */
    const char *name;       /* the link map's name ("" = the program) */
    uint64_t key;
    char file[160];         /* BUILDID-KEY, "" = not cached */
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
    const char *name;
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
                a->name = info->dlpi_name;
                return 1;
            }
            p = desc + dsz;
        }
    }
    return 1;
}

/* ---- the key: what else decides a name ------------------------------- */

/* FNV-1a, 64 bits */
static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t
mix_str(uint64_t h, const char *s)
{
    return mix(h, s, strlen(s) + 1);
}

/* Mixes path and the identity of the file there (or why there is none);
 * *found is set when there is one. */
static uint64_t
mix_file(uint64_t h, const char *path, int *found)
{
    struct stat st;
    h = mix_str(h, path);
    if (stat(path, &st) != 0) {
        int e = errno;
        return mix(h, &e, sizeof(e));
    }
    *found = 1;
    uint64_t id[5] = { (uint64_t)st.st_dev, (uint64_t)st.st_ino,
        (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
        (uint64_t)st.st_mtim.tv_nsec };
    return mix(h, id, sizeof(id));
}

/* The build ID (hex) of the loaded module holding addr, or "none". */
static uint64_t
mix_module_of(uint64_t h, const void *addr)
{
    Dl_info info;
    char bid[129] = "none";
    if (addr != NULL && dladdr(addr, &info) != 0) {
        bid_arg_t a = { (uintptr_t)info.dli_fbase, bid, 0, NULL };
        dl_iterate_phdr(bid_cb, &a);
        if (!a.found)
            snprintf(bid, sizeof(bid), "?");
    }
    return mix_str(h, bid);
}

/* The C++ runtime's demangler (symbols.c), when the program has one. */
extern char *__cxa_demangle(const char *, char *, size_t *, int *)
    __attribute__((weak));

/* The part of every key this process shares: our naming code, the
 * demangler. */
static uint64_t
seed_of(void)
{
    uint64_t h = mix_str(0xcbf29ce484222325ull, "memscope symbol cache 2");
    h = mix_module_of(h, (const void *)ms_symcache_module);
    return mix_module_of(h, __cxa_demangle != NULL ?
        (const void *)__cxa_demangle : NULL);
}

/* Reads the section headers of the ELF file at fd: its .gnu_debuglink
 * name into link ("" = none). Returns 0, or -1 when the file cannot be
 * read or its build ID note is not bid (not the module loaded). */
static int
elf_debuglink(int fd, const char *bid, char *link, size_t linklen)
{
    ElfW(Ehdr) eh;
    link[0] = '\0';
    if (ms_fd_pread(fd, &eh, sizeof(eh), 0) != 0 ||
        memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shnum == 0 ||
        eh.e_shnum > 4096 || eh.e_shstrndx >= eh.e_shnum)
        return -1;
    ElfW(Shdr) *sh = ms_tmalloc(eh.e_shnum * sizeof(*sh));
    char *names = NULL;
    int rc = -1, same = 0;
    if (sh == NULL || ms_fd_pread(fd, sh, eh.e_shnum * sizeof(*sh),
            eh.e_shoff) != 0)
        goto out;
    const ElfW(Shdr) *ss = &sh[eh.e_shstrndx];
    if (ss->sh_size == 0 || ss->sh_size > (1u << 20) ||
        (names = ms_tmalloc(ss->sh_size + 1)) == NULL ||
        ms_fd_pread(fd, names, ss->sh_size, ss->sh_offset) != 0)
        goto out;
    names[ss->sh_size] = '\0';
    for (int i = 0; i < eh.e_shnum; i++) {
        const ElfW(Shdr) *s = &sh[i];
        if (s->sh_name >= ss->sh_size || s->sh_type == SHT_NOBITS)
            continue;
        if (strcmp(names + s->sh_name, ".gnu_debuglink") == 0) {
            size_t n = s->sh_size < linklen - 1 ? s->sh_size : linklen - 1;
            if (ms_fd_pread(fd, link, n, s->sh_offset) != 0)
                goto out;
            link[n] = '\0';
            if (strlen(link) == n || strchr(link, '/') != NULL)
                goto out;   /* no end, or not a plain name: not libdw's */
        } else if (s->sh_type == SHT_NOTE && s->sh_size <= 4096 && !same) {
            unsigned char note[4096];
            if (ms_fd_pread(fd, note, s->sh_size, s->sh_offset) != 0)
                goto out;
            const unsigned char *p = note, *end = note + s->sh_size;
            while (p + sizeof(ElfW(Nhdr)) <= end && !same) {
                const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
                size_t nsz = (nh->n_namesz + 3) & ~3u,
                    dsz = (nh->n_descsz + 3) & ~3u;
                const unsigned char *desc = p + sizeof(*nh) + nsz;
                if (desc + dsz > end)
                    break;
                if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                    memcmp(p + sizeof(*nh), "GNU", 4) == 0 &&
                    nh->n_descsz > 0 && nh->n_descsz <= 64 &&
                    strlen(bid) == 2u * nh->n_descsz) {
                    char hex[129];
                    for (unsigned k = 0; k < nh->n_descsz; k++)
                        snprintf(hex + 2 * k, 3, "%02x", desc[k]);
                    same = strcmp(hex, bid) == 0;
                }
                p = desc + dsz;
            }
        }
    }
    rc = same ? 0 : -1;
out:
    ms_tfree(names);
    ms_tfree(sh);
    return rc;
}

/* Mixes the candidates of libdw's search by name (find_debuginfo_in_path:
 * the path ":.debug:/usr/lib/debug") for the module file at path. */
static uint64_t
mix_by_name(uint64_t h, const char *path, const char *name, int *found)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL || path[0] != '/')
        return h;
    int dl = (int)(slash - path);       /* the directory, no final '/' */
    char c[4096];
    if (snprintf(c, sizeof(c), "%.*s/%s", dl, path, name) < (int)sizeof(c))
        h = mix_file(h, c, found);
    if (snprintf(c, sizeof(c), "%.*s/.debug/%s", dl, path, name) < (int)sizeof(c))
        h = mix_file(h, c, found);
    if (snprintf(c, sizeof(c), "/usr/lib/debug%.*s/%s", dl, path, name) <
            (int)sizeof(c))
        h = mix_file(h, c, found);
    return h;
}

/* The key of module m (see the top of the file); returns 0, or -1 when m
 * is not to be cached. */
static int
module_key(uint64_t seed, const ms_symcache_mod_t *m, uint64_t *key)
{
    const char *path = m->name[0] ? m->name : "/proc/self/exe";
    if (path[0] != '/')
        return -1;          /* the vDSO, or a name relative to a cwd */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    /* the kernel's name of the file: libdw's, from /proc/PID/maps */
    char canon[4096], fdname[64], link[256];
    snprintf(fdname, sizeof(fdname), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(fdname, canon, sizeof(canon) - 1);
    int ok = n > 0 && elf_debuglink(fd, m->bid, link, sizeof(link)) == 0;
    close(fd);
    if (!ok)
        return -1;
    canon[n] = '\0';
    uint64_t h = mix_str(seed, m->bid);
    int found = 0;
    char c[4096];
    snprintf(c, sizeof(c), "/usr/lib/debug/.build-id/%.2s/%s.debug", m->bid,
        m->bid + 2);
    h = mix_file(h, c, &found);
    /* by name: the debuglink's, and NAME.debug (libdw's without one), for
     * both names of the file */
    const char *names[2] = { canon, m->name[0] ? m->name : canon };
    for (int k = 0; k < 2; k++) {
        if (k == 1 && strcmp(names[0], names[1]) == 0)
            break;
        if (link[0] != '\0')
            h = mix_by_name(h, names[k], link, &found);
        const char *base = strrchr(names[k], '/');
        if (base != NULL &&
            snprintf(c, sizeof(c), "%s.debug", base + 1) < (int)sizeof(c))
            h = mix_by_name(h, names[k], c, &found);
    }
    const char *urls = getenv("DEBUGINFOD_URLS");
    if (urls != NULL && urls[0] != '\0') {
        /* the debuginfod client's cache, where libdw looks last */
        const char *dc = getenv("DEBUGINFOD_CACHE_PATH"),
            *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
        int w = -1;
        if (dc != NULL && dc[0] != '\0')
            w = snprintf(c, sizeof(c), "%s/%s/debuginfo", dc, m->bid);
        else if (xdg != NULL && xdg[0] != '\0')
            w = snprintf(c, sizeof(c), "%s/debuginfod_client/%s/debuginfo",
                xdg, m->bid);
        else if (home != NULL && home[0] != '\0')
            w = snprintf(c, sizeof(c),
                "%s/.cache/debuginfod_client/%s/debuginfo", home, m->bid);
        if (w > 0 && w < (int)sizeof(c))
            h = mix_file(h, c, &found);
        h = mix_str(h, urls);
        if (!found)
            return -1;      /* the server decides */
    }
    *key = h;
    return 0;
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
            return c->mods[i]->file[0] ? c->mods[i] : NULL;
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
    int saved = errno;
    if (!c->seeded) {
        c->seed = seed_of();
        c->seeded = 1;
    }
    m->base = base;
    bid_arg_t a = { base, m->bid, 0, NULL };
    dl_iterate_phdr(bid_cb, &a);
    m->name = a.name != NULL ? a.name : "";
    if (a.found && module_key(c->seed, m, &m->key) == 0)
        snprintf(m->file, sizeof(m->file), "%s-%016llx", m->bid,
            (unsigned long long)m->key);
    c->mods[c->n++] = m;
    errno = saved;
    return m->file[0] ? m : NULL;
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
        m->file) >= sizeof(path))
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
    /* in use: not to be pruned (its mtime is its last use, to a day) */
    if (time(NULL) - st.st_mtime > TOUCH_AGE)
        (void)futimens(fd, NULL);
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
    m->e[lo].used = 1;
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

/* Whether name is a file of the cache: BUILDID-KEY (hex, '-', 16 hex
 * digits) or an uncompressed debug file BUILDID-KEY.debug, or with tmp
 * set a writer's temporary .NAME.tmp.PID. */
static int
cache_name(const char *name, int *tmp)
{
    static const char hex[] = "0123456789abcdef";
    *tmp = name[0] == '.';
    const char *s = name + *tmp;
    size_t h = strspn(s, hex);
    if (h < 2 || s[h] != '-' || strspn(s + h + 1, hex) != 16)
        return 0;
    s += h + 17;
    if (strncmp(s, ".debug", 6) == 0)
        s += 6;
    if (!*tmp)
        return *s == '\0';
    return strncmp(s, ".tmp.", 5) == 0 && s[5] != '\0' &&
        strspn(s + 5, "0123456789") == strlen(s + 5);
}

/* Removes the cache's files unused for PRUNE_AGE (modules rebuilt or
 * uninstalled since), and temporary files older than TMP_AGE; nothing
 * else in the directory is touched. A process still reading a file
 * removed keeps it open; one appending to it loses its lines. */
static void
prune(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int tmp;
        struct stat st;
        if (!cache_name(e->d_name, &tmp) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (now - st.st_mtime > (tmp ? TMP_AGE : PRUNE_AGE))
            (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
}

/* Makes the directory and those above it that are missing, 0700. */
static void
make_dir(const char *dir)
{
    char p[sizeof(ms_opt.symbol_cache)];
    snprintf(p, sizeof(p), "%s", dir);
    for (char *s = p + 1; ; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char was = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST)
            return;
        if (was == '\0')
            return;
        *s = was;
    }
}

/* Writes m's new lines to its file: appended, or, past MAX_KEPT, in a new
 * file holding the lines this process used, renamed over it. */
static void
write_lines(ms_symcache_mod_t *m, int *made)
{
    char path[1200], tmp[1300];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", ms_opt.symbol_cache,
            m->file) >= sizeof(path))
        return;
    if (!*made) {
        make_dir(ms_opt.symbol_cache);
        *made = 1;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
        O_NOFOLLOW | O_NOCTTY, ms_opt.file_mode);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size + m->nadd <= MAX_KEPT) {
        (void)ms_fd_write(fd, m->add, m->nadd);
        close(fd);
        /* a new file (a module or debug file not seen before): the time
         * to drop those not used for long, once a process */
        if (st.st_size == 0 && *made == 1) {
            prune(ms_opt.symbol_cache);
            *made = 2;
        }
        return;
    }
    close(fd);
    for (size_t i = 0; i < m->n; i++) {
        char num[24];
        if (!m->e[i].used)
            continue;
        int n = snprintf(num, sizeof(num), "%llx\t",
            (unsigned long long)m->e[i].offset);
        if (add(m, num, (size_t)n) != 0 ||
            add(m, m->e[i].line, strlen(m->e[i].line)) != 0 ||
            add(m, "\n", 1) != 0)
            return;
    }
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.%d",
            ms_opt.symbol_cache, m->file, (int)getpid()) >= sizeof(tmp))
        return;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW |
        O_NOCTTY, ms_opt.file_mode);
    if (fd < 0)
        return;
    int ok = ms_fd_write(fd, m->add, m->nadd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0)
        unlink(tmp);
}

void
ms_symcache_flush(ms_symcache_t *c)
{
    int saved = errno, made = 0;
    for (int i = 0; i < c->n; i++) {
        ms_symcache_mod_t *m = c->mods[i];
        uint64_t now;
        /* the key again: names libdw gave while a debug file came or went
         * are not kept */
        if (m->nadd > 0 && m->file[0] != '\0' &&
            module_key(c->seed, m, &now) == 0 && now == m->key)
            write_lines(m, &made);
        ms_tfree(m->add);
        ms_tfree(m->e);
        ms_tfree(m->buf);
        ms_tfree(m);
    }
    ms_tfree(c->mods);
    c->mods = NULL;
    c->n = c->cap = 0;
    errno = saved;
}

/* ---- uncompressed copies of debug files -------------------------------- */

/*
 * A separate debug file whose DWARF sections are compressed (Debian's
 * -dbg packages: zlib) costs every process that names an address in it
 * the inflation of all those sections (libc6-dbg: 4 MB to 10 MB, ~40 ms
 * of a 60 ms exit), each time the names it needs are not all in the cache
 * yet: a sampled run draws other stacks each time. The cache keeps one
 * copy of such a file with its sections inflated, BUILDID-KEY.debug, KEY
 * a hash of the identity of the debug file (device, inode, size, mtime):
 * another version of the file gets another copy, the old one is pruned
 * as any cache file. libdw reads the copy's sections in place (mmap).
 * The copy itself is elfplain.c's. A copy whose size is not the one its
 * original's headers give is made again (a writer that died, a truncated
 * file); a copy that cannot be made costs nothing but libdw's usual
 * work.
 */
int
ms_symcache_plain(const char *debug, const char *bid, char **name)
{
    char link[256];
    if (!valid_dir() || strlen(bid) < 2 ||
        strspn(bid, "0123456789abcdef") != strlen(bid))
        return -1;
    int saved = errno;
    int fd = open(debug, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    ms_elfplain_t pl;
    struct stat st;
    /* the module's debug file (its build ID), with compressed DWARF */
    if (fd < 0 || fstat(fd, &st) != 0 ||
        elf_debuglink(fd, bid, link, sizeof(link)) != 0 ||
        ms_elfplain_layout(fd, &pl) != 0) {
        if (fd >= 0)
            close(fd);
        errno = saved;
        return -1;
    }
    uint64_t id[5] = { (uint64_t)st.st_dev, (uint64_t)st.st_ino,
        (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
        (uint64_t)st.st_mtim.tv_nsec };
    uint64_t key = mix(mix_str(0xcbf29ce484222325ull,
        "memscope plain debug file 1"), id, sizeof(id));
    char path[1200], tmp[1300];
    int r = -1;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s-%016llx.debug",
            ms_opt.symbol_cache, bid, (unsigned long long)key) >= sizeof(path) ||
        /* by thread: two reports of this process may make it at once */
        (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s-%016llx.debug.tmp.%d",
            ms_opt.symbol_cache, bid, (unsigned long long)key,
            (int)gettid()) >= sizeof(tmp))
        goto out;
    r = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (r >= 0) {
        if (fstat(r, &st) == 0 && S_ISREG(st.st_mode) &&
            (uint64_t)st.st_size == pl.total) {
            if (time(NULL) - st.st_mtime > TOUCH_AGE)
                (void)futimens(r, NULL);
            goto found;
        }
        close(r);       /* not the copy it should be: made again */
        r = -1;
    }
    make_dir(ms_opt.symbol_cache);
    int out = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW |
        O_NOCTTY, ms_opt.file_mode);
    if (out < 0)
        goto out;
    int ok = ms_elfplain_write(fd, &pl, out) == 0;
    if (close(out) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        goto out;
    }
    prune(ms_opt.symbol_cache);
    r = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (r < 0)
        goto out;
found:
    /* libdw frees the name with free() */
    if ((*name = strdup(path)) == NULL) {
        close(r);
        r = -1;
    }
out:
    close(fd);
    ms_elfplain_free(&pl);
    errno = saved;
    return r;
}
