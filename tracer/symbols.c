/*
 * symbols.c - names for return addresses, only ever at export time.
 *
 * libdw (elfutils) is opened with dlopen when a report is written, so a
 * traced program does not load it otherwise; it gives function names from
 * the symbol table (static functions too) and file:line from DWARF. Without
 * it, dladdr gives exported names. C++ names are demangled when the
 * program has a C++ runtime. A return address points after its call, so
 * the address looked up is one byte before it.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <dwarf.h>
#include <errno.h>
#include <link.h>
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "symcache.h"

/* A module's function symbols sorted by address, read once per report:
 * libdw's own look-up (dwfl_module_addrname) and dladdr scan the whole
 * table for every address, which made a report of python3's thousands
 * of distinct frames spend most of its time there. */
typedef struct {
    uint64_t addr, size;
    const char *name;       /* libdw's, valid while the Dwfl lives */
} fsym_t;

typedef struct {
    Dwfl_Module *mod;
    fsym_t *syms;
    int n;
    int total;              /* symbols libdw has for it (<= 0: none) */
    /* 1 when the table may name what syms cannot: a symbol without a size,
     * or one not typed as a function, in a section that holds functions
     * (libdw names an address after those too) */
    int others;
} modsyms_t;

/* A loaded module (by its link map) as dladdr names it: found once. */
typedef struct {
    const void *map;
    char *fname;
    uintptr_t fbase;
    int ok;                 /* 0: dladdr knew nothing of it */
} dlmod_t;

/* The address ranges of a compile unit's outermost inlined subroutines,
 * sorted: an address in none of them has no inline chain, and needs no
 * walk of the unit's DIEs (dwarf_getscopes walks the whole unit, for each
 * address: quadratic in a unit of many functions). */
typedef struct {
    uint64_t lo, hi;
} irange_t;

struct cuinl {
    Dwfl_Module *mod;
    uint64_t off;           /* the unit's DIE offset */
    irange_t *r;
    size_t n;
};

struct ms_symtab {
    uintptr_t *keys;
    ms_sym_t *vals;
    uint64_t mask, count;
    Dwfl *dwfl;
    Dwfl **dead;            /* by unloaded module (unwind.c), made on use */
    int ndead;
    modsyms_t *mods;
    int nmods, capmods;
    dlmod_t *dl;
    int ndl, capdl;
    int dwfl_tried;         /* libdw is loaded at the first miss */
    struct cuinl *cus;      /* per compile unit: where inlined code is */
    int ncus, capcus, lastcu;
    ms_symcache_t cache;    /* MEMSCOPE_SYMBOL_CACHE (symcache.c) */
};

static struct {
    int ok;
    Dwfl *(*begin)(const Dwfl_Callbacks *);
    void (*end)(Dwfl *);
    void (*report_begin)(Dwfl *);
    int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *,
        Dwarf_Addr, void *), void *);
    int (*proc_report)(Dwfl *, pid_t);
    Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
    const char *(*addrname)(Dwfl_Module *, GElf_Addr);
    Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
    const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *,
        Dwarf_Word *, Dwarf_Word *);
    int (*getsymtab)(Dwfl_Module *);
    const char *(*getsym_info)(Dwfl_Module *, int, GElf_Sym *, GElf_Addr *,
        GElf_Word *, Elf **, Dwarf_Addr *);
    Dwfl_Module *(*report_elf)(Dwfl *, const char *, const char *, int,
        GElf_Addr, bool);
    int (*build_id)(Dwfl_Module *, const unsigned char **, GElf_Addr *);
    Dwarf_Die *(*addrdie)(Dwfl_Module *, Dwarf_Addr, Dwarf_Addr *);
    int (*getscopes)(Dwarf_Die *, Dwarf_Addr, Dwarf_Die **);
    int (*getscopes_die)(Dwarf_Die *, Dwarf_Die **);
    int (*child)(Dwarf_Die *, Dwarf_Die *);
    int (*siblingof)(Dwarf_Die *, Dwarf_Die *);
    ptrdiff_t (*ranges)(Dwarf_Die *, ptrdiff_t, Dwarf_Addr *, Dwarf_Addr *,
        Dwarf_Addr *);
    Dwarf_Off (*dieoffset)(Dwarf_Die *);
    int (*tag)(Dwarf_Die *);
    const char *(*diename)(Dwarf_Die *);
    Dwarf_Attribute *(*attr_integrate)(Dwarf_Die *, unsigned int,
        Dwarf_Attribute *);
    const char *(*formstring)(Dwarf_Attribute *);
    int (*formudata)(Dwarf_Attribute *, Dwarf_Word *);
    int (*getsrcfiles)(Dwarf_Die *, Dwarf_Files **, size_t *);
    const char *(*filesrc)(Dwarf_Files *, size_t, Dwarf_Word *, Dwarf_Word *);
    int inl_ok;
    Dwfl_Callbacks cb, offline_cb;
    int (*std_find_debuginfo)(Dwfl_Module *, void **, const char *,
        Dwarf_Addr, const char *, const char *, GElf_Word, char **);
} dw;

