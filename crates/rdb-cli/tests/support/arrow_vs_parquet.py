#!/usr/bin/env python3
"""Checks `rdb-convert --format arrow` streams against a Parquet export of the same dump:
pyarrow reads each stream, DuckDB reads the Parquet table (hive partitioning gives `db`) and
compares both ways (EXCEPT ALL), so row counts and every value must match.

usage: arrow_vs_parquet.py EXPORT_DIR TABLE=STREAM_FILE...   (prints rows per table, JSON)
"""
import json
import os
import sys

import duckdb
import pyarrow as pa

root = sys.argv[1]
counts = {}
failed = []
for arg in sys.argv[2:]:
    table, path = arg.split("=", 1)
    with pa.OSFile(path, "rb") as f:
        stream = pa.ipc.open_stream(f).read_all()
    # A connection per table: a failed read_parquet leaves its connection unusable.
    con = duckdb.connect()
    con.register("stream", stream)
    names = ", ".join(f'"{n}"' for n in stream.schema.names)
    if table == "meta":
        pattern = os.path.join(root, table, "*.parquet")
    else:
        pattern = os.path.join(root, table, "**", "*.parquet")
    parquet = f"(select {names} from read_parquet('{pattern}', hive_partitioning=true))"
    try:
        parquet_rows = con.execute(f"select count(*) from {parquet}").fetchone()[0]
        only_arrow = con.execute(
            f"select count(*) from (select * from stream except all select * from {parquet})"
        ).fetchone()[0]
        only_parquet = con.execute(
            f"select count(*) from (select * from {parquet} except all select * from stream)"
        ).fetchone()[0]
    except duckdb.IOException:
        # No part file: the table is empty.
        parquet_rows, only_arrow, only_parquet = 0, stream.num_rows, 0
    counts[table] = stream.num_rows
    if stream.num_rows != parquet_rows or only_arrow or only_parquet:
        failed.append(
            f"{table}: {stream.num_rows} rows in the stream, {parquet_rows} in Parquet, "
            f"{only_arrow} only in the stream, {only_parquet} only in Parquet"
        )
    con.close()
print(json.dumps(counts))
if failed:
    sys.exit("\n".join(failed))
