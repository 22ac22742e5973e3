"""What Spark and Ray share: dumps resolved to read tasks ("parts"), ``s3://`` objects
fetched into a local cache, and a part's batches.

A part is a picklable description of work. For local dumps the driver plans them, and
each part is one split of ``rdb_toolkit.plan``. For ``s3://`` objects the driver only lists
them (it never downloads a dump): an object of ``size`` bytes becomes
``ceil(size / split_bytes)`` parts, and the worker that reads part ``k`` of ``n`` fetches the
object once, plans it (the same plan on every worker) and reads the ``k``-th share of its
splits. Together the parts read every row once.
"""
import glob
import hashlib
import math
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from typing import Iterator, List, Optional

try:
    import fcntl
except ImportError:  # not on Windows: each process downloads its own copy
    fcntl = None

import pyarrow as pa

from . import _native

# The options a reader takes, as Spark options (strings) or Ray arguments.
S3_OPTIONS = ("endpoint_url", "region", "cache_dir")
MIN_SPLIT_BYTES = 1024


@dataclass(frozen=True)
class Part:
    """One read task: a planned split of a local dump, or share ``index`` of ``shares`` of
    an ``s3://`` object."""

    url: str
    size: int
    etag: Optional[str] = None
    split: Optional[str] = None
    index: int = 0
    shares: int = 1
    input: int = 0  # the dump's position among all the source's dumps (names part files)


def is_s3(source) -> bool:
    return isinstance(source, str) and source.startswith("s3://")


def _sources(source) -> List[str]:
    if isinstance(source, (str, bytes, os.PathLike)):
        source = [source]
    return [s if is_s3(s) else os.fsdecode(s) for s in source]


def local_paths(source) -> List[str]:
    """Dumps of a local path, directory (its ``*.rdb`` files) or glob, in name order."""
    paths = []
    for s in _sources(source):
        if os.path.isdir(s):
            paths.extend(
                os.path.join(s, n) for n in sorted(os.listdir(s)) if n.endswith(".rdb")
            )
        elif glob.has_magic(s):
            paths.extend(sorted(p for p in glob.glob(s) if os.path.isfile(p)))
        else:
            paths.append(s)
    return paths


def plan_parts(source, split_bytes: int, s3: Optional[dict] = None) -> List[Part]:
    """The parts of ``source``: local dumps planned, ``s3://`` objects listed. Raises
    ``ValueError`` when nothing matches and ``RdbError`` for a damaged local dump."""
    split_bytes = int(split_bytes)
    if split_bytes < MIN_SPLIT_BYTES:
        # Tiny splits would make millions of tasks of a big object.
        raise ValueError(f"split_bytes must be at least {MIN_SPLIT_BYTES}, not {split_bytes}")
    parts = []
    local = []
    inputs = 0

    def flush_local():
        nonlocal inputs
        if local:
            for split in _native.plan(list(local), split_bytes):
                size = split.end - split.start
                parts.append(
                    Part(split.path, size, split=split.to_json(), input=inputs + split.input)
                )
            inputs += len(local)
            local.clear()

    for s in _sources(source):
        if is_s3(s):
            flush_local()
            for url, size, etag in list_objects(s, s3 or {}):
                shares = max(1, math.ceil(size / split_bytes))
                parts.extend(
                    Part(url, size, etag, None, k, shares, inputs) for k in range(shares)
                )
                inputs += 1
        else:
            local.extend(local_paths(s))
    flush_local()
    if not parts:
        raise ValueError(f"no dump in {source!r}")
    return parts


# ------------------------------------------------------------------ S3


def parse_s3_url(url: str):
    """``(bucket, key)`` of ``s3://bucket/key``."""
    rest = url[len("s3://"):]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"{url}: expected s3://bucket/key")
    return bucket, key


def _shard_number(key: str):
    """The number ending an object's name before its extension (``name-0012.rdb``: 12),
    so shards sort as the CLI sorts them."""
    name = key.rsplit("/", 1)[-1].split(".", 1)[0]
    m = re.search(r"(\d+)$", name)
    return (1, int(m.group(1))) if m else (0, 0)