/* Is there a file at dir/name (dir may be "")? With path, its name is
 * kept there. */
static int
file_at(const char *a, const char *b, const char *c, char *path, size_t len)
{
    char buf[4096];
    if (path == NULL) {
        path = buf;
        len = sizeof(buf);
    }
    if ((size_t)snprintf(path, len, "%s%s%s", a, b, c) >= len) {
        path[0] = '\0';
        return 1;           /* cannot tell: let libdw look */
    }
    return access(path, F_OK) == 0;
}

/*
 * libdw's search for a module's debug file (by build ID under
 * /usr/lib/debug/.build-id, then its .gnu_debuglink name, or FILE.debug,
 * next to it, in .debug/ and under /usr/lib/debug), run only when such a
 * file is there or DEBUGINFOD_URLS names a server. After a search that
 * finds nothing, libdw opens libdebuginfod (and with it libcurl and
 * OpenSSL, whose exit handlers then free their thousands of blocks)
 * for a client that, with no server named, looks nowhere: a stripped
 * program without its debug file cost its first process 50 M
 * instructions for nothing. The first file there, when it is the
 * module's (its build ID) and its DWARF is compressed, is read through
 * its uncompressed copy in the symbol cache (symcache.c); otherwise the
 * search and its result are libdw's.
 */
static int
find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
    Dwarf_Addr base, const char *file_name, const char *debuglink_file,
    GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    const char *urls = getenv("DEBUGINFOD_URLS");
    int look = urls != NULL && urls[0] != '\0', server = look;
    const unsigned char *bid;
    GElf_Addr vaddr;
    char first[4096] = "", bidhex[130] = "";
    int n = look ? 0 : dw.build_id(mod, &bid, &vaddr);
    if (n > 1 && n <= 64) {
        char hex[130], *o = hex;
        static const char digits[] = "0123456789abcdef";
        for (int i = 0; i < n; i++) {
            *o++ = digits[bid[i] >> 4];
            *o++ = digits[bid[i] & 15];
            if (i == 0)
                *o++ = '/';
        }
        *o = '\0';
        snprintf(bidhex, sizeof(bidhex), "%.2s%s", hex, hex + 3);
        look = file_at("/usr/lib/debug/.build-id/", hex, ".debug", first,
            sizeof(first));
    }
    if (!look && file_name != NULL) {
        char dir[4096], name[1024];
        const char *slash = strrchr(file_name, '/');
        size_t dl = slash ? (size_t)(slash - file_name) + 1 : 0;
        if (dl < sizeof(dir) && file_name[0] == '/') {
            memcpy(dir, file_name, dl);
            dir[dl] = '\0';
            if (debuglink_file != NULL)
                snprintf(name, sizeof(name), "%s", debuglink_file);
            else
                snprintf(name, sizeof(name), "%s.debug", file_name + dl);
            look = file_at(dir, "", name, first, sizeof(first)) ||
                file_at(dir, ".debug/", name, first, sizeof(first)) ||
                file_at("/usr/lib/debug", dir, name, first, sizeof(first));
        } else {
            look = 1;       /* a relative name: libdw's rules */
            first[0] = '\0';
        }
    }
    if (!look)
        return -1;
    char *copy_name = NULL;
    int copy = !server && first[0] == '/' && bidhex[0] != '\0' ?
        ms_symcache_plain(first, bidhex, &copy_name) : -1;
    if (copy >= 0) {
        *debuginfo_file_name = copy_name;
        return copy;
    }
    return dw.std_find_debuginfo(mod, userdata, modname, base, file_name,
        debuglink_file, debuglink_crc, debuginfo_file_name);
}

