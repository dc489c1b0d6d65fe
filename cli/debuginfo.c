/*
 * debuginfo.c - names, in `memscope report`, the frames the traced process
 * could not name, from debug information installed since: a frame without
 * a function but with its module's build ID is looked up in
 * DIR/.build-id/NN/NNNN...debug, for each DIR of $MEMSCOPE_DEBUG_DIR
 * (colon-separated), then /usr/lib/debug. The frame's offset is its
 * address in the module's file (shared objects and PIE load at 0).
 */
#include <elfutils/libdwfl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../exporters/xalloc.h"

/* One debug file, opened once. */
typedef struct {
    const char *build_id;
    Dwfl *dwfl;             /* NULL: no debug file found */
} dbg_t;

static Dwfl *
open_debug(const char *build_id)
{
    static const Dwfl_Callbacks cb = {
        .find_debuginfo = dwfl_standard_find_debuginfo,
        .section_address = dwfl_offline_section_address,
    };
    const char *env = getenv("MEMSCOPE_DEBUG_DIR");
    char dirs[4096];
    snprintf(dirs, sizeof(dirs), "%s%s/usr/lib/debug", env ? env : "",
        env && *env ? ":" : "");
    if (strlen(build_id) < 3)
        return NULL;
    for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d != NULL;
         d = strtok_r(NULL, ":", &save)) {
        char path[4352];
        snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", d,
            build_id, build_id + 2);
        if (access(path, R_OK) != 0)
            continue;
        Dwfl *dwfl = dwfl_begin(&cb);
        if (dwfl == NULL)
            return NULL;
        dwfl_report_begin(dwfl);
        if (dwfl_report_elf(dwfl, path, path, -1, 0, false) != NULL &&
            dwfl_report_end(dwfl, NULL, NULL) == 0)
            return dwfl;
        dwfl_end(dwfl);
    }
    return NULL;
}

void
cli_name_frames(ms_report_t *r)
{
    dbg_t *dbg = NULL;
    size_t ndbg = 0;
    for (uint64_t i = 0; i < r->nframes; i++) {
        ms_rframe_t *f = &r->frames[i];
        if (f->func != NULL || f->build_id == NULL)
            continue;
        size_t k = 0;
        while (k < ndbg && strcmp(dbg[k].build_id, f->build_id) != 0)
            k++;
        if (k == ndbg) {
            dbg_t *n = realloc(dbg, (ndbg + 1) * sizeof(*dbg));
            if (n == NULL)
                break;
            dbg = n;
            dbg[ndbg].build_id = f->build_id;
            dbg[ndbg].dwfl = open_debug(f->build_id);
            ndbg++;
        }
        if (dbg[k].dwfl == NULL)
            continue;
        Dwfl_Module *m = dwfl_addrmodule(dbg[k].dwfl, f->offset);
        if (m == NULL)
            continue;
        const char *name = dwfl_module_addrname(m, f->offset);
        if (name != NULL)
            f->func = ms_xstrdup(name);
        Dwfl_Line *line = dwfl_module_getsrc(m, f->offset);
        int ln = 0;
        const char *file = line ? dwfl_lineinfo(line, NULL, &ln, NULL, NULL,
            NULL) : NULL;
        if (file != NULL && f->file == NULL) {
            f->file = ms_xstrdup(file);
            f->line = ln;
        }
    }
    for (size_t k = 0; k < ndbg; k++)
        if (dbg[k].dwfl != NULL)
            dwfl_end(dbg[k].dwfl);
    free(dbg);
}
