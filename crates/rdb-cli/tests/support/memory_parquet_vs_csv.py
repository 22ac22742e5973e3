#!/usr/bin/env python3
"""Checks that a memory report written as Parquet (read with DuckDB, as a user would) holds
exactly the rows of the same report written as CSV, in the same order.

usage: memory_parquet_vs_csv.py REPORT.csv REPORT.parquet     prints the row count
"""
import csv
import datetime
import io
import sys

import duckdb

csv_path, parquet_path = sys.argv[1], sys.argv[2]

# Keys are written as their bytes; surrogateescape keeps non-UTF-8 bytes through csv.
with open(csv_path, "rb") as f:
    text = f.read().decode("utf-8", "surrogateescape")
reader = csv.reader(io.StringIO(text, newline=""))
header = next(reader)
assert header == [
    "database", "type", "key", "size_in_bytes", "encoding", "num_elements",
    "len_largest_element", "expiry",
], header


def expiry_ms(s):
    if not s:
        return None
    t = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return round(t.timestamp() * 1000)


want = [
    (int(r[0]), r[1], r[2].encode("utf-8", "surrogateescape"), int(r[3]), r[4], int(r[5]),
     int(r[6]), expiry_ms(r[7]))
    for r in reader
]

con = duckdb.connect()
con.execute("SET TimeZone = 'UTC'")
rows = con.execute(
    "select database, type, key, key_raw, size_in_bytes, encoding, num_elements, "
    "len_largest_element, epoch_ms(expiry) from read_parquet(?)",
    [parquet_path],
).fetchall()
got = [
    (db, ty, key.encode() if key is not None else bytes(raw), size, enc, n, largest, exp)
    for (db, ty, key, raw, size, enc, n, largest, exp) in rows
]
# Only non-UTF-8 keys use key_raw.
for (_, _, key, raw, *_rest) in rows:
    assert (key is None) != (raw is None), (key, raw)

if got != want:
    for i, (a, b) in enumerate(zip(want, got)):
        if a != b:
            sys.exit(f"row {i}: csv {a!r} != parquet {b!r}")
    sys.exit(f"{len(want)} CSV rows, {len(got)} Parquet rows")
print(len(got))
