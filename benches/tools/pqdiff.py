# pqdiff.py A B: every table of two Parquet exports holds the same rows (order-insensitive);
# exits 1 if one differs (or has other columns). Needs the duckdb Python module.
import duckdb, sys, os, glob
a, b = sys.argv[1:3]
tables = sorted({p.split('/')[0] for p in (os.path.relpath(x, a) for x in glob.glob(f"{a}/**/*.parquet", recursive=True))})
con = duckdb.connect()
bad = 0
for t in tables:
    qa = f"select * from read_parquet('{a}/{t}/**/*.parquet', hive_partitioning=false)"
    qb = f"select * from read_parquet('{b}/{t}/**/*.parquet', hive_partitioning=false)"
    ca = [d[0] for d in con.execute(f"{qa} limit 0").description]
    cb = [d[0] for d in con.execute(f"{qb} limit 0").description]
    if ca != cb:
        bad += 1
        print(f"{t:18} columns differ: {ca} vs {cb}  DIFFERENT")
        continue
    na = con.execute(f"select count(*) from ({qa})").fetchone()[0]
    nb = con.execute(f"select count(*) from ({qb})").fetchone()[0]
    d1 = con.execute(f"select count(*) from ({qa} except all {qb})").fetchone()[0]
    d2 = con.execute(f"select count(*) from ({qb} except all {qa})").fetchone()[0]
    sa = sum(os.path.getsize(x) for x in glob.glob(f"{a}/{t}/**/*.parquet", recursive=True))
    sb = sum(os.path.getsize(x) for x in glob.glob(f"{b}/{t}/**/*.parquet", recursive=True))
    ok = na == nb and d1 == 0 and d2 == 0
    bad += not ok
    print(f"{t:18} rows {na:>9} {nb:>9}  diff {d1}/{d2}  bytes {sa:>11} {sb:>11} ({sb/max(sa,1):.2f})  {'ok' if ok else 'DIFFERENT'}")
sys.exit(1 if bad else 0)
