#!/usr/bin/env python3
"""Whole-command benchmark of one dataset; called by benches/compare.sh.

    bench.py --dataset NAME --bin DIR [--peers rdbtools,rdb-rs] [--redis-load-runs N]

For every command: wall time over several runs (hyperfine when installed, else our own
timer; the median is reported), and one extra run under `/usr/bin/time -v` for the peak RSS
(and exit status), during which /proc/PID/status is sampled every 2 ms for the peak anonymous
RSS (RssAnon: heap and stacks, without the mapped dump, which is page cache) and stdout is
counted. redis-server loading is timed here: start to the first +PONG (not -LOADING).

Writes benches/results/NAME.json (raw numbers) and benches/results/NAME.md (the table).
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CACHE = os.path.join(REPO, ".bench-cache")
DATASETS = os.path.join(CACHE, "datasets")
RESULTS = os.path.join(REPO, "benches", "results")
MIB = 1024 * 1024


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def rel(path):
    """Path as shown in the report: relative to the repository."""
    return os.path.relpath(path, REPO)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def wait_for_quiet(max_wait, threshold=1.5):
    """Waits (up to max_wait seconds) for the 1-minute load to drop below threshold."""
    start = time.time()
    la = loadavg()
    while la > threshold and time.time() - start < max_wait:
        log(f"load average {la:.2f} > {threshold}: waiting")
        time.sleep(15)
        la = loadavg()
    return la


# -- peak RSS / anon RSS -------------------------------------------------------------------


def read_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmRSS:", "RssAnon:", "RssFile:")):
                    k, v = line.split(":", 1)
                    out[k] = int(v.split()[0]) * 1024
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return out


def child_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except (FileNotFoundError, ProcessLookupError):
        return None


def rss_run(argv, timeout, prepare=None):
    """One run under /usr/bin/time -v with RssAnon sampling. Returns a dict."""
    if prepare:
        subprocess.run(prepare, shell=True, check=True)
    with tempfile.NamedTemporaryFile("r", suffix=".time", delete=False) as tf:
        timefile = tf.name
    counts = {"bytes": 0, "lines": 0}

    def drain(pipe):
        while True:
            chunk = pipe.read(1 << 20)
            if not chunk:
                break
            counts["bytes"] += len(chunk)
            counts["lines"] += chunk.count(b"\n")

    t0 = time.perf_counter()
    p = subprocess.Popen(
        ["/usr/bin/time", "-v", "-o", timefile] + argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    err_chunks = []
    t_out = threading.Thread(target=drain, args=(p.stdout,))
    t_err = threading.Thread(target=lambda: err_chunks.append(p.stderr.read()))
    t_out.start()
    t_err.start()
    peak_anon = 0
    samples = 0
    child = None
    while p.poll() is None:
        if child is None:
            child = child_of(p.pid)
        if child is not None:
            st = read_status(child)
            if st and "RssAnon" in st:
                samples += 1
                peak_anon = max(peak_anon, st["RssAnon"])
        if time.perf_counter() - t0 > timeout:
            p.kill()
            break
        time.sleep(0.002)
    p.wait()
    t_out.join()
    t_err.join()
    wall = time.perf_counter() - t0
    tv = {}
    signalled = None
    with open(timefile) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Command terminated by signal"):
                signalled = 128 + int(line.split()[-1])
            elif ": " in line:
                k, v = line.rsplit(": ", 1)
                tv[k.strip()] = v.strip()
    os.unlink(timefile)
    status = signalled if signalled is not None else int(tv.get("Exit status", "-1") or -1)
    return {
        "exit_status": status,
        "stderr": (b"".join(err_chunks)).decode(errors="replace")[-2000:],
        "wall_s": wall,
        "peak_rss_bytes": int(tv.get("Maximum resident set size (kbytes)", "0")) * 1024,
        "peak_anon_bytes": peak_anon if samples else None,
        "anon_samples": samples,
        "stdout_bytes": counts["bytes"],
        "stdout_lines": counts["lines"],
    }


# -- timing ----------------------------------------------------------------------------------


def time_runs(argv, est_s, min_runs, prepare=None):
    """Median wall time of argv (stdout/stderr to /dev/null)."""
    warmup = 1 if est_s < 5 else 0
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tf:
            out = tf.name
        max_runs = max(min_runs, 30 if est_s < 1 else 10)
        cmd = [
            "hyperfine", "-N", "--style", "none", "--warmup", str(warmup),
            "--min-runs", str(min_runs), "--max-runs", str(max_runs),
            "--export-json", out,
        ]
        if prepare:
            cmd += ["--prepare", prepare]
        cmd.append(subprocess.list2cmdline(argv))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            r = json.load(f)["results"][0]
        os.unlink(out)
        times = r["times"]
        cpu = (r.get("user") or 0.0) + (r.get("system") or 0.0)
        tool = "hyperfine"
    else:
        def prep():
            if prepare:
                subprocess.run(prepare, shell=True, check=True)

        for _ in range(warmup):
            prep()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times = []
        for _ in range(max(min_runs, 3)):
            prep()
            t0 = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t0)
        cpu = None
        tool = "timer"
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "stddev_s": statistics.stdev(times) if len(times) > 1 else 0.0,
        "runs": len(times),
        "timer": tool,
        "cpu_s": cpu,
    }


# -- redis-server load -------------------------------------------------------------------------


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def redis_load_once(server, env, dump, timeout):
    d = tempfile.mkdtemp(prefix="load.", dir=os.path.join(CACHE, "tmp"))
    os.link(dump, os.path.join(d, "dump.rdb"))
    port = free_port()
    argv = [
        server, "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
        "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
        "--protected-mode", "no", "--daemonize", "no", "--logfile", os.path.join(d, "log"),
    ]
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ready = None
    hwm = anon = 0
    try:
        while ready is None:
            if p.poll() is not None:
                raise RuntimeError(f"{server} exited with {p.returncode}; see {d}/log")
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"{server} did not finish loading in {timeout} s")
            st = read_status(p.pid)
            if st:
                anon = max(anon, st.get("RssAnon", 0))
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                    while True:
                        s.sendall(b"PING\r\n")
                        reply = s.recv(256)
                        if reply.startswith(b"+PONG"):
                            ready = time.perf_counter() - t0
                            break
                        if not reply:
                            break
                        st = read_status(p.pid)
                        if st:
                            anon = max(anon, st.get("RssAnon", 0))
                        time.sleep(0.001)
            except OSError:
                time.sleep(0.001)
        st = read_status(p.pid) or {}
        cpu = proc_cpu(p.pid)
        hwm = st.get("VmHWM", 0)
        anon = max(anon, st.get("RssAnon", 0))
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()
        shutil.rmtree(d, ignore_errors=True)
    return ready, hwm, anon, cpu


def proc_cpu(pid):
    """user+sys CPU seconds of a live process (all threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def redis_load(server, env, dump, runs, timeout):
    times, hwms, anons, cpus = [], [], [], []
    # One warm-up load (page cache, binary), then the measured ones.
    redis_load_once(server, env, dump, timeout)
    for _ in range(runs):
        t, hwm, anon, cpu = redis_load_once(server, env, dump, timeout)
        cpus.append(cpu)
        times.append(t)
        hwms.append(hwm)
        anons.append(anon)
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "stddev_s": statistics.stdev(times) if len(times) > 1 else 0.0,
        "runs": len(times),
        "timer": "start→PONG",
        "cpu_s": statistics.median(cpus) if None not in cpus else None,
        "peak_rss_bytes": max(hwms),
        "peak_anon_bytes": max(anons),
        "exit_status": 0,
    }


