/*
 * api_report.h - what the test_api_* suites share: checks that allocate
 * nothing until they fail, a small reader of the JSON reports the library
 * writes of itself (memscope_export_json), and main(), which runs a suite
 * in fresh processes with fixed options.
 *
 * Reading a report must not change what it reports: the reader takes its
 * memory from mmap, never from malloc.
 *
 * A suite file defines NAME_suite() (it may look at sampled_pass) and then
 *
 *     MS_API_MAIN("api_tasks", tasks_suite, 0)
 *
 * main() makes a private temporary directory, runs the suite in a child
 * with MEMSCOPE_OUT there (exact mode, stack depth 8, no report at exit,
 * test mode), then again in sampled mode (MEMSCOPE_SAMPLE=64k) when the
 * third argument is 1, removes the directory and leaves with _exit: this
 * process, traced with the caller's options, writes no report at exit
 * either, so a test leaves nothing behind (in particular nothing in the
 * caller's MemoryAnalysis/). Check forks every test, so the registries
 * (tasks, variables) start empty in each.
 */
#ifndef MS_API_REPORT_H
#define MS_API_REPORT_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memscope.h>

/*
 * Check's ck_assert_* "mark a point" when they pass, and marking a point
 * allocates (it sends a message to the runner). Inside a task, or between
 * a snapshot and an export, that would change the very figures under test,
 * so this file checks with macros that do nothing until they fail.
 */
#define REQUIRE(cond, ...) \
    do { if (!(cond)) ck_abort_msg(__VA_ARGS__); } while (0)
#define EXPECT(cond) REQUIRE(cond, "expected: %s", #cond)
#define EXPECT_INT(a, b) do { \
        long long a_ = (long long)(a), b_ = (long long)(b); \
        REQUIRE(a_ == b_, "%s is %lld, expected %lld (%s)", #a, a_, b_, #b); \
    } while (0)
#define EXPECT_STR(a, b) do { \
        const char *a_ = (a), *b_ = (b); \
        REQUIRE(a_ != NULL && b_ != NULL && strcmp(a_, b_) == 0, \
            "%s is \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", \
            b_ ? b_ : "(null)"); \
    } while (0)

/* --- a JSON reader that never calls malloc --------------------------------- */

typedef enum { J_NULL, J_BOOL, J_INT, J_DBL, J_STR, J_ARR, J_OBJ } jtype_t;

typedef struct jval {
    jtype_t t;
    long long i;            /* J_INT, J_BOOL */
    double d;               /* J_DBL (and J_INT) */
    const char *s;          /* J_STR */
    size_t n;               /* J_ARR, J_OBJ: items */
    struct jval **items;
    const char **keys;      /* J_OBJ */
} jval_t;

typedef struct {
    char *base;
    size_t used, cap;
    const char *p;          /* parse position */
    const char *err;
} jdoc_t;

#define JARENA (256u << 20)

static inline void *
jalloc(jdoc_t *d, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (d->used + n > d->cap) {
        d->err = "arena full";
        return NULL;
    }
    void *p = d->base + d->used;
    d->used += n;
    return p;
}

static inline void
jws(jdoc_t *d)
{
    while (*d->p == ' ' || *d->p == '\n' || *d->p == '\t' || *d->p == '\r')
        d->p++;
}

static jval_t *jparse_value(jdoc_t *d, int depth);

static inline const char *
jparse_string(jdoc_t *d)
{
    if (*d->p != '"') {
        d->err = "expected a string";
        return NULL;
    }
    d->p++;
    const char *q = d->p;
    size_t n = 0;
    while (*q && *q != '"') {
        if (*q == '\\' && q[1])
            q++;
        q++;
        n++;
    }
    if (*q != '"') {
        d->err = "unterminated string";
        return NULL;
    }
    char *out = jalloc(d, n * 4 + 1), *o = out;
    if (out == NULL)
        return NULL;
    while (*d->p != '"') {
        char c = *d->p++;
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        c = *d->p++;
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned v = 0;
            for (int k = 0; k < 4; k++) {
                char h = *d->p++;
                v = v * 16 + (unsigned)(h >= 'a' ? h - 'a' + 10 :
                    h >= 'A' ? h - 'A' + 10 : h - '0');
            }
            *o++ = v < 0x80 ? (char)v : '?';
            break;
        }
        default: *o++ = c; break;      /* \" \\ \/ */
        }
    }
    d->p++;
    *o = '\0';
    return out;
}

