#!/usr/bin/env python3
"""rel_json.py - checks memscope's JSON reports for the reliability tests
(tests/integration/rel_*.sh).

  rel_json.py check [--pid N] [--mode M] [--trigger T] [--program P]
                    [--errors N] FILE...
      each FILE parses whole as one JSON object, is a memscope report of
      version 2 (with the fields docs/json.md lists), every stack names
      frames of its frame table (msjson.py), its summary adds up,
      and it matches the options given (--pid name: the pid in the file
      name, NAME-<pid>.json); --errors N: summary.heap_errors
      is N (default 0: a program with no heap error is reported as one).
  rel_json.py get FILE KEY.KEY...
      prints one field.
"""
import json
import re
import sys

import msjson

TOP = ["format", "version", "program", "pid", "mode", "sample_interval",
       "trigger", "snapshot", "summary", "allocator", "threads", "frames", "sites",
       "leaks", "timeline", "size_histogram", "lifetime_histogram"]
SUMMARY = ["allocs", "frees", "reallocs", "bytes_allocated", "bytes_freed",
           "live_blocks", "live_bytes", "dropped_events", "untracked_frees"]


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        raise ValueError("empty file")
    return json.loads(data.decode("utf-8"))


def check(path, want):
    d = load(path)
    if not isinstance(d, dict):
        raise ValueError("not a JSON object")
    missing = [k for k in TOP if k not in d]
    if missing:
        raise ValueError("missing fields: %s" % ", ".join(missing))
    if d["format"] != "memscope" or d["version"] != msjson.VERSION:
        raise ValueError("format %r version %r" % (d["format"], d["version"]))
    msjson.resolve(d)
    s = d["summary"]
    missing = [k for k in SUMMARY if k not in s]
    if missing:
        raise ValueError("summary lacks %s" % ", ".join(missing))
    if s["live_blocks"] != s["allocs"] - s["frees"]:
        raise ValueError("live_blocks %d != allocs %d - frees %d"
                         % (s["live_blocks"], s["allocs"], s["frees"]))
    if d["mode"] == "exact" and s["live_bytes"] != s["bytes_allocated"] - s["bytes_freed"]:
        raise ValueError("live_bytes != bytes_allocated - bytes_freed")
    if want.get("pid") == "name":      # NAME-<pid>.json
        m = re.search(r"-(\d+)\.json$", path)
        want = dict(want, pid=m.group(1) if m else "?")
    for key, field in (("pid", "pid"), ("mode", "mode"), ("trigger", "trigger"),
                       ("program", "program")):
        if want.get(key) is not None and str(d[field]) != str(want[key]):
            raise ValueError("%s is %r, want %r" % (field, d[field], want[key]))
    errors = s.get("heap_errors")
    if errors is None:
        raise ValueError("summary lacks heap_errors")
    if errors != want.get("errors", 0):
        kinds = [(e.get("kind"), e.get("address")) for e in d.get("heap_errors", [])]
        raise ValueError("%d heap errors, want %d: %s"
                         % (errors, want.get("errors", 0), kinds[:10]))
    return d


def main(argv):
    if len(argv) >= 3 and argv[1] == "get":
        v = load(argv[2])
        for k in argv[3].split("."):
            v = v[int(k)] if isinstance(v, list) else v[k]
        print(v)
        return 0
    if len(argv) < 3 or argv[1] != "check":
        print(__doc__, file=sys.stderr)
        return 2
    want, files, i = {}, [], 2
    while i < len(argv):
        a = argv[i]
        if a.startswith("--") and i + 1 < len(argv):
            want[a[2:]] = int(argv[i + 1]) if a == "--errors" else argv[i + 1]
            i += 2
        else:
            files.append(a)
            i += 1
    if not files:
        print("rel_json.py check: no file", file=sys.stderr)
        return 1
    bad = 0
    for f in files:
        try:
            d = check(f, want)
        except (OSError, ValueError) as e:   # json's errors are ValueErrors
            print("FAIL: %s: %s" % (f, e), file=sys.stderr)
            bad += 1
            continue
        if len(files) <= 3:
            print("ok: %s: complete (pid %s, %s, trigger %s, %d allocs)"
                  % (f.rsplit("/", 1)[-1], d["pid"], d["mode"], d["trigger"],
                     d["summary"]["allocs"]))
    if len(files) > 3 and not bad:
        print("ok: %d reports complete" % len(files))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
