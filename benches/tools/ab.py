#!/usr/bin/env python3
"""Interleaved A/B of whole commands: two rdb-convert binaries, same dump, same moment.

    python3 benches/tools/ab.py OLD_BIN NEW_BIN DUMP... [--rounds 3] [--commands json,parquet,info,memory,keys]

Each round runs every command with OLD then NEW (then NEW then OLD on the next round), so
drift on a noisy machine hits both alike; redis-server loading the same dump (start to
PONG; with several dumps, the sum of their loads) is measured in the same rounds as the
reference. Prints a Markdown table of medians:
wall seconds, the speed-up against redis-server's load, and peak RSS (GNU time's maximum
resident set, file pages of the mapped dump included).
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(__file__))
import bench  # noqa: E402  (redis_load_once, the servers' environment)

COMMANDS = {
    "json": lambda bin, dumps, out: [bin, *dumps, "-o", os.path.join(out, "out.json"), "--no-progress"],
    "parquet": lambda bin, dumps, out: [bin, *dumps, "--format", "parquet", "-o", os.path.join(out, "pq"), "--no-progress"],
    "info": lambda bin, dumps, out: [bin, "info", *dumps],
    "memory": lambda bin, dumps, out: [bin, "memory", *dumps, "-o", os.path.join(out, "m.csv")],
    "keys": lambda bin, dumps, out: [bin, *dumps, "--format", "keys", "-o", os.path.join(out, "keys.json"), "--no-progress"],
}


def timed(argv, env):
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M %U %S"] + argv, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{argv} failed: {p.stderr[-500:]}")
    rss, user, sys_ = p.stderr.strip().splitlines()[-1].split()
    return wall, int(rss) * 1024, float(user) + float(sys_)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old"); ap.add_argument("new"); ap.add_argument("dumps", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--commands", default="json,parquet,info,memory")
    ap.add_argument("--threads", default=None, help="RAYON_NUM_THREADS for both")
    a = ap.parse_args()
    env = dict(os.environ)
    if a.threads:
        env["RAYON_NUM_THREADS"] = a.threads
    server = os.environ.get("RDB_TEST_REDIS70", "/usr/bin/redis-server")
    cmds = a.commands.split(",")
    res = {(c, w): [] for c in cmds for w in ("old", "new")}
    loads = []
    os.makedirs(os.path.join(bench.CACHE, "tmp"), exist_ok=True)
    for dump in a.dumps:
        bench.redis_load_once(server, env, dump, 600)  # warm the page cache
    for r in range(a.rounds):
        loads.append(sum(bench.redis_load_once(server, env, d, 600)[0] for d in a.dumps))
        for c in cmds:
            order = [("old", a.old), ("new", a.new)]
            if r % 2:
                order.reverse()
            for which, bin in order:
                out = tempfile.mkdtemp(prefix="ab.", dir=os.path.join(bench.CACHE, "tmp"))
                try:
                    res[(c, which)].append(timed(COMMANDS[c](bin, a.dumps, out), env))
                finally:
                    shutil.rmtree(out, ignore_errors=True)
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    load = statistics.median(loads)
    mb = sum(os.path.getsize(d) for d in a.dumps) / 1e6
    names = " ".join(os.path.basename(d) for d in a.dumps)
    print(f"{names} ({mb:.1f} MB); redis-server load median {load:.2f} s "
          f"({a.rounds} rounds, each command old/new alternately)\n")
    # CPU time (user + system) is the steadier figure on a shared machine; wall is what
    # users see.
    print("| command | old wall | new wall | new/old | old CPU | new CPU | CPU new/old | old × redis load | new × redis load | old peak RSS | new peak RSS |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for c in cmds:
        o = statistics.median(w for w, _, _ in res[(c, "old")])
        n = statistics.median(w for w, _, _ in res[(c, "new")])
        co = statistics.median(u for _, _, u in res[(c, "old")])
        cn = statistics.median(u for _, _, u in res[(c, "new")])
        ro = max(m for _, m, _ in res[(c, "old")]) / 2**20
        rn = max(m for _, m, _ in res[(c, "new")]) / 2**20
        print(f"| {c} | {o:.2f} s | {n:.2f} s | {n / o:.2f} | {co:.2f} s | {cn:.2f} s | {cn / co:.2f} | "
              f"{load / o:.1f}× | {load / n:.1f}× | {ro:.0f} MiB | {rn:.0f} MiB |")


if __name__ == "__main__":
    main()
