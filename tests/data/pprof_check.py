#!/usr/bin/env python3
"""pprof_check.py - reads memscope's pprof profiles with `go tool pprof`
and compares what it prints with the JSON report of the same moment and
with what tests/programs/pprof_prog.c is known to allocate. For
tests/integration/pprof.sh, which sets up Go's environment.

  pprof_check.py exact REPORT.json PROFILE.pb.gz
  pprof_check.py traces PROFILE.pb.gz
  pprof_check.py tagfocus REPORT.json PROFILE.pb.gz
  pprof_check.py diff A.json B.json A.pb.gz B.pb.gz
  pprof_check.py sampled REPORT.json PROFILE.pb.gz
  pprof_check.py tasks REPORT.json PROFILE.pb.gz K

Exit status 0 when every check holds; else the first failure on stderr.
"""
import msjson
import re
import subprocess
import sys

INDEXES = ["alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
FIELDS = ["allocs", "bytes", "live_blocks", "live_bytes"]

# pprof_prog exact, at exit: site -> (allocs, bytes, live blocks, live bytes)
EXACT_EXIT = {
    "site_small": (1000, 64000, 0, 0),
    "site_big": (10, 1000000, 10, 1000000),
    "site_token": (20, 10240, 20, 10240),
    "site_entry": (30, 7680, 30, 7680),
    "site_grow": (50, 100000, 50, 100000),
}
# pprof_prog sampled
SAMPLED = {
    "site_many": (200000, 200000 * 256, 100000, 100000 * 256),
    "site_few": (100, 100 * 65536, 100, 100 * 65536),
}


def fail(msg):
    sys.exit("FAIL: " + msg)


def pprof(*args):
    cmd = ["go", "tool", "pprof"] + list(args)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        fail("%s: exit %d: %s" % (" ".join(cmd), p.returncode,
                                  p.stderr.strip()[-500:]))
    return p.stdout


NUM = re.compile(r"^(-?\d+)(B|byte)?$")


def number(text, what):
    m = NUM.match(text)
    if m is None:
        fail("%s: %r is not a whole number (pprof scaled it?)" % (what, text))
    return int(m.group(1))


def top(profile, index, *extra):
    """{function: flat} and the total of the nodes shown (all of them:
    -nodefraction=0), as `-top` prints them."""
    out = pprof("-top", "-sample_index=" + index, "-unit=B",
                "-nodefraction=0", "-nodecount=100000", *extra, profile)
    flat, total = {}, None
    for line in out.splitlines():
        m = re.match(r"Showing nodes accounting for (\S+), \S+ of \S+ total",
                     line)
        if m:
            total = number(m.group(1), "total")
            continue
        f = line.split()
        if len(f) >= 6 and f[1].endswith("%") and f[4].endswith("%"):
            name = " ".join(f[5:])
            flat[name] = flat.get(name, 0) + number(f[0], name)
    if total is None:
        # an empty profile prints no "Showing" line
        if re.search(r"Total samples = 0", out) or not flat:
            total = 0
        else:
            fail("no total in:\n" + out)
    return flat, total


def json_sites(report, estimated):
    """{leaf function: [allocs, bytes, live blocks, live bytes]}, each site
    rounded as the profile rounds it."""
    by = {}
    for s in report["sites"]:
        fn = s["frames"][0]["function"] if s["frames"] else None
        if fn is None:
            continue
        v = by.setdefault(fn, [0, 0, 0, 0])
        for i, k in enumerate(FIELDS):
            x = s[k]
            v[i] += int(x + 0.5) if estimated and x > 0 else (
                0 if estimated else x)
    return by


def check_exact(report_path, profile):
    report = msjson.load(report_path)
    want = json_sites(report, False)
    for i, index in enumerate(INDEXES):
        flat, total = top(profile, index)
        for fn, truth in EXACT_EXIT.items():
            got = flat.get(fn, 0)
            if got != want.get(fn, [0] * 4)[i]:
                fail("%s: %s %d in pprof -top, %d in the JSON report" %
                     (fn, index, got, want.get(fn, [0] * 4)[i]))
            if got != truth[i]:
                fail("%s: %s %d in pprof -top, the program made %d" %
                     (fn, index, got, truth[i]))
        all_sites = sum(s[FIELDS[i]] for s in report["sites"])
        if total != all_sites:
            fail("%s: pprof's total %d, the JSON sites' %d" %
                 (index, total, all_sites))
        print("ok: -top %s: %s; total %d as the JSON report" % (index, ", ".join(
            "%s %d" % (fn, flat.get(fn, 0)) for fn in EXACT_EXIT), total))


def parse_traces(profile):
    """{leaf function: [(labels, inuse bytes)]} from `-traces`."""
    out = pprof("-traces", "-sample_index=inuse_space", "-unit=B", profile)
    blocks = out.split("-----------+-------------------------------------------------------")
    found = {}
    for b in blocks:
        labels, value, frames = {}, None, []
        for line in b.splitlines():
            m = re.match(r"^\s+(\w+):\s+(.*)$", line)
            if m and value is None:
                labels[m.group(1)] = m.group(2).strip()
                continue
            f = line.split()
            if not f:
                continue
            if value is None and NUM.match(f[0]):
                value = number(f[0], "trace value")
                frames.append(" ".join(f[1:]))
            elif value is not None:
                frames.append(line.strip())
        if frames:
            found.setdefault(frames[0], []).append((labels, value))
    return found


def traces(profile):
    found = parse_traces(profile)
    want = {
        "site_token": ({"task": "load/parse", "thread": "loader",
                        "variable": "tok", "bytes": "512B"}, 10240),
        "site_entry": ({"task": "index", "variable": "entry",
                        "bytes": "256B"}, 7680),
    }
    for fn, (labels, value) in want.items():
        ok = [v for (lab, v) in found.get(fn, [])
              if all(lab.get(k) == x for k, x in labels.items())]
        if sum(ok) != value:
            fail("-traces: %s with labels %s: %d bytes, want %d (traces: %s)" %
                 (fn, labels, sum(ok), value, found.get(fn)))
        print("ok: -traces: %s, %s: %d bytes" % (fn, labels, value))
    for fn in ("site_big", "site_grow"):
        vals = [v for (lab, v) in found.get(fn, [])]
        if sum(vals) != EXACT_EXIT[fn][3]:
            fail("-traces: %s: %s, want %d live bytes" %
                 (fn, vals, EXACT_EXIT[fn][3]))
        print("ok: -traces: %s: %d live bytes" % (fn, sum(vals)))


def tagfocus(report_path, profile):
    report = msjson.load(report_path)
    tasks = {t["id"]: t for t in report["tasks"]}

    def path(t):
        names = []
        while t is not None:
            names.append(t["name"])
            t = tasks.get(t["parent"])
        return "/".join(reversed(names))
    checked = 0
    for t in report["tasks"]:
        if t["live_bytes"] == 0:
            continue
        p = path(t)
        flat, total = top(profile, "inuse_space",
                          "-tagfocus=task=^" + re.escape(p) + "$")
        if total != t["live_bytes"]:
            fail("-tagfocus task=%s: %d bytes, the JSON's task holds %d" %
                 (p, total, t["live_bytes"]))
        others = [fn for fn, v in flat.items() if v != 0 and
                  fn not in ("site_token", "site_entry")]
        if others:
            fail("-tagfocus task=%s keeps other sites: %s" % (p, others))
        print("ok: -tagfocus task=%s: %d bytes, as the task's live_bytes" %
              (p, total))
        checked += 1
    if checked != 2:
        fail("%d tasks with live bytes, want 2 (load/parse, index)" % checked)


def diff(a_json, b_json, a_pb, b_pb):
    a = msjson.load(a_json)
    b = msjson.load(b_json)
    grow = sum(s["live_bytes"] for s in b["sites"]) - \
        sum(s["live_bytes"] for s in a["sites"])
    flat, total = top(b_pb, "inuse_space", "-diff_base=" + a_pb)
    if flat.get("site_grow") != 100000:
        fail("-diff_base: site_grow grew by %s, want 100000" %
             flat.get("site_grow"))
    if total != grow:
        fail("-diff_base: total growth %d, the JSON reports' %d" % (total, grow))
    print("ok: -diff_base: site_grow +%d bytes, total +%d as the JSON reports" %
          (flat["site_grow"], total))


def sampled(report_path, profile):
    report = msjson.load(report_path)
    if report["mode"] != "sampled":
        fail("the report is not in sampled mode")
    want = json_sites(report, True)
    for i, index in enumerate(INDEXES):
        flat, _ = top(profile, index)
        for fn, truth in SAMPLED.items():
            got = flat.get(fn, 0)
            if got != want.get(fn, [0] * 4)[i]:
                fail("%s: %s %d in pprof, %d in the JSON (rounded)" %
                     (fn, index, got, want.get(fn, [0] * 4)[i]))
            if abs(got - truth[i]) > 0.10 * truth[i]:
                fail("%s: %s %d in pprof, the program made %d (over 10%%)" %
                     (fn, index, got, truth[i]))
            print("ok: sampled %s %s: %d, truth %d (%+.1f%%), as the JSON" %
                  (fn, index, got, truth[i], 100.0 * (got - truth[i]) / truth[i]))


# pprof_prog tasks K, at exit, site_shared only, per K:
# label -> (allocs, bytes, live blocks, live bytes)
TASKS = {
    ("task", "alpha"): (15, 45000, 10, 40000),
    ("task", "beta"): (60, 8000, 50, 7500),
    ("thread", "w1"): (30, 16000, 25, 11000),
    ("thread", "w2"): (45, 37000, 35, 36500),
}


def check_tasks(report_path, profile, k):
    """-tagfocus on each task and each thread of pprof_prog tasks keeps
    exactly what the program allocated there (exact mode), or within 10 %
    (sampled); the tasks' totals are also the JSON's; the profile's totals
    and site_shared's figures are the JSON sites'."""
    k = int(k)
    report = msjson.load(report_path)
    est = report["mode"] == "sampled"
    json_tasks = {}     # by name: each thread's "alpha" is a task
    for t in report["tasks"]:
        v = json_tasks.setdefault(t["name"], [0, 0, 0, 0])
        for j, x in enumerate((t["allocs"], t["bytes_allocated"],
                               t["allocs"] - t["frees"], t["live_bytes"])):
            v[j] += x
    want = json_sites(report, est)
    for i, index in enumerate(INDEXES):
        flat, total = top(profile, index)
        got, js = flat.get("site_shared", 0), want.get("site_shared", [0] * 4)[i]
        all_sites = sum(json_sites(report, est)[fn][i] for fn in want)
        ok = (got == js and total == all_sites) if not est else (
            abs(got - js) <= 0.01 * js and abs(total - all_sites) <= 0.01 * all_sites)
        if not ok:
            fail("%s: site_shared %d and total %d in pprof -top, %d and %d in "
                 "the JSON report" % (index, got, total, js, all_sites))
        for (key, value), truth in TASKS.items():
            extra = ["-tagfocus=%s=^%s$" % (key, value)]
            if key == "thread":
                extra.append("-focus=^site_shared$")
            _, n = top(profile, index, *extra)
            t = truth[i] * k
            if not est and n != t:
                fail("-tagfocus %s=%s: %s %d, the program made %d" %
                     (key, value, index, n, t))
            if est and abs(n - t) > 0.10 * t:
                fail("-tagfocus %s=%s: %s %d, the program made %d (over 10%%)" %
                     (key, value, index, n, t))
            if key == "task" and not est and n != json_tasks[value][i]:
                fail("-tagfocus task=%s: %s %d, the JSON's task %d" %
                     (value, index, n, json_tasks[value][i]))
            print("ok: -tagfocus %s=%s %s: %d, the program made %d%s" % (
                key, value, index, n, t,
                " (%+.1f%%)" % (100.0 * (n - t) / t) if est else
                (", as the JSON's task" if key == "task" else "")))
    if est:
        return
    # the named block: its own sample, with its thread and task
    big = [(lab, v) for lab, v in parse_traces(profile).get("site_shared", [])
           if lab.get("variable") == "big"]
    want = {"thread": "w2", "task": "alpha", "variable": "big",
            "bytes": "6.84kB"}     # pprof scales the label
    if len(big) != 1 or big[0][1] != 7000 or \
            any(big[0][0].get(x) != y for x, y in want.items()):
        fail("-traces: the block named big: %s, want one of 7000 bytes "
             "labelled %s" % (big, want))
    print("ok: -traces: the block named big: 7000 bytes, labels %s" % want)


def main():
    cmds = {"exact": (check_exact, 2), "traces": (traces, 1),
            "tagfocus": (tagfocus, 2), "diff": (diff, 4),
            "sampled": (sampled, 2), "tasks": (check_tasks, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or \
            len(sys.argv) - 2 != cmds[sys.argv[1]][1]:
        sys.exit(__doc__)
    cmds[sys.argv[1]][0](*sys.argv[2:])


main()