# -- report ------------------------------------------------------------------------------------


def fmt_mib(b):
    return "—" if b is None else f"{b / MIB:,.1f}"


def fmt_time(s):
    return f"{s * 1000:,.1f} ms" if s < 1 else f"{s:,.2f} s"


def write_report(res):
    name = res["dataset"]
    rows = res["rows"]
    floor = next((r for r in rows if r["id"] == "cat" and r.get("median_s")), None)
    json_row = next((r for r in rows if r["id"] == "json" and r.get("median_s")), None)
    lines = []
    meta = res["meta"]
    lines.append(f"### {name}")
    lines.append("")
    lines.append(
        f"`{meta['file']}`: {meta['bytes'] / 1e6:,.1f} MB ({meta['magic']}, Redis {meta['server_version']}), "
        f"{meta['keys']:,} keys ({meta['expires']:,} with expiry), largest value ≈ "
        f"{res['largest_value_bytes'] / 1e6:,.1f} MB. Load average before/after: "
        f"{res['load_before']:.2f} / {res['load_after']:.2f}."
    )
    lines.append("")
    lines.append(
        "| command | input | median time | CPU (user+sys) | MB/s | MB/s per CPU-s | keys/s "
        "| peak RSS (MiB) | peak anon RSS (MiB) | × floor time | peer ÷ rdb-convert | load |"
    )
    lines.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        if r.get("failed"):
            lines.append(f"| {r['label']} | {r['input']} | **failed**: {r['failed']} | | | | | | | | | |")
            continue
        cpu = "—" if r.get("cpu_s") is None else fmt_time(r["cpu_s"])
        cpu_mbs = "—" if not r.get("cpu_s") else f"{r['input_bytes'] / 1e6 / r['cpu_s']:,.0f}"
        load = "—" if r.get("load") is None else f"{r['load']:.2f}"
        t = r["median_s"]
        mbs = r["input_bytes"] / 1e6 / t
        keys = f"{res['meta']['keys'] / t:,.0f}" if r.get("per_key", True) else "—"
        xfloor = f"{t / floor['median_s']:,.1f}" if floor else "—"
        vs = "—"
        if json_row and r["id"] != "json" and r.get("peer", False):
            vs = f"**{t / json_row['median_s']:,.1f}×**"
        lines.append(
            f"| {r['label']} | {r['input']} | {fmt_time(t)} (±{fmt_time(r['stddev_s'])}, "
            f"{r['runs']} runs) | {cpu} | {mbs:,.0f} | {cpu_mbs} | {keys} | {fmt_mib(r.get('peak_rss_bytes'))} "
            f"| {fmt_mib(r.get('peak_anon_bytes'))} | {xfloor} | {vs} | {load} |"
        )
    lines.append("")
    notes = [r for r in rows if r.get("note")]
    for r in notes:
        lines.append(f"- {r['label']}: {r['note']}")
    if notes:
        lines.append("")
    lines.append("Commands (stdout to /dev/null; `$D` = `.bench-cache/datasets`, `$B` = `.bench-cache/bin`):")
    lines.append("")
    lines.append("```")
    for r in rows:
        lines.append(r["shown"])
    lines.append("```")
    lines.append("")
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, f"{name}.md"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(RESULTS, f"{name}.json"), "w") as f:
        json.dump(res, f, indent=1)