/* The C++ runtime's demangler, when the program has one. */
extern char *__cxa_demangle(const char *, char *, size_t *, int *)
    __attribute__((weak));

static void
dw_load_now(void)
{
    void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return;
#define SYM(field, name) \
    if ((*(void **)&dw.field = dlsym(h, name)) == NULL) return;
    SYM(begin, "dwfl_begin");
    SYM(end, "dwfl_end");
    SYM(report_begin, "dwfl_report_begin");
    SYM(report_end, "dwfl_report_end");
    SYM(proc_report, "dwfl_linux_proc_report");
    SYM(addrmodule, "dwfl_addrmodule");
    SYM(addrname, "dwfl_module_addrname");
    SYM(getsrc, "dwfl_module_getsrc");
    SYM(lineinfo, "dwfl_lineinfo");
    SYM(getsymtab, "dwfl_module_getsymtab");
    SYM(getsym_info, "dwfl_module_getsym_info");
    SYM(cb.find_elf, "dwfl_linux_proc_find_elf");
    SYM(std_find_debuginfo, "dwfl_standard_find_debuginfo");
    dw.cb.find_debuginfo = find_debuginfo;
    SYM(report_elf, "dwfl_report_elf");
    SYM(build_id, "dwfl_module_build_id");
    SYM(offline_cb.section_address, "dwfl_offline_section_address");
    dw.offline_cb.find_debuginfo = dw.cb.find_debuginfo;
    dw.ok = 1;
    /* inline chains: optional */
    SYM(addrdie, "dwfl_module_addrdie");
    SYM(getscopes, "dwarf_getscopes");
    SYM(getscopes_die, "dwarf_getscopes_die");
    SYM(child, "dwarf_child");
    SYM(siblingof, "dwarf_siblingof");
    SYM(ranges, "dwarf_ranges");
    SYM(dieoffset, "dwarf_dieoffset");
    SYM(tag, "dwarf_tag");
    SYM(diename, "dwarf_diename");
    SYM(attr_integrate, "dwarf_attr_integrate");
    SYM(formstring, "dwarf_formstring");
    SYM(formudata, "dwarf_formudata");
    SYM(getsrcfiles, "dwarf_getsrcfiles");
    SYM(filesrc, "dwarf_filesrc");
    dw.inl_ok = 1;
#undef SYM
}

/* libdw, loaded once: two reports made at once (an export from the API
 * beside a snapshot) both wait for the first to have it */
static void
dw_load(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, dw_load_now);
}

ms_symtab_t *
ms_symtab_new(void)
{
    ms_symtab_t *st = ms_tcalloc(sizeof(*st));
    if (st == NULL)
        return NULL;
    st->mask = 1023;
    st->keys = ms_tcalloc((st->mask + 1) * sizeof(*st->keys));
    st->vals = ms_tcalloc((st->mask + 1) * sizeof(*st->vals));
    if (st->keys == NULL || st->vals == NULL) {
        ms_symtab_free(st);
        return NULL;
    }
    return st;
}

/* The process's modules in libdw, made at the first address the symbol
 * cache does not name (libdw loaded then): NULL without libdw. */
static Dwfl *
live_dwfl(ms_symtab_t *st)
{
    if (st->dwfl_tried)
        return st->dwfl;
    st->dwfl_tried = 1;
    dw_load();
    if (dw.ok) {
        st->dwfl = dw.begin(&dw.cb);
        if (st->dwfl != NULL) {
            dw.report_begin(st->dwfl);
            if (dw.proc_report(st->dwfl, getpid()) != 0 ||
                dw.report_end(st->dwfl, NULL, NULL) != 0) {
                dw.end(st->dwfl);
                st->dwfl = NULL;
            }
        }
    }
    return st->dwfl;
}

static char *
demangle(const char *name)
{
    if (name == NULL)
        return NULL;
    if (__cxa_demangle != NULL && name[0] == '_' && name[1] == 'Z') {
        int status = 0;
        char *d = __cxa_demangle(name, NULL, NULL, &status);
        if (d != NULL && status == 0) {
            char *r = ms_tstrdup(d);
            free(d);
            return r;
        }
        free(d);
    }
    return ms_tstrdup(name);
}