static inline jval_t *
jparse_container(jdoc_t *d, int depth, int obj)
{
    char close = obj ? '}' : ']';
    jval_t *v = jalloc(d, sizeof(*v));
    if (v == NULL)
        return NULL;
    memset(v, 0, sizeof(*v));
    v->t = obj ? J_OBJ : J_ARR;
    d->p++;
    size_t cap = 0;
    jws(d);
    if (*d->p == close) {
        d->p++;
        return v;
    }
    for (;;) {
        const char *k = NULL;
        jws(d);
        if (obj) {
            k = jparse_string(d);
            if (k == NULL)
                return NULL;
            jws(d);
            if (*d->p != ':') {
                d->err = "expected ':'";
                return NULL;
            }
            d->p++;
        }
        jval_t *item = jparse_value(d, depth + 1);
        if (item == NULL)
            return NULL;
        if (v->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            jval_t **ni = jalloc(d, nc * sizeof(*ni));
            const char **nk = jalloc(d, nc * sizeof(*nk));
            if (ni == NULL || nk == NULL)
                return NULL;
            if (v->n) {
                memcpy(ni, v->items, v->n * sizeof(*ni));
                memcpy(nk, v->keys, v->n * sizeof(*nk));
            }
            v->items = ni;
            v->keys = nk;
            cap = nc;
        }
        v->items[v->n] = item;
        v->keys[v->n] = k;
        v->n++;
        jws(d);
        if (*d->p == ',') {
            d->p++;
            continue;
        }
        if (*d->p == close) {
            d->p++;
            return v;
        }
        d->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
        return NULL;
    }
}

static inline jval_t *
jparse_value(jdoc_t *d, int depth)
{
    if (depth > 64) {
        d->err = "too deep";
        return NULL;
    }
    jws(d);
    if (*d->p == '{' || *d->p == '[')
        return jparse_container(d, depth, *d->p == '{');
    jval_t *v = jalloc(d, sizeof(*v));
    if (v == NULL)
        return NULL;
    memset(v, 0, sizeof(*v));
    if (*d->p == '"') {
        v->t = J_STR;
        v->s = jparse_string(d);
        return v->s ? v : NULL;
    }
    if (strncmp(d->p, "null", 4) == 0) {
        v->t = J_NULL;
        d->p += 4;
        return v;
    }
    if (strncmp(d->p, "true", 4) == 0 || strncmp(d->p, "false", 5) == 0) {
        v->t = J_BOOL;
        v->i = *d->p == 't';
        d->p += v->i ? 4 : 5;
        return v;
    }
    if (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) {
        const char *q = d->p;
        int real = 0;
        if (*q == '-')
            q++;
        while ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' ||
               *q == 'E' || *q == '+' || *q == '-') {
            if (*q == '.' || *q == 'e' || *q == 'E')
                real = 1;
            q++;
        }
        char *end;
        if (real) {
            v->t = J_DBL;
            v->d = strtod(d->p, &end);
        } else {
            v->t = J_INT;
            errno = 0;
            v->i = strtoll(d->p, &end, 10);
            if (errno != 0) {
                d->err = "integer out of range";
                return NULL;
            }
            v->d = (double)v->i;
        }
        d->p = end;
        return v;
    }
    d->err = "unexpected character";
    return NULL;
}

/* Reads and parses the file at path; NULL (and a message) on failure. */
static jdoc_t jdoc;

static inline jval_t *
json_load(const char *path)
{
    static char msg[256];
    if (jdoc.base == NULL) {
        jdoc.base = mmap(NULL, JARENA, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        REQUIRE(jdoc.base != MAP_FAILED, "mmap: %s", strerror(errno));
        jdoc.cap = JARENA;
    }
    jdoc.used = 0;
    jdoc.err = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0, "open %s: %s", path, strerror(errno));
    struct stat st;
    REQUIRE(fstat(fd, &st) == 0, "fstat %s: %s", path, strerror(errno));
    char *text = jalloc(&jdoc, (size_t)st.st_size + 1);
    REQUIRE(text != NULL, "%s: too big to read", path);
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
        REQUIRE(n > 0, "read %s: %s", path, strerror(errno));
        got += (size_t)n;
    }
    close(fd);
    text[got] = '\0';
    jdoc.p = text;
    jval_t *v = jparse_value(&jdoc, 0);
    if (v != NULL) {
        jws(&jdoc);
        if (*jdoc.p != '\0') {
            jdoc.err = "text after the value";
            v = NULL;
        }
    }
    snprintf(msg, sizeof(msg), "%s at byte %ld", jdoc.err ? jdoc.err : "?",
        (long)(jdoc.p - text));
    REQUIRE(v != NULL, "%s is not valid JSON: %s", path, msg);
    return v;
}

/* obj.key, or NULL when obj is no object or lacks key. */
static inline jval_t *
jget(const jval_t *obj, const char *key)
{
    if (obj == NULL || obj->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return obj->items[i];
    return NULL;
}

/* A dotted path of keys ("summary.allocs"); fails the test when absent. */
static inline jval_t *
jpath(const jval_t *root, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    const jval_t *v = root;
    for (char *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save)) {
        v = jget(v, k);
        REQUIRE(v != NULL, "the report has no %s", path);
    }
    return (jval_t *)v;
}

static inline long long
jint(const jval_t *root, const char *path)
{
    const jval_t *v = jpath(root, path);
    REQUIRE(v->t == J_INT, "%s is not an integer", path);
    return v->i;
}

static inline const char *
jstr(const jval_t *root, const char *path)
{
    const jval_t *v = jpath(root, path);
    REQUIRE(v->t == J_STR, "%s is not a string", path);
    return v->s;
}

