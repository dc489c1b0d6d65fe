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
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

struct ms_symtab {
    uintptr_t *keys;
    ms_sym_t *vals;
    uint64_t mask, count;
    Dwfl *dwfl;
};

static struct {
    int tried, ok;
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
    Dwfl_Callbacks cb;
} dw;

/* The C++ runtime's demangler, when the program has one. */
extern char *__cxa_demangle(const char *, char *, size_t *, int *)
    __attribute__((weak));

static void
dw_load(void)
{
    if (dw.tried)
        return;
    dw.tried = 1;
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
    SYM(cb.find_elf, "dwfl_linux_proc_find_elf");
    SYM(cb.find_debuginfo, "dwfl_standard_find_debuginfo");
#undef SYM
    dw.ok = 1;
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
    return st;
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

static void
resolve(ms_symtab_t *st, uintptr_t addr, ms_sym_t *out)
{
    memset(out, 0, sizeof(*out));
    uintptr_t pc = addr ? addr - 1 : 0;
    Dl_info info;
    if (dladdr((void *)pc, &info) != 0) {
        if (info.dli_fname != NULL)
            out->module = ms_tstrdup(info.dli_fname);
        out->offset = pc - (uintptr_t)info.dli_fbase;
        if (info.dli_sname != NULL)
            out->func = demangle(info.dli_sname);
    }
    if (st->dwfl != NULL) {
        Dwfl_Module *m = dw.addrmodule(st->dwfl, pc);
        if (m != NULL) {
            const char *name = dw.addrname(m, pc);
            if (name != NULL) {
                ms_tfree(out->func);
                out->func = demangle(name);
            }
            Dwfl_Line *line = dw.getsrc(m, pc);
            if (line != NULL) {
                int ln = 0;
                const char *file = dw.lineinfo(line, NULL, &ln, NULL, NULL,
                    NULL);
                if (file != NULL) {
                    out->file = ms_tstrdup(file);
                    out->line = ln;
                }
            }
        }
    }
}

const ms_sym_t *
ms_symtab_lookup(ms_symtab_t *st, uintptr_t addr)
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
    uint64_t i = (addr * 0x9E3779B97F4A7C15ull >> 20) & st->mask;
    while (st->keys[i] != 0) {
        if (st->keys[i] == addr)
            return &st->vals[i];
        i = (i + 1) & st->mask;
    }
    st->keys[i] = addr;
    st->count++;
    resolve(st, addr, &st->vals[i]);
    return &st->vals[i];
}

void
ms_symtab_free(ms_symtab_t *st)
{
    if (st == NULL)
        return;
    for (uint64_t i = 0; st->keys && st->vals && i <= st->mask; i++) {
        if (st->keys[i] == 0)
            continue;
        ms_tfree(st->vals[i].func);
        ms_tfree(st->vals[i].file);
        ms_tfree(st->vals[i].module);
    }
    if (st->dwfl != NULL)
        dw.end(st->dwfl);
    ms_tfree(st->keys);
    ms_tfree(st->vals);
    ms_tfree(st);
}
