#!/usr/bin/env python3
"""normalize.py - makes a memscope report comparable between runs, for the
golden tests (tests/integration/golden.sh).

  normalize.py json PREFIXES   < report.json   > normalized text
  normalize.py folded PREFIXES < report.folded > normalized text

json: every key is kept, in its order, with its value, except the values
that differ from run to run (addresses, pids, times, sizes of the process
and of jemalloc, module directories, per-bucket lifetimes), which become
"<masked>" (null stays null; a module keeps its file name; a lifetime array
becomes its total, which does not depend on timing). Each rule must match
at least once, so a masked field that is renamed or dropped fails here
rather than slipping through. A frame of a function that does not start
with one of the comma-separated PREFIXES (one of libc or the loader, whose
names, files and lines depend on the debug information installed) keeps
only its module's file name: its function, file and line become "<other>".

The stacks name frames of the top-level frame table by index: they are
resolved (tests/data/msjson.py), so each stack shows its frames, and the
table itself is left out (its order and length depend on the debug
information installed, as above).

folded: such frames become "<other>" (a run of them one), identical stacks
are merged, and the lines are sorted again. Inlined frames of such
functions are left out of the JSON: they depend on the debug information
installed (libc6-dbg).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))
import msjson  # noqa: E402

# key -> where it is masked ("any" = wherever it occurs)
MASK = {
    "pid": "any", "tid": "any", "start_unix_ns": "any", "duration_ns": "any",
    "clock_resolution_ns": "any", "begin_ns": "any", "end_ns": "any",
    "created_ns": "any", "freed_ns": "any", "t_ns": "any", "address": "any",
    "offset": "any", "block": "any", "rss": "any", "peak_rss": "any",
    "tracer_overhead_bytes": "any", "table_bytes": "any",
    "table_bytes_per_tracked_block": "any",
    # jemalloc's own statistics
    "allocated": "allocator", "active": "allocator", "resident": "allocator",
    "mapped": "allocator", "retained": "allocator",
    "fragmentation": "allocator",
}
seen = set()
ours = ()


def foreign_frame(v):
    f = v.get("function")
    return "module" in v and "offset" in v and not (
        isinstance(f, str) and f.startswith(ours))


def norm(v, parent):
    if isinstance(v, dict):
        out = {}
        foreign = foreign_frame(v)
        for k, x in v.items():
            if foreign and k in ("function", "file", "line"):
                out[k] = "<other>"
                continue
            where = MASK.get(k)
            if where is not None and (where == "any" or where == parent):
                seen.add(k)
                out[k] = None if x is None else "<masked>"
            elif k == "module" and isinstance(x, str):
                seen.add(k)
                out[k] = x.rsplit("/", 1)[-1]
            elif k == "lifetimes" and isinstance(x, list):
                seen.add(k)
                out[k] = "total %d" % sum(x)
            elif k == "count" and parent == "lifetime_histogram":
                seen.add("lifetime_histogram")
                out[k] = "<masked>"
            else:
                out[k] = norm(x, k if not isinstance(x, list) else k)
        return out
    if isinstance(v, list):
        # a foreign function's inlined frames depend on the debug
        # information installed (libc6-dbg): left out
        return [norm(x, parent) for x in v
                if not (isinstance(x, dict) and foreign_frame(x) and x.get("inlined"))]
    return v


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    global ours
    if len(sys.argv) == 3:
        ours = tuple(sys.argv[2].split(","))
    if mode == "json" and len(sys.argv) == 3:
        doc = msjson.resolve(json.load(sys.stdin))
        doc["frames"] = "<the table, resolved into each stack>"
        out = norm(doc, "")
        want = set(MASK) | {"module", "lifetimes", "lifetime_histogram"}
        # keys that occur only in some reports
        want -= {"begin_ns", "end_ns", "created_ns", "freed_ns", "t_ns"}
        missing = sorted(want - seen)
        if missing:
            sys.exit("normalize.py: no field %s in the report" %
                     ", ".join(missing))
        json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    elif mode == "folded" and len(sys.argv) == 3:
        stacks = {}
        for line in sys.stdin:
            stack, _, value = line.rstrip("\n").rpartition(" ")
            if not stack or not value.isdigit():
                sys.exit("normalize.py: not a folded line: %r" % line)
            frames = []
            for f in stack.split(";"):
                f = f if f.startswith(ours) else "<other>"
                # a run of foreign frames is one: how many there are
                # depends on the debug information installed (inlined ones)
                if f != "<other>" or not frames or frames[-1] != "<other>":
                    frames.append(f)
            key = ";".join(frames)
            stacks[key] = stacks.get(key, 0) + int(value)
        sys.stdout.write("".join("%s %d\n" % (k, v) for k, v in sorted(stacks.items())))
    else:
        sys.exit("usage: normalize.py json|folded PREFIXES")


main()
