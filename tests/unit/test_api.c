/*
 * test_api.c - the public API (include/memscope.h) in-process: named
 * variables, tasks, snapshots and misuse, each checked in the JSON report
 * the library writes of itself (memscope_export_json).
 *
 * The suite runs in a fresh process with fixed options (exact mode, stack
 * depth 8, no report at exit, test mode) and reports written to a private
 * temporary directory, removed at the end; the snapshot test runs again in
 * sampled mode. Check forks every test, so the registries (tasks,
 * variables) start empty in each.
 *
 * Reading a report must not change what it reports: the small JSON reader
 * below takes its memory from mmap, never from malloc.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <malloc.h>
#include <pthread.h>
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

static void *
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

static void
jws(jdoc_t *d)
{
    while (*d->p == ' ' || *d->p == '\n' || *d->p == '\t' || *d->p == '\r')
        d->p++;
}

static jval_t *jparse_value(jdoc_t *d, int depth);

static const char *
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

static jval_t *
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

static jval_t *
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

static jval_t *
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
static jval_t *
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
static jval_t *
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

static long long
jint(const jval_t *root, const char *path)
{
    const jval_t *v = jpath(root, path);
    REQUIRE(v->t == J_INT, "%s is not an integer", path);
    return v->i;
}

static const char *
jstr(const jval_t *root, const char *path)
{
    const jval_t *v = jpath(root, path);
    REQUIRE(v->t == J_STR, "%s is not a string", path);
    return v->s;
}

static int
jis_null(const jval_t *root, const char *path)
{
    return jpath(root, path)->t == J_NULL;
}

static jval_t *
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
static jval_t *
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
static jval_t *
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

static jval_t *
var_named(const jval_t *report, const char *name)
{
    jval_t *v = find_by(jarr(report, "variables"), "name", name);
    REQUIRE(v != NULL, "no variable named \"%s\" in the report", name);
    return v;
}

static jval_t *
task_with_id(const jval_t *report, memscope_task_t id)
{
    const jval_t *tasks = jarr(report, "tasks");
    for (size_t i = 0; i < tasks->n; i++)
        if (jint(tasks->items[i], "id") == (long long)id)
            return tasks->items[i];
    ck_abort_msg("no task with id %u in the report", (unsigned)id);
    return NULL;
}

static void
expect_address(const jval_t *var, const void *p)
{
    char want[40];
    snprintf(want, sizeof(want), "0x%llx", (unsigned long long)(uintptr_t)p);
    EXPECT_STR(jstr(var, "address"), want);
}

/* The fields of a named heap block. */
static void
expect_var(const jval_t *r, const char *name, const char *type, const void *p,
    long long size, long long elem_size, const char *status, int line,
    const char *func)
{
    const jval_t *v = var_named(r, name);
    REQUIRE(strcmp(jstr(v, "type"), type) == 0,
        "variable %s: type \"%s\", expected \"%s\"", name, jstr(v, "type"), type);
    REQUIRE(strcmp(jstr(v, "status"), status) == 0,
        "variable %s: status \"%s\", expected \"%s\"", name, jstr(v, "status"),
        status);
    expect_address(v, p);
    REQUIRE(jint(v, "size") == size, "variable %s: size %lld, expected %lld",
        name, jint(v, "size"), size);
    EXPECT_INT(jint(v, "elem_size"), elem_size);
    EXPECT_INT(jint(v, "count"), size / elem_size);
    EXPECT_STR(jstr(v, "file"), __FILE__);
    REQUIRE(jint(v, "line") == line, "variable %s: line %lld, expected %d",
        name, jint(v, "line"), line);
    EXPECT_STR(jstr(v, "function"), func);
}

/* --- h. variables ----------------------------------------------------------- */

struct foo {
    int a;
    double b;
    char c[20];
};

