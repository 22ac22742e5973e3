"""S3 objects fetched for Spark and Ray tasks: listed as the CLI lists them, downloaded once
per machine, never a partial or replaced object."""
import os
import threading

import pytest

from conftest import BUCKET, PREFIX, SHARDS
from rdb_toolkit import _scale


def s3_options(s3_dumps, cache):
    return {"endpoint_url": s3_dumps.endpoint, "cache_dir": str(cache)}


def test_prefix_glob_and_object_list_as_the_cli(s3_dumps, tmp_path):
    s3 = s3_options(s3_dumps, tmp_path)
    names = [f"s3://{BUCKET}/{PREFIX}shard-{i:04d}.rdb" for i in range(1, SHARDS + 1)]
    assert [u for u, _, _ in _scale.list_objects(s3_dumps.url, s3)] == names
    # Only * and ? are special, as in the CLI: [1] is literal.
    with pytest.raises(ValueError, match="no object matches"):
        _scale.list_objects(f"s3://{BUCKET}/{PREFIX}shard-000?[1].rdb", s3)
    found = _scale.list_objects(f"s3://{BUCKET}/{PREFIX}shard-*2.rdb", s3)
    assert [u for u, _, _ in found] == names[1:2]
    with pytest.raises(ValueError, match="last path segment"):
        _scale.list_objects(f"s3://{BUCKET}/*/shard-*", s3)
    one = _scale.list_objects(names[1], s3)
    assert one[0][:2] == (names[1], os.path.getsize(s3_dumps.paths[1]))


def test_one_download_for_many_readers(s3_dumps, tmp_path):
    s3 = s3_options(s3_dumps, tmp_path)
    url, size, etag = _scale.list_objects(f"s3://{BUCKET}/{PREFIX}shard-0003.rdb", s3)[0]
    part = _scale.Part(url, size, etag)
    got = []
    threads = [
        threading.Thread(target=lambda: got.append(_scale.fetch(part, s3))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(got)) == 1 and len(got) == 4
    with open(got[0], "rb") as a, open(s3_dumps.paths[2], "rb") as b:
        assert a.read() == b.read()
    name = os.path.basename(got[0])
    assert sorted(os.listdir(tmp_path)) == [name, name + ".lock"]


def test_a_replaced_or_shorter_object_leaves_no_file(s3_dumps, tmp_path):
    s3 = s3_options(s3_dumps, tmp_path)
    url, size, etag = _scale.list_objects(f"s3://{BUCKET}/{PREFIX}shard-0004.rdb", s3)[0]
    with pytest.raises(Exception, match="PreconditionFailed|412"):
        _scale.fetch(_scale.Part(url, size, '"not-the-etag"'), s3)
    with pytest.raises(OSError, match="listed"):
        _scale.fetch(_scale.Part(url, size + 1, etag), s3)
    assert [n for n in os.listdir(tmp_path) if not n.endswith(".lock")] == []


def test_read_takes_s3_urls_prefixes_and_globs(s3_dumps, tmp_path):
    """rdb_toolkit.read of s3:// objects: the rows of the same dumps read locally, the
    ``file`` column naming each object's URL (as the CLI does); errors name the URL."""
    import boto3
    import pyarrow as pa

    import rdb_toolkit

    options = s3_options(s3_dumps, tmp_path)
    urls = [f"s3://{BUCKET}/{PREFIX}{os.path.basename(p)}" for p in s3_dumps.paths]
    local = rdb_toolkit.read(s3_dumps.paths, "keys").read_all()
    want = local.set_column(
        local.schema.get_field_index("file"), "file",
        pa.array([urls[s3_dumps.paths.index(f)] for f in local.column("file").to_pylist()]),
    )
    for source in (s3_dumps.url, f"s3://{BUCKET}/{PREFIX}shard-*.rdb", urls):
        got = rdb_toolkit.read(source, "keys", **options).read_all()
        assert got.num_rows == s3_dumps.counts["keys"] > 0
        assert got.equals(want.cast(got.schema)), source
    one = rdb_toolkit.read(urls[1], "keys", db=1, **options).read_all()
    assert one.num_rows == rdb_toolkit.read(s3_dumps.paths[1], "keys", db=1).read_all().num_rows

    data = open(s3_dumps.paths[0], "rb").read()
    s3 = boto3.client("s3", endpoint_url=s3_dumps.endpoint)
    s3.put_object(Bucket=BUCKET, Key="damaged/shard-0001.rdb", Body=data[: len(data) // 2])
    damaged = f"s3://{BUCKET}/damaged/shard-0001.rdb: .* offset"
    with pytest.raises((rdb_toolkit.RdbError, pa.ArrowException), match=damaged):
        rdb_toolkit.read(f"s3://{BUCKET}/damaged/", "keys", **options).read_all()