def client(s3: dict):
    """A boto3 S3 client: credentials, region and endpoint from the usual ``AWS_*``
    variables and profiles; ``endpoint_url`` and ``region`` options override them."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=s3.get("endpoint_url") or None,
        region_name=s3.get("region") or None,
    )


def list_objects(url: str, s3: dict):
    """``(url, size, etag)`` of the objects an ``s3://`` URL names, as ``rdb-convert``
    reads them: one object, every object under a prefix (ends with ``/``), or every object
    of a directory whose name matches a ``*``/``?`` glob; ordered by shard number."""
    bucket, key = parse_s3_url(url)
    head, _, name = key.rpartition("/")
    if "*" in head or "?" in head:
        raise ValueError(f"{url}: a glob may only be in the last path segment")
    s3c = client(s3)
    if key and not key.endswith("/") and "*" not in name and "?" not in name:
        h = s3c.head_object(Bucket=bucket, Key=key)
        return [(url, int(h["ContentLength"]), h.get("ETag"))]
    is_glob = "*" in name or "?" in name
    prefix = (head + "/" if head else "") if is_glob else key
    # The CLI's globs: `*` any run of characters, `?` one; nothing else is special.
    pattern = re.compile(re.escape(name).replace(r"\*", ".*").replace(r"\?", "."), re.DOTALL)
    found = []
    for page in s3c.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            k = o["Key"]
            if k.endswith("/"):
                continue  # "directory" markers some tools create
            rest = k[len(prefix):]
            if is_glob and ("/" in rest or not pattern.fullmatch(rest)):
                continue
            found.append((k, int(o["Size"]), o.get("ETag")))
    if not found:
        raise ValueError(f"{url}: no object matches")
    found.sort(key=lambda o: (_shard_number(o[0]), o[0]))
    return [(f"s3://{bucket}/{k}", size, etag) for k, size, etag in found]


_fetch_lock = threading.Lock()
_fetched = {}


def cache_dir(s3: dict) -> str:
    return s3.get("cache_dir") or os.path.join(tempfile.gettempdir(), "rdb_toolkit-s3")


def fetch(part: Part, s3: dict) -> str:
    """The local copy of an ``s3://`` part's object, downloaded once per machine: the
    processes that need it wait on a lock file while one downloads it under a temporary
    name, checks its size and renames it, so no reader ever sees a partial file. The name
    holds the ETag: a replaced object is fetched again, and ``If-Match`` refuses one
    replaced mid-download."""
    ident = f"{part.url}\0{part.etag}\0{part.size}"
    with _fetch_lock:
        if ident in _fetched:
            return _fetched[ident]
    directory = cache_dir(s3)
    os.makedirs(directory, exist_ok=True)
    digest = hashlib.sha256(ident.encode()).hexdigest()[:24]
    final = os.path.join(directory, f"{digest}-{part.url.rsplit('/', 1)[-1]}")
    with open(final + ".lock", "a") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not (os.path.isfile(final) and os.path.getsize(final) == part.size):
            _download(part, s3, final)
    with _fetch_lock:
        _fetched[ident] = final
    return final


def _download(part: Part, s3: dict, final: str) -> None:
    bucket, key = parse_s3_url(part.url)
    tmp = f"{final}.{os.getpid()}.{threading.get_ident()}.tmp"
    extra = {"IfMatch": part.etag} if part.etag else {}
    try:
        body = client(s3).get_object(Bucket=bucket, Key=key, **extra)["Body"]
        with open(tmp, "wb") as f:
            for chunk in body.iter_chunks(8 << 20):
                f.write(chunk)
        got = os.path.getsize(tmp)
        if got != part.size:
            raise OSError(f"{part.url}: fetched {got} bytes, listed {part.size}")
        os.replace(tmp, final)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


_plans = {}


def _object_splits(local: str, split_bytes: int):
    with _fetch_lock:
        key = (local, split_bytes)
        if key not in _plans:
            _plans[key] = _native.plan([local], split_bytes)
        return _plans[key]


# ------------------------------------------------------------------ reading


def _relabel(batch: pa.RecordBatch, url: str) -> pa.RecordBatch:
    """The ``file`` column names the ``s3://`` object, not its cached copy (as the CLI)."""
    i = batch.schema.get_field_index("file")
    if i < 0:
        return batch
    field = batch.schema.field(i)
    return batch.set_column(i, field, pa.array([url] * batch.num_rows, field.type))


def read_part(
    part: Part,
    table: str,
    split_bytes: int,
    filters: dict,
    s3: dict,
) -> Iterator[pa.RecordBatch]:
    """The batches of ``table`` in one part (``filters``: ``db``, ``key``, ``type`` as in
    ``rdb_toolkit.read``). Errors name the ``s3://`` object, not the cached copy."""
    for split in part_splits(part, split_bytes, s3):
        yield from read_split_of(part, split, table, filters)


def part_splits(part: Part, split_bytes: int, s3: dict) -> list:
    """The splits a part reads: its own, or its share of its ``s3://`` object's (fetched)."""
    if part.split is not None:
        return [_native.Split.from_json(part.split)]
    local = fetch(part, s3)
    try:
        splits = _object_splits(local, max(1, int(split_bytes)))
    except _native.RdbError as e:
        raise _native.RdbError(str(e).replace(local, part.url)) from None
    n = len(splits)
    return splits[part.index * n // part.shares : (part.index + 1) * n // part.shares]


def read_split_of(part: Part, split, table: str, filters: dict) -> Iterator[pa.RecordBatch]:
    """The batches of ``table`` in one of a part's splits, labelled with the part's URL."""
    from . import read_split

    if part.split is not None:
        yield from read_split(split, table, **filters)
        return
    try:
        for batch in read_split(split, table, **filters):
            yield _relabel(batch, part.url)
    except (_native.RdbError, OSError) as e:
        raise type(e)(str(e).replace(split.path, part.url)) from None


def empty_schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table`` (the same for every dump), read from an empty dump so
    a driver knows it without fetching any."""
    path = os.path.join(tempfile.gettempdir(), "rdb_toolkit-empty-v9.rdb")
    if not os.path.isfile(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            # RDB 9 header, end-of-file opcode, a zero checksum (= not computed).
            f.write(b"REDIS0009\xff" + bytes(8))
        os.replace(tmp, path)
    from . import read

    return read(path, table).schema


def parse_filters(options: dict) -> dict:
    """``db``, ``key`` and ``type`` from string options (``db="0,3"``, ``type="hash,set"``)
    or Python values, as ``rdb_toolkit.read`` takes them."""
    out = {}
    db = options.get("db")
    if db is not None and db != "":
        if isinstance(db, str):
            db = [int(d) for d in db.split(",") if d.strip()]
        out["db"] = db
    if options.get("key"):
        out["key"] = options["key"]
    types = options.get("type")
    if types:
        out["type"] = [t.strip() for t in types.split(",")] if isinstance(types, str) else types
    return out
