"""A Parquet export run by Spark or Ray tasks, in the CLI's layout: hive-partitioned tables
(``<table>/db=<N>/part-<input>-<stem>-<chunk>.parquet``, ``meta/part-...``), one set of
part files per split, and the manifest ``export_info.json`` written last.

Tasks write into ``.export-staging`` under temporary names; the driver moves the files
into the tables only once every task succeeded, then writes COMPLETE after finding every
listed file in place with its size. A failed run is marked FAILED and its files removed.
The output directory must be reachable from every task (a shared filesystem).
"""
import json
import os
import shutil
import time
from typing import Callable, List

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import _native
from ._scale import Part, part_splits, plan_parts, read_split_of

MANIFEST = "export_info.json"
STAGING = ".export-staging"


def _write_manifest(output: str, manifest: dict) -> None:
    tmp = os.path.join(output, f".{MANIFEST}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(output, MANIFEST))


def write_part(part: Part, output: str, split_bytes: int, filters: dict, s3: dict) -> dict:
    """Every table of one part's splits as staged Parquet files (one per table, database
    and split). Returns the files (final path, staged name, table, rows) and the dump."""
    staging = os.path.join(output, STAGING)
    os.makedirs(staging, exist_ok=True)
    stem = os.path.splitext(part.url.rsplit("/", 1)[-1])[0]
    files = []
    for split in part_splits(part, split_bytes, s3):
        name = f"part-{part.input:04d}-{stem}-{split.chunk:05d}"
        for table in _native.TABLES:
            writers = {}
            try:
                for batch in read_split_of(part, split, table, filters):
                    for db, rows in _by_db(batch, table):
                        if db not in writers:
                            final = f"meta/{name}.parquet" if db is None else (
                                f"{table}/db={db}/{name}.parquet"
                            )
                            staged = os.path.join(staging, final.replace("/", "~") + ".tmp")
                            writer = pq.ParquetWriter(staged, rows.schema, compression="zstd")
                            writers[db] = [writer, final, staged, 0]
                        writers[db][0].write_batch(rows)
                        writers[db][3] += rows.num_rows
            finally:
                for writer, *_ in writers.values():
                    writer.close()
            files.extend(
                {"path": final, "staged": staged, "table": table, "rows": n}
                for _, final, staged, n in writers.values()
            )
    return {"url": part.url, "size": part.size, "files": files}


def _by_db(batch: pa.RecordBatch, table: str):
    """The batch's rows per database, without the ``db`` column (the folder names it)."""
    if batch.num_rows == 0:
        return
    if table == "meta":
        yield None, batch
        return
    db = batch.column("db")
    rows = batch.drop_columns(["db"])
    for value in pc.unique(db).to_pylist():
        yield value, rows.filter(pc.equal(db, value))


def export(
    source,
    output: str,
    run: Callable[[List[Part], Callable], list],
    split_bytes: int,
    filters: dict,
    s3: dict,
) -> dict:
    """Plans ``source``, has ``run(parts, task)`` execute ``task(part)`` for every part (on
    an engine), publishes the files and returns the manifest (status COMPLETE)."""
    output = os.path.abspath(output)
    if os.path.exists(os.path.join(output, MANIFEST)):
        raise FileExistsError(f"{output}: holds an export already ({MANIFEST})")
    start = int(time.time() * 1000)
    parts = plan_parts(source, split_bytes, s3)  # a damaged dump stops here: nothing written
    os.makedirs(output, exist_ok=True)
    manifest = {
        "format": "parquet",
        "compression": "zstd",
        "output": output,
        "sources": list(dict.fromkeys(p.url for p in parts)),
        "filters": {
            "db": list(filters.get("db", [])),
            "key": filters.get("key"),
            "key_regex": None,
            "type": list(filters.get("type", [])),
            "expiry": "Any",
            "min_size": None,
        },
        "export_id": f"export-{start}-{os.getpid()}",
        "status": "IN_PROGRESS",
        "start_time_ms": start,
        "end_time_ms": None,
        "progress_percent": 0.0,
        "staging": STAGING,
        "files": [],
        "warnings": [],
        "failure_cause": None,
    }
    _write_manifest(output, manifest)
    published = []
    try:
        task = _Task(output, split_bytes, filters, s3)
        results = run(parts, task)
        files = [f for r in results for f in r["files"]]
        files.sort(key=lambda f: f["path"])
        # Listed before they move, so a run killed while publishing is known.
        manifest["files"] = [{k: f[k] for k in ("path", "table", "rows")} for f in files]
        manifest["dirs"] = sorted({d for f in files for d in _dirs(f["path"])})
        _write_manifest(output, manifest)
        for f in files:
            final = os.path.join(output, f["path"])
            os.makedirs(os.path.dirname(final), exist_ok=True)
            os.replace(f["staged"], final)
            published.append(final)
        listed = []
        for f in files:
            size = os.path.getsize(os.path.join(output, f["path"]))  # fails if missing
            listed.append({k: f[k] for k in ("path", "table", "rows")} | {"bytes": size})
    except BaseException as e:
        for path in published:
            if os.path.exists(path):
                os.remove(path)
        shutil.rmtree(os.path.join(output, STAGING), ignore_errors=True)
        manifest.update(
            status="FAILED", end_time_ms=int(time.time() * 1000), failure_cause=str(e)
        )
        _write_manifest(output, manifest)
        raise
    shutil.rmtree(os.path.join(output, STAGING), ignore_errors=True)
    rows = {}
    for f in listed:
        rows[f["table"]] = rows.get(f["table"], 0) + f["rows"]
    total = sum(p.size for p in parts if p.index == 0)
    manifest.update(
        status="COMPLETE",
        end_time_ms=int(time.time() * 1000),
        progress_percent=100.0,
        files=listed,
        bytes_read=total,
        bytes_total=total,
        keys_exported=rows.get("keys", 0),
        rows=rows,
        output_files=len(listed),
        output_bytes=sum(f["bytes"] for f in listed),
    )
    _write_manifest(output, manifest)
    return manifest


def _dirs(path: str):
    parts = path.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class _Task:
    """``write_part`` with the run's settings, picklable for the engines."""

    def __init__(self, output, split_bytes, filters, s3):
        self.args = (output, split_bytes, filters, s3)

    def __call__(self, part: Part) -> dict:
        return write_part(part, *self.args)