static int
fsym_cmp(const void *a, const void *b)
{
    const fsym_t *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static modsyms_t *
module_syms(ms_symtab_t *st, Dwfl_Module *m)
{
    for (int i = 0; i < st->nmods; i++)
        if (st->mods[i].mod == m)
            return &st->mods[i];
    if (st->nmods == st->capmods) {
        int nc = st->capmods ? st->capmods * 2 : 16;
        modsyms_t *n = ms_trealloc(st->mods, (size_t)nc * sizeof(*n));
        if (n == NULL)
            return NULL;
        st->mods = n;
        st->capmods = nc;
    }
    modsyms_t *ms = &st->mods[st->nmods++];
    memset(ms, 0, sizeof(*ms));
    ms->mod = m;
    int total = ms->total = dw.getsymtab(m);
    if (total <= 0)
        return ms;
    ms->syms = ms_tmalloc((size_t)total * sizeof(fsym_t));
    if (ms->syms == NULL) {
        ms->others = 1;
        return ms;
    }
    /* sections holding functions, and those of the other symbols libdw
     * could name an address after (up to 64 of each; more: assume so) */
    enum { NSEC = 64 };
    GElf_Word text[NSEC], other[NSEC];
    int ntext = 0, nother = 0;
    for (int i = 0; i < total; i++) {
        GElf_Sym sym;
        GElf_Addr addr;
        GElf_Word shndx = 0;
        const char *name = dw.getsym_info(m, i, &sym, &addr, &shndx, NULL, NULL);
        int type = GELF_ST_TYPE(sym.st_info);
        if (name == NULL || *name == '\0' || sym.st_shndx == SHN_UNDEF ||
            type == STT_SECTION || type == STT_FILE || type == STT_TLS)
            continue;
        GElf_Word *set = type == STT_FUNC ? text : other;
        int *nset = type == STT_FUNC ? &ntext : &nother;
        int seen = 0;
        for (int k = 0; k < *nset && !seen; k++)
            seen = set[k] == shndx;
        if (!seen && *nset < NSEC)
            set[(*nset)++] = shndx;
        else if (!seen)
            ms->others = 1;
        if (type == STT_FUNC && sym.st_size == 0)
            ms->others = 1;
        if (type == STT_FUNC && sym.st_size != 0)
            ms->syms[ms->n++] = (fsym_t){ addr, sym.st_size, name };
    }
    for (int i = 0; i < nother && !ms->others; i++)
        for (int k = 0; k < ntext; k++)
            if (other[i] == text[k])
                ms->others = 1;
    qsort(ms->syms, (size_t)ms->n, sizeof(fsym_t), fsym_cmp);
    return ms;
}

/* The function containing pc, by binary search; NULL when none. */
static const char *
module_func(modsyms_t *ms, uint64_t pc)
{
    if (ms == NULL || ms->n == 0)
        return NULL;
    int lo = 0, hi = ms->n - 1, best = -1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (ms->syms[mid].addr <= pc) {
            best = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    if (best < 0)
        return NULL;
    const fsym_t *f = &ms->syms[best];
    if (f->size != 0 && pc >= f->addr + f->size)
        return NULL;
    return f->name;
}

/* The Dwfl of unloaded module i, made on first use from its file (libdw
 * loaded then: every live address may have come from the symbol cache). */
static Dwfl *
dead_dwfl(ms_symtab_t *st, int i, const char *path, uintptr_t bias)
{
    dw_load();
    if (!dw.ok || i >= 1 << 16)
        return NULL;
    if (i >= st->ndead) {
        int n = i + 16;
        Dwfl **d = ms_trealloc(st->dead, (size_t)n * sizeof(*d));
        if (d == NULL)
            return NULL;
        memset(d + st->ndead, 0, (size_t)(n - st->ndead) * sizeof(*d));
        st->dead = d;
        st->ndead = n;
    }
    if (st->dead[i] == NULL) {
        Dwfl *d = dw.begin(&dw.offline_cb);
        if (d == NULL)
            return NULL;
        dw.report_begin(d);
        if (dw.report_elf(d, path, path, -1, bias, false) == NULL ||
            dw.report_end(d, NULL, NULL) != 0) {
            dw.end(d);
            return NULL;
        }
        st->dead[i] = d;
    }
    return st->dead[i];
}

static char *
hex(const unsigned char *b, int n)
{
    char *s = ms_tmalloc((size_t)n * 2 + 1);
    if (s == NULL)
        return NULL;
    /* once per distinct address: no printf */
    static const char digit[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        s[2 * i] = digit[b[i] >> 4];
        s[2 * i + 1] = digit[b[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

/* The name of an inlined function's DIE: its linkage name demangled,
 * else its name (both through its abstract origin). */
static char *
inl_name(Dwarf_Die *die)
{
    Dwarf_Attribute a;
    const char *n = NULL;
    if (dw.attr_integrate(die, DW_AT_linkage_name, &a) != NULL ||
        dw.attr_integrate(die, DW_AT_MIPS_linkage_name, &a) != NULL)
        n = dw.formstring(&a);
    if (n != NULL)
        return demangle(n);
    n = dw.diename(die);
    return ms_tstrdup(n != NULL ? n : "[inlined]");
}

/* The call site of an inlined subroutine: file and line. */
static void
inl_call(Dwarf_Die *die, Dwarf_Die *cu, char **file, int *line)
{
    Dwarf_Attribute a;
    Dwarf_Word w;
    Dwarf_Files *files;
    size_t nfiles;
    *file = NULL;
    *line = 0;
    if (dw.attr_integrate(die, DW_AT_call_line, &a) != NULL &&
        dw.formudata(&a, &w) == 0)
        *line = (int)w;
    if (dw.attr_integrate(die, DW_AT_call_file, &a) != NULL &&
        dw.formudata(&a, &w) == 0 && dw.getsrcfiles(cu, &files, &nfiles) == 0 &&
        w < nfiles) {
        const char *f = dw.filesrc(files, w, NULL, NULL);
        if (f != NULL)
            *file = ms_tstrdup(f);
    }
}

static int
irange_cmp(const void *a, const void *b)
{
    const irange_t *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Adds die's address ranges to *r (n used, cap allocated); 0 or -1. */
static int
add_ranges(Dwarf_Die *die, irange_t **r, size_t *n, size_t *cap)
{
    Dwarf_Addr base, lo, hi;
    for (ptrdiff_t o = 0; (o = dw.ranges(die, o, &base, &lo, &hi)) > 0; ) {
        if (hi <= lo)
            continue;
        if (*n == *cap) {
            size_t c = *cap ? *cap * 2 : 64;
            irange_t *g = ms_trealloc(*r, c * sizeof(*g));
            if (g == NULL)
                return -1;
            *r = g;
            *cap = c;
        }
        (*r)[(*n)++] = (irange_t){ lo, hi };
    }
    return 0;
}

/* Walks the unit once (no recursion: a stack of DIEs) for the ranges of
 * its outermost inlined subroutines; 0, or -1 when it could not (the
 * caller then asks libdw for every address, as before). */
static int
cu_index(Dwarf_Die *cu, struct cuinl *c)
{
    enum { DEPTH = 128 };
    Dwarf_Die stack[DEPTH];
    size_t cap = 0;
    int sp = 0;
    c->r = NULL;
    c->n = 0;
    if (dw.child(cu, &stack[0]) != 0)
        return 0;               /* an empty unit: no inlined code */
    for (;;) {
        Dwarf_Die *d = &stack[sp];
        int tag = dw.tag(d);
        if (tag == DW_TAG_inlined_subroutine) {
            if (add_ranges(d, &c->r, &c->n, &cap) != 0)
                goto fail;
        } else if (tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block ||
                   tag == DW_TAG_namespace || tag == DW_TAG_class_type ||
                   tag == DW_TAG_structure_type || tag == DW_TAG_module) {
            /* where inlined code can be found inside */
            if (sp + 1 >= DEPTH)
                goto fail;
            if (dw.child(d, &stack[sp + 1]) == 0) {
                sp++;
                continue;
            }
        }
        /* the next DIE: this one's sibling, or an ancestor's */
        while (dw.siblingof(&stack[sp], &stack[sp]) != 0)
            if (sp-- == 0)
                goto done;
    }
done:
    if (c->n > 1)
        qsort(c->r, c->n, sizeof(*c->r), irange_cmp);
    return 0;
fail:
    ms_tfree(c->r);
    c->r = NULL;
    c->n = 0;
    return -1;
}

/* 1 when pc (relative to the module) may lie in inlined code of unit cu
 * of m: in one of its inlined ranges, or not known. */
static int
maybe_inlined(ms_symtab_t *st, Dwfl_Module *m, Dwarf_Die *cu, uint64_t pc)
{
    uint64_t off = dw.dieoffset(cu);
    struct cuinl *c = NULL;
    if (st->lastcu < st->ncus && st->cus[st->lastcu].mod == m &&
        st->cus[st->lastcu].off == off) {
        c = &st->cus[st->lastcu];
    } else {
        for (int i = 0; i < st->ncus; i++)
            if (st->cus[i].mod == m && st->cus[i].off == off) {
                c = &st->cus[i];
                st->lastcu = i;
                break;
            }
    }
    if (c == NULL) {
        if (st->ncus == st->capcus) {
            int cap = st->capcus ? st->capcus * 2 : 16;
            struct cuinl *g = ms_trealloc(st->cus, (size_t)cap * sizeof(*g));
            if (g == NULL)
                return 1;
            st->cus = g;
            st->capcus = cap;
        }
        c = &st->cus[st->ncus];
        c->mod = m;
        c->off = off;
        if (cu_index(cu, c) != 0)
            return 1;
        st->lastcu = st->ncus++;
    }
    /* the last range starting at or below pc; outermost ranges nest in
     * none of the others of their unit, so one look suffices, and a few
     * more where ranges of several functions overlap */
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c->r[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i-- > 0 && lo - i <= 8; )
        if (pc < c->r[i].hi)
            return 1;
    return 0;
}

/* Functions inlined at pc, innermost first (libdw's scopes): each named,
 * at the line of the one inside it; the real function's line becomes
 * the call site of the outermost. */
static void
inline_chain(ms_symtab_t *st, Dwfl_Module *m, uintptr_t pc, ms_sym_t *out)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dw.addrdie(m, pc, &bias);
    if (cu == NULL || !maybe_inlined(st, m, cu, pc - bias))
        return;
    Dwarf_Die *scopes = NULL;
    int n = dw.getscopes(cu, pc - bias, &scopes);
    if (n <= 0) {
        free(scopes);
        return;
    }
    /* from the innermost DIE outwards in the concrete tree (getscopes
     * goes on into the abstract origin of an inlined function) */
    Dwarf_Die inner = scopes[0];
    free(scopes);
    scopes = NULL;
    n = dw.getscopes_die(&inner, &scopes);
    int k = 0;
    while (k < n && dw.tag(&scopes[k]) != DW_TAG_subprogram)
        k++;
    int ninl = 0;
    for (int i = 0; i < k; i++)
        ninl += dw.tag(&scopes[i]) == DW_TAG_inlined_subroutine;
    if (ninl == 0 || ninl > 32 || (out->inl = ms_tcalloc((size_t)ninl *
            sizeof(*out->inl))) == NULL) {
        free(scopes);
        return;
    }
    char *file = out->file;
    int line = out->line;
    for (int i = 0, j = 0; i < k; i++) {
        if (dw.tag(&scopes[i]) != DW_TAG_inlined_subroutine)
            continue;
        out->inl[j].func = inl_name(&scopes[i]);
        out->inl[j].file = file;
        out->inl[j].line = line;
        inl_call(&scopes[i], cu, &file, &line);
        j++;
    }
    out->ninl = ninl;
    out->file = file;
    out->line = line;
    free(scopes);
}

/* Names, source line and build ID of pc in module m of a Dwfl. */
static void
resolve_dwfl(ms_symtab_t *st, Dwfl_Module *m, uintptr_t pc, ms_sym_t *out)
{
    modsyms_t *ms = module_syms(st, m);
    const char *name = module_func(ms, pc);
    /* libdw's look-up scans every symbol: only where it may find more */
    if (name == NULL && (ms == NULL || ms->others))
        name = dw.addrname(m, pc);
    if (name != NULL) {
        ms_tfree(out->func);
        out->func = demangle(name);
    }
    Dwfl_Line *line = dw.getsrc(m, pc);
    if (line != NULL) {
        int ln = 0;
        const char *file = dw.lineinfo(line, NULL, &ln, NULL, NULL, NULL);
        if (file != NULL) {
            out->file = ms_tstrdup(file);
            out->line = ln;
        }
    }
    const unsigned char *bits;
    GElf_Addr vaddr;
    int n = dw.build_id(m, &bits, &vaddr);
    if (n > 0 && n <= 64)
        out->build_id = hex(bits, n);
    if (dw.inl_ok)
        inline_chain(st, m, pc, out);
}

/* Sets the module and offset of pc in out as dladdr gives them (its file
 * name, the program's argv[0] for the main program, and load base) and
 * *fbase; 0 when pc is in no loaded module. dladdr also searches the
 * module's dynamic symbols for a name, for every address (a good part of
 * an exit report): it runs once per module, the module of later addresses
 * found by _dl_find_object (glibc 2.35), which searches no symbol. */
#pragma weak _dl_find_object
static int
module_of(ms_symtab_t *st, uintptr_t pc, ms_sym_t *out, uintptr_t *fbase)
{
    Dl_info info;
    struct dl_find_object fo;
    if (_dl_find_object != NULL && _dl_find_object((void *)pc, &fo) == 0 &&
        fo.dlfo_link_map != NULL) {
        dlmod_t *dm = NULL;
        for (int i = 0; i < st->ndl && dm == NULL; i++)
            if (st->dl[i].map == fo.dlfo_link_map)
                dm = &st->dl[i];
        if (dm == NULL && st->ndl == st->capdl) {
            int nc = st->capdl ? st->capdl * 2 : 16;
            dlmod_t *n = ms_trealloc(st->dl, (size_t)nc * sizeof(*n));
            if (n != NULL) {
                st->dl = n;
                st->capdl = nc;
            }
        }
        if (dm == NULL && st->ndl < st->capdl) {
            dm = &st->dl[st->ndl++];
            memset(dm, 0, sizeof(*dm));
            dm->map = fo.dlfo_link_map;
            if (dladdr((void *)pc, &info) != 0) {
                dm->ok = 1;
                dm->fname = info.dli_fname != NULL ?
                    ms_tstrdup(info.dli_fname) : NULL;
                dm->fbase = (uintptr_t)info.dli_fbase;
            }
        }
        if (dm != NULL) {
            if (!dm->ok)
                return 0;
            out->module = dm->fname != NULL ? ms_tstrdup(dm->fname) : NULL;
            out->offset = pc - dm->fbase;
            *fbase = dm->fbase;
            return 1;
        }
    }
    if (dladdr((void *)pc, &info) == 0)
        return 0;
    out->module = info.dli_fname != NULL ? ms_tstrdup(info.dli_fname) : NULL;
    out->offset = pc - (uintptr_t)info.dli_fbase;
    *fbase = (uintptr_t)info.dli_fbase;
    return 1;
}

static void
resolve(ms_symtab_t *st, uintptr_t addr, int dead, ms_sym_t *out)
{
    memset(out, 0, sizeof(*out));
    if (addr == MS_FRAME_TRUNCATED || addr == MS_FRAME_CUT) {
        out->func = ms_tstrdup(addr == MS_FRAME_TRUNCATED ? "[truncated]" : "[cut]");
        return;
    }
    uintptr_t pc = addr ? addr - 1 : 0;
    if (dead >= 0) {
        /* a module dlclose unloaded: named from its file, if still there */
        const char *path;
        uintptr_t bias;
        if (ms_dead_module_info(dead, &path, &bias) != 0)
            return;
        out->module = ms_tstrdup(path);
        out->offset = pc - bias;
        Dwfl *d = dead_dwfl(st, dead, path, bias);
        Dwfl_Module *m = d != NULL ? dw.addrmodule(d, pc) : NULL;
        if (m != NULL)
            resolve_dwfl(st, m, pc, out);
        return;
    }
    uintptr_t fbase = 0;
    int found = module_of(st, pc, out, &fbase);
    ms_symcache_mod_t *cached = found ? ms_symcache_module(&st->cache, fbase) : NULL;
    if (cached != NULL && ms_symcache_get(cached, out->offset, out))
        return;
    Dwfl *d = live_dwfl(st);
    Dwfl_Module *m = d != NULL ? dw.addrmodule(d, pc) : NULL;
    modsyms_t *ms = m != NULL ? module_syms(st, m) : NULL;
    /* libdw has the module's symbols, a superset of the dynamic ones that
     * dladdr searches (for every address, the whole table): dladdr's name
     * only when it does not */
    if (found && (ms == NULL || ms->total <= 0)) {
        Dl_info info;
        if (dladdr((void *)pc, &info) != 0 && info.dli_sname != NULL)
            out->func = demangle(info.dli_sname);
    }
    if (m != NULL)
        resolve_dwfl(st, m, pc, out);
    /* kept when libdw read the same module (the same build ID) */
    if (cached != NULL && out->build_id != NULL &&
        strcmp(out->build_id, ms_symcache_bid(cached)) == 0)
        ms_symcache_put(cached, out->offset, out);
}

const ms_sym_t *
ms_symtab_lookup(ms_symtab_t *st, uintptr_t addr, int dead)
{
    static const ms_sym_t none;
    if (st == NULL)
        return &none;
    if ((st->count + 1) * 2 > st->mask + 1) {
        uint64_t cap = (st->mask + 1) * 2;
        uintptr_t *k = ms_tcalloc(cap * sizeof(*k));
        ms_sym_t *v = ms_tcalloc(cap * sizeof(*v));
        if (k == NULL || v == NULL) {
            ms_tfree(k);
            ms_tfree(v);
            return &none;
        }
        for (uint64_t i = 0; i <= st->mask; i++) {
            if (st->keys[i] == 0)
                continue;
            uint64_t j = (st->keys[i] * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
            while (k[j] != 0)
                j = (j + 1) & (cap - 1);
            k[j] = st->keys[i];
            v[j] = st->vals[i];
        }
        ms_tfree(st->keys);
        ms_tfree(st->vals);
        st->keys = k;
        st->vals = v;
        st->mask = cap - 1;
    }
    /* an unloaded module's addresses are told apart by its index above
     * bit 48 (user-space addresses are below 2^47) */
    uintptr_t key = dead >= 0 ? addr | (uintptr_t)(dead + 1) << 48 : addr;
    uint64_t i = (key * 0x9E3779B97F4A7C15ull >> 20) & st->mask;
    while (st->keys[i] != 0) {
        if (st->keys[i] == key)
            return &st->vals[i];
        i = (i + 1) & st->mask;
    }
    st->keys[i] = key;
    st->count++;
    resolve(st, addr, dead, &st->vals[i]);
    return &st->vals[i];
}

void
ms_symtab_free(ms_symtab_t *st)
{
    if (st == NULL)
        return;
    ms_symcache_flush(&st->cache);
    for (uint64_t i = 0; st->keys && st->vals && i <= st->mask; i++) {
        if (st->keys[i] == 0)
            continue;
        ms_tfree(st->vals[i].func);
        ms_tfree(st->vals[i].file);
        ms_tfree(st->vals[i].module);
        ms_tfree(st->vals[i].build_id);
        for (int k = 0; k < st->vals[i].ninl; k++) {
            ms_tfree(st->vals[i].inl[k].func);
            ms_tfree(st->vals[i].inl[k].file);
        }
        ms_tfree(st->vals[i].inl);
    }
    for (int i = 0; i < st->ndead; i++)
        if (st->dead[i] != NULL)
            dw.end(st->dead[i]);
    ms_tfree(st->dead);
    for (int i = 0; i < st->nmods; i++)
        ms_tfree(st->mods[i].syms);
    for (int i = 0; i < st->ndl; i++)
        ms_tfree(st->dl[i].fname);
    ms_tfree(st->dl);
    for (int i = 0; i < st->ncus; i++)
        ms_tfree(st->cus[i].r);
    ms_tfree(st->cus);
    ms_tfree(st->mods);
    if (st->dwfl != NULL)
        dw.end(st->dwfl);
    ms_tfree(st->keys);
    ms_tfree(st->vals);
    ms_tfree(st);
}
