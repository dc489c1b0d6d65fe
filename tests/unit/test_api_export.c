/*
 * test_api_export.c - memscope_export in-process: every format written
 * whole into a directory it makes, under the names asked for, replacing
 * what was there and leaving no temporary file; the requests it must
 * refuse; and the errors of the other calls (memscope_strerror, the
 * export and snapshot calls' arguments, the version). The reader and
 * main() are api_report.h's.
 */
#include <dirent.h>

#include "api_report.h"

/* A whole file into buf (NUL-terminated); its length, or -1. read(2)
 * only: nothing from the program's heap. */
static char filebuf[8 << 20];

static long
slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(filebuf) - 1 &&
        (n = read(fd, filebuf + got, sizeof(filebuf) - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    filebuf[got] = '\0';
    return (long)got;
}

static int
ends_with(const char *s, long n, const char *tail)
{
    long m = (long)strlen(tail);
    return n >= m && memcmp(s + n - m, tail, (size_t)m) == 0;
}

/* The names in dir, sorted and joined by spaces, into out. */
static void
list_dir(const char *dir, char *out, size_t cap)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    REQUIRE(n >= 0, "scandir %s: %s", dir, strerror(errno));
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            size_t len = strlen(out);
            snprintf(out + len, cap - len, "%s%s", len ? " " : "",
                names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
}

/* --- memscope_export ---------------------------------------------------------- */

START_TEST(test_export_all_formats)
{
    char *kept = malloc(777);
    memset(kept, 1, 777);
    char dir[512], path[600], names[512];
    /* a directory that does not exist yet, two levels down */
    snprintf(dir, sizeof(dir), "%s/all-%d/reports", report_dir, (int)getpid());
    EXPECT_INT(memscope_export(dir, "x", MEMSCOPE_FORMAT_ALL), 0);
    list_dir(dir, names, sizeof(names));
    /* every format, and no temp file */
    EXPECT_STR(names, "x.bin x.folded x.html x.json x.md x.pb.gz x.txt");

    snprintf(path, sizeof(path), "%s/x.json", dir);
    jval_t *r = json_load(path);
    EXPECT_STR(jstr(r, "format"), "memscope");
    EXPECT_INT(jint(r, "pid"), getpid());
    EXPECT_STR(jstr(r, "mode"), "exact");
    REQUIRE(jint(r, "summary.live_bytes") >= 777, "summary.live_bytes %lld, "
        "but a 777-byte block is live", jint(r, "summary.live_bytes"));

    snprintf(path, sizeof(path), "%s/x.bin", dir);
    long n = slurp(path);
    REQUIRE(n > 8 && memcmp(filebuf, "\x89MSB\r\n\x1a\n", 8) == 0,
        "x.bin (%ld bytes) does not begin with the magic number", n);
    snprintf(path, sizeof(path), "%s/x.html", dir);
    n = slurp(path);
    REQUIRE(n > 0 && strncmp(filebuf, "<!DOCTYPE html>", 15) == 0 &&
        ends_with(filebuf, n, "</html>\n"), "x.html (%ld bytes) is not a "
        "whole page", n);
    snprintf(path, sizeof(path), "%s/x.md", dir);
    n = slurp(path);
    REQUIRE(n > 0 && filebuf[0] == '#' && filebuf[n - 1] == '\n',
        "x.md (%ld bytes) does not start with a heading", n);
    snprintf(path, sizeof(path), "%s/x.folded", dir);
    n = slurp(path);
    REQUIRE(n > 0 && filebuf[n - 1] == '\n' && strchr(filebuf, ' ') != NULL,
        "x.folded (%ld bytes) has no \"stack count\" line", n);
    free(kept);
}
END_TEST

START_TEST(test_export_some_formats)
{
    char dir[512], names[512];
    snprintf(dir, sizeof(dir), "%s/some-%d", report_dir, (int)getpid());
    EXPECT_INT(memscope_export(dir, "a", MEMSCOPE_FORMAT_JSON), 0);
    EXPECT_INT(memscope_export(dir, "b", MEMSCOPE_FORMAT_MD |
        MEMSCOPE_FORMAT_FOLDED), 0);
    list_dir(dir, names, sizeof(names));
    EXPECT_STR(names, "a.json b.folded b.md");
    /* again: the files are replaced, not added to */
    EXPECT_INT(memscope_export(dir, "a", MEMSCOPE_FORMAT_JSON), 0);
    list_dir(dir, names, sizeof(names));
    EXPECT_STR(names, "a.json b.folded b.md");
}
END_TEST

START_TEST(test_export_refused)
{
    char dir[512], file[600], names[512];
    snprintf(dir, sizeof(dir), "%s/refused-%d", report_dir, (int)getpid());
    EXPECT_INT(mkdir(dir, 0700), 0);
    EXPECT_INT(memscope_export(dir, "", MEMSCOPE_FORMAT_JSON), -EINVAL);
    EXPECT_INT(memscope_export(dir, "a/b", MEMSCOPE_FORMAT_JSON), -EINVAL);
    EXPECT_INT(memscope_export(dir, "x", MEMSCOPE_FORMAT_ALL + 1), -EINVAL);
    list_dir(dir, names, sizeof(names));
    EXPECT_STR(names, "");
    /* a directory that cannot be made: under a regular file */
    snprintf(file, sizeof(file), "%s/plain", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    EXPECT(fd >= 0);
    close(fd);
    snprintf(file, sizeof(file), "%s/plain/sub", dir);
    int rc = memscope_export(file, "x", MEMSCOPE_FORMAT_JSON);
    REQUIRE(rc < 0, "export under a regular file returned %d", rc);
    list_dir(dir, names, sizeof(names));
    EXPECT_STR(names, "plain");
}
END_TEST

/* --- the rest of the calls' errors ---------------------------------------------- */

START_TEST(test_misuse_calls)
{
    int codes[] = { 0, -EINVAL, -ENOENT, -EALREADY, -ENOTSUP, -ENOMEM, -EBUSY,
        -12345 };
    size_t n = sizeof(codes) / sizeof(codes[0]);
    for (size_t i = 0; i < n; i++) {
        const char *s = memscope_strerror(codes[i]);
        REQUIRE(s != NULL && *s != '\0', "memscope_strerror(%d) is empty",
            codes[i]);
    }
    /* the codes this API returns each read differently */
    for (size_t i = 0; i < 5; i++)
        for (size_t j = i + 1; j < 5; j++)
            REQUIRE(strcmp(memscope_strerror(codes[i]),
                memscope_strerror(codes[j])) != 0,
                "memscope_strerror(%d) == memscope_strerror(%d)", codes[i],
                codes[j]);
    EXPECT_INT(memscope_get_snapshot(NULL), -EINVAL);
    EXPECT_INT(memscope_export_json(NULL), -EINVAL);
    EXPECT_INT(memscope_export_json(""), -EINVAL);
    char path[512];
    snprintf(path, sizeof(path), "%s/no/such/dir/r.json", report_dir);
    int rc = memscope_export_json(path);
    REQUIRE(rc < 0, "export to a missing directory returned %d", rc);
    EXPECT_INT(memscope_thread_name(NULL), -EINVAL);
    EXPECT_INT(memscope_configure_sampling(NULL), -EINVAL);
    EXPECT(memscope_version() != NULL);
    EXPECT_STR(memscope_version(), MEMSCOPE_VERSION_STRING);
}
END_TEST
/* --- running ------------------------------------------------------------------ */

static Suite *
export_suite(void)
{
    Suite *s = suite_create("api: export");
    TCase *tc = tcase_create("export");
    tcase_add_test(tc, test_export_all_formats);
    tcase_add_test(tc, test_export_some_formats);
    tcase_add_test(tc, test_export_refused);
    suite_add_tcase(s, tc);
    tc = tcase_create("misuse");
    tcase_add_test(tc, test_misuse_calls);
    suite_add_tcase(s, tc);
    return s;
}

MS_API_MAIN("test_api_export", export_suite, 0)
