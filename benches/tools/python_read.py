#!/usr/bin/env python3
"""Issue 17's throughput bar: `rdb_toolkit.read(...)` into a `pyarrow.Table` against the
CLI's Parquet export of the same dump, interleaved in the same rounds.

    PY=/path/to/venv/bin/python python3 benches/tools/python_read.py RDB_CONVERT DUMP [--rounds 3]

PY is a Python with `rdb_toolkit` installed from a release wheel (`pip wheel ./python`).
Each round runs, in turn (order reversed every other round): the CLI export
(`--format parquet -o DIR`), `read(DUMP, "keys").read_all()`, and every table read one
after the other (`read` decodes one table per pass, the export all tables in one pass).
Each Python run is a fresh process (import included). Prints medians and ratios.
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

KEYS = "import rdb_toolkit, sys; t = rdb_toolkit.read(sys.argv[1], 'keys').read_all(); print(t.num_rows)"
ALL = (
    "import rdb_toolkit, sys\n"
    "n = 0\n"
    "for name in rdb_toolkit.TABLES:\n"
    "    n += rdb_toolkit.read(sys.argv[1], name).read_all().num_rows\n"
    "print(n)"
)


def timed(argv):
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed: {p.stderr[-800:]}")
    return wall, p.stdout.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rdb_convert")
    ap.add_argument("dump")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    py = os.environ.get("PY", sys.executable)
    out = tempfile.mkdtemp(prefix="pyread-")
    runs = {
        "CLI export (--format parquet -o DIR)": lambda: [
            a.rdb_convert, a.dump, "--format", "parquet", "-o", os.path.join(out, "pq"),
            "--no-progress", "--overwrite"],
        "read(DUMP, 'keys').read_all()": lambda: [py, "-c", KEYS, a.dump],
        "every table: read(DUMP, t).read_all()": lambda: [py, "-c", ALL, a.dump],
    }
    times = {k: [] for k in runs}
    rows = {}
    try:
        for r in range(a.rounds):
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            for name in order:
                wall, printed = timed(runs[name]())
                times[name].append(wall)
                rows[name] = printed
                print(f"round {r + 1}: {name}: {wall:.2f} s", file=sys.stderr)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    cli = statistics.median(times["CLI export (--format parquet -o DIR)"])
    size = os.path.getsize(a.dump) / 1e6
    print(f"dump: {a.dump} ({size:.0f} MB), {a.rounds} rounds, load {os.getloadavg()[0]:.2f}\n")
    print("| run | median s | MB/s | ÷ CLI export | rows |")
    print("|---|--:|--:|--:|--:|")
    for name in runs:
        m = statistics.median(times[name])
        print(f"| {name} | {m:.2f} | {size / m:.0f} | {m / cli:.2f} | {rows.get(name, '')} |")


if __name__ == "__main__":
    main()