START_TEST(test_track_var_types)
{
    int *ip = malloc(10 * sizeof(*ip));
    char *cp = malloc(17);
    double *dp = calloc(3, sizeof(*dp));
    struct foo *fp = malloc(2 * sizeof(*fp));
    EXPECT(ip && cp && dp && fp);
    int l_ip = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR(ip), 0);
    int l_cp = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR(cp), 0);
    int l_dp = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR(dp), 0);
    int l_fp = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR_AS(fp, struct foo), 0);

    jval_t *r = report_now();
    expect_var(r, "ip", "int *", ip, 40, sizeof(int), "live", l_ip, __func__);
    expect_var(r, "cp", "char *", cp, 17, 1, "live", l_cp, __func__);
    expect_var(r, "dp", "double *", dp, 24, sizeof(double), "live", l_dp, __func__);
    expect_var(r, "fp", "struct foo", fp, 2 * (long long)sizeof(struct foo),
        sizeof(struct foo), "live", l_fp, __func__);
    EXPECT_INT(jint(r, "summary.variables"), 4);
    EXPECT_INT(jarr(r, "variables")->n, 4);
    const jval_t *v = var_named(r, "ip");
    EXPECT(jpath(v, "owned")->t == J_BOOL && jpath(v, "owned")->i == 0);
    EXPECT_INT(jarr(v, "owners")->n, 0);
    EXPECT(jis_null(v, "freed_ns"));
    EXPECT(jis_null(v, "value"));

    free(ip);
    free(cp);
    r = report_now();
    EXPECT_STR(jstr(var_named(r, "ip"), "status"), "freed");
    EXPECT_STR(jstr(var_named(r, "cp"), "status"), "freed");
    EXPECT(!jis_null(var_named(r, "ip"), "freed_ns"));
    EXPECT_STR(jstr(var_named(r, "dp"), "status"), "live");
    EXPECT_STR(jstr(var_named(r, "fp"), "status"), "live");
    free(dp);
    free(fp);
}
END_TEST

START_TEST(test_track_var_owned)
{
    long *op = malloc(8 * sizeof(*op));
    EXPECT(op != NULL);
    int line = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR_OWNED(op), 0);
    jval_t *r = report_now();
    expect_var(r, "op", "long *", op, 64, sizeof(long), "live", line, __func__);
    const jval_t *v = var_named(r, "op");
    EXPECT(jpath(v, "owned")->t == J_BOOL && jpath(v, "owned")->i == 1);
    EXPECT_INT(jarr(v, "owners")->n, 1);
    EXPECT_STR(jstr(jarr(v, "owners")->items[0], "owner"), __func__);

    EXPECT_INT(memscope_transfer(op, "worker"), 0);
    EXPECT_INT(memscope_transfer(op, "sink"), 0);
    r = report_now();
    v = var_named(r, "op");
    EXPECT_STR(jstr(v, "status"), "transferred");
    expect_address(v, op);
    const jval_t *own = jarr(v, "owners");
    EXPECT_INT(own->n, 3);
    EXPECT_STR(jstr(own->items[0], "owner"), __func__);
    EXPECT_STR(jstr(own->items[1], "owner"), "worker");
    EXPECT_STR(jstr(own->items[2], "owner"), "sink");
    EXPECT(jint(own->items[0], "t_ns") <= jint(own->items[1], "t_ns"));
    EXPECT(jint(own->items[1], "t_ns") <= jint(own->items[2], "t_ns"));
    EXPECT_INT(jint(v, "dropped_owners"), 0);

    free(op);
    r = report_now();
    v = var_named(r, "op");
    EXPECT_STR(jstr(v, "status"), "freed");
    EXPECT(!jis_null(v, "freed_ns"));
    own = jarr(v, "owners");
    EXPECT_INT(own->n, 3);
    EXPECT_STR(jstr(own->items[2], "owner"), "sink");
    /* a freed block has no owner left to hand it to */
    EXPECT_INT(memscope_transfer(op, "late"), -ENOENT);
}
END_TEST

