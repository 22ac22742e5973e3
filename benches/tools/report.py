#!/usr/bin/env python3
"""Assembles benches/RESULTS.md from benches/results/*.json (written by bench.py).

Every dataset with a results file is included (quick and full runs can be made at different
times; each table carries its own date). The hand-written section between the
`<!-- notes:begin -->` and `<!-- notes:end -->` markers of the existing RESULTS.md is kept.
"""

import json
import os
import re
import subprocess
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(REPO, ".bench-cache")
RESULTS_DIR = os.path.join(REPO, "benches", "results")
OUT = os.path.join(REPO, "benches", "RESULTS.md")
ORDER = ["cache-quick", "cache-250m", "cache-1g", "bigkeys"]
MIB = 1024 * 1024


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.rstrip()
    except Exception:  # noqa: BLE001
        return ""


def machine():
    model = sh("lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1")
    lines = [
        f"- CPU: {model or 'unknown'}; `nproc` = {sh('nproc')}",
        f"- Kernel: {sh('uname -sr')}",
        "- Memory (`free -h`):",
        "",
        "```",
        sh("free -h"),
        "```",
    ]
    return lines


def versions():
    build = {}
    p = os.path.join(CACHE, "bin", "BUILD")
    if os.path.exists(p):
        for line in open(p):
            if "=" in line:
                k, v = line.strip().split("=", 1)
                build[k] = v
    rdbtools = sh(f"{CACHE}/venv/bin/pip show rdbtools 2>/dev/null | sed -n 's/^Version: //p'")
    lzf = sh(f"{CACHE}/venv/bin/pip show python-lzf 2>/dev/null | sed -n 's/^Version: //p'")
    return [
        f"- rdb-convert: commit {build.get('commit', '?')}"
        + (f" (+{build['dirty']} uncommitted changes under crates/)" if build.get("dirty", "0") != "0" else "")
        + f", {build.get('rustc', '')}, release profile (thin LTO)",
        f"- redis-server: {sh('/usr/bin/redis-server --version')}",
        f"- redis-rdb-tools {rdbtools or '?'} with python-lzf {lzf or '?'} ({sh(CACHE + '/venv/bin/python --version')})",
        "- Rust `rdb` crate CLI 0.4.0 (`cargo install rdb --version 0.4.0`)",
        f"- timer: {sh('hyperfine --version') or 'built-in median timer'}; peak RSS: GNU time (`/usr/bin/time -v`)",
    ]


def datasets(results):
    lines = [
        "Built by `benches/gen-datasets.sh`: `benches/tools/gen_dataset.py` writes seeded RESP",
        "commands, `redis-cli --pipe` feeds them to a scratch Redis 7.0 (and Redis 6.2 for",
        "`-r62`), which SAVEs. Cached in `.bench-cache/datasets/` by name + generator version.",
        "",
        "| dataset | dump (Redis 7.0) | keys | with expiry | keys by generator kind |",
        "|---|--:|--:|--:|---|",
    ]
    for res in results:
        m = res["meta"]
        kinds = m["generator"].get("kinds", {})
        k = ", ".join(f"{n} {c:,}" for n, c in sorted(kinds.items(), key=lambda kv: -kv[1]))
        if "values" in m["generator"]:
            k += "; big values: " + ", ".join(
                f"`{n}` {v / 1e6:,.0f} MB" for n, v in m["generator"]["values"].items())
        lines.append(f"| {res['dataset']} | {m['bytes'] / 1e6:,.1f} MB | {m['keys']:,} | {m['expires']:,} | {k} |")
    return lines


def row(res, rid):
    return next((r for r in res["rows"] if r["id"] == rid and not r.get("failed") and r.get("median_s")), None)


def mbs(r):
    return r["input_bytes"] / 1e6 / r["median_s"]


def verdict(ok):
    return "✅ met" if ok else "❌ missed"


def targets(results):
    lines = [
        "| target | " + " | ".join(res["dataset"] for res in results) + " |",
        "|---|" + "---|" * len(results),
    ]

    def line(label, fn):
        cells = []
        for res in results:
            try:
                cells.append(fn(res))
            except (TypeError, KeyError, ZeroDivisionError):
                cells.append("—")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    def thr(rid, goal):
        def f(res):
            r = row(res, rid)
            v = mbs(r)
            s = f"{v:,.0f} MB/s {verdict(v >= goal)}"
            if r.get("cpu_s"):
                c = r["input_bytes"] / 1e6 / r["cpu_s"]
                s += f" ({c:,.0f} per CPU-s)"
            return s
        return f

    def ratio(peer, goal):
        def f(res):
            j, p = row(res, "json"), row(res, peer)
            if p is None:
                return "not run"
            v = p["median_s"] / j["median_s"]
            return f"{v:,.1f}× {verdict(v >= goal)}"
        return f

    def rss(res):
        j = row(res, "json")
        limit = 64 * MIB + res["largest_value_bytes"]
        anon = j.get("peak_anon_bytes")
        total = j["peak_rss_bytes"]
        s = f"peak RSS {total / MIB:,.0f} MiB, anon {anon / MIB:,.1f} MiB" if anon is not None else f"peak RSS {total / MIB:,.0f} MiB"
        s += f" (limit {limit / MIB:,.0f} MiB): "
        s += f"anon {verdict(anon is not None and anon <= limit)}, total {verdict(total <= limit)}"
        return s

    line("scan + CRC ≥ 1.5 GB/s, one core (`scan` example)", thr("scan", 1500))
    line("  the same through the CLI (`rdb-convert info`)",
         lambda res: thr("info", 1500)(res) if row(res, "info") else "no `info` in this build")
    line("full decode ≥ 1 GB/s per core (`scan --decode --no-crc`)", thr("decode", 1000))
    line("JSON ≥ 400 MB/s on 2 cores (`rdb-convert`, all cores)", thr("json", 400))

    def info(rid):
        def f(res):
            r = row(res, rid)
            return f"{mbs(r):,.0f} MB/s" + (f" ({r['input_bytes'] / 1e6 / r['cpu_s']:,.0f} per CPU-s)" if r.get("cpu_s") else "")
        return f

    line("(for reference) JSON on one thread (`RAYON_NUM_THREADS=1`)", info("json-1t"))
    line("Parquet ≥ 200 MB/s on 2 cores (`rdb-convert --format parquet`)",
         lambda res: thr("parquet", 200)(res) if row(res, "parquet") else "not measured (no Parquet output in this build)")
    line("≥ 10× faster than redis-server loading", ratio("redis-load", 10))
    line("≥ 50× faster than redis-rdb-tools", ratio("rdbtools", 50))
    line("peak RSS ≤ 64 MiB + largest value", rss)
    return lines


