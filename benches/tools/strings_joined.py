# strings_joined.py OLD NEW: the strings table of an export from before `piece` (one row per
# value) holds the values of a newer one, pieces joined in order. Needs the duckdb module.
import duckdb, sys
old, new = sys.argv[1:3]
con = duckdb.connect()
def load(d, pieces):
    cols = "key, key_raw, value, value_raw" + (", piece" if pieces else ", 0 as piece")
    out = {}
    for k, kr, v, vr, p in con.execute(f"select {cols} from read_parquet('{d}/strings/**/*.parquet', hive_partitioning=false) order by piece").fetchall():
        ident = (k, bytes(kr) if kr is not None else None)
        part = v.encode() if v is not None else bytes(vr)
        kind = "t" if v is not None else "b"
        prev = out.get(ident)
        if prev:
            assert prev[0] == kind, ident
            out[ident] = (kind, prev[1] + part, prev[2] + 1)
        else:
            out[ident] = (kind, part, 1)
    return out
a, b = load(old, False), load(new, True)
assert a.keys() == b.keys(), "keys differ"
diff = [k for k in a if a[k][:2] != b[k][:2]]
split = sum(1 for k in b if b[k][2] > 1)
print(f"strings: {len(a)} values, {split} split into pieces, {len(diff)} differ")
sys.exit(1 if diff else 0)
