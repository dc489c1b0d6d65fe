/*
 * test_api_vars.c - named variables (MEMSCOPE_TRACK_VAR and friends,
 * memscope_transfer) in-process: each name, type, size, status, owner and
 * place checked in the JSON report the library writes of itself, and the
 * calls it must refuse. The reader and main() are api_report.h's.
 */
#include <pthread.h>

#include "api_report.h"

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

/* --- naming blocks and values ---------------------------------------------- */

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

/* --- misuse ----------------------------------------------------------------- */

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

/* --- running ------------------------------------------------------------------ */

static Suite *
vars_suite(void)
{
    Suite *s = suite_create("api: variables");
    TCase *tc = tcase_create("variables");
    tcase_add_test(tc, test_track_var_types);
    tcase_add_test(tc, test_track_var_owned);
    tcase_add_test(tc, test_track_var_smart);
    tcase_add_test(tc, test_track_var_renamed);
    tcase_add_test(tc, test_track_var_realloc_keeps_name);
    tcase_add_test(tc, test_track_var_realloc_other_thread);
    suite_add_tcase(s, tc);
    tc = tcase_create("misuse");
    tcase_add_test(tc, test_misuse_variables);
    suite_add_tcase(s, tc);
    return s;
}

MS_API_MAIN("test_api_vars", vars_suite, 0)