START_TEST(test_track_var_smart)
{
    int iv = 42;
    double dv = 2.5;
    unsigned char *sp = malloc(33);
    EXPECT(sp != NULL);
    int l_iv = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR_SMART(iv), 0);
    int l_dv = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR_SMART(dv), 0);
    int l_sp = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR_SMART(sp), 0);

    jval_t *r = report_now();
    const jval_t *v = var_named(r, "iv");
    EXPECT_STR(jstr(v, "type"), "int");
    EXPECT_STR(jstr(v, "status"), "value");
    EXPECT_STR(jstr(v, "value"), "42");
    EXPECT(jis_null(v, "address"));
    EXPECT_INT(jint(v, "size"), 0);
    EXPECT_STR(jstr(v, "file"), __FILE__);
    EXPECT_INT(jint(v, "line"), l_iv);
    EXPECT_STR(jstr(v, "function"), __func__);

    v = var_named(r, "dv");
    EXPECT_STR(jstr(v, "type"), "double");
    EXPECT_STR(jstr(v, "status"), "value");
    EXPECT(strtod(jstr(v, "value"), NULL) == 2.5);
    EXPECT(jis_null(v, "address"));
    EXPECT_INT(jint(v, "line"), l_dv);

    expect_var(r, "sp", "unsigned char *", sp, 33, 1, "live", l_sp, __func__);
    EXPECT_INT(jint(r, "summary.variables"), 3);
    free(sp);
    r = report_now();
    EXPECT_STR(jstr(var_named(r, "sp"), "status"), "freed");
    EXPECT_STR(jstr(var_named(r, "iv"), "status"), "value");
}
END_TEST

START_TEST(test_track_var_realloc_keeps_name)
{
    char *rp = malloc(16);
    EXPECT(rp != NULL);
    int line = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR(rp), 0);
    uintptr_t old = (uintptr_t)rp;
    /* a 16-byte block cannot grow in place to 1 MiB: it moves */
    char *np = realloc(rp, 1 << 20);
    EXPECT(np != NULL);
    REQUIRE((uintptr_t)np != old, "realloc did not move the block");
    rp = np;
    jval_t *r = report_now();
    expect_var(r, "rp", "char *", rp, 1 << 20, 1, "live", line, __func__);
    EXPECT_INT(jarr(r, "variables")->n, 1);
    /* the name follows the block: freeing the new address frees the variable */
    free(rp);
    r = report_now();
    EXPECT_STR(jstr(var_named(r, "rp"), "status"), "freed");
}
END_TEST

/* Naming a block twice keeps one variable, with the newest name. */
START_TEST(test_track_var_renamed)
{
    int *first = malloc(12 * sizeof(int));
    EXPECT(first != NULL);
    int *second = first;
    EXPECT_INT(MEMSCOPE_TRACK_VAR(first), 0);
    int line = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR(second), 0);
    jval_t *r = report_now();
    EXPECT_INT(jarr(r, "variables")->n, 1);
    expect_var(r, "second", "int *", first, 48, sizeof(int), "live", line,
        __func__);
    free(second);
    r = report_now();
    EXPECT_STR(jstr(var_named(r, "second"), "status"), "freed");
}
END_TEST

static char *shared_block;

static void *
realloc_main(void *arg)
{
    (void)arg;
    shared_block = realloc(shared_block, 1 << 20);
    return NULL;
}

/* The same, when the thread that moves the block is not the one that
 * allocated it. */
START_TEST(test_track_var_realloc_other_thread)
{
    shared_block = malloc(16);
    EXPECT(shared_block != NULL);
    int line = __LINE__; EXPECT_INT(MEMSCOPE_TRACK_VAR(shared_block), 0);
    uintptr_t old = (uintptr_t)shared_block;
    pthread_t th;
    EXPECT_INT(pthread_create(&th, NULL, realloc_main, NULL), 0);
    pthread_join(th, NULL);
    EXPECT(shared_block != NULL);
    REQUIRE((uintptr_t)shared_block != old, "realloc did not move the block");
    jval_t *r = report_now();
    expect_var(r, "shared_block", "char *", shared_block, 1 << 20, 1, "live",
        line, __func__);
    EXPECT_INT(jarr(r, "variables")->n, 1);
    free(shared_block);
    r = report_now();
    EXPECT_STR(jstr(var_named(r, "shared_block"), "status"), "freed");
}
END_TEST

/* --- i. tasks ------------------------------------------------------------- */

