"""Redis/Valkey RDB dumps as Arrow tables.

``read(source, table)`` gives one table of the dumps (the tables of ``rdb-convert --format
parquet``: keys, strings, lists, sets, zsets, hashes, streams, stream_*, modules, meta) as a
``pyarrow.RecordBatchReader``, decoded on every core while you consume it::

    import rdb_toolkit, duckdb
    keys = rdb_toolkit.read("dump.rdb", "keys", db=0, key="user:*")
    duckdb.sql("select type, count(*) from keys group by type").show()

``plan(source)`` cuts dumps into record-aligned splits (picklable) that separate workers read
with ``read_split(split, table)``; together they read what ``read`` reads.
"""
import os

import pyarrow as pa

from ._native import SPLIT_BYTES, TABLES, ExportError, RdbError, Split
from . import _native

__all__ = [
    "read", "plan", "read_split", "info", "export", "memory",
    "Split", "RdbError", "ExportError", "TABLES", "SPLIT_BYTES",
]


def _paths(source, s3=None):
    """The dump files of a path, a directory (its ``*.rdb`` files, by name), an ``s3://``
    object, prefix or glob (fetched into the local cache first), or a list of them."""
    return [local for local, _ in _named_paths(source, s3 or {})]


def _named_paths(source, s3):
    """``(local path, name)`` of each dump: the name is the ``s3://`` URL of a fetched copy."""
    from . import _scale

    if isinstance(source, (str, bytes, os.PathLike)):
        source = [source]
    found = []
    for s in source:
        s = os.fsdecode(s)
        if s.startswith("s3://"):
            for url, size, etag in _scale.list_objects(s, s3):
                found.append((_scale.fetch(_scale.Part(url, size, etag), s3), url))
        elif os.path.isdir(s):
            found.extend(
                (os.path.join(s, n),) * 2 for n in sorted(os.listdir(s)) if n.endswith(".rdb")
            )
        else:
            found.append((s, s))
    if not found:
        raise ValueError(f"no dump in {source!r}")
    return found


def _s3_options(endpoint_url, region, cache_dir):
    options = {"endpoint_url": endpoint_url, "region": region, "cache_dir": cache_dir}
    return {k: v for k, v in options.items() if v}


def _named(reader, names):
    """``reader`` with fetched copies named by their ``s3://`` URLs, in the ``file`` column
    and in errors, as the CLI names them."""
    import pyarrow.compute as pc

    renamed = {local: url for local, url in names if local != url}
    if not renamed:
        return reader

    def batches():
        try:
            for batch in reader:
                i = batch.schema.get_field_index("file")
                if i >= 0 and batch.num_rows:
                    field = batch.schema.field(i)
                    column = batch.column(i)
                    for local, url in renamed.items():
                        column = pc.if_else(
                            pc.equal(column, local), pa.scalar(url, field.type), column
                        )
                    batch = batch.set_column(i, field, column)
                yield batch
        except (RdbError, OSError, pa.ArrowException) as e:
            text = str(e)
            for local, url in renamed.items():
                text = text.replace(local, url)
            raise type(e)(text) from None

    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _many(value, kind):
    if value is None:
        return []
    if isinstance(value, kind):
        return [value]
    return list(value)


def read(source, table="keys", *, db=None, key=None, type=None,
         endpoint_url=None, region=None, cache_dir=None):
    """One table of the dumps in ``source`` as a ``pyarrow.RecordBatchReader``.

    ``source``: a dump, a directory (its ``*.rdb``), an ``s3://`` object, prefix (ends with
    ``/``) or glob (``s3://bucket/backups/name-*.rdb``, in shard-number order), or a list of
    them. S3 objects are downloaded into ``cache_dir`` (default: the temporary directory)
    before reading, once per machine; credentials as for the AWS CLI (``AWS_*`` variables,
    profiles), ``endpoint_url`` and ``region`` override them. The ``file`` column and
    errors name the ``s3://`` URL.

    ``db`` (an int or a list), ``key`` (a Redis glob) and ``type`` (a name or a list:
    string, list, set, zset, hash, stream, module) keep only matching keys. Columns are the
    Parquet table's, then ``db``. A dump that cannot be read raises while reading, with the
    file and byte offset in the message.
    """
    names = _named_paths(source, _s3_options(endpoint_url, region, cache_dir))
    paths = [local for local, _ in names]
    stream = _native.read(paths, table, _many(db, int), key, _many(type, str))
    return _named(pa.RecordBatchReader.from_stream(stream), names)