# -- main --------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite results/NAME.md from results/NAME.json without measuring")
    ap.add_argument("--bin", help="directory with rdb-convert, crc64, scan")
    ap.add_argument("--peers", default="rdbtools,rdb-rs")
    ap.add_argument("--redis-load-runs", type=int, default=3)
    ap.add_argument("--min-runs", type=int, default=3)
    ap.add_argument("--max-wait", type=int, default=300, help="max seconds to wait for a quiet machine")
    ap.add_argument("--timeout", type=int, default=1800, help="per-run timeout, seconds")
    args = ap.parse_args()

    name = args.dataset
    if args.render_only:
        with open(os.path.join(RESULTS, f"{name}.json")) as f:
            write_report(json.load(f))
        return
    if not args.bin:
        ap.error("--bin is required")
    f70 = os.path.join(DATASETS, f"{name}-r70.rdb")
    f62 = os.path.join(DATASETS, f"{name}-r62.rdb")
    with open(os.path.join(DATASETS, f"{name}-r70.meta.json")) as f:
        meta = json.load(f)
    gen = meta["generator"]
    largest = max(gen["values"].values()) if "values" in gen else gen.get("largest_value_bytes", 0)
    peers = set(p for p in args.peers.split(",") if p)
    B = os.path.abspath(args.bin)
    venv = os.path.join(CACHE, "venv", "bin")
    rdbrs = os.path.join(CACHE, "rdb-rs", "bin", "rdb")
    servers = {}
    env_file = os.path.join(REPO, ".test-deps", "servers.env")
    if os.path.exists(env_file):
        for line in open(env_file):
            if "=" in line and not line.startswith("#"):
                k, v = line.strip().split("=", 1)
                servers[k] = v
    r70 = servers.get("RDB_TEST_REDIS70", "/usr/bin/redis-server")

    def show(argv):
        s = subprocess.list2cmdline(argv)
        return s.replace(DATASETS + "/", "$D/").replace(B + "/", "$B/").replace(REPO + "/", "")

    # id, label, input file, argv, is-peer, counts keys
    cmds = [
        ("cat", "floor: `cat` (page cache)", f70, ["cat", f70], False, False),
        ("crc64", "floor: CRC64 alone (`crc64` example)", f70, [f"{B}/crc64", f70], False, False),
        ("scan", "scan + CRC (`scan` example)", f70, [f"{B}/scan", f70], False, True),
        ("scan-nocrc", "scan, no CRC (`scan --no-crc`)", f70, [f"{B}/scan", "--no-crc", f70], False, True),
        ("decode", "full decode, no CRC (`scan --decode --no-crc`)", f70,
         [f"{B}/scan", "--decode", "--no-crc", f70], False, True),
        ("json", "**rdb-convert** (JSON)", f70, [f"{B}/rdb-convert", f70], False, True),
        ("json-nocrc", "rdb-convert --no-verify-checksum", f70,
         [f"{B}/rdb-convert", "--no-verify-checksum", f70], False, True),
        ("json-1t", "rdb-convert (JSON), one thread", f70,
         ["env", "RAYON_NUM_THREADS=1", f"{B}/rdb-convert", f70], False, True),
    ]
    # Parquet and a scan-only mode, when this rdb-convert has them.
    help_text = subprocess.run([f"{B}/rdb-convert", "--help"], capture_output=True, text=True).stdout
    prepares = {}
    if "parquet" in help_text.lower():
        pq = os.path.join(CACHE, "tmp", "parquet-out")
        argv = [f"{B}/rdb-convert", "--format", "parquet", "--output", pq]
        if "--overwrite" in help_text:
            argv.append("--overwrite")
        cmds.append(("parquet", "rdb-convert --format parquet", f70, argv + [f70], False, True))
        prepares["parquet"] = f"rm -rf {pq}"
    if re.search(r"^\s+info\s", help_text, re.M):
        cmds.append(("info", "rdb-convert info (scan-only report)", f70,
                     [f"{B}/rdb-convert", "info", f70], False, True))
    if "rdb-rs" in peers:
        cmds.append(("rdb-rs", "peer: Rust `rdb` crate 0.4 CLI (`rdb -f json`)", f70,
                     [rdbrs, "-f", "json", f70], True, True))
    if "rdbtools" in peers:
        cmds.append(("rdbtools", "peer: redis-rdb-tools (`rdb --command json`)", f62,
                     [f"{venv}/rdb", "--command", "json", f62], True, True))

    la0 = wait_for_quiet(args.max_wait)
    # If the machine stayed busy for the whole wait, do not wait again before each command
    # (someone else's long job); the load is recorded per row instead.
    per_cmd_wait = 60 if la0 <= 1.5 else 0
    log(f"{name}: {meta['bytes'] / 1e6:.1f} MB, {meta['keys']} keys; load {la0:.2f}")
    # Warm the page cache for both files.
    for path in (f70, f62):
        subprocess.run(["cat", path], stdout=subprocess.DEVNULL, check=True)

    rows = []
    for cid, label, path, argv, is_peer, per_key in cmds:
        row = {
            "id": cid, "label": label, "input": os.path.basename(path), "input_bytes": os.path.getsize(path),
            "argv": argv, "shown": show(argv), "peer": is_peer, "per_key": per_key,
        }
        log(f"{name}: {cid}: RSS run")
        timeout = args.timeout
        base = next((r for r in rows if r["id"] == "json" and "wall_s" in r), None)
        if cid == "json-1t" and base:
            # One thread should take at most ~2× the default; a hang must not stall the run.
            timeout = max(60, 20 * base["wall_s"])
        rr = rss_run(argv, timeout, prepares.get(cid))
        row.update(rr)
        if rr["wall_s"] >= timeout:
            row["failed"] = f"no output after {timeout:.0f} s (killed; {rr['stdout_lines']} lines written): hangs"
            log(f"{name}: {cid}: FAILED: {row['failed']}")
            rows.append(row)
            continue
        if rr["exit_status"] != 0:
            first = rr["stderr"].strip().splitlines()
            reason = next((l for l in first if "panicked" in l or "rror" in l), first[-1] if first else "")
            row["failed"] = f"exit {rr['exit_status']}: `{reason.strip()[:200]}`"
            log(f"{name}: {cid}: FAILED: {row['failed']}")
            rows.append(row)
            continue
        if cid.startswith("json") and rr["stdout_lines"] != meta["keys"]:
            row["note"] = f"wrote {rr['stdout_lines']} lines for {meta['keys']} keys"
        log(f"{name}: {cid}: timing (one run took {rr['wall_s']:.2f} s)")
        row["load"] = wait_for_quiet(per_cmd_wait)
        row.update(time_runs(argv, rr["wall_s"], args.min_runs, prepares.get(cid)))
        log(f"{name}: {cid}: median {row['median_s']:.3f} s over {row['runs']} runs; "
            f"{row['input_bytes'] / 1e6 / row['median_s']:.0f} MB/s; peak RSS {row['peak_rss_bytes'] / MIB:.1f} MiB")
        rows.append(row)

    # redis-server loading the same file.
    row = {
        "id": "redis-load", "label": "redis-server 7.0 loading the dump (start → PONG)",
        "input": os.path.basename(f70), "input_bytes": os.path.getsize(f70), "peer": True, "per_key": True,
        "shown": f"{r70} --dir <tmp with dump.rdb linked> --dbfilename dump.rdb --save '' "
                 f"--appendonly no --port P   # then PING until +PONG",
    }
    log(f"{name}: redis-server load x{args.redis_load_runs}")
    row["load"] = wait_for_quiet(per_cmd_wait)
    try:
        row.update(redis_load(r70, dict(os.environ), f70, args.redis_load_runs, args.timeout))
        log(f"{name}: redis-load: median {row['median_s']:.3f} s")
    except Exception as e:  # noqa: BLE001
        row["failed"] = str(e)
    rows.insert(next((i for i, r in enumerate(rows) if r.get("peer")), len(rows)), row)

    res = {
        "dataset": name,
        "meta": meta,
        "largest_value_bytes": largest,
        "load_before": la0,
        "load_after": loadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rows": rows,
    }
    write_report(res)
    log(f"{name}: wrote {rel(os.path.join(RESULTS, name + '.md'))}")


if __name__ == "__main__":
    main()
