/*
 * test_writer.c - the exporters' number writers (exporters/writer.c):
 * what they write must read back as the value, whatever the value and
 * wherever the writer's buffer stands.
 *
 * The writer is compiled into this test, onto memory (libc's malloc):
 *
 * test_u64: every number of 0..10^6, the powers of ten and of two and
 *   their neighbours, and UINT64_MAX read back as snprintf writes them.
 * test_lists: [a,b,...] lists with nulls (values at or past the limit;
 *   none without one: UINT64_MAX is then a number),
 *   empty and one-item lists, read back as a loop over snprintf writes
 *   them; the same list started at every offset that puts its end across
 *   the buffer's 64 KiB (the path that takes a number at a time), so a
 *   list that spills writes the same bytes as one that does not.
 * test_key_lit: literal keys with and without the first-key comma.
 */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../exporters/writer.c"
#include "no_exit_report.h"
#include "run_one.h"

static void *x_alloc(size_t n) { return malloc(n); }
static void *x_zalloc(size_t n) { return calloc(1, n); }
static void *x_resize(void *p, size_t n) { return realloc(p, n); }
static void x_release(void *p) { free(p); }
const ms_xalloc_t ms_xalloc = { x_alloc, x_zalloc, x_resize, x_release };

static ms_writer_t w;       /* 64 KiB of buffer: not on the stack */

/* What the writer holds, as a string (to free); NULL when it lost it.
 * The loops below count what differs and assert once: Check notes every
 * assertion it passes, which would cost more than what it checks. */
static char *
take(size_t *len)
{
    char *s = ms_writer_take(&w, len);
    return s != NULL && *len == strlen(s) ? s : NULL;
}

/* 1 when v reads back as snprintf writes it. */
static int
u64_ok(uint64_t v)
{
    char want[32];
    snprintf(want, sizeof(want), "%" PRIu64, v);
    ms_writer_open_mem(&w);
    ms_w_u64(&w, v);
    size_t n;
    char *got = take(&n);
    int ok = got != NULL && strcmp(got, want) == 0 &&
        ms_u64_digits(v) == strlen(want);
    if (!ok)
        fprintf(stderr, "%" PRIu64 ": wrote %s\n", v, got ? got : "(lost)");
    free(got);
    return ok;
}

START_TEST(test_u64)
{
    unsigned bad = 0, n = 0;
    for (uint64_t v = 0; v <= 1000000; v++, n++)
        bad += !u64_ok(v);
    uint64_t p = 1;
    for (int i = 0; i < 20; i++, p *= 10, n += 3)
        bad += !u64_ok(p - 1) + !u64_ok(p) + !u64_ok(p + 1);
    for (int s = 0; s < 64; s++, n += 3)
        bad += !u64_ok((1ull << s) - 1) + !u64_ok(1ull << s) +
            !u64_ok((1ull << s) + 1);
    bad += !u64_ok(UINT64_MAX) + !u64_ok(UINT64_MAX - 1);
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_gt(n, 1000000);
}
END_TEST

/* The list as a simple loop writes it. */
static void
want_list(char *out, size_t cap, const uint64_t *v, uint64_t n, uint64_t limit)
{
    size_t o = (size_t)snprintf(out, cap, "[");
    for (uint64_t k = 0; k < n; k++) {
        if (limit == UINT64_MAX || v[k] < limit)
            o += (size_t)snprintf(out + o, cap - o, "%s%" PRIu64, k ? "," : "", v[k]);
        else
            o += (size_t)snprintf(out + o, cap - o, "%snull", k ? "," : "");
    }
    snprintf(out + o, cap - o, "]");
}

/* 1 when the list written after pad bytes reads as want_list's. */
static int
list_ok(size_t pad, const uint64_t *v, uint64_t n, uint64_t limit)
{
    static char want[4096];
    static char xs[sizeof(w.buf) + 64];
    want_list(want, sizeof(want), v, n, limit);
    ms_writer_open_mem(&w);
    memset(xs, 'x', pad);
    ms_w_bytes(&w, xs, pad);
    ms_w_u64_list(&w, v, n, limit);
    size_t len;
    char *got = take(&len);
    int ok = got != NULL && len == pad + strlen(want) &&
        memcmp(got, xs, pad) == 0 && strcmp(got + pad, want) == 0;
    if (!ok)
        fprintf(stderr, "list after %zu bytes: wrote %s, not %s\n", pad,
            got ? got + pad : "(lost)", want);
    free(got);
    return ok;
}

START_TEST(test_lists)
{
    uint64_t v[64];
    for (int i = 0; i < 64; i++)
        v[i] = i % 7 == 3 ? 5000 : i % 5 == 1 ? UINT64_MAX - (uint64_t)i :
            (uint64_t)i * (uint64_t)i * 977u;
    unsigned bad = 0, n = 0;
    bad += !list_ok(0, v, 0, UINT64_MAX);
    bad += !list_ok(0, v, 1, UINT64_MAX);
    bad += !list_ok(0, v, 64, UINT64_MAX);
    bad += !list_ok(0, v, 64, 4999);        /* the 5000s are null */
    bad += !list_ok(0, v, 64, 0);           /* all null */
    uint64_t most[3] = { 1, UINT64_MAX, 2 };    /* no limit: a number */
    bad += !list_ok(0, most, 3, UINT64_MAX);
    bad += !list_ok(0, most, 3, UINT64_MAX - 1);    /* null */
    /* ends across the 64 KiB buffer: written a number at a time there */
    size_t buf = sizeof(w.buf);
    for (size_t pad = buf - 1400; pad < buf + 40; pad++, n++)
        bad += !list_ok(pad, v, 64, 4999);
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_eq(n, 1440);
}
END_TEST

START_TEST(test_key_lit)
{
    ms_writer_open_mem(&w);
    int first = 1;
    ms_w_str(&w, "{");
    ms_w_jkey_lit(&w, ",\"a\":", 5, &first);
    ms_w_u64(&w, 1);
    ms_w_jkey_lit(&w, ",\"bc\":", 6, &first);
    ms_w_u64(&w, 23);
    ms_w_jkey_lit(&w, ",\"d\":", 5, NULL);
    ms_w_u64(&w, 0);
    ms_w_str(&w, "}");
    size_t n;
    char *got = take(&n);
    ck_assert_str_eq(got, "{\"a\":1,\"bc\":23,\"d\":0}");
    free(got);
}
END_TEST

int
main(int argc, char **argv)
{
    (void)argc;
    no_exit_report(argv);
    Suite *s = suite_create("writer");
    TCase *tc = tcase_create("numbers");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_u64);
    tcase_add_test(tc, test_lists);
    tcase_add_test(tc, test_key_lit);
    suite_add_tcase(s, tc);
    return ms_run_one(s);
}