def plan(source, split_bytes=SPLIT_BYTES):
    """The dumps of ``source`` cut into ``Split``s of about ``split_bytes`` (default: the
    Parquet export's chunks), dump by dump. Raises ``RdbError`` for a damaged dump."""
    return _native.plan(_paths(source), int(split_bytes))


def read_split(split, table="keys", *, db=None, key=None, type=None):
    """One table of one split as a ``pyarrow.RecordBatchReader`` (filters as in ``read``).
    A split does not verify the dump's checksum (it covers the whole file)."""
    stream = _native.read_split(split, table, _many(db, int), key, _many(type, str))
    return pa.RecordBatchReader.from_stream(stream)


def info(source):
    """What the dumps' headers say: ``{"files": [{"path", "size", "rdb_version"}, ...]}``."""
    return {"files": _native.info(_paths(source))}


def export(source, output, format="parquet", *, db=None, key=None, type=None,
           compression="zstd", overwrite=False, export_id=None):
    """Exports every table of the dumps in ``source`` to Parquet in the directory
    ``output``, as ``rdb-convert --format parquet --output DIR`` does (the same Rust code:
    the same part files, the manifest ``export_info.json`` written last, the lock that
    keeps two exports out of one directory), on every core with the GIL released. Returns
    the manifest (a dict, status COMPLETE).

    Filters as in ``read``; ``compression`` is zstd, snappy or none; ``overwrite`` replaces a
    finished export. Raises ``RdbError`` when a dump cannot be opened, ``ExportError`` when
    the directory is taken or the export fails (the manifest then says FAILED).
    """
    import json

    if format != "parquet":
        raise ValueError(f"no export format {format!r}; formats: parquet")
    if any(os.fsdecode(s).startswith("s3://") for s in ([source] if isinstance(
            source, (str, bytes, os.PathLike)) else source)):
        raise NotImplementedError(
            "export() reads local dumps; export s3:// dumps with rdb-convert or "
            "rdb_toolkit.spark.export / rdb_toolkit.ray.export"
        )
    if isinstance(source, (str, bytes, os.PathLike)):
        given = [source]
    else:
        given = list(source)
    given = [os.fsdecode(s) for s in given]
    text = _native.export_local(
        _paths(source), os.fsdecode(output), given, compression, overwrite, export_id,
        _many(db, int), key, _many(type, str),
    )
    return json.loads(text)


def memory(source, *, endpoint_url=None, region=None, cache_dir=None):
    """The memory report of the dumps in ``source`` (as ``read`` takes it) as a
    ``pyarrow.RecordBatchReader``: one row per key with ``rdb-convert memory --format
    parquet``'s columns (database, type, key, key_raw, size_in_bytes, encoding,
    num_elements, len_largest_element, expiry), the server model detected from each dump.

    The report is computed on every core with the GIL released, into a temporary Parquet
    file (zstd) that the reader streams and that is removed once opened.
    """
    import tempfile

    import pyarrow.parquet as pq

    names = _named_paths(source, _s3_options(endpoint_url, region, cache_dir))
    fd, path = tempfile.mkstemp(prefix="rdb_toolkit-memory-", suffix=".parquet")
    os.close(fd)
    try:
        try:
            _native.memory_parquet([local for local, _ in names], path)
        except RdbError as e:
            text = str(e)
            for local, url in names:
                text = text.replace(local, url)
            raise RdbError(text) from None
        report = pq.ParquetFile(path)
    finally:
        os.remove(path)  # the open file stays readable
    return pa.RecordBatchReader.from_batches(report.schema_arrow, report.iter_batches())