static void
expect_task(const jval_t *r, memscope_task_t id, const char *name,
    memscope_task_t parent, long long allocs, long long frees, long long bytes,
    long long freed, long long live, long long peak, const char *state)
{
    const jval_t *t = task_with_id(r, id);
    EXPECT_STR(jstr(t, "name"), name);
    if (parent == 0)
        REQUIRE(jis_null(t, "parent"), "task %s: parent is not null", name);
    else
        REQUIRE(jint(t, "parent") == parent, "task %s: parent %lld, expected %u",
            name, jint(t, "parent"), (unsigned)parent);
#define TASK_FIELD(f, want) \
    REQUIRE(jint(t, f) == (want), "task %s: %s is %lld, expected %lld", name, f, \
        jint(t, f), (long long)(want))
    TASK_FIELD("allocs", allocs);
    TASK_FIELD("frees", frees);
    TASK_FIELD("bytes_allocated", bytes);
    TASK_FIELD("bytes_freed", freed);
    TASK_FIELD("live_bytes", live);
    TASK_FIELD("peak_live_bytes", peak);
#undef TASK_FIELD
    EXPECT_STR(jstr(t, "state"), state);
    REQUIRE(memscope_task_memory(id) == live,
        "memscope_task_memory(%s) = %lld, its live_bytes %lld", name,
        (long long)memscope_task_memory(id), live);
}

START_TEST(test_task_hierarchy)
{
    memscope_task_t cur0 = memscope_task_current();
    memscope_task_t parent = memscope_task_begin("parent");
    memscope_task_t cur_p = memscope_task_current();
    void *p1 = malloc(100);
    void *p2 = malloc(200);
    free(p2);                                   /* parent: live 100, peak 300 */

    memscope_task_t c1 = memscope_task_begin("child1");
    memscope_task_t cur_c1 = memscope_task_current();
    void *c1a = malloc(1000), *c1b = malloc(1000), *c1c = malloc(1000);
    free(c1b);                                  /* child1: live 2000, peak 3000 */

    memscope_task_t g = memscope_task_begin("grandchild");
    void *g1 = malloc(50), *g2 = calloc(5, 10);
    int end_g = memscope_task_end(g);
    memscope_task_t cur_after_g = memscope_task_current();
    int end_c1 = memscope_task_end(c1);
    memscope_task_t cur_after_c1 = memscope_task_current();

    memscope_task_t c2 = memscope_task_begin("child2");
    void *c2a = malloc(7);
    int end_c2 = memscope_task_end(c2);
    memscope_task_t cur_after_c2 = memscope_task_current();

    /* still inside "parent": report_now() must not allocate from the heap */
    jval_t *r = report_now();
    EXPECT_INT(cur0, 0);
    EXPECT(parent != 0 && c1 != 0 && g != 0 && c2 != 0);
    EXPECT_INT(cur_p, parent);
    EXPECT_INT(cur_c1, c1);
    EXPECT_INT(end_g, 0);
    EXPECT_INT(cur_after_g, c1);
    EXPECT_INT(end_c1, 0);
    EXPECT_INT(cur_after_c1, parent);
    EXPECT_INT(end_c2, 0);
    EXPECT_INT(cur_after_c2, parent);
    EXPECT_INT(jint(r, "summary.tasks"), 4);
    EXPECT_INT(jarr(r, "tasks")->n, 4);
    expect_task(r, parent, "parent", 0, 2, 1, 300, 200, 100, 300, "running");
    expect_task(r, c1, "child1", parent, 3, 1, 3000, 1000, 2000, 3000, "ended");
    expect_task(r, g, "grandchild", c1, 2, 0, 100, 0, 100, 100, "ended");
    expect_task(r, c2, "child2", parent, 1, 0, 7, 0, 7, 7, "ended");
    EXPECT(jis_null(task_with_id(r, parent), "end_ns"));
    EXPECT(!jis_null(task_with_id(r, c1), "end_ns"));

    /* a block counts against the task it was allocated in, whoever frees it */
    EXPECT_INT(memscope_task_end(parent), 0);
    EXPECT_INT(memscope_task_current(), 0);
    free(g1);
    free(c1a);
    free(p1);
    r = report_now();
    expect_task(r, parent, "parent", 0, 2, 2, 300, 300, 0, 300, "ended");
    expect_task(r, c1, "child1", parent, 3, 2, 3000, 2000, 1000, 3000, "ended");
    expect_task(r, g, "grandchild", c1, 2, 1, 100, 50, 50, 100, "ended");
    expect_task(r, c2, "child2", parent, 1, 0, 7, 0, 7, 7, "ended");
    free(g2);
    free(c1c);
    free(c2a);
}
END_TEST

