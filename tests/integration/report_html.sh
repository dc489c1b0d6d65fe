#!/usr/bin/env bash
# report_html.sh - the HTML report in headless Chromium.
#
# tests/programs/report_prog.c runs with the library preloaded (known
# allocations from named functions, two named threads, a task named
# "<script>alert(1)</script>", a variable with a hostile name). Its x.html
# must be one self-contained file: no URL, no external resource, a
# Content-Security-Policy that forbids every fetch and allows only the
# page's own script (whose SHA-256 it names), one data block whose figures
# are those of x.json. Loaded in Chromium it must log nothing to the
# console (no error, no CSP violation), finish drawing (data-rendered="ok"),
# show x.json's figures and function names in its panels, and show the
# hostile names as text: no script element but its own two.
# A scale run (10^4 sites, 10^5 live blocks, no timeline) must stay under
# 5 MB, load without error, page its tables and say "not measured" for the
# timeline. Where the tool has `memscope report`, it writes the same x.html
# again from x.bin (libcmark linked there, opened with dlopen in the
# library). A screenshot of the first run is left in the test logs.
set -euo pipefail
. "$(dirname "$0")/common.bash"

PY=/usr/bin/python3
CHROMIUM=/usr/bin/chromium
ms_need "$PY"
if [ ! -x "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing chromium (Debian package)"
    { DEBIAN_FRONTEND=noninteractive timeout 100 apt-get install -y -qq --no-install-recommends chromium ||
      { timeout 40 apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 100 \
        apt-get install -y -qq --no-install-recommends chromium; }; } >/dev/null 2>&1 || true
fi
[ -x "$CHROMIUM" ] || ms_skip "$CHROMIUM is not installed and could not be installed (Debian package chromium)"
ms_setup report_html
# the options these checks assume, whatever the caller set
export MEMSCOPE_ENABLE=1 MEMSCOPE_SAMPLE=0 MEMSCOPE_AUTO_EXPORT=1 MEMSCOPE_TEST_MODE=0 MEMSCOPE_STACK_DEPTH=8
PROG=$(ms_prog report_prog)

# chrome TAG FILE ARGS...: headless Chromium on FILE, network and extras
# off; stdout to $TMP/TAG.out, its log (console messages included) to
# $TMP/TAG.log.
chrome() {
    local tag=$1 file=$2 rc=0
    shift 2
    local profile
    profile=$(mktemp -d "$TMP/profile.XXXXXX")
    timeout 90 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$profile" --enable-logging=stderr --v=0 \
        --virtual-time-budget=5000 "$@" "file://$file" >"$TMP/$tag.out" 2>"$TMP/$tag.log" || rc=$?
    [ $rc = 0 ] || ms_fail "$tag: chromium exited with status $rc: $(grep -v dbus "$TMP/$tag.log" | tail -5)"
    # a console message of any level, a CSP violation, a failed load
    if grep -E ':CONSOLE|Uncaught|Refused to|Content.Security.Policy|net::ERR_|Failed to load' \
        "$TMP/$tag.log" >"$TMP/$tag.bad"; then
        ms_fail "$tag: the page logged: $(head -5 "$TMP/$tag.bad")"
    fi
}

start=$SECONDS
MEMSCOPE_OUT=$TMP/small MEMSCOPE_NAME=x MEMSCOPE_FORMATS=bin,json,md,html MEMSCOPE_INTERVAL_MS=5 \
    LD_PRELOAD=$MEMSCOPE_LIB "$PROG" >"$TMP/small.out" 2>"$TMP/small.err" ||
    ms_fail "report_prog failed: $(head -5 "$TMP/small.err")"
HTML=$TMP/small/x.html
[ -s "$HTML" ] || ms_fail "no x.html written"

if [ -x "$MEMSCOPE_TOOL" ] && "$MEMSCOPE_TOOL" report --help >/dev/null 2>&1; then
    "$MEMSCOPE_TOOL" report "$TMP/small/x.bin" --format html -o "$TMP/tool.html" ||
        ms_fail "memscope report --format html failed"
    cmp -s "$HTML" "$TMP/tool.html" || ms_fail "memscope report x.bin --format html differs from the library's x.html"
    echo "ok: memscope report writes the same x.html from x.bin"
fi

chrome dom "$HTML" --dump-dom
chrome shot "$HTML" --hide-scrollbars --window-size=1400,2400 --screenshot="$TMP/x.png"
[ -s "$TMP/x.png" ] || ms_fail "no screenshot"
[ -d "$BUILD/test-logs" ] && cp "$TMP/x.png" "$BUILD/test-logs/report_html.png"
echo "ok: loaded in chromium with no console message ($((SECONDS - start)) s; screenshot: test-logs/report_html.png)"

MEMSCOPE_OUT=$TMP/scale MEMSCOPE_NAME=s MEMSCOPE_FORMATS=html MEMSCOPE_INTERVAL_MS=0 \
    LD_PRELOAD=$MEMSCOPE_LIB "$PROG" scale >"$TMP/scale.out" 2>"$TMP/scale.err" ||
    ms_fail "report_prog scale failed: $(head -5 "$TMP/scale.err")"
chrome scale "$TMP/scale/s.html" --dump-dom
echo "ok: scale report loaded ($((SECONDS - start)) s so far)"

"$PY" - "$TMP" "$REPO" <<'EOF'
import base64, hashlib, html, json, re, sys
from html.parser import HTMLParser

tmp, repo = sys.argv[1], sys.argv[2]
fails = []

def check(ok, what):
    if not ok:
        fails.append(what)

class Sections(HTMLParser):
    """Text of each element with an id, and the page's script elements."""
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.text, self.scripts, self.root = [], {}, [], {}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if tag == "script":
            self.scripts.append(a)
        if tag in ("br", "input", "meta", "img", "hr", "link"):
            return
        self.stack.append((tag, a.get("id")))
        if a.get("id"):
            self.text.setdefault(a["id"], "")
    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break
    def handle_data(self, data):
        for _, i in self.stack:
            if i:
                self.text[i] += data

def static_checks(path, limit):
    raw = open(path, "rb").read()
    check(len(raw) < limit, f"{path}: {len(raw)} bytes, over {limit}")
    s = raw.decode("utf-8")
    low = s.lower()
    for bad in ("http:", "https:", "//cdn", "<link", "<img", "<iframe", "@import", "url(", " src="):
        check(bad not in low, f"{path}: holds {bad!r}")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', s)
    check(csp is not None, "no CSP meta tag")
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", s, re.S)
    check(len(scripts) == 2, f"{len(scripts)} script elements, want the data block and the code")
    if csp and len(scripts) == 2:
        pol = dict((d.split() + [""])[0:2] for d in csp.group(1).split(";") if d.strip())
        digest = base64.b64encode(hashlib.sha256(scripts[1][1].encode()).digest()).decode()
        check(pol.get("default-src") == "'none'", f"default-src: {pol}")
        check(pol.get("script-src") == f"'sha256-{digest}'", "script-src is not the script's hash alone")
        check(pol.get("img-src") == "data:", f"img-src: {pol}")
    # the page's style sheet and script are the sources in exporters/html/
    # (GNUmakefile's HTML_CSS and HTML_JS, in that order), byte for byte
    mk = open(f"{repo}/GNUmakefile", encoding="utf-8").read()
    srcs = lambda var: re.search(rf"^{var}\s*:=\s*(.*)$", mk, re.M).group(1).split()
    css = "".join(open(f"{repo}/{f}", encoding="utf-8").read() for f in srcs("HTML_CSS"))
    code = "".join(open(f"{repo}/{f}", encoding="utf-8").read() for f in srcs("HTML_JS"))
    check(f"<style>\n{css}</style>" in s, f"{path}: <style> is not {srcs('HTML_CSS')}")
    check(len(scripts) == 2 and scripts[1][1] == code, f"{path}: the script is not {srcs('HTML_JS')}")
    data = json.loads(scripts[0][1]) if scripts else {}
    check(scripts and 'type="application/json"' in scripts[0][0], "first script is not the JSON data block")
    return s, data

def render(tag):
    p = Sections()
    p.feed(open(f"{tmp}/{tag}.out", encoding="utf-8").read())
    check(p.root.get("data-rendered") == "ok", f"{tag}: data-rendered={p.root.get('data-rendered')!r}")
    check(len(p.scripts) == 2, f"{tag}: {len(p.scripts)} script elements in the DOM, want 2")
    return p.text

# ---- the small run ------------------------------------------------------------
src, data = static_checks(f"{tmp}/small/x.html", 5 << 20)
js = json.load(open(f"{tmp}/small/x.json"))
s = js["summary"]
for k in ("allocs", "frees", "live_bytes", "live_blocks", "bytes_allocated", "peak_live_bytes"):
    check(data["summary"][k] == s[k], f"data block {k}: {data['summary'][k]} != JSON {s[k]}")
check(len(data["sites"]) == len(js["sites"]) and len(data["threads"]) == len(js["threads"]) and
      len(data["tasks"]) == len(js["tasks"]) and len(data["vars"]) == len(js["variables"]),
      "data block row counts")
check(len(data["timeline"]["points"]) == len(js["timeline"]["points"]) > 1, "timeline points")
check("<script>alert(1)" not in src, "the hostile task name appears unescaped in the file")
check("<h2>Totals</h2>" in src, "markdown summary not rendered by libcmark")

t = render("dom")
n = lambda v: f"{v:,}"
check(f"{n(s['live_bytes'])} bytes in {n(s['live_blocks'])} blocks" in t.get("cards", ""), "live card")
check("Allocations" + n(s["allocs"]) in t.get("cards", ""), "allocations card")
check(f"{n(s['live_blocks'])} blocks" in t.get("leaks", ""), "leaks summary")
sites_txt = t.get("sites", "")
for fn in ("alpha_alloc", "beta_alloc", "gamma_temp", "named_buffer"):
    check(fn in sites_txt, f"sites table lacks {fn}")
for st in js["sites"]:
    check(n(st["live_bytes"]) in sites_txt and n(st["allocs"]) in sites_txt, f"site {st['id']} figures")
for th in js["threads"]:
    check(th["name"] in t.get("threads", "") and n(th["bytes_allocated"]) in t.get("threads", ""),
          f"thread {th['name']}")
for tk in js["tasks"]:
    check(tk["name"] in t.get("tasks", ""), f"task {tk['name']!r} not shown as text")
check("<script>alert(1)</script>" in t.get("tasks", ""), "hostile task name not shown literally")
var = js["variables"][0]
check(var["name"] in t.get("variables", "") and "owner_two" in t.get("variables", ""), "variable and owners")
check("leaked" in t.get("variables", ""), "variable status")
check("alpha_alloc" in t.get("flame", "") and "main" in t.get("flame", ""), "flame graph frames")
check("Heap live" in t.get("memory", "") and "not measured" not in t.get("memory", ""), "memory chart")
dom = open(f"{tmp}/dom.out", encoding="utf-8").read()
check(dom.count("<polyline") >= 3, "memory chart lines")
check("&lt;script&gt;alert(1)&lt;/script&gt;" in dom, "hostile name escaped in the DOM")
al = js["allocator"]
for k in ("allocated", "active", "resident"):
    v = al[k]
    check((n(v) if v is not None else "not measured") in t.get("allocator", ""), f"allocator {k}")
check("Totals" in t.get("summary", ""), "summary panel")

# ---- the scale run -----------------------------------------------------------------
src, data = static_checks(f"{tmp}/scale/s.html", 5 << 20)
check(len(data["sites"]) >= 10000, f"scale: {len(data['sites'])} sites, want 10^4")
check(data["summary"]["live_blocks"] >= 100000, "scale: live blocks")
t = render("scale")
check(f"of {n(len(data['sites']))}" in t.get("sites", ""), "scale: sites pager")
dom = open(f"{tmp}/scale.out", encoding="utf-8").read()
sec = dom[dom.find('id="sites"'):dom.find('id="flame"')]
rows = sec.count('<tr class="click"')
check(0 < rows <= 100, f"scale: {rows} site rows drawn")
fl = dom[dom.find('id="flame"'):dom.find('id="threads"')]
check(0 < fl.count("<rect") <= 3001, f"scale: {fl.count('<rect')} flame rects")
check("not measured" in t.get("memory", ""), "scale: timeline off shows not measured")
print(f"ok: scale report {len(src.encode()) // 1024} KiB for {len(data['sites'])} sites")

if fails:
    print("FAIL:", *fails, sep="\n  ", file=sys.stderr)
    sys.exit(1)
print("ok: self-contained, CSP hash matches, figures and names as in x.json, hostile names shown as text")
EOF
echo "ok: all checks in $((SECONDS - start)) s"
