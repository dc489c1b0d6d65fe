"""py_json.py - the python3 workload of `make bench`: build, dump and parse
JSON over dicts of small records, the way a web service or a log tool does.

Run as: PYTHONMALLOC=malloc /usr/bin/python3 bench/py_json.py RECORDS ROUNDS
(every Python object then comes from malloc). Standard library only;
deterministic (a fixed seed). Prints one line with a checksum.
"""
import json
import random
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 1
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
         "hotel", "india", "juliet", "kilo", "lima", "mike", "november"]


def build(rng, n):
    records = []
    for i in range(n):
        records.append({
            "id": i,
            "name": f"{WORDS[i % len(WORDS)]}-{rng.randrange(1_000_000):06d}",
            "score": round(rng.random() * 1000.0, 3),
            "tags": [WORDS[(i * 7 + k) % len(WORDS)] for k in range(i % 5)],
            "attrs": {f"k{k}": rng.randrange(100) for k in range(i % 4)},
        })
    return records


def work(rng, n):
    records = build(rng, n)
    by_name = {r["name"]: r for r in records}
    groups = {}
    for r in records:
        groups.setdefault(r["name"].split("-")[0], []).append(r["id"])
    text = json.dumps(records, sort_keys=True)
    back = json.loads(text)
    assert len(back) == n and back[-1]["id"] == n - 1
    # merge and re-key: many short-lived dicts and strings
    merged = [dict(r, rank=i, label=r["name"].upper()) for i, r in enumerate(back)]
    index = {(m["label"], m["id"]): m for m in merged if m["score"] > 100}
    text2 = json.dumps(merged[: n // 2], separators=(",", ":"))
    return len(text) + len(text2) + len(index) + len(by_name) + len(groups)


rng = random.Random(20240611)
total = 0
for _ in range(ROUNDS):
    total += work(rng, N)
print(f"py_json records={N} rounds={ROUNDS} total={total}")