typedef struct {
    memscope_task_t task;
    size_t size;
    int n;
    void *blocks[4];
    int rc_enter, rc_leave;
    memscope_task_t inside, after;
} mover_t;

/* Resumes m->task on a thread of its own and allocates in it. */
static void *
mover_main(void *arg)
{
    mover_t *m = arg;
    m->rc_enter = memscope_task_enter(m->task);
    m->inside = memscope_task_current();
    for (int i = 0; i < m->n; i++)
        m->blocks[i] = malloc(m->size);
    m->rc_leave = memscope_task_leave();
    m->after = memscope_task_current();
    free(malloc(999));                          /* outside the task */
    return NULL;
}

static void
run_mover(mover_t *m)
{
    pthread_t th;
    int rc = pthread_create(&th, NULL, mover_main, m);
    REQUIRE(rc == 0, "pthread_create: %s", strerror(rc));
    pthread_join(th, NULL);
}

START_TEST(test_task_moves_between_threads)
{
    memscope_task_t t = memscope_task_begin("mover");
    void *m0 = malloc(10);
    int left = memscope_task_leave();
    memscope_task_t cur = memscope_task_current();
    void *outside = malloc(5000);               /* no task */
    mover_t a = { .task = t, .size = 64, .n = 2 };
    mover_t b = { .task = t, .size = 128, .n = 1 };
    run_mover(&a);
    run_mover(&b);
    int entered = memscope_task_enter(t);
    void *m1 = malloc(20);
    int left2 = memscope_task_leave();

    EXPECT(t != 0);
    EXPECT_INT(left, 0);
    EXPECT_INT(cur, 0);
    EXPECT_INT(a.rc_enter, 0);
    EXPECT_INT(a.inside, t);
    EXPECT_INT(a.rc_leave, 0);
    EXPECT_INT(a.after, 0);
    EXPECT_INT(b.rc_enter, 0);
    EXPECT_INT(b.rc_leave, 0);
    EXPECT_INT(entered, 0);
    EXPECT_INT(left2, 0);
    EXPECT(a.blocks[0] && a.blocks[1] && b.blocks[0] && m0 && m1 && outside);

    /* main 10 + 20, thread a 2 x 64, thread b 128 */
    jval_t *r = report_now();
    expect_task(r, t, "mover", 0, 5, 0, 286, 0, 286, 286, "running");
    EXPECT_INT(jint(task_with_id(r, t), "threads_entered"), 3);

    free(a.blocks[0]);                          /* freed by another thread */
    free(outside);
    r = report_now();
    expect_task(r, t, "mover", 0, 5, 1, 286, 64, 222, 286, "running");
    EXPECT_INT(memscope_task_end(t), 0);
    free(a.blocks[1]);
    free(b.blocks[0]);
    free(m0);
    free(m1);
    r = report_now();
    expect_task(r, t, "mover", 0, 5, 5, 286, 286, 0, 286, "ended");
}
END_TEST

START_TEST(test_task_scope_macro)
{
    memscope_task_t inside = 0;
    void *kept = NULL;
    MEMSCOPE_TASK_SCOPE("scoped") {
        inside = memscope_task_current();
        free(malloc(48));
        kept = malloc(16);
    }
    memscope_task_t after = memscope_task_current();
    EXPECT(inside != 0);
    EXPECT_INT(after, 0);
    jval_t *r = report_now();
    expect_task(r, inside, "scoped", 0, 2, 1, 64, 48, 16, 48, "ended");
    free(kept);
    EXPECT_INT(memscope_task_memory(inside), 0);
}
END_TEST

START_TEST(test_task_hierarchy_off)
{
    memscope_visualization_config_t cfg = { .max_tracked_tasks = 0,
        .buffer_size = 0, .enable_task_hierarchy = 0 };
    EXPECT_INT(memscope_configure_tasks(&cfg), 0);
    memscope_task_t outer = memscope_task_begin("outer");
    memscope_task_t inner = memscope_task_begin("inner");
    void *p = malloc(24);
    memscope_task_end(inner);
    memscope_task_end(outer);
    jval_t *r = report_now();
    expect_task(r, outer, "outer", 0, 0, 0, 0, 0, 0, 0, "ended");
    expect_task(r, inner, "inner", 0, 1, 0, 24, 0, 24, 24, "ended");
    free(p);
}
END_TEST

