"""msjson.py - reads memscope's JSON report (docs/json.md) for the tests.

  import msjson              (PYTHONPATH=$REPO/tests/data)
  r = msjson.load(path)

load() parses the report, checks that it is version 2 and that every
stack names frames of the top-level frame table by index (an integer in
range, or null), and returns it with each stack resolved: sites[].frames,
leaks[].frames, heap_errors[].alloc_frames and free_frames become lists
of the frame objects themselves (None for a null). The table stays in
r["frames"]. resolve(r) does the same to a report already parsed.
"""
import json

VERSION = 2
STACKS = (("sites", "frames"), ("leaks", "frames"),
          ("heap_errors", "alloc_frames"), ("heap_errors", "free_frames"))


def resolve(r):
    if r.get("version") != VERSION:
        raise ValueError("report version %r, want %d" % (r.get("version"), VERSION))
    table = r.get("frames")
    if not isinstance(table, list):
        raise ValueError("no frame table (top-level frames)")
    for f in table:
        if not isinstance(f, dict) or "function" not in f or "module" not in f:
            raise ValueError("frame table entry %r is not a frame" % (f,))
    for array, field in STACKS:
        for item in r.get(array, []):
            out = []
            for i in item[field]:
                if i is None:
                    out.append(None)
                elif type(i) is int and 0 <= i < len(table):
                    out.append(table[i])
                else:
                    raise ValueError("%s[].%s names frame %r of %d"
                                     % (array, field, i, len(table)))
            item[field] = out
    return r


def load(path):
    with open(path, "rb") as f:
        return resolve(json.loads(f.read().decode("utf-8")))