def main():
    results = []
    for name in ORDER + sorted(
        f[:-5] for f in os.listdir(RESULTS_DIR) if f.endswith(".json") and f[:-5] not in ORDER
    ):
        p = os.path.join(RESULTS_DIR, f"{name}.json")
        if os.path.exists(p):
            res = json.load(open(p))
            # Other scripts' results (benches/s3.sh's hyperfine export) live here too.
            if "meta" in res:
                results.append(res)
    if not results:
        sys.exit("no results in benches/results/: run benches/compare.sh first")

    notes = ""
    if os.path.exists(OUT):
        m = re.search(r"<!-- notes:begin -->\n(.*?)<!-- notes:end -->", open(OUT).read(), re.S)
        if m:
            notes = m.group(1)
    if not notes.strip():
        notes = "_(observations go here; kept when the report is regenerated)_\n"

    out = [
        "# Benchmark results",
        "",
        "Regenerate everything with `benches/run-all.sh` (datasets, comparison, this file), or",
        "`benches/compare.sh quick` for the ~50 MB dataset only. Per-dataset tables and raw numbers:",
        "`benches/results/DATASET.{md,json}`. Datasets are made by real Redis servers from",
        "`benches/tools/gen_dataset.py`'s seeded commands (`benches/gen-datasets.sh`).",
        "",
        "## Datasets",
        "",
        *datasets(results),
        "",
        "## Machine",
        "",
        *machine(),
        "",
        "## Software",
        "",
        *versions(),
        "",
        "## Against the targets (issue 4)",
        "",
        *targets(results),
        "",
        "<!-- notes:begin -->",
        notes.rstrip("\n"),
        "<!-- notes:end -->",
        "",
        "## How it is measured",
        "",
        "- Whole commands, file in the page cache (warmed first), stdout to /dev/null. Time: the",
        "  median of hyperfine runs (`hyperfine -N --warmup 1 --min-runs 3`; at least 3 s of runs,",
        "  at most 30), or of ≥ 3 runs of the built-in timer when hyperfine is missing.",
        "- MB/s = input file size (10^6 bytes) / median time; keys/s = keys in the dump / median time.",
        "- Peak RSS: `/usr/bin/time -v` (Maximum resident set size) of one extra run. It includes",
        "  the pages of the memory-mapped dump that were touched (page cache, not allocated memory).",
        "  Peak anon RSS: the largest `RssAnon` seen sampling `/proc/PID/status` every 2 ms during",
        "  that run (heap and stacks only; may miss a peak shorter than 2 ms; — when the run was",
        "  too short to sample).",
        "- `× floor time`: median time / `cat`'s median time. `peer ÷ rdb-convert`: the peer's median",
        "  time / `rdb-convert` (JSON)'s, on the same keyspace (> 1: we are faster).",
        "- CPU: user+sys seconds (hyperfine's mean; for redis-server, /proc/PID/stat at PONG).",
        "  MB/s per CPU-s divides by it: closer to what a dedicated core would give when the",
        "  machine is shared (`load` = 1-minute load average when the command was timed).",
        "- redis-server: Redis 7.0.15 started with the dump linked into its `--dir`; time from",
        "  `exec` to the first `+PONG` (PING answers `-LOADING` while it loads), one warm-up load",
        "  then 3 measured; peak RSS is its VmHWM at that moment. Then SIGKILL (no save).",
        "- redis-rdb-tools reads RDB ≤ 9 only, so it reads the Redis 6.2 dump of the same keyspace",
        "  (`NAME-r62.rdb`, same commands, ziplist encodings; within 1 % of the size).",
        "- `crc64` and `scan` are examples in `crates/rdb-format/examples/` (they map the file",
        "  like rdb-convert): `crc64` checksums the file; `scan` walks records skipping values",
        "  (verifying the CRC unless `--no-crc`), or decodes every element with `--decode`.",
        "",
    ]
    for res in results:
        md = open(os.path.join(RESULTS_DIR, f"{res['dataset']}.md")).read()
        out.append(f"## {res['dataset']} ({res['date']})")
        out.append("")
        out.append(md.split("\n", 2)[2] if md.startswith("### ") else md)
    with open(OUT, "w") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")
    print(f"wrote {os.path.relpath(OUT, REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
