#!/usr/bin/env python3
"""Issue 17: Spark in local mode reading shard dumps through ``format("rdb")``, against the
CLI reading the same dumps, one after the other in each round.

    PY=... python3 benches/tools/spark_read.py RDB_CONVERT DIR [--rounds 3] [--cores 2]

Run with a Python that has pyspark and rdb_toolkit (from a release wheel: put its unpacked
directory first on PYTHONPATH). The Spark session starts once (its start-up time is printed
apart); each round then counts the rows of `keys` and of every table with Spark, and runs
`rdb-convert DIR/*.rdb --format parquet -o OUT` for reference (DIR holds the shard dumps).
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rdb_convert")
    ap.add_argument("dir")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2)
    a = ap.parse_args()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession
    import rdb_toolkit
    import rdb_toolkit.spark

    t0 = time.perf_counter()
    spark = (
        SparkSession.builder.master(f"local[{a.cores}]")
        .appName("rdb_toolkit-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    rdb_toolkit.spark.register(spark)
    startup = time.perf_counter() - t0
    src = os.path.abspath(a.dir)
    paths = sorted(os.path.join(src, n) for n in os.listdir(src) if n.endswith(".rdb"))
    size = sum(os.path.getsize(p) for p in paths) / 1e6
    out = tempfile.mkdtemp(prefix="sparkread-")

    def spark_keys():
        df = spark.read.format("rdb").option("table", "keys").load(src)
        return df.count(), df.rdd.getNumPartitions()

    def spark_all():
        n = 0
        for t in rdb_toolkit.TABLES:
            n += spark.read.format("rdb").option("table", t).load(src).count()
        return n, None

    def cli():
        subprocess.run([a.rdb_convert, *paths, "--format", "parquet", "-o", os.path.join(out, "pq"),
                        "--no-progress", "--overwrite"], check=True, stdout=subprocess.DEVNULL)
        return None, None

    runs = {"Spark: keys count": spark_keys, "Spark: every table's count": spark_all,
            "CLI export (--format parquet)": cli}
    times = {k: [] for k in runs}
    seen = {}
    for r in range(a.rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            t = time.perf_counter()
            seen[name] = runs[name]()
            times[name].append(time.perf_counter() - t)
            print(f"round {r + 1}: {name}: {times[name][-1]:.2f} s", file=sys.stderr)
    spark.stop()
    shutil.rmtree(out, ignore_errors=True)
    print(f"{len(paths)} shards, {size:.0f} MB in all, local[{a.cores}], {a.rounds} rounds, "
          f"session start {startup:.1f} s (not counted), load {os.getloadavg()[0]:.2f}\n")
    print("| run | median s | MB/s | rows | partitions |")
    print("|---|--:|--:|--:|--:|")
    for name in runs:
        m = statistics.median(times[name])
        rows, parts = seen[name]
        print(f"| {name} | {m:.2f} | {size / m:.0f} | {rows if rows is not None else ''} | {parts or ''} |")


if __name__ == "__main__":
    main()
