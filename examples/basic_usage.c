/*
 * basic_usage - the precise single-thread mode: named variables of several
 * types, ownership tracking, smart tracking of scalars, and a deliberate
 * leak. Writes MemoryAnalysis/basic_usage.{bin,json,html,md}.
 *
 *   make examples && build/examples/basic_usage
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memscope.h>

struct user {
    int id;
    char name[32];
    double balance;
};

/* Builds a word list the way a small parser would: grows as it goes. */
static char **
split_words(const char *text, size_t *count)
{
    size_t cap = 4, n = 0;
    char **words = malloc(cap * sizeof(*words));
    MEMSCOPE_TRACK_VAR_OWNED(words);
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (len > 0) {
            if (n == cap) {
                cap *= 2;
                words = realloc(words, cap * sizeof(*words)); /* keeps its name */
            }
            words[n] = strndup(p, len);
            n++;
        }
        p += len + (p[len] == ' ');
    }
    *count = n;
    return words;
}

static struct user *
load_users(int n)
{
    struct user *users = calloc((size_t)n, sizeof(*users));
    MEMSCOPE_TRACK_VAR_AS(users, struct user);
    for (int i = 0; i < n; i++) {
        users[i].id = i + 1;
        snprintf(users[i].name, sizeof(users[i].name), "user-%d", i + 1);
        users[i].balance = 100.0 * (i + 1);
    }
    return users;
}

/* Forgets its buffer on purpose: the report names it as a leak. */
static void
leak_a_cache(void)
{
    int *cache = malloc(256 * sizeof(int));
    MEMSCOPE_TRACK_VAR(cache);
    for (int i = 0; i < 256; i++)
        cache[i] = i * i;
}

int
main(void)
{
    memscope_init();
    memscope_enable_auto_export("basic_usage");

    int *numbers = malloc(1000 * sizeof(int));
    MEMSCOPE_TRACK_VAR(numbers);
    long sum = 0;
    for (int i = 0; i < 1000; i++) {
        numbers[i] = i;
        sum += numbers[i];
    }

    double *samples = malloc(64 * sizeof(double));
    MEMSCOPE_TRACK_VAR(samples);
    for (int i = 0; i < 64; i++)
        samples[i] = i / 8.0;

    char *greeting = strdup("hello from memscope");
    MEMSCOPE_TRACK_VAR(greeting);

    struct user *users = load_users(50);

    size_t nwords;
    char **words = split_words("the quick brown fox jumps over the lazy dog "
        "and keeps running", &nwords);
    memscope_transfer(words, "main");

    int answer = 42;
    double ratio = (double)sum / 1000.0;
    MEMSCOPE_TRACK_VAR_SMART(answer);       /* a value: no heap memory */
    MEMSCOPE_TRACK_VAR_SMART(ratio);
    MEMSCOPE_TRACK_VAR_SMART(greeting);     /* a pointer: a heap block */

    leak_a_cache();

    printf("sum=%ld words=%zu first user=%s ratio=%.1f\n", sum, nwords,
        users[0].name, ratio);

    memscope_snapshot_t snap;
    if (memscope_get_snapshot(&snap) == 0)
        printf("live now: %lld bytes in %lld blocks, %llu variables\n",
            (long long)snap.live_bytes, (long long)snap.live_blocks,
            (unsigned long long)snap.variables);

    for (size_t i = 0; i < nwords; i++)
        free(words[i]);
    free(words);
    free(users);
    free(samples);
    free(numbers);
    free(greeting);
    return 0;   /* reports are written at exit */
}
