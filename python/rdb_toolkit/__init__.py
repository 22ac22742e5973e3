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

from ._native import SPLIT_BYTES, TABLES, RdbError, Split
from . import _native

__all__ = ["read", "plan", "read_split", "info", "Split", "RdbError", "TABLES", "SPLIT_BYTES"]


def _paths(source):
    """The dump files of a path, a directory (its ``*.rdb`` files, by name) or a list of them."""
    if isinstance(source, (str, bytes, os.PathLike)):
        source = [source]
    paths = []
    for s in source:
        s = os.fsdecode(s)
        if s.startswith("s3://"):
            raise NotImplementedError("s3:// sources are not supported yet: copy the dumps locally")
        if os.path.isdir(s):
            paths.extend(
                os.path.join(s, n) for n in sorted(os.listdir(s)) if n.endswith(".rdb")
            )
        else:
            paths.append(s)
    if not paths:
        raise ValueError(f"no dump in {source!r}")
    return paths


def _many(value, kind):
    if value is None:
        return []
    if isinstance(value, kind):
        return [value]
    return list(value)


def read(source, table="keys", *, db=None, key=None, type=None):
    """One table of the dumps in ``source`` as a ``pyarrow.RecordBatchReader``.

    ``db`` (an int or a list), ``key`` (a Redis glob) and ``type`` (a name or a list:
    string, list, set, zset, hash, stream, module) keep only matching keys. Columns are the
    Parquet table's, then ``db``. A dump that cannot be read raises while reading, with the
    file and byte offset in the message.
    """
    stream = _native.read(_paths(source), table, _many(db, int), key, _many(type, str))
    return pa.RecordBatchReader.from_stream(stream)


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