/* --- j. snapshots ----------------------------------------------------------- */

static void *
keeper_main(void *arg)
{
    void **slot = arg;
    *slot = malloc(4096);
    free(malloc(100));
    return NULL;
}

START_TEST(test_snapshot_matches_export)
{
    /* some of everything: a finished thread with a live block, tasks, a
     * variable, a value */
    void *from_thread = NULL;
    pthread_t th;
    EXPECT_INT(pthread_create(&th, NULL, keeper_main, &from_thread), 0);
    pthread_join(th, NULL);
    memscope_task_t t = memscope_task_begin("snap");
    void *in_task = malloc(300);
    memscope_task_end(t);
    memscope_task_begin("still-running");
    memscope_task_leave();
    char *named = malloc(40);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(named), 0);
    int answer = 42;
    EXPECT_INT(MEMSCOPE_TRACK_VAR_SMART(answer), 0);

    char path[512];
    snprintf(path, sizeof(path), "%s/snap-%d.json", report_dir, (int)getpid());
    memscope_snapshot_t s1, s2;
    /* nothing between the two snapshots but the export itself */
    int rc1 = memscope_get_snapshot(&s1);
    int rc = memscope_export_json(path);
    int rc2 = memscope_get_snapshot(&s2);

    EXPECT_INT(rc1, 0);
    EXPECT_INT(rc, 0);
    EXPECT_INT(rc2, 0);
    jval_t *r = json_load(path);
    unlink(path);
#define SAME(field, path) \
    REQUIRE(jint(r, path) == (long long)s1.field, \
        "snapshot." #field " = %lld but the report's " path " = %lld", \
        (long long)s1.field, jint(r, path))
    SAME(allocs, "summary.allocs");
    SAME(frees, "summary.frees");
    SAME(live_blocks, "summary.live_blocks");
    SAME(live_bytes, "summary.live_bytes");
    SAME(peak_live_bytes, "summary.peak_live_bytes");
    SAME(threads, "summary.threads");
    SAME(tasks, "summary.tasks");
    SAME(variables, "summary.variables");
    SAME(sample_interval, "sample_interval");
#undef SAME
    EXPECT_INT(s1.tasks, 2);
    EXPECT_INT(s1.active_tasks, 1);
    EXPECT_INT(s1.variables, 2);
    EXPECT_INT(s1.sampled, sampled_pass);
    EXPECT_INT(s1.tracing, 1);
    EXPECT_STR(jstr(r, "mode"), sampled_pass ? "sampled" : "exact");
    long long running = 0;
    const jval_t *tasks = jarr(r, "tasks");
    for (size_t i = 0; i < tasks->n; i++)
        running += strcmp(jstr(tasks->items[i], "state"), "running") == 0;
    EXPECT_INT(running, s1.active_tasks);
    EXPECT_INT(jarr(r, "threads")->n, s1.threads);
    EXPECT(s1.threads >= 2);

    /* the export allocated nothing from the program's heap */
    REQUIRE(s2.allocs == s1.allocs && s2.frees == s1.frees &&
        s2.live_bytes == s1.live_bytes,
        "exporting changed the counts: allocs %llu -> %llu, frees %llu -> %llu, "
        "live_bytes %lld -> %lld", (unsigned long long)s1.allocs,
        (unsigned long long)s2.allocs, (unsigned long long)s1.frees,
        (unsigned long long)s2.frees, (long long)s1.live_bytes,
        (long long)s2.live_bytes);

    /* and the snapshot follows the program */
    void *more = malloc(1234);
    memscope_snapshot_t s3;
    memscope_get_snapshot(&s3);
    EXPECT_INT(s3.allocs, s2.allocs + 1);
    /* sampled mode counts usable bytes (docs/sampling.md) */
    EXPECT_INT(s3.live_bytes, s2.live_bytes +
        (long long)(sampled_pass ? malloc_usable_size(more) : 1234));
    EXPECT_INT(s3.live_blocks, s2.live_blocks + 1);
    free(more);
    free(named);
    free(in_task);
    free(from_thread);
}
END_TEST

