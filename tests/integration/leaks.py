"""leaks.py - what leak_classes.sh and leak_snapshot.sh check alike: the
blocks tests/programs/leak_classes.c makes, by the function that made them,
with their class, blocks and bytes; a check that collects failures; the
data block of an HTML report."""
import json
import re
import sys

CLASSES = ["definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable"]
WANT = {  # function: (class, blocks, bytes); None: not known exactly
    "hold_global": ("still_reachable", 1, 1111),
    "hold_on_stack": ("still_reachable", 1, 2222),
    "lose_one": ("definitely_lost", 1, 3333),
    "list_head": ("definitely_lost", 1, 4444),
    "list_node": ("indirectly_lost", 9, 9 * 560),
    "hold_interior": ("possibly_lost", 1, 6666),
}
LOST = {"lose_one": 3333, "list_head": 4444, "list_node": 5040, "hold_interior": 6666}
fails = []


def check(what, got, want):
    if got != want:
        fails.append(f"{what}: got {got!r}, expected {want!r}")


def html_data(path):
    page = open(path, encoding="utf-8").read()
    m = re.search(r'<script type="application/json" id="ms-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def finish(ok):
    if fails:
        sys.exit("FAIL: " + "; ".join(fails))
    print(ok)
