"""Ray (ray.init(num_cpus=2)) reads the four shard dumps from the S3 test server with
rdb_toolkit.ray.read_rdb: one read task per split, the CLI's row counts per table."""
import os

import pytest
import ray

import rdb_toolkit
import rdb_toolkit.ray
from conftest import BUCKET, PREFIX, SHARDS, assert_same_export


@pytest.fixture(scope="module")
def ray_cluster(s3_dumps):
    # The workers inherit the AWS_* variables s3_dumps set.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


def read(s3_dumps, table, url=None, **options):
    return rdb_toolkit.ray.read_rdb(
        url or s3_dumps.url, table,
        endpoint_url=s3_dumps.endpoint, cache_dir=s3_dumps.cache_dir, **options,
    )


def test_every_table_has_the_cli_row_count(ray_cluster, s3_dumps):
    for table in rdb_toolkit.TABLES:
        source = rdb_toolkit.ray.RdbDatasource(
            s3_dumps.url, table, endpoint_url=s3_dumps.endpoint, cache_dir=s3_dumps.cache_dir
        )
        assert len(source.get_read_tasks(1)) >= SHARDS, table
        assert read(s3_dumps, table).count() == s3_dumps.counts[table], table


def test_one_task_per_split_and_values(ray_cluster, s3_dumps):
    source = rdb_toolkit.ray.RdbDatasource(
        s3_dumps.url, "hashes", split_bytes=2048,
        endpoint_url=s3_dumps.endpoint, cache_dir=s3_dumps.cache_dir,
    )
    assert len(source.get_read_tasks(2)) > 2 * SHARDS
    got = ray.data.read_datasource(source).to_arrow_refs()
    got = [ray.get(r) for r in got]
    rows = sorted(
        (r["key"], r["field"], r["value"], r["db"]) for t in got for r in t.to_pylist()
    )
    want = rdb_toolkit.read(s3_dumps.paths, "hashes").read_all()
    assert len(rows) == s3_dumps.counts["hashes"] > 0
    columns = (want.column(c).to_pylist() for c in ("key", "field", "value", "db"))
    assert rows == sorted(zip(*columns))


def test_files_name_the_objects_and_filters_apply(ray_cluster, s3_dumps):
    urls = [f"s3://{BUCKET}/{PREFIX}shard-000{i}.rdb" for i in (1, 2)]
    keys = read(s3_dumps, "keys", url=urls, db=1)
    files = {r["file"] for r in keys.select_columns(["file"]).take_all()}
    assert files == set(urls)
    want = rdb_toolkit.read(s3_dumps.paths[:2], "keys", db=1).read_all().num_rows
    assert keys.count() == want > 0


def test_local_directory(ray_cluster, s3_dumps):
    directory = os.path.dirname(s3_dumps.paths[0])
    assert rdb_toolkit.ray.read_rdb(directory, "lists").count() == s3_dumps.counts["lists"]


def test_distributed_export_equals_the_cli_export(ray_cluster, s3_dumps, tmp_path):
    out = str(tmp_path / "export")
    rdb_toolkit.ray.export(
        s3_dumps.url, out, endpoint_url=s3_dumps.endpoint, cache_dir=s3_dumps.cache_dir
    )
    assert_same_export(out, s3_dumps.cli_export)

