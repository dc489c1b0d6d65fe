#!/usr/bin/python3
"""run.py - the driver of `make bench` (bench/bench.mk); standard library only.

Runs every workload under every configuration, interleaved (round 1: each
workload A B C ..., round 2: A B C ...), one warm-up round then RUNS counted
rounds; then the export benchmark. Prints a markdown report and writes it to
bench/results/latest.md, with the raw figures in bench/results/latest.json.
docs/performance.md explains each figure.

Method, in short:
- wall time: from fork to wait4 of the process, start-up and the export at
  exit included; median, min and max over the counted rounds;
- ratio: each round's time / the same round's plain-jemalloc time for the
  same workload, then the median of those ratios;
- phase: the micro workloads time their own measured phase and print
  "BENCH pairs=N phase_ns=T cpu_ns=C" (bench/common.h): ns per pair = T / N
  (wall, all threads together) and C / N (CPU time of all threads);
- peak RSS: ru_maxrss of the wait4 rusage (for heaptrack, the largest
  process of its tree, not their sum).
"""
import argparse
import datetime
import glob
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
SQLITE = "/usr/bin/sqlite3"
HEAPTRACK = "/usr/bin/heaptrack"

# Configurations, in the order of each round. "trace": memscope traces
# (and exports its reports at exit into a temp dir, as a user's run would).
CONFIGS = [
    {"id": "glibc", "label": "glibc", "env": {}},
    {"id": "jemalloc", "label": "jemalloc", "preload": True,
     "env": {"MEMSCOPE_ENABLE": "0"}},
    {"id": "sampled", "label": "memscope sampled 512k", "preload": True,
     "trace": True, "env": {"MEMSCOPE_SAMPLE": "512k"}},
    {"id": "exact1", "label": "memscope exact depth 1", "preload": True,
     "trace": True, "env": {"MEMSCOPE_STACK_DEPTH": "1"}},
    {"id": "exact", "label": "memscope exact default depth", "preload": True,
     "trace": True, "env": {}},
    {"id": "heaptrack", "label": "heaptrack", "heaptrack": True, "env": {}},
]
BASE = "jemalloc"

# Work per mode. Full: jemalloc runs of about 0.1..0.5 s, heaptrack runs of
# a few seconds. QUICK: about 1/8 of that. SMOKE: just enough to run.
SIZES = {
    "full":  {"churn": 6_000_000, "churn_total": 24_000_000, "xthread": 4_000_000,
              "owners": [10_000, 50_000],
              "realloc": 4000, "mixed": 400_000, "many": 50_000, "short_threads": 16_000,
              "python": 60_000, "sqlite": 200_000,
              "export": [10_000, 100_000, 1_000_000], "export_reps": 3},
    "quick": {"churn": 1_000_000, "churn_total": 8_000_000, "xthread": 500_000,
              "owners": [2_000, 10_000],
              "realloc": 500, "mixed": 50_000, "many": 5_000, "short_threads": 4_000,
              "python": 10_000, "sqlite": 30_000,
              "export": [10_000, 100_000], "export_reps": 1},
    "smoke": {"churn": 50_000, "churn_total": 200_000, "xthread": 20_000,
              "owners": [100, 1_000],
              "realloc": 32, "mixed": 5_000, "many": 500, "short_threads": 200,
              "python": 1_000, "sqlite": 2_000,
              "export": [10_000], "export_reps": 1},
}