/* --- k. misuse -------------------------------------------------------------- */

static int a_global[4];

START_TEST(test_misuse_variables)
{
    int local = 1;
    int *lp = &local, *gp = a_global, *np = NULL;
    char *blk = malloc(64);
    char *inner = blk + 8;
    EXPECT_INT(MEMSCOPE_TRACK_VAR(lp), -ENOENT);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(gp), -ENOENT);
    EXPECT_INT(MEMSCOPE_TRACK_VAR_OWNED(gp), -ENOENT);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(inner), -ENOENT);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(np), -EINVAL);
    EXPECT_INT(MEMSCOPE_TRACK_VAR_AS(np, struct foo), -EINVAL);
    EXPECT_INT(MEMSCOPE_TRACK_VAR_OWNED(np), -EINVAL);
    EXPECT_INT(MEMSCOPE_TRACK_VAR_SMART(np), -EINVAL);
    EXPECT_INT(memscope_transfer(NULL, "x"), -EINVAL);
    EXPECT_INT(memscope_transfer(lp, "x"), -ENOENT);
    EXPECT_INT(memscope_transfer(blk, "x"), -ENOENT);   /* not named */
    EXPECT_INT(MEMSCOPE_TRACK_VAR(blk), 0);
    EXPECT_INT(memscope_transfer(blk, NULL), -EINVAL);
    free(blk);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(blk), -ENOENT);       /* freed */
    jval_t *r = report_now();
    EXPECT_INT(jint(r, "summary.variables"), 1);
    EXPECT_STR(jstr(var_named(r, "blk"), "status"), "freed");
}
END_TEST

START_TEST(test_misuse_tasks)
{
    memscope_task_t t = memscope_task_begin("once");
    EXPECT(t != 0);
    EXPECT_INT(memscope_task_end(t), 0);
    EXPECT_INT(memscope_task_end(t), -EALREADY);
    EXPECT_INT(memscope_task_end(0), -EINVAL);
    EXPECT_INT(memscope_task_end(t + 1000), -EINVAL);
    EXPECT_INT(memscope_task_enter(t), -EINVAL);        /* ended */
    EXPECT_INT(memscope_task_enter(0), -EINVAL);
    EXPECT_INT(memscope_task_enter(t + 1000), -EINVAL);
    EXPECT_INT(memscope_task_current(), 0);
    EXPECT_INT(memscope_task_leave(), -EINVAL);         /* in no task */
    EXPECT_INT(memscope_task_memory(0), -1);
    EXPECT_INT(memscope_task_memory(t + 1000), -1);
    EXPECT_INT(memscope_configure_tasks(NULL), -EINVAL);

    memscope_task_t anon = memscope_task_begin(NULL);
    EXPECT(anon != 0);
    EXPECT_INT(memscope_task_current(), anon);
    EXPECT_INT(memscope_task_end(anon), 0);
    jval_t *r = report_now();
    EXPECT_STR(jstr(task_with_id(r, anon), "name"), "(unnamed)");
    EXPECT_STR(jstr(task_with_id(r, t), "state"), "ended");
    EXPECT_INT(jint(r, "summary.dropped_tasks"), 0);
}
END_TEST

START_TEST(test_misuse_too_many_tasks)
{
    memscope_visualization_config_t cfg = { .max_tracked_tasks = 3,
        .buffer_size = 0, .enable_task_hierarchy = 1 };
    EXPECT_INT(memscope_configure_tasks(&cfg), 0);
    memscope_task_t id[5];
    for (int i = 0; i < 5; i++)
        id[i] = memscope_task_begin("many");
    for (int i = 0; i < 3; i++)
        REQUIRE(id[i] != 0, "task %d of 3 allowed got id 0", i + 1);
    EXPECT_INT(id[3], 0);
    EXPECT_INT(id[4], 0);
    /* an excess task is not current: the last registered one still is */
    EXPECT_INT(memscope_task_current(), id[2]);
    EXPECT_INT(memscope_task_end(id[3]), -EINVAL);
    EXPECT_INT(memscope_task_memory(id[3]), -1);
    memscope_snapshot_t s;
    EXPECT_INT(memscope_get_snapshot(&s), 0);
    EXPECT_INT(s.tasks, 3);
    jval_t *r = report_now();
    EXPECT_INT(jint(r, "summary.tasks"), 3);
    EXPECT_INT(jint(r, "summary.dropped_tasks"), 2);
    EXPECT_INT(jarr(r, "tasks")->n, 3);
}
END_TEST

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

