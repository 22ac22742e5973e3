"""RDB dumps as Ray Datasets: a Ray Data datasource with one read task per split.

::

    import ray, rdb_toolkit.ray
    ray.init()
    keys = rdb_toolkit.ray.read_rdb("s3://backups/nightly/", table="keys")
    keys.groupby("type").count().show()

``source`` is what ``rdb_toolkit.read`` takes, plus globs and ``s3://`` objects, prefixes
and globs. Local dumps are planned by the caller (``rdb_toolkit.plan``); an ``s3://`` object
is listed by the caller and fetched by the read tasks (once per worker process, into
``cache_dir``), never by the caller. Credentials come from the usual ``AWS_*`` variables
and profiles; ``endpoint_url`` and ``region`` override them.
"""
import functools
from typing import Iterable, Iterator, List, Optional, Union

import pyarrow as pa
import ray.data
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from . import _native
from ._scale import Part, empty_schema, parse_filters, plan_parts, read_part

__all__ = ["RdbDatasource", "read_rdb", "export"]


def _read_task(part: Part, table, split_bytes, filters, s3) -> Iterator[pa.Table]:
    for batch in read_part(part, table, split_bytes, filters, s3):
        if batch.num_rows:
            yield pa.Table.from_batches([batch])


class RdbDatasource(Datasource):
    """One table of Redis/Valkey RDB dumps; planned when made, one read task per part."""

    def __init__(
        self,
        source,
        table: str = "keys",
        *,
        db: Optional[Union[int, Iterable[int]]] = None,
        key: Optional[str] = None,
        type: Optional[Union[str, Iterable[str]]] = None,
        split_bytes: int = _native.SPLIT_BYTES,
        endpoint_url: Optional[str] = None,
        region: Optional[str] = None,
        cache_dir: Optional[str] = None,
    ):
        if table not in _native.TABLES:
            raise ValueError(f"no table {table!r}; tables: {', '.join(_native.TABLES)}")
        if isinstance(db, int):
            db = [db]
        if isinstance(type, str):
            type = [type]
        self.table = table
        self.filters = parse_filters({"db": db, "key": key, "type": type})
        self.split_bytes = int(split_bytes)
        options = {"endpoint_url": endpoint_url, "region": region, "cache_dir": cache_dir}
        self.s3 = {k: v for k, v in options.items() if v}
        self.parts = plan_parts(source, self.split_bytes, self.s3)
        self.schema = empty_schema(table)

    def get_name(self) -> str:
        return f"RDB({self.table})"

    def estimate_inmemory_data_size(self) -> Optional[int]:
        return None  # a dump's rows take more or less memory than its bytes

    def get_read_tasks(
        self, parallelism: int, per_task_row_limit=None, data_context=None
    ) -> List[ReadTask]:
        # One task per part whatever `parallelism` asks: the splits are the unit of work.
        return [
            ReadTask(
                functools.partial(
                    _read_task, part, self.table, self.split_bytes, self.filters, self.s3
                ),
                BlockMetadata(
                    num_rows=None,
                    size_bytes=part.size // part.shares,
                    exec_stats=None,
                    input_files=(part.url,),
                ),
                schema=self.schema,
                per_task_row_limit=per_task_row_limit,
            )
            for part in self.parts
        ]


def read_rdb(source, table: str = "keys", **options) -> "ray.data.Dataset":
    """One table of the dumps in ``source`` as a ``ray.data.Dataset`` (one read task per
    split). ``options``: ``db``, ``key``, ``type`` (as ``rdb_toolkit.read``), ``split_bytes``,
    ``endpoint_url``, ``region``, ``cache_dir``."""
    return ray.data.read_datasource(RdbDatasource(source, table, **options))


def _run_task(task, part):
    return task(part)


def export(source, output: str, **options) -> dict:
    """Exports every table of ``source`` to Parquet in ``output`` (a directory every worker
    can write: a shared filesystem), with one Ray task per split, in the CLI's layout and
    manifest (``export_info.json``, written last: COMPLETE once every file is in place),
    through the CLI's Rust export (the same part files, manifest fields and lock).
    ``options`` as for ``read_rdb`` (no ``table``), and ``compression``, ``overwrite``,
    ``export_id`` as for ``rdb_toolkit.export``. Returns the manifest; raises
    ``rdb_toolkit.ExportError`` when the output is taken or a task fails."""
    from ._export import export as run_export
    from ._scale import S3_OPTIONS

    def run(parts, task):
        remote = ray.remote(_run_task)
        return ray.get([remote.remote(task, p) for p in parts])

    split_bytes = int(options.get("split_bytes") or _native.SPLIT_BYTES)
    s3 = {k: options[k] for k in S3_OPTIONS if options.get(k)}
    filters = {k: options[k] for k in ("db", "key", "type") if options.get(k) is not None}
    if isinstance(filters.get("db"), int):
        filters["db"] = [filters["db"]]
    if isinstance(filters.get("type"), str):
        filters["type"] = [filters["type"]]
    settings = {k: options[k] for k in ("compression", "overwrite", "export_id") if k in options}
    return run_export(source, output, run, split_bytes, parse_filters(filters), s3, **settings)