static inline int
jis_null(const jval_t *root, const char *path)
{
    return jpath(root, path)->t == J_NULL;
}

static inline jval_t *
jarr(const jval_t *root, const char *path)
{
    jval_t *v = jpath(root, path);
    REQUIRE(v->t == J_ARR, "%s is not an array", path);
    return v;
}

/* --- reports ---------------------------------------------------------------- */

static char report_dir[256];
static int report_seq;
static int sampled_pass;        /* this run is in sampled mode */

/* Exports the JSON report now and returns it, parsed. */
static inline jval_t *
report_now(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/r-%d-%d.json", report_dir, (int)getpid(),
        ++report_seq);
    int rc = memscope_export_json(path);
    REQUIRE(rc == 0, "memscope_export_json(%s) = %d (%s)", path, rc,
        memscope_strerror(rc));
    jval_t *r = json_load(path);
    unlink(path);
    return r;
}

/* The entry of array arr whose string field key is val, or NULL. */
static inline jval_t *
find_by(const jval_t *arr, const char *key, const char *val)
{
    jval_t *found = NULL;
    for (size_t i = 0; i < arr->n; i++) {
        const jval_t *k = jget(arr->items[i], key);
        if (k != NULL && k->t == J_STR && strcmp(k->s, val) == 0) {
            REQUIRE(found == NULL, "two entries with %s \"%s\"", key, val);
            found = arr->items[i];
        }
    }
    return found;
}

static inline jval_t *
var_named(const jval_t *report, const char *name)
{
    jval_t *v = find_by(jarr(report, "variables"), "name", name);
    REQUIRE(v != NULL, "no variable named \"%s\" in the report", name);
    return v;
}

static inline jval_t *
task_with_id(const jval_t *report, memscope_task_t id)
{
    const jval_t *tasks = jarr(report, "tasks");
    for (size_t i = 0; i < tasks->n; i++)
        if (jint(tasks->items[i], "id") == (long long)id)
            return tasks->items[i];
    ck_abort_msg("no task with id %u in the report", (unsigned)id);
    return NULL;
}

/* --- running ------------------------------------------------------------------ */

static inline int
ms_api_rm_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

/* Runs this program again as one pass, with known options (exec runs no
 * exit handler); returns its exit status. */
static inline int
ms_api_run_pass(const char *name, const char *dir, const char *sample)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return EXIT_FAILURE;
    }
    if (pid == 0) {
        setenv("MS_API_TEST_DIR", dir, 1);
        setenv("MEMSCOPE_OUT", dir, 1);
        setenv("MEMSCOPE_ENABLE", "1", 1);
        setenv("MEMSCOPE_SAMPLE", sample, 1);
        setenv("MEMSCOPE_STACK_DEPTH", "8", 1);
        setenv("MEMSCOPE_AUTO_EXPORT", "0", 1);
        setenv("MEMSCOPE_TEST_MODE", "1", 1);
        unsetenv("MEMSCOPE_NAME");
        /* the pass is this program exec'd again in a child: a descendant
         * the default MEMSCOPE_CHILDREN (fork) would leave untraced */
        setenv("MEMSCOPE_CHILDREN", "all", 1);
        unsetenv("MEMSCOPE_VERBOSE");
        execl("/proc/self/exe", name, (char *)NULL);
        perror("exec /proc/self/exe");
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return EXIT_FAILURE;
    if (WIFSIGNALED(st))
        printf("%s: MEMSCOPE_SAMPLE=%s pass killed by signal %d\n", name,
            sample, WTERMSIG(st));
    return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAILURE;
}

static inline int
ms_api_main(const char *name, Suite *(*make)(void), int also_sampled)
{
    const char *dir = getenv("MS_API_TEST_DIR");
    if (dir != NULL) {
        /* a pass, started by ms_api_run_pass() */
        snprintf(report_dir, sizeof(report_dir), "%s", dir);
        sampled_pass = strcmp(getenv("MEMSCOPE_SAMPLE"), "0") != 0;
        if (!memscope_is_tracing()) {
            printf("%s: the tracer is not running\n", name);
            return EXIT_FAILURE;
        }
        SRunner *sr = srunner_create(make());
        srunner_set_fork_status(sr, CK_FORK);    /* each test: fresh registries */
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    const char *tmp = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof(tmpl), "%s/memscope-%s.XXXXXX",
        tmp != NULL && *tmp == '/' ? tmp : "/tmp", name);
    int rc = EXIT_FAILURE;
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
    } else {
        int exact = ms_api_run_pass(name, tmpl, "0");
        int sampled = also_sampled ? ms_api_run_pass(name, tmpl, "64k") : 0;
        nftw(tmpl, ms_api_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        rc = exact == 0 && sampled == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    fflush(NULL);
    _exit(rc);      /* no report at exit from this process */
}

#define MS_API_MAIN(name, make, also_sampled) \
    int main(void) { return ms_api_main(name, make, also_sampled); }

#endif
