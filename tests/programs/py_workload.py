"""py_workload.py - an allocation-heavy, deterministic Python workload.

tests/integration/real_python.sh runs it with PYTHONMALLOC=malloc (every
Python object then comes from malloc) with and without libmemscope_malloc
preloaded, and compares what it prints. Everything printed must be a pure
function of the code: no addresses, no timings, no hash-order dependence
beyond what PYTHONHASHSEED=0 fixes.
"""
import gc
import hashlib
import json
import random
import re
import sys
import threading
from collections import Counter, OrderedDict, defaultdict, deque

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
rng = random.Random(20240611)
total = hashlib.sha256()


def report(name, data):
    """Prints a section's digest and folds it into the total."""
    if not isinstance(data, bytes):
        data = repr(data).encode()
    h = hashlib.sha256(data).hexdigest()
    total.update(name.encode() + b"=" + h.encode())
    print(f"{name:<10} {h[:32]}")


# 1. dicts and lists of N small objects
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
         "hotel", "india", "juliet", "kilo", "lima", "mike", "november"]
records = []
for i in range(N):
    records.append({
        "id": i,
        "name": f"{WORDS[i % len(WORDS)]}-{rng.randrange(1_000_000):06d}",
        "score": rng.random() * 1000.0,
        "tags": [WORDS[(i * 7 + k) % len(WORDS)] for k in range(i % 4)],
        "pos": (rng.randrange(-500, 500), rng.randrange(-500, 500)),
    })
by_name = {r["name"]: r for r in records}
buckets = defaultdict(list)
for r in records:
    buckets[r["name"].split("-")[0]].append(r["id"])
report("records", (len(records), len(by_name),
                   sorted((k, len(v), sum(v)) for k, v in buckets.items())))

# 2. json round trip
text = json.dumps(records[: N // 2], sort_keys=True, separators=(",", ":"))
back = json.loads(text)
assert len(back) == N // 2 and back[123]["name"] == records[123]["name"]
text2 = json.dumps(back, sort_keys=True, separators=(",", ":"))
assert text2 == text
pretty = json.dumps(back[:2000], indent=2, sort_keys=True)
report("json", text.encode() + pretty.encode())
del back, text2, pretty

# 3. string operations
parts = []
for r in records[:50_000]:
    s = r["name"].upper().replace("-", "_")
    s = s[::-1] + "|" + s.lower().center(24, ".")
    parts.append(s.encode("utf-8").decode("utf-8").strip("."))
joined = "\n".join(parts)
split = joined.split("\n")
assert split == parts
fmt = "".join("%08x;%s;%.3f\n" % (r["id"], r["name"], r["score"])
              for r in records[::7])
report("strings", (len(joined), joined.count("A"), hashlib.sha256(
    joined.encode() + fmt.encode()).hexdigest()))
del parts, joined, split, fmt

# 4. sorting
keys = sorted(records, key=lambda r: (round(r["score"], 2), r["name"]))
report("sort", [r["id"] for r in keys[::97]])
nums = [rng.randrange(1 << 30) for _ in range(N)]
nums.sort()
strs = sorted(str(x) for x in nums[::3])
report("sort2", (nums[::1001], strs[::997]))
del keys, nums, strs


# 5. a class-based tree: an unbalanced binary search tree, then a rebuilt
# balanced one, walked in order.
class Node:
    __slots__ = ("key", "val", "left", "right")

    def __init__(self, key, val):
        self.key, self.val, self.left, self.right = key, val, None, None


class Tree:
    def __init__(self):
        self.root = None
        self.size = 0

    def insert(self, key, val):
        if self.root is None:
            self.root = Node(key, val)
            self.size += 1
            return
        n = self.root
        while True:
            if key == n.key:
                n.val = val
                return
            nxt = n.left if key < n.key else n.right
            if nxt is None:
                if key < n.key:
                    n.left = Node(key, val)
                else:
                    n.right = Node(key, val)
                self.size += 1
                return
            n = nxt

    def items(self):
        out, stack, n = [], [], self.root
        while stack or n is not None:
            while n is not None:
                stack.append(n)
                n = n.left
            n = stack.pop()
            out.append((n.key, n.val))
            n = n.right
        return out

    def height(self):
        best, todo = 0, deque([(self.root, 1)] if self.root else [])
        while todo:
            n, d = todo.popleft()
            best = max(best, d)
            if n.left:
                todo.append((n.left, d + 1))
            if n.right:
                todo.append((n.right, d + 1))
        return best


def balanced(items):
    t = Tree()
    todo = [(0, len(items))]
    while todo:
        lo, hi = todo.pop()
        if lo >= hi:
            continue
        mid = (lo + hi) // 2
        t.insert(*items[mid])
        todo.append((lo, mid))
        todo.append((mid + 1, hi))
    return t


tree = Tree()
for r in records[:100_000]:
    tree.insert(r["name"], r["id"])
items = tree.items()
bal = balanced(items)
assert bal.items() == items
report("tree", (tree.size, tree.height(), bal.height(), items[::503]))
del tree, bal, items

# 6. regular expressions
pat = re.compile(r"(?P<word>[a-z]+)-(?P<num>\d{3})(?P<rest>\d{3})")
hits = Counter()
swapped = []
for r in records[:60_000]:
    m = pat.fullmatch(r["name"])
    hits[m.group("word")] += int(m.group("num"))
    swapped.append(pat.sub(r"\g<rest>:\g<word>:\g<num>", r["name"]))
found = re.findall(r"\b(\w)(\w*)\1\b", " ".join(swapped[:20_000]))
report("regex", (sorted(hits.items()), swapped[::1009], len(found)))
del swapped, found

# 7. sets, OrderedDict, tuples, bytes, bigints
s1 = {r["id"] * 3 % 100_003 for r in records}
s2 = frozenset(range(0, 100_003, 5))
od = OrderedDict((i, str(i) * 3) for i in range(50_000))
for i in range(0, 50_000, 3):
    od.move_to_end(i)
ba = bytearray()
for i in range(30_000):
    ba += i.to_bytes(4, "little")
big = 1
for i in range(1, 3000):
    big = big * i + i
report("misc", (len(s1 & s2), len(s1 ^ s2), list(od)[:50], list(od)[-50:],
                hashlib.sha256(bytes(ba)).hexdigest(), big % (10 ** 40)))
del s1, s2, od, ba

# 8. threads allocating at the same time
results = [None] * 4


def worker(k):
    local = random.Random(k)
    d = {}
    for i in range(40_000):
        d[f"k{k}-{local.randrange(10 ** 9)}"] = [i] * (i % 5)
    results[k] = (len(d), sum(len(v) for v in d.values()),
                  hashlib.sha256(json.dumps(sorted(d)).encode()).hexdigest())


threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
report("threads", results)

# 9. garbage with cycles, collected
for i in range(20_000):
    a, b = [i], {"i": i}
    a.append(b)
    b["a"] = a
collected = gc.collect()
report("gc", collected >= 0)

del records, by_name, buckets
print(f"{'total':<10} {total.hexdigest()}")