TARGETS_EXPORT = {      # issue 6: 10^6 live blocks, 10^4 sites, 8 threads
    "bin": {"s": 0.3, "bytes_per_block": 24},
    "json": {"s": 1.5},
    "html": {"s": 1.0, "bytes": 5_000_000},
    "md": {"s": 0.2},
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(argv):
    """A command's stdout, or None when it cannot run."""
    try:
        return subprocess.run(argv, capture_output=True, text=True,
                              timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    rev = sh(["git", "-C", REPO, "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"])
    pkg = sh(["dpkg-query", "-W", "-f", "${Version}", "libjemalloc-dev"])
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "kernel": platform.release(),
        "memory_bytes": mem,
        "glibc": os.confstr("CS_GNU_LIBC_VERSION"),
        "jemalloc": ("libjemalloc_pic.a " + pkg) if pkg else "unknown",
        "loadavg_start": loadavg(),
        "memscope_rev": (rev + ("+changes" if dirty else "")) if rev else "unknown",
        "heaptrack": (sh([HEAPTRACK, "--version"]) or "?") if os.access(HEAPTRACK, os.X_OK) else None,
        "python3": sh([PYTHON, "--version"]) if os.access(PYTHON, os.X_OK) else None,
        "sqlite3": (sh([SQLITE, "--version"]) or "?").split(" ")[0] if os.access(SQLITE, os.X_OK) else None,
    }


def workloads(sizes, threads, cores, tmp):
    """The workload list: id, label, kind, argv, extra env, stdin."""
    b = os.path.join(args.build, "bench")
    per = min(sizes["churn"], max(1, sizes["churn_total"] // max(threads)))
    w = []
    for t in threads:
        w.append({"id": f"churn-{t}t", "label": f"small churn, {t} thread{'s' if t > 1 else ''}",
                  "kind": "micro", "churn_threads": t,
                  "argv": [f"{b}/churn", str(t), str(per), "1000"]})
    # 8 threads outside and inside tasks (one task per thread): the task
    # accounting must not serialize the threads
    per8 = min(sizes["churn"], max(1, sizes["churn_total"] // 8))
    for on in (0, 1):
        w.append({"id": f"tasks8-{'on' if on else 'off'}",
                  "label": f"small churn, 8 threads, {'each in a task' if on else 'no task'}",
                  "kind": "micro", "argv": [f"{b}/churn", "8", str(per8), "1000"] + (["1"] if on else [])})
    npairs = max(1, cores // 2)
    w.append({"id": "xthread", "label": f"cross-thread free, {npairs}+{npairs} threads",
              "kind": "micro", "argv": [f"{b}/xthread", str(npairs), str(sizes["xthread"])]})
    ended, blocks = sizes["owners"]
    w.append({"id": "owners", "label": f"cross-thread free of 4 ended owners' blocks, after {ended} ended threads",
              "kind": "micro", "argv": [f"{b}/owners", str(ended), "4", str(blocks)]})
    w.append({"id": "realloc", "label": "realloc growth, 1 thread", "kind": "micro",
              "argv": [f"{b}/realloc_growth", str(sizes["realloc"])]})
    w.append({"id": "mixed", "label": f"mixed 8 B..64 KiB, {cores} threads", "kind": "micro",
              "argv": [f"{b}/mixed", str(cores), str(sizes["mixed"])]})
    w.append({"id": "threads128", "label": "128 threads, short churn", "kind": "micro",
              "argv": [f"{b}/churn", "128", str(sizes["many"]), "1000"]})
    w.append({"id": "short_threads", "label": f"{sizes['short_threads']} short threads, 4 at a time",
              "kind": "micro", "argv": [f"{b}/short_threads", str(sizes["short_threads"]), "16", "4"]})
    py = {"id": "python3", "label": "python3 JSON/dicts", "kind": "real",
          "argv": [PYTHON, os.path.join(REPO, "bench", "py_json.py"), str(sizes["python"]), "1"],
          "env": {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0"}}
    if not os.access(PYTHON, os.X_OK):
        py["absent"] = f"{PYTHON} not installed"
    w.append(py)
    sql = os.path.join(tmp, "sqlite_bench.sql")
    with open(os.path.join(REPO, "bench", "sqlite_bench.sql")) as f:
        text = f.read().replace("ROWS", str(sizes["sqlite"]))
    with open(sql, "w") as f:
        f.write(text)
    sq = {"id": "sqlite3", "label": "sqlite3 insert/query", "kind": "real",
          "argv": [SQLITE, "-batch", ":memory:"], "stdin": sql}
    if not os.access(SQLITE, os.X_OK):
        sq["absent"] = f"{SQLITE} not installed"
    w.append(sq)
    return w


def clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MEMSCOPE_") and k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    env["LC_ALL"] = "C"
    # memscope's symbol cache (by default under ~/.cache) is this run's own:
    # every configuration starts from the same state, filled by the warm-up
    if getattr(args, "cache_home", None):
        env["XDG_CACHE_HOME"] = args.cache_home
    return env


def symcache_cost(tmp, timeout):
    """The exit cost of a cold symbol cache: churn 1 100000 1000 (exact,
    default depth) once with an empty cache, then once with it warm."""
    churn = os.path.join(args.build, "bench", "churn")
    home = os.path.join(tmp, "xdg-cold")
    os.makedirs(home)
    r = {}
    for kind in ("cold", "warm"):
        env = clean_env()
        env.update({"LD_PRELOAD": args.lib, "XDG_CACHE_HOME": home,
                    "MEMSCOPE_OUT": os.path.join(tmp, "symcache-" + kind)})
        sp, _, stderr = spawn([churn, "1", "100000", "1000"], env, None, tmp,
                              "symcache-" + kind, timeout)
        shutil.rmtree(env["MEMSCOPE_OUT"], ignore_errors=True)
        if sp["status"] != "ok":
            return {"status": sp["status"], "stderr_tail": stderr[-800:]}
        r[kind + "_wall_s"], r[kind + "_maxrss_kb"] = sp["wall_s"], sp["maxrss_kb"]
    shutil.rmtree(home, ignore_errors=True)
    r["status"] = "ok"
    return r


def parse_kv(line):
    out = {}
    for tok in line.split()[1:]:
        k, _, v = tok.partition("=")
        try:
            out[k] = int(v)
        except ValueError:
            out[k] = v
    return out


def report_summary(d):
    """The figures of a memscope JSON report this harness uses."""
    s = d.get("summary", {})
    keep = ["allocs", "frees", "reallocs", "live_blocks", "threads", "sites",
            "dropped_events", "untracked_frees", "tracer_overhead_bytes",
            "table_bytes", "tracked_blocks", "rss", "peak_rss"]
    return {k: s.get(k) for k in keep}


def spawn(argv, env, stdin_path, tmp, tag, timeout):
    """Runs argv through build/bench/spawn (fork, exec, wait4: wall time and
    peak RSS of the child alone). Returns (result dict, stdout, stderr)."""
    env = dict(env)
    if "LD_PRELOAD" in env:         # for the child only, never for spawn
        env["BENCH_SPAWN_PRELOAD"] = env.pop("LD_PRELOAD")
    res_path = os.path.join(tmp, tag + ".res")
    out_path, err_path = os.path.join(tmp, tag + ".out"), os.path.join(tmp, tag + ".err")
    helper = os.path.join(args.build, "bench", "spawn")
    with open(out_path, "w") as out, open(err_path, "w") as err, \
            (open(stdin_path) if stdin_path else open(os.devnull)) as inp:
        rc = subprocess.run([helper, res_path, str(int(timeout))] + argv, env=env,
                            stdin=inp, stdout=out, stderr=err, cwd=tmp).returncode
    with open(out_path, errors="replace") as f:
        stdout = f.read()
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    kv = {}
    try:
        with open(res_path) as f:
            kv = parse_kv("x " + f.read().strip())
    except OSError:
        pass
    for path in (res_path, out_path, err_path):
        if os.path.exists(path):
            os.unlink(path)
    res = {}
    if rc != 0 or "status" not in kv:
        res["status"] = f"could not run (spawn exit {rc})"
        return res, stdout, stderr
    status = kv["status"]
    res["wall_s"] = kv["wall_ns"] / 1e9
    res["cpu_s"] = (kv.get("utime_ns", 0) + kv.get("stime_ns", 0)) / 1e9
    res["maxrss_kb"] = kv["maxrss_kb"]
    if kv["timed_out"]:
        res["status"] = f"timeout after {int(timeout)} s"
    elif os.WIFSIGNALED(status):
        res["status"] = f"killed by signal {os.WTERMSIG(status)}"
    elif os.WEXITSTATUS(status) != 0:
        res["status"] = f"exit {os.WEXITSTATUS(status)}"
    else:
        res["status"] = "ok"
    return res, stdout, stderr


def run_one(wl, cfg, tag, tmp, timeout):
    """Runs one workload under one configuration; returns a result dict."""
    env = clean_env()
    env.update(wl.get("env", {}))
    argv = list(wl["argv"])
    outdir = os.path.join(tmp, tag)
    os.makedirs(outdir)
    if cfg.get("preload"):
        env["LD_PRELOAD"] = args.lib
        env.update(cfg["env"])
        env["MEMSCOPE_OUT"] = outdir
    if cfg.get("heaptrack"):
        argv = [HEAPTRACK, "-o", os.path.join(outdir, "trace")] + argv
    res, stdout, stderr = spawn(argv, env, wl.get("stdin"), tmp, tag, timeout)
    lines = stdout.splitlines()
    bench = [l for l in lines if l.startswith("BENCH ")]
    if bench:
        kv = parse_kv(bench[-1])
        res.update({"pairs": kv.get("pairs"), "phase_ns": kv.get("phase_ns"),
                    "cpu_ns": kv.get("cpu_ns")})
    elif wl["kind"] == "micro" and res["status"] == "ok":
        res["status"] = "no BENCH line"
    if res["status"] != "ok":
        res["stderr_tail"] = stderr[-800:]
    if cfg.get("trace"):
        files = [f for f in glob.glob(os.path.join(outdir, "*")) if os.path.isfile(f)]
        res["report_bytes"] = sum(os.path.getsize(f) for f in files)
        res["report_formats"] = sorted({os.path.splitext(f)[1][1:] for f in files})
        js = [f for f in files if f.endswith(".json")]
        if js:
            try:
                with open(max(js, key=os.path.getsize)) as f:
                    res["report"] = report_summary(json.load(f))
            except (OSError, ValueError) as e:
                res["report_error"] = str(e)
        elif res["status"] == "ok":
            res["report_error"] = "no JSON report written at exit"
    if cfg.get("heaptrack"):
        files = glob.glob(os.path.join(outdir, "trace*"))
        res["trace_bytes"] = sum(os.path.getsize(f) for f in files)
    shutil.rmtree(outdir, ignore_errors=True)
    return res


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def summarize(cell_runs, base_runs, kind):
    """Aggregates one cell's counted runs (base_runs: jemalloc's, same rounds)."""
    ok = [r for r in cell_runs if r["status"] == "ok"]
    s = {"runs": len(cell_runs), "ok_runs": len(ok)}
    bad = [r["status"] for r in cell_runs if r["status"] != "ok"]
    s["status"] = "ok" if not bad else (bad[0] if not ok else f"{len(bad)}/{len(cell_runs)} failed: {bad[0]}")
    if not ok:
        return s
    walls = [r["wall_s"] for r in ok]
    s.update({"wall_median_s": statistics.median(walls), "wall_min_s": min(walls),
              "wall_max_s": max(walls),
              "maxrss_median_kb": statistics.median(r["maxrss_kb"] for r in ok),
              "maxrss_max_kb": max(r["maxrss_kb"] for r in ok)})
    s["cpu_median_s"] = med([r.get("cpu_s") for r in ok])
    ratios, pratios, cratios = [], [], []
    for r, b in zip(cell_runs, base_runs):
        if r["status"] == "ok" and b["status"] == "ok" and b["wall_s"] > 0:
            ratios.append(r["wall_s"] / b["wall_s"])
            if r.get("cpu_s") and b.get("cpu_s"):
                cratios.append(r["cpu_s"] / b["cpu_s"])
            if r.get("phase_ns") and b.get("phase_ns"):
                pratios.append(r["phase_ns"] / b["phase_ns"])
    s["ratio"] = med(ratios)
    s["phase_ratio"] = med(pratios)
    s["cpu_ratio"] = med(cratios)
    if kind == "micro":
        s["pairs"] = ok[0].get("pairs")
        s["phase_median_s"] = med([r["phase_ns"] / 1e9 for r in ok if r.get("phase_ns")])
        s["wall_ns_per_pair"] = med([r["phase_ns"] / r["pairs"] for r in ok if r.get("pairs")])
        s["cpu_ns_per_pair"] = med([r["cpu_ns"] / r["pairs"] for r in ok if r.get("pairs")])
        s["mpairs_per_s"] = med([r["pairs"] / r["phase_ns"] * 1e3 for r in ok
                                 if r.get("pairs") and r.get("phase_ns")])
    reps = [r["report"] for r in ok if r.get("report")]
    if reps:
        s["report"] = reps[len(reps) // 2]
        s["report_bytes"] = med([r.get("report_bytes") for r in ok])
        s["report_formats"] = ok[0].get("report_formats")
    errs = [r["report_error"] for r in ok if r.get("report_error")]
    if errs:
        s["report_error"] = errs[0]
    if any(r.get("trace_bytes") for r in ok):
        s["trace_bytes"] = med([r.get("trace_bytes") for r in ok])
    return s


def pairwise(runs_a, runs_b, key="wall_s"):
    """Median over rounds of a's time / b's time (both ok)."""
    xs = [a[key] / b[key] for a, b in zip(runs_a, runs_b)
          if a["status"] == "ok" and b["status"] == "ok" and b.get(key)]
    return med(xs)


# ---- export benchmark --------------------------------------------------------

def rec_size():
    """sizeof(ms_rec_t), the side table's slot, from tracer/internal.h."""
    src = '#include <stdio.h>\n#include "internal.h"\nint main(void){printf("%zu\\n", sizeof(ms_rec_t));return 0;}\n'
    with tempfile.TemporaryDirectory() as d:
        exe = os.path.join(d, "recsize")
        try:
            r = subprocess.run([os.environ.get("CC", "cc"), "-std=gnu11", "-D_GNU_SOURCE",
                                "-DMS_IN_LIBRARY", "-I" + os.path.join(REPO, "tracer"),
                                "-I" + os.path.join(REPO, "include"), "-x", "c", "-", "-o", exe],
                               input=src, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                return None
            return int(subprocess.run([exe], capture_output=True, text=True,
                                      timeout=10).stdout.strip())
        except (OSError, ValueError, subprocess.SubprocessError):
            return None


SHORT_RUNS = 50         # issue 14: 50 runs of a short program
SHORT_TARGET_MS = 10.0  # at most 10 ms each over plain runs


def short_bench(rounds, tmp, timeout):
    """`ls /` 50 times from a shell, plainly and under `memscope run -q
    --follow-children` (default formats: a report set per process), and
    the same with every process writing all its formats itself (no run
    log: what each paid before the tool wrote them at its end), one of
    each per round, interleaved. The cost per run over plain, wall and CPU
    (wait4's rusage: the shell, its children and the tool), is each
    round's (traced - plain) / 50, median over the rounds; and whether
    every process wrote its reports."""
    tool = os.path.join(os.path.dirname(args.lib), "memscope")
    if not os.access(tool, os.X_OK):
        return {"status": "absent", "absent": "memscope tool not built"}
    script = f'i=0; while [ $i -lt {SHORT_RUNS} ]; do ls / >/dev/null; i=$((i+1)); done'
    kinds = ("plain", "traced", "inproc")
    runs = {k: [] for k in kinds}
    complete = {k: [] for k in kinds[1:]}
    load = [os.getloadavg()[0]]
    for rnd in range(rounds):
        for kind in kinds:
            argv = ["/bin/sh", "-c", script]
            d = os.path.join(tmp, f"short-{kind}-{rnd}")
            if kind != "plain":
                os.makedirs(d)
                inner = ["env", "-u", "MEMSCOPE_RUN_LOG"] if kind == "inproc" else []
                argv = [tool, "run", "-q", "--follow-children", "-o", d, "--"] + inner + argv
            log(f"short processes: {kind}, round {rnd + 1}/{rounds}")
            sp, _, stderr = spawn(argv, clean_env(), None, tmp, f"short-{kind}-{rnd}", timeout)
            if sp["status"] != "ok":
                return {"status": sp["status"], "stderr_tail": stderr[-800:]}
            runs[kind].append(sp)
            if kind != "plain":
                sets = {}
                for f in os.listdir(d):
                    base, _, ext = f.rpartition(".")
                    sets.setdefault(base, set()).add(ext)
                ls_sets = [b for b in sets if b.startswith("ls-")]
                complete[kind].append(len(ls_sets) == SHORT_RUNS and
                                      all({"bin", "json", "md", "html"} <= e for e in sets.values()))
                shutil.rmtree(d, ignore_errors=True)
    load.append(os.getloadavg()[0])
    med = statistics.median
    per = lambda kind, key: med([(t[key] - p[key]) * 1000 / SHORT_RUNS
                                 for t, p in zip(runs[kind], runs["plain"])])
    r = {"status": "ok", "rounds": rounds, "runs": SHORT_RUNS,
         "load_before": load[0], "load_after": load[1],
         "plain_wall_s": med([x["wall_s"] for x in runs["plain"]]),
         "traced_wall_s": med([x["wall_s"] for x in runs["traced"]]),
         "inproc_wall_s": med([x["wall_s"] for x in runs["inproc"]]),
         "plain_cpu_s": med([x["cpu_s"] for x in runs["plain"]]),
         "traced_cpu_s": med([x["cpu_s"] for x in runs["traced"]]),
         "inproc_cpu_s": med([x["cpu_s"] for x in runs["inproc"]]),
         "ms_per_run": per("traced", "wall_s"),
         "cpu_ms_per_run": per("traced", "cpu_s"),
         "inproc_ms_per_run": per("inproc", "wall_s"),
         "inproc_cpu_ms_per_run": per("inproc", "cpu_s"),
         "all_reports": all(complete["traced"]),
         "inproc_all_reports": all(complete["inproc"])}
    return r


def export_bench(sizes, tmp, timeout):
    exe = os.path.join(args.build, "bench", "export_bench")
    out = []
    for n in sizes["export"]:
        runs = []
        for rep in range(sizes["export_reps"]):
            d = os.path.join(tmp, f"export-{n}-{rep}")
            os.makedirs(d)
            env = clean_env()
            # linked with -lmemscope_malloc: load the frozen copy (RUNPATH
            # gives way to LD_LIBRARY_PATH)
            env.update({"MEMSCOPE_OUT": d, "MEMSCOPE_AUTO_EXPORT": "0",
                        "LD_LIBRARY_PATH": os.path.dirname(args.lib)})
            log(f"export bench: {n} live blocks, run {rep + 1}/{sizes['export_reps']}")
            sp, stdout, stderr = spawn([exe, str(n), d, "8"], env, None, tmp,
                                       f"export-{n}-{rep}", timeout)
            status = sp["status"]
            r = {"status": status, "wall_s": sp.get("wall_s"), "maxrss_kb": sp.get("maxrss_kb"),
                 "formats": {}}
            for line in stdout.splitlines():
                if line.startswith("EXPORT "):
                    kv = parse_kv(line)
                    r["formats"][kv["format"]] = {"rc": kv.get("rc"), "s": kv.get("ns", 0) / 1e9,
                                                  "bytes": kv.get("bytes")}
                elif line.startswith("LIVE "):
                    r["live"] = parse_kv(line)
            try:
                with open(os.path.join(d, "fmt.json")) as f:
                    r["report"] = report_summary(json.load(f))
            except (OSError, ValueError):
                pass
            if status != "ok":
                r["stderr_tail"] = stderr[-800:]
            runs.append(r)
            shutil.rmtree(d, ignore_errors=True)
        out.append({"live_blocks": n, "runs": runs})
        if not any(r["status"] == "ok" for r in runs):
            log(f"export bench failed at {n} live blocks; larger sizes skipped")
            break
    # medians per size and format
    for e in out:
        ok = [r for r in e["runs"] if r["status"] == "ok"]
        e["status"] = "ok" if ok else e["runs"][0]["status"]
        e["formats"] = {}
        names = []
        for r in ok:
            for k in r["formats"]:
                if k not in names:
                    names.append(k)
        for k in names:
            fs = [r["formats"][k] for r in ok if k in r["formats"]]
            built = [f for f in fs if f["rc"] == 0 and f["bytes"] is not None and f["bytes"] >= 0]
            item = {"s_median": med([f["s"] for f in fs]), "s_min": min(f["s"] for f in fs),
                    "s_max": max(f["s"] for f in fs), "rc": fs[0]["rc"]}
            if k == "all":
                item["built"] = True
            elif fs[0]["rc"] != 0:
                item["built"] = None
            else:
                item["built"] = bool(built)
            if built:
                item["bytes"] = med([f["bytes"] for f in built])
            e["formats"][k] = item
        if ok:
            e["live"] = ok[0].get("live")
            e["report"] = ok[len(ok) // 2].get("report")
            e["wall_s"] = med([r["wall_s"] for r in ok])
            e["maxrss_kb"] = med([r.get("maxrss_kb") for r in ok])
    return out


# ---- markdown --------------------------------------------------------------

def fx(x, nd=2):
    return "-" if x is None else f"{x:.{nd}f}x"


def fs(x):
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def fmib(kb):
    return "-" if kb is None else f"{kb / 1024:.1f}"


def fbytes(n):
    if n is None:
        return "-"
    for unit, div in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


def cell_text(c, what):
    if c.get("absent"):
        return "absent"
    if c.get("ok_runs", 0) == 0:
        return c.get("status", "not run")
    return what(c)


def markdown(res):
    m, st = res["machine"], res["settings"]
    L = []
    L.append("# memscope benchmark")
    L.append("")
    mode = "SMOKE (one short run per cell: proves the harness, figures meaningless)" if st["smoke"] \
        else "QUICK (less work, indicative only)" if st["quick"] else "full"
    L.append(f"- date: {m['date']}; mode: {mode}; rounds: {st['warmup']} warm-up + {st['runs']} counted, interleaved")
    sc = res.get("symcache")
    if sc is not None:
        cold = ""
        if sc.get("status") == "ok":
            cold = (f"; a cold cache costs a process its naming at exit: churn 1 100000 1000 (exact) "
                    f"{sc['cold_wall_s']:.3f} s, {fmib(sc['cold_maxrss_kb'])} MiB peak cold vs "
                    f"{sc['warm_wall_s']:.3f} s, {fmib(sc['warm_maxrss_kb'])} MiB warm")
        L.append("- memscope's symbol cache (its default, kept across runs) is this run's own, "
                 + ("warm after the warm-up round: counted runs name their stacks from it, as a "
                    "program's second run does" if st["warmup"] else
                    "filled by each cell's first run (no warm-up round)") + cold)
    L.append(f"- machine: {m['cores']} cores ({m['cores_usable']} usable), {m['cpu_model']}, "
             f"Linux {m['kernel']}, {fbytes(m['memory_bytes'])} RAM")
    L.append(f"- memscope {m['memscope_rev']} (library built {m.get('library_mtime', '?')}) over {m['jemalloc']}; {m['glibc']}; "
             f"heaptrack: {m['heaptrack'] or 'not installed'}; python3: {m['python3'] or 'not installed'}; "
             f"sqlite3: {m['sqlite3'] or 'not installed'}")
    busy = ""
    try:
        if max(float(m["loadavg_start"].split()[0]), float(m.get("loadavg_end", "0").split()[0])) > m["cores_usable"]:
            busy = " (above the core count: other processes shared the CPUs)"
    except (ValueError, IndexError):
        pass
    L.append(f"- took {res['elapsed_s']:.0f} s; load average (1, 5, 15 min) at start {m['loadavg_start']}, "
             f"at end {m.get('loadavg_end', '?')}{busy}")
    L.append("")
    cfgs = [c["id"] for c in res["configs"]]
    labels = {c["id"]: c["label"] for c in res["configs"]}
    wls = res["workloads"]
    cells = res["cells"]

    L.append("## Time, as a ratio to plain jemalloc")
    L.append("")
    L.append("Whole-process wall time (start-up and, for memscope, writing its reports at exit"
             " included), each round's time over the same round's jemalloc time, median of those.")
    L.append("")
    L.append("| workload | " + " | ".join(labels[c] for c in cfgs) + " |")
    L.append("|---|" + "---|" * len(cfgs))
    for w in wls:
        row = [w["label"]]
        for c in cfgs:
            row.append(cell_text(cells[w["id"]][c], lambda x: fx(x.get("ratio"))))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("## Wall time in seconds: median [min - max]")
    L.append("")
    L.append("| workload | " + " | ".join(labels[c] for c in cfgs) + " |")
    L.append("|---|" + "---|" * len(cfgs))
    for w in wls:
        row = [w["label"]]
        for c in cfgs:
            row.append(cell_text(cells[w["id"]][c], lambda x: f"{fs(x['wall_median_s'])} "
                                 f"[{fs(x['wall_min_s'])} - {fs(x['wall_max_s'])}]"))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("## Process CPU time (user + system, all threads and child processes), as a ratio to jemalloc")
    L.append("")
    L.append("Less disturbed than wall time by other processes on a shared machine; median of"
             " per-round ratios, and in brackets the median CPU seconds.")
    L.append("")
    L.append("| workload | " + " | ".join(labels[c] for c in cfgs) + " |")
    L.append("|---|" + "---|" * len(cfgs))
    for w in wls:
        row = [w["label"]]
        for c in cfgs:
            row.append(cell_text(cells[w["id"]][c], lambda x: f"{fx(x.get('cpu_ratio'))} [{fs(x.get('cpu_median_s'))}]"))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("## Micro workloads: ns per malloc/free pair, measured phase only")
    L.append("")
    L.append("wall ns / CPU ns per pair (wall: the phase's wall time over all pairs of all"
             " threads; CPU: user+system time of all threads over all pairs), and the phase's"
             " ratio to jemalloc (median of per-round ratios).")
    L.append("")
    L.append("| workload | pairs | " + " | ".join(labels[c] for c in cfgs) + " |")
    L.append("|---|---|" + "---|" * len(cfgs))
    for w in wls:
        if w["kind"] != "micro":
            continue
        base = cells[w["id"]].get(BASE, {})
        row = [w["label"], str(base.get("pairs", "-"))]
        for c in cfgs:
            row.append(cell_text(cells[w["id"]][c], lambda x: f"{x['wall_ns_per_pair']:.1f} / "
                                 f"{x['cpu_ns_per_pair']:.1f} ({fx(x.get('phase_ratio'))})"
                                 if x.get("wall_ns_per_pair") is not None else "-"))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    L.append("## Peak RSS in MiB (median of the counted runs)")
    L.append("")
    L.append("| workload | " + " | ".join(labels[c] for c in cfgs) + " |")
    L.append("|---|" + "---|" * len(cfgs))
    for w in wls:
        row = [w["label"]]
        for c in cfgs:
            row.append(cell_text(cells[w["id"]][c], lambda x: fmib(x.get("maxrss_median_kb"))))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    # scaling
    churn = [w for w in wls if w.get("churn_threads")]
    L.append("## Thread scaling: small churn, M pairs per second (ratio to jemalloc)")
    L.append("")
    per = "?"
    if churn:
        per = churn[0]["argv"][2]
    L.append(f"{per} pairs per thread at every thread count; {m['cores_usable']} usable cores."
             " Throughput of the measured phase, all threads together; in parentheses the"
             " phase's time as a ratio to jemalloc's at the same thread count.")
    L.append("")
    L.append("| threads | " + " | ".join(labels[c] for c in cfgs) + " |")
    L.append("|---|" + "---|" * len(cfgs))
    for w in churn:
        row = [str(w["churn_threads"])]
        for c in cfgs:
            row.append(cell_text(cells[w["id"]][c], lambda x: f"{x['mpairs_per_s']:.1f} ({fx(x.get('phase_ratio'))})"
                                 if x.get("mpairs_per_s") is not None else "-"))
        L.append("| " + " | ".join(row) + " |")
    L.append("")

    # heaptrack vs exact
    L.append("## memscope vs heaptrack (heaptrack's time / memscope's, per round, median): wall / CPU")
    L.append("")
    ht = [c for c in res["configs"] if c["id"] == "heaptrack"]
    if not ht or ht[0].get("absent"):
        L.append("heaptrack was not run: " + (ht[0]["absent"] if ht else "not selected (CONFIGS)") + ".")
    else:
        L.append("| workload | exact depth 1 | exact default depth | sampled 512k |")
        L.append("|---|---|---|---|")
        for w in wls:
            v = res["vs_heaptrack"].get(w["id"], {})
            L.append(f"| {w['label']} | " + " | ".join(f"{fx(v.get(c), 1)} / {fx(v.get(c + '_cpu'), 1)}"
                                                      for c in ("exact1", "exact", "sampled")) + " |")
    L.append("")

    # counts
    L.append("## What memscope's own report says (exact default depth and sampled, at exit)")
    L.append("")
    L.append("pairs: what the workload did; allocs/frees/reallocs/live: the report's summary;"
             " report: the files written at exit (all formats).")
    L.append("")
    L.append("| workload | config | pairs | allocs | reallocs | frees | live at exit | dropped | untracked frees | threads | sites | report |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w in wls:
        for c in ("exact", "sampled"):
            x = cells[w["id"]].get(c, {})
            r = x.get("report")
            if not r:
                L.append(f"| {w['label']} | {labels.get(c, c)} | - | {x.get('report_error') or x.get('status', '-')} |" + " |" * 8)
                continue
            L.append(f"| {w['label']} | {labels[c]} | {x.get('pairs', '-')} | {r.get('allocs')} | {r.get('reallocs')} | "
                     f"{r.get('frees')} | {r.get('live_blocks')} | {r.get('dropped_events')} | "
                     f"{r.get('untracked_frees')} | {r.get('threads')} | {r.get('sites')} | "
                     f"{fbytes(x.get('report_bytes'))} ({','.join(x.get('report_formats') or [])}) |")
    L.append("")

    # short processes
    sh_ = res.get("short")
    L.append(f"## Short processes: `ls /` {SHORT_RUNS} times under `memscope run --follow-children`")
    L.append("")
    L.append(f"A shell runs `ls /` {SHORT_RUNS} times, plainly and under `memscope run -q"
             " --follow-children` (every process traced; each writes its .bin at exit and the"
             " tool writes its json, md and html from it, while the shell runs and at its end), and the same with every process"
             " writing all four itself (`env -u MEMSCOPE_RUN_LOG` under the tool: what each paid"
             " before), interleaved. Per run = each round's (traced - plain) / "
             f"{SHORT_RUNS}, median over the rounds; CPU from wait4's rusage (the shell, its"
             " children, the tool). Wall time follows the machine's load: read CPU on a busy one.")
    L.append("")
    if not sh_:
        L.append("Not run (a WORKLOADS subset without `short`).")
    elif sh_.get("status") != "ok":
        L.append(f"Failed: {sh_.get('absent') or sh_.get('status')} {sh_.get('stderr_tail', '')[-200:]}")
    else:
        L.append(f"Load average (1 min) {sh_['load_before']:.1f} before, {sh_['load_after']:.1f} after; "
                 f"{sh_['rounds']} rounds; plain: {sh_['plain_wall_s']:.3f} s wall, "
                 f"{sh_['plain_cpu_s']:.3f} s CPU for the {SHORT_RUNS}.")
        L.append("")
        L.append("| who writes the formats | wall, 50 runs | CPU, 50 runs | per run over plain, wall | per run over plain, CPU | every process's reports |")
        L.append("|---|---|---|---|---|---|")
        L.append(f"| the tool, from the .bin | {sh_['traced_wall_s']:.3f} s | {sh_['traced_cpu_s']:.3f} s | "
                 f"{sh_['ms_per_run']:.1f} ms | {sh_['cpu_ms_per_run']:.1f} ms | "
                 f"{'yes' if sh_['all_reports'] else 'NO'} |")
        L.append(f"| each process, at its exit | {sh_['inproc_wall_s']:.3f} s | {sh_['inproc_cpu_s']:.3f} s | "
                 f"{sh_['inproc_ms_per_run']:.1f} ms | {sh_['inproc_cpu_ms_per_run']:.1f} ms | "
                 f"{'yes' if sh_['inproc_all_reports'] else 'NO'} |")
    L.append("")

    # export
    ex = res["export"]
    L.append("## Export: memscope_export() per format, 8 threads, 10^4 call sites, exact default depth")
    L.append("")
    L.append("Each format exported alone (the report is built each time: that is what a caller"
             " asking for one format pays), seconds median [min - max], and file size."
             " \"not built\": the library returned 0 and wrote no file (its writer is not part"
             " of the build). \"all\": every format in one call (the report built once).")
    L.append("")
    if not ex:
        L.append("Not run (a WORKLOADS subset without `export`, or the export bench failed to start).")
        L.append("")
    else:
        names = []
        for e in ex:
            for k in e.get("formats", {}):
                if k not in names:
                    names.append(k)
        L.append("| live blocks | " + " | ".join(names) + " | process wall |")
        L.append("|---|" + "---|" * len(names) + "---|")
        for e in ex:
            if e["status"] != "ok":
                L.append(f"| {e['live_blocks']} | {e['status']} |" + " |" * len(names))
                continue
            row = [str(e["live_blocks"])]
            for k in names:
                f = e["formats"].get(k)
                if f is None:
                    row.append("-")
                elif f["built"] is None:
                    row.append(f"error {f['rc']}")
                elif not f["built"]:
                    row.append(f"not built ({fs(f['s_median'])} s spent)")
                else:
                    sz = f.get("bytes")
                    per = f" = {sz / e['live_blocks']:.1f} B/block" if sz is not None else ""
                    row.append(f"{fs(f['s_median'])} [{fs(f['s_min'])} - {fs(f['s_max'])}] s"
                               + (f", {fbytes(sz)}{per}" if sz is not None else ""))
            row.append(f"{fs(e.get('wall_s'))} s")
            L.append("| " + " | ".join(row) + " |")
        L.append("")

    # memory
    L.append("## Tracer memory (exact default depth, from the JSON report of the export runs)")
    L.append("")
    rs = res["rec_size"]
    L.append(f"Load factor = tracked blocks x {rs if rs else '?'}-byte records / table bytes"
             " (record size from tracer/internal.h at build time)."
             " Slope: extra tracer bytes per extra block between the two largest sizes.")
    L.append("")
    if not any(e.get("report") for e in ex):
        L.append("No export runs, no figures.")
        L.append("")
    else:
        L.append("| live blocks | tracked | threads | tracer bytes | per tracked block | per thread | table bytes | table per block | load factor | RSS at export | process peak RSS |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for e in ex:
            r = e.get("report")
            if not r:
                continue
            tb = r.get("tracked_blocks") or 0
            ov, tbl, thr = r.get("tracer_overhead_bytes"), r.get("table_bytes"), r.get("threads")
            lf = (tb * rs / tbl) if (rs and tbl) else None
            L.append(f"| {e['live_blocks']} | {tb} | {thr} | {fbytes(ov)} | "
                     f"{(ov / tb) if tb and ov is not None else 0:.1f} B | "
                     f"{fbytes(ov / thr) if thr and ov is not None else '-'} | {fbytes(tbl)} | "
                     f"{(tbl / tb) if tb and tbl is not None else 0:.1f} B | "
                     f"{'-' if lf is None else f'{lf:.2f}'} | {fbytes(r.get('rss'))} | "
                     f"{fbytes(e['maxrss_kb'] * 1024 if e.get('maxrss_kb') else None)} |")
        if res.get("memory_slope") is not None:
            L.append("")
            L.append(f"Slope: {res['memory_slope']:.1f} tracer bytes per extra live block.")
        L.append("")
    L.append("Per thread, from the exact runs of the thread workloads (tracer bytes at exit / threads seen):")
    L.append("")
    L.append("| workload | config | threads | tracer bytes | per thread | tracked at exit |")
    L.append("|---|---|---|---|---|---|")
    for w in wls:
        if w["id"] not in ("threads128",) and not w.get("churn_threads"):
            continue
        for c in ("exact1", "exact"):
            r = cells[w["id"]].get(c, {}).get("report")
            if r and r.get("threads"):
                L.append(f"| {w['label']} | {labels[c]} | {r['threads']} | {fbytes(r.get('tracer_overhead_bytes'))} | "
                         f"{fbytes((r.get('tracer_overhead_bytes') or 0) / r['threads'])} | {r.get('tracked_blocks')} |")
    L.append("")

    L.append("## Targets (issue 6)")
    L.append("")
    if st["smoke"] or st["quick"]:
        L.append("QUICK/SMOKE run: indicative only; docs/performance.md has a full run.")
        L.append("")
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    for t in res["targets"]:
        L.append(f"| {t['target']} | {t['measured']} | {t['verdict']} |")
    L.append("")
    return "\n".join(L)


def targets(res):
    cells, out = res["cells"], []
    labels = {c["id"]: c["label"] for c in res["configs"]}

    def labels_of(c):
        return labels.get(c, c)

    def ratio(w, c, key="ratio"):
        return cells.get(w, {}).get(c, {}).get(key)

    def verdict(x, ok):
        if x is None:
            return "not measured"
        return "met" if ok else "MISSED"

    def against_jemalloc(name, c, ws, limit):
        """Worst wall ratio over workloads ws; the phase ratio beside it."""
        xs = [(ratio(w, c), w) for w in ws if ratio(w, c) is not None]
        if not xs:
            out.append({"target": name, "measured": "-", "verdict": "not measured"})
            return
        x, w = max(xs)
        ph = ratio(w, c, "phase_ratio")
        cpu = ratio(w, c, "cpu_ratio")
        meas = f"{fx(x)} ({w})" + (f"; measured phase {fx(ph)}" if ph is not None else "") + \
            (f"; CPU time {fx(cpu)}" if cpu is not None else "")
        v = verdict(x, x <= limit)
        if x > limit and ph is not None and ph <= limit:
            v = "MISSED (met in the measured phase: start-up and export at exit make the difference)"
        out.append({"target": name, "measured": meas, "verdict": v})
    churn = [w["id"] for w in res["workloads"] if w.get("churn_threads")]
    allw = [w["id"] for w in res["workloads"]]
    # issue 11 (exact mode's cost and memory) and issue 10 (whole stacks)
    against_jemalloc("exact depth 1 within 3x on small churn (worst thread count)", "exact1", churn, 3.0)
    against_jemalloc("exact depth 1 within 1.6x on python3", "exact1", ["python3"], 1.6)
    against_jemalloc("exact depth 1 within 1.1x on sqlite3", "exact1", ["sqlite3"], 1.1)
    against_jemalloc("exact depth 1 within 2x on cross-thread free", "exact1", ["xthread"], 2.0)
    against_jemalloc("sampled 512k within 1.15x on small churn (worst thread count)", "sampled", churn, 1.15)
    against_jemalloc("sampled 512k within 1.02x on python3", "sampled", ["python3"], 1.02)
    vs = res["vs_heaptrack"]
    def against_heaptrack(name, ws, limit):
        xs = [(vs.get(w, {}).get("exact"), w) for w in ws if vs.get(w, {}).get("exact") is not None]
        if not xs:
            out.append({"target": name, "measured": "-", "verdict": "not measured"})
            return
        x, w = min(xs)
        cpu = vs[w].get("exact_cpu")
        out.append({"target": name, "measured": f"{fx(x, 1)} ({w})" +
                    (f"; CPU time {fx(cpu, 1)}" if cpu is not None else ""),
                    "verdict": verdict(x, x >= limit)})
    against_heaptrack("exact default depth at least 10x faster than heaptrack on small churn (worst; issue 10 asks 5x)", churn, 10)
    against_heaptrack("exact default depth at least 5x faster than heaptrack on small churn (worst; issue 10)", churn, 5)
    against_heaptrack("exact default depth at least 2.5x faster than heaptrack on python3 (issue 10 asks 2x)", ["python3"], 2.5)
    against_heaptrack("exact default depth at least 2x faster than heaptrack on python3 (issue 10)", ["python3"], 2)
    for c in ("exact1", "exact"):
        one, many = ratio("churn-1t", c, "cpu_ns_per_pair"), ratio("threads128", c, "cpu_ns_per_pair")
        j1, jm = ratio("churn-1t", BASE, "cpu_ns_per_pair"), ratio("threads128", BASE, "cpu_ns_per_pair")
        name = f"128 threads, no convoy: {c} CPU per pair at 128 threads within 1.5x of 1 thread"
        if not one or not many:
            out.append({"target": name, "measured": "-", "verdict": "not measured"})
        else:
            ctx = f"; jemalloc alone {fx(jm / j1)}" if j1 and jm else ""
            out.append({"target": name, "measured": f"{fx(many / one)} ({many:.0f} vs {one:.0f} ns){ctx}",
                        "verdict": verdict(many / one, many / one <= 1.5)})
    for c in ("exact1", "exact"):
        name = f"python3 peak RSS, {labels_of(c)}, within 1.3x of its RSS alone"
        a, b = ratio("python3", c, "maxrss_median_kb"), ratio("python3", BASE, "maxrss_median_kb")
        if not a or not b:
            out.append({"target": name, "measured": "-", "verdict": "not measured"})
        else:
            out.append({"target": name, "measured": f"{fx(a / b)} ({a / 1024:.0f} vs {b / 1024:.0f} MiB)",
                        "verdict": verdict(a / b, a / b <= 1.3)})
    big_ex = [e for e in res["export"] if e["live_blocks"] == 1_000_000 and e.get("report")]
    name = "tracer memory at 10^6 live blocks: at most 40 B per block in all"
    if not big_ex or not big_ex[0]["report"].get("tracked_blocks"):
        out.append({"target": name, "measured": "-", "verdict": "not measured (no 10^6 run)"})
    else:
        r = big_ex[0]["report"]
        bpb = r["tracer_overhead_bytes"] / r["tracked_blocks"]
        out.append({"target": name, "measured": f"{bpb:.1f} B per block", "verdict": verdict(bpb, bpb <= 40)})
    for c in ("exact1", "exact", "sampled"):
        on, off = ratio("tasks8-on", c, "cpu_ns_per_pair"), ratio("tasks8-off", c, "cpu_ns_per_pair")
        name = f"8 threads inside tasks: {c} CPU per pair within 1.3x of 8 threads outside tasks"
        if on is None or off is None or off <= 0:
            out.append({"target": name, "measured": "-", "verdict": "not measured"})
        else:
            out.append({"target": name, "measured": f"{fx(on / off)} ({on:.0f} vs {off:.0f} ns CPU per pair)",
                        "verdict": verdict(on / off, on / off <= 1.3)})
    big = [e for e in res["export"] if e["live_blocks"] == 1_000_000 and e["status"] == "ok"]
    for k, t in TARGETS_EXPORT.items():
        name = f"export {k} of 10^6 live blocks: <= {t['s']} s"
        if "bytes_per_block" in t:
            name += f", <= {t['bytes_per_block']} B per live block"
        if "bytes" in t:
            name += f", <= {t['bytes'] / 1e6:.0f} MB"
        if not big:
            out.append({"target": name, "measured": "-", "verdict": "not measured (no 10^6 run)"})
            continue
        f = big[0]["formats"].get(k)
        if f is None or f["built"] is None:
            out.append({"target": name, "measured": "-", "verdict": "not measured"})
            continue
        if not f["built"]:
            out.append({"target": name, "measured": "format not built", "verdict": "not built"})
            continue
        ok = f["s_median"] <= t["s"]
        meas = f"{f['s_median']:.3f} s"
        if "bytes_per_block" in t and f.get("bytes") is not None:
            bpb = f["bytes"] / 1_000_000
            meas += f", {bpb:.1f} B/block"
            ok = ok and bpb <= t["bytes_per_block"]
        if "bytes" in t and f.get("bytes") is not None:
            meas += f", {fbytes(f['bytes'])}"
            ok = ok and f["bytes"] <= t["bytes"]
        out.append({"target": name, "measured": meas, "verdict": "met" if ok else "MISSED"})
    sh_ = res.get("short")
    name = f"{SHORT_RUNS} short processes under memscope run --follow-children: at most {SHORT_TARGET_MS:.0f} ms each over plain, every one with its reports"
    if not sh_ or sh_.get("status") != "ok":
        out.append({"target": name, "measured": "-", "verdict": "not measured"})
    else:
        ok = sh_["ms_per_run"] <= SHORT_TARGET_MS and sh_["all_reports"]
        out.append({"target": name, "measured": f"{sh_['ms_per_run']:.1f} ms wall, {sh_['cpu_ms_per_run']:.1f} ms CPU per run"
                    f" (CPU {'within' if sh_['cpu_ms_per_run'] <= SHORT_TARGET_MS else 'over'} {SHORT_TARGET_MS:.0f} ms;"
                    f" load {sh_['load_before']:.1f})"
                    + ("" if sh_["all_reports"] else "; some reports missing"),
                    "verdict": "met" if ok else "MISSED"})
    return out


def csv_list(s, conv=str):
    return [conv(x) for x in s.replace(" ", "").split(",") if x] if s else []


def main():
    global args
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"))
    ap.add_argument("--quick", default="")
    ap.add_argument("--smoke", default="")
    ap.add_argument("--threads", default="")
    ap.add_argument("--runs", default="")
    ap.add_argument("--workloads", default="")
    ap.add_argument("--configs", default="")
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--timeout", type=float, default=0)
    ap.add_argument("--render", metavar="JSON",
                    help="print the markdown report of a saved latest.json, run nothing")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            print(markdown(json.load(f)))
        return
    args.build = os.path.abspath(args.build)
    args.lib = os.path.join(args.build, "libmemscope_malloc.so")
    on = lambda v: v not in ("", "0", "no", "off", "false")
    smoke, quick = on(args.smoke), on(args.quick) or on(args.smoke)
    mode = "smoke" if smoke else "quick" if quick else "full"
    sizes = SIZES[mode]
    cores = len(os.sched_getaffinity(0))
    threads = csv_list(args.threads, int) or sorted({1, 2, 2 * cores})
    runs = int(args.runs) if args.runs else (1 if smoke else 3 if quick else 5)
    warmup = 0 if smoke else 1
    timeout = args.timeout or (60 if smoke else 120 if quick else 300)
    if not os.path.exists(args.lib):
        sys.exit(f"run.py: {args.lib} is not built (make all)")
    started = time.time()
    m = machine()
    tmp = tempfile.mkdtemp(prefix="memscope-bench.")
    try:
        # Every run uses this copy: a rebuild of build/ during the run (the
        # library is being worked on) cannot mix two libraries in one table.
        libdir = os.path.join(tmp, "lib")
        os.makedirs(libdir)
        frozen = os.path.join(libdir, "libmemscope_malloc.so")
        shutil.copy2(args.lib, frozen)
        tool = os.path.join(args.build, "memscope")
        if os.access(tool, os.X_OK):    # `memscope run` takes the library beside it
            shutil.copy2(tool, os.path.join(libdir, "memscope"))
        m["library_mtime"] = datetime.datetime.fromtimestamp(
            os.path.getmtime(args.lib), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        args.lib = frozen
        args.cache_home = os.path.join(tmp, "xdg-cache")
        os.makedirs(args.cache_home)
        wls = workloads(sizes, threads, cores, tmp)
        if args.workloads:
            want = csv_list(args.workloads)
            wls = [w for w in wls if w["id"] in want or w["id"].split("-")[0] in want]
        cfgs = [dict(c) for c in CONFIGS]
        if args.configs:
            want = csv_list(args.configs)
            cfgs = [c for c in cfgs if c["id"] in want or c["id"] == BASE]
        for c in cfgs:
            if c.get("heaptrack") and not os.access(HEAPTRACK, os.X_OK):
                c["absent"] = f"{HEAPTRACK} not installed"
        log(f"bench: {mode}, {warmup} warm-up + {runs} counted rounds of "
            f"{len(wls)} workloads x {len(cfgs)} configurations; machine: {cores} cores")
        runs_by = {w["id"]: {c["id"]: [] for c in cfgs} for w in wls}
        skip = set()
        for rnd in range(warmup + runs):
            t_round = time.time()
            for w in wls:
                for c in cfgs:
                    key = (w["id"], c["id"])
                    if w.get("absent") or c.get("absent"):
                        continue
                    if key in skip:
                        runs_by[w["id"]][c["id"]].append({"status": "skipped after a timeout",
                                                          "wall_s": None})
                        continue
                    r = run_one(w, c, f"{w['id']}-{c['id']}-{rnd}", tmp, timeout)
                    if r["status"].startswith("timeout"):
                        skip.add(key)
                    if r["status"] != "ok":
                        log(f"  {w['id']} {c['id']}: {r['status']}: "
                            f"{r.get('stderr_tail', '').strip()[-300:]}")
                    if rnd >= warmup:
                        runs_by[w["id"]][c["id"]].append(r)
            log(f"round {rnd + 1}/{warmup + runs}{' (warm-up)' if rnd < warmup else ''}: "
                f"{time.time() - t_round:.1f} s")
        cells, vs = {}, {}
        for w in wls:
            cells[w["id"]] = {}
            base = runs_by[w["id"]].get(BASE, [])
            for c in cfgs:
                if w.get("absent") or c.get("absent"):
                    cells[w["id"]][c["id"]] = {"absent": w.get("absent") or c.get("absent"),
                                               "status": "absent", "runs": 0, "ok_runs": 0}
                    continue
                cells[w["id"]][c["id"]] = summarize(runs_by[w["id"]][c["id"]], base, w["kind"])
            ht = runs_by[w["id"]].get("heaptrack")
            vs[w["id"]] = {}
            if ht:
                for c in ("exact1", "exact", "sampled"):
                    if runs_by[w["id"]].get(c):
                        vs[w["id"]][c] = pairwise(ht, runs_by[w["id"]][c])
                        vs[w["id"]][c + "_cpu"] = pairwise(ht, runs_by[w["id"]][c], "cpu_s")
        ex = export_bench(sizes, tmp, max(timeout, 300)) if (
            not args.workloads or "export" in csv_list(args.workloads)) else []
        short = short_bench(1 if smoke else 3 if quick else 5, tmp, max(timeout, 120)) if (
            not args.workloads or "short" in csv_list(args.workloads)) else None
        symcache = symcache_cost(tmp, timeout)
        slope = None
        pts = [(e["report"]["tracked_blocks"], e["report"]["tracer_overhead_bytes"])
               for e in ex if e.get("report") and e["report"].get("tracked_blocks")
               and e["report"].get("tracer_overhead_bytes") is not None]
        if len(pts) >= 2 and pts[-1][0] != pts[-2][0]:
            slope = (pts[-1][1] - pts[-2][1]) / (pts[-1][0] - pts[-2][0])
        res = {
            "machine": m,
            "settings": {"mode": mode, "quick": quick, "smoke": smoke, "runs": runs,
                         "warmup": warmup, "threads": threads, "timeout_s": timeout,
                         "sizes": sizes},
            "configs": [{"id": c["id"], "label": c["label"], "env": c["env"],
                         "preload": bool(c.get("preload")), "absent": c.get("absent")} for c in cfgs],
            "workloads": [{k: v for k, v in w.items() if k in
                           ("id", "label", "kind", "argv", "env", "churn_threads", "absent")}
                          for w in wls],
            "cells": cells,
            "vs_heaptrack": vs,
            "export": ex,
            "short": short,
            "symcache": symcache,
            "rec_size": rec_size(),
            "memory_slope": slope,
            "raw_runs": runs_by,
        }
        res["targets"] = targets(res)
        res["elapsed_s"] = time.time() - started
        res["machine"]["loadavg_end"] = loadavg()
        md = markdown(res)
        os.makedirs(args.out, exist_ok=True)
        for name, text in (("latest.md", md + "\n"),
                           ("latest.json", json.dumps(res, indent=1, allow_nan=False) + "\n")):
            path = os.path.join(args.out, name)
            with open(path + ".tmp", "w") as f:
                f.write(text)
            os.replace(path + ".tmp", path)
        print(md)
        log(f"bench: written {os.path.join(args.out, 'latest.md')} and latest.json "
            f"({res['elapsed_s']:.0f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
