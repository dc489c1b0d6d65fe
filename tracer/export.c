/*
 * export.c - the library's side of exporting: build one report of the
 * process, then write each requested format from it with the exporters. One export runs at a
 * time (export_mu); a failure to write warns once and never stops the
 * program.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "../exporters/export.h"

static int warned_write;

typedef struct {
    unsigned bit;
    const char *ext;
    void (*write)(ms_writer_t *, const ms_report_t *);
} format_t;

static const format_t formats_tab[] = {
    { MS_FMT_BIN, "bin", ms_bin_write },
    { MS_FMT_JSON, "json", ms_json_write },
    { MS_FMT_MD, "md", ms_md_write },
    { MS_FMT_HTML, "html", ms_html_write },
    { MS_FMT_FOLDED, "folded", ms_folded_write },
};

static int
write_one(const char *path, const ms_report_t *r,
    void (*fn)(ms_writer_t *, const ms_report_t *))
{
    ms_writer_t *w = ms_tmalloc(sizeof(*w));
    if (w == NULL)
        return -ENOMEM;
    int rc = ms_writer_open(w, path, ms_opt.file_mode);
    if (rc == 0) {
        fn(w, r);
        rc = ms_writer_close(w);
    }
    ms_tfree(w);
    return rc;
}

int
ms_export(const char *dir, const char *base, unsigned formats, int quiet)
{
    const char *trigger = strstr(base, ".snapshot-") ? "signal" :
        quiet ? "api" : "exit";
    unsigned long snap = 0;
    const char *s = strstr(base, ".snapshot-");
    if (s != NULL)
        snap = strtoul(s + 10, NULL, 10);
    int rc = ms_mkdir_p(dir);
    if (rc != 0) {
        if (!quiet)
            ms_warn_once(&warned_write, "cannot create '%s' for reports: %s; "
                "the program runs on without them", dir, strerror(-rc));
        return rc;
    }
    ms_report_t *r = ms_report_build(trigger, snap);
    if (r == NULL)
        return -ENOMEM;
    int first_err = 0;
    for (size_t i = 0; i < sizeof(formats_tab) / sizeof(formats_tab[0]); i++) {
        if (!(formats & formats_tab[i].bit) || formats_tab[i].write == NULL)
            continue;
        char path[4096];
        if ((size_t)snprintf(path, sizeof(path), "%s/%s.%s", dir, base,
            formats_tab[i].ext) >= sizeof(path)) {
            rc = -ENAMETOOLONG;
        } else {
            rc = write_one(path, r, formats_tab[i].write);
        }
        if (rc != 0) {
            if (!quiet)
                ms_warn_once(&warned_write, "cannot write report '%s': %s; "
                    "the program runs on without it", path, strerror(-rc));
            if (first_err == 0)
                first_err = rc;
        } else if (ms_opt.verbose) {
            ms_log("report written: %s", path);
        }
    }
    ms_report_free(r);
    return first_err;
}

int
ms_export_json_path(const char *path)
{
    ms_report_t *r = ms_report_build("api", 0);
    if (r == NULL)
        return -ENOMEM;
    int rc = write_one(path, r, ms_json_write);
    ms_report_free(r);
    return rc;
}