START_TEST(test_stop_tracing)
{
    void *before = malloc(80);
    EXPECT_INT(memscope_is_tracing(), 1);
    EXPECT_INT(memscope_stop_tracing(), 0);
    EXPECT_INT(memscope_is_tracing(), 0);
    memscope_snapshot_t s1, s2;
    memscope_get_snapshot(&s1);
    void *after = malloc(90);
    memscope_get_snapshot(&s2);
    EXPECT_INT(s2.tracing, 0);
    EXPECT_INT(s2.allocs, s1.allocs);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(after), -ENOTSUP);
    EXPECT_INT(MEMSCOPE_TRACK_VAR(before), -ENOTSUP);
    free(after);
    free(before);
}
END_TEST

/* --- running ------------------------------------------------------------------ */

static Suite *
api_suite(void)
{
    Suite *s = suite_create(sampled_pass ? "api (sampled mode)" : "api");
    TCase *tc;
    if (sampled_pass) {
        /* the rest assumes exact counts; snapshots must agree in both modes */
        tc = tcase_create("snapshots");
        tcase_add_test(tc, test_snapshot_matches_export);
        suite_add_tcase(s, tc);
        return s;
    }
    tc = tcase_create("variables");
    tcase_add_test(tc, test_track_var_types);
    tcase_add_test(tc, test_track_var_owned);
    tcase_add_test(tc, test_track_var_smart);
    tcase_add_test(tc, test_track_var_renamed);
    tcase_add_test(tc, test_track_var_realloc_keeps_name);
    tcase_add_test(tc, test_track_var_realloc_other_thread);
    suite_add_tcase(s, tc);
    tc = tcase_create("tasks");
    tcase_add_test(tc, test_task_hierarchy);
    tcase_add_test(tc, test_task_moves_between_threads);
    tcase_add_test(tc, test_task_scope_macro);
    tcase_add_test(tc, test_task_hierarchy_off);
    suite_add_tcase(s, tc);
    tc = tcase_create("snapshots");
    tcase_add_test(tc, test_snapshot_matches_export);
    suite_add_tcase(s, tc);
    tc = tcase_create("misuse");
    tcase_add_test(tc, test_misuse_variables);
    tcase_add_test(tc, test_misuse_tasks);
    tcase_add_test(tc, test_misuse_too_many_tasks);
    tcase_add_test(tc, test_misuse_calls);
    tcase_add_test(tc, test_stop_tracing);
    suite_add_tcase(s, tc);
    return s;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

/* Runs the suite in a child with known options (exec runs no exit
 * handler: this process writes no report); returns its exit status. */
static int
run_pass(const char *dir, const char *sample)
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
        unsetenv("MEMSCOPE_VERBOSE");
        execl("/proc/self/exe", "test_api", (char *)NULL);
        perror("exec /proc/self/exe");
        _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return EXIT_FAILURE;
    if (WIFSIGNALED(st))
        printf("api: MEMSCOPE_SAMPLE=%s pass killed by signal %d\n", sample,
            WTERMSIG(st));
    return WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_FAILURE;
}

int
main(void)
{
    const char *dir = getenv("MS_API_TEST_DIR");
    if (dir != NULL) {
        /* a pass, started by run_pass() */
        snprintf(report_dir, sizeof(report_dir), "%s", dir);
        sampled_pass = strcmp(getenv("MEMSCOPE_SAMPLE"), "0") != 0;
        if (!memscope_is_tracing()) {
            printf("api: the tracer is not running\n");
            return EXIT_FAILURE;
        }
        SRunner *sr = srunner_create(api_suite());
        srunner_set_fork_status(sr, CK_FORK);    /* each test: fresh registries */
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    char tmpl[] = "/tmp/memscope-test_api.XXXXXX";
    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    int exact = run_pass(tmpl, "0");
    int sampled = run_pass(tmpl, "64k");
    nftw(tmpl, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return exact == 0 && sampled == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
