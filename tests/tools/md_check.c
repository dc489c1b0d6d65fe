/*
 * md_check.c - reads a markdown report with libcmark and prints its
 * structure for tests/integration/report_md.sh to compare with the JSON
 * report. Built by that script (cc md_check.c -lcmark): the helper
 * programs of tests/programs are built without libcmark.
 *
 *   md_check FILE.md
 *
 * Prints one line per leaf block, tab-separated:
 *   H  LEVEL  TEXT          a heading
 *   P  DEPTH  TEXT          a paragraph; DEPTH = how many lists hold it
 *   C  0      LINE          each line of a code block
 * where TEXT is the paragraph's text as a reader sees it (code spans
 * included; line breaks as spaces). Exits 1 when the file is not valid
 * UTF-8, holds raw HTML, a link or an image (what escaping must prevent),
 * or renders to HTML holding a tag the markdown did not ask for.
 */
#include <cmark.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 :
            (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || (k == 2 && c < 0xC2) || i + k > n)
            return 0;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        i += k;
    }
    return 1;
}

static char *
read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    *len = n;
    return buf;
}

/* The text of a leaf block, as a reader sees it. */
static void
print_text(cmark_node *block)
{
    cmark_iter *it = cmark_iter_new(block);
    cmark_event_type ev;
    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        if (ev != CMARK_EVENT_ENTER)
            continue;
        switch (cmark_node_get_type(n)) {
        case CMARK_NODE_TEXT:
        case CMARK_NODE_CODE:
            fputs(cmark_node_get_literal(n), stdout);
            break;
        case CMARK_NODE_SOFTBREAK:
        case CMARK_NODE_LINEBREAK:
            putchar(' ');
            break;
        default:
            break;
        }
    }
    cmark_iter_free(it);
    putchar('\n');
}

static int
list_depth(cmark_node *n)
{
    int d = 0;
    for (cmark_node *p = cmark_node_parent(n); p; p = cmark_node_parent(p))
        d += cmark_node_get_type(p) == CMARK_NODE_LIST;
    return d;
}

/* Prints the blocks; returns the number of forbidden nodes met. */
static int
walk(cmark_node *doc)
{
    int bad = 0;
    cmark_iter *it = cmark_iter_new(doc);
    cmark_event_type ev;
    while ((ev = cmark_iter_next(it)) != CMARK_EVENT_DONE) {
        cmark_node *n = cmark_iter_get_node(it);
        if (ev != CMARK_EVENT_ENTER)
            continue;
        switch (cmark_node_get_type(n)) {
        case CMARK_NODE_HEADING:
            printf("H\t%d\t", cmark_node_get_heading_level(n));
            print_text(n);
            break;
        case CMARK_NODE_PARAGRAPH:
            printf("P\t%d\t", list_depth(n));
            print_text(n);
            break;
        case CMARK_NODE_CODE_BLOCK: {
            const char *s = cmark_node_get_literal(n);
            while (*s) {
                size_t k = strcspn(s, "\n");
                printf("C\t0\t%.*s\n", (int)k, s);
                s += k + (s[k] == '\n');
            }
            break;
        }
        case CMARK_NODE_HTML_BLOCK:
        case CMARK_NODE_HTML_INLINE:
        case CMARK_NODE_LINK:
        case CMARK_NODE_IMAGE:
            fprintf(stderr, "md_check: forbidden %s node\n",
                cmark_node_get_type_string(n));
            bad++;
            break;
        default:
            break;
        }
    }
    cmark_iter_free(it);
    return bad;
}

/* Tags the renderer may write for what our markdown uses. */
static int
html_clean(const char *html)
{
    static const char *ok[] = { "h1>", "h2>", "h3>", "p>", "ul>", "ol>",
        "ol start=", "li>", "code>", "pre>", "pre><code", "code class=",
        "strong>", "em>", "br />", "hr />" };
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        const char *t = p[1] == '/' ? p + 2 : p + 1;
        size_t i;
        for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
            if (strncmp(t, ok[i], strlen(ok[i])) == 0)
                break;
        if (i == sizeof(ok) / sizeof(ok[0])) {
            fprintf(stderr, "md_check: unexpected tag in rendered HTML: %.40s\n", p);
            return 0;
        }
    }
    return 1;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: md_check FILE.md\n");
        return 2;
    }
    size_t len;
    char *md = read_all(argv[1], &len);
    if (md == NULL) {
        perror(argv[1]);
        return 2;
    }
    if (len == 0 || !valid_utf8((const unsigned char *)md, len)) {
        fprintf(stderr, "md_check: %s is empty or not valid UTF-8\n", argv[1]);
        return 1;
    }
    cmark_node *doc = cmark_parse_document(md, len, CMARK_OPT_DEFAULT);
    if (doc == NULL) {
        fprintf(stderr, "md_check: cmark could not parse %s\n", argv[1]);
        return 1;
    }
    int bad = walk(doc);
    char *html = cmark_render_html(doc, CMARK_OPT_DEFAULT);
    if (!html_clean(html))
        bad++;
    free(html);
    cmark_node_free(doc);
    free(md);
    return bad ? 1 : 0;
}
