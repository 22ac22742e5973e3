"""Spark (local[2]) reads four shard dumps from the S3 test server through format("rdb"):
one partition per split, and exactly the CLI's row counts per table."""
import functools
import os
import sys

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

import rdb_toolkit
import rdb_toolkit.spark
from conftest import BUCKET, PREFIX, SHARDS, assert_same_export


@pytest.fixture(scope="module")
def spark(s3_dumps):
    # Python workers run this interpreter (rdb_toolkit installed) and inherit the AWS_*
    # variables s3_dumps set; the JVM reads them when the session starts.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("rdb_toolkit-test")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    # No filterPushdown setting above: register must make the source readable without it
    # (PySpark refuses a reader with pushFilters while the setting is off).
    rdb_toolkit.spark.register(session)
    yield session
    session.stop()


def load(spark, s3_dumps, table, url=None, **options):
    reader = (
        spark.read.format("rdb")
        .option("table", table)
        .option("endpoint_url", s3_dumps.endpoint)
        .option("cache_dir", s3_dumps.cache_dir)
    )
    for name, value in options.items():
        reader = reader.option(name, value)
    return reader.load(url or s3_dumps.url)


def test_every_table_has_the_cli_row_count(spark, s3_dumps):
    assert s3_dumps.counts["keys"] > 0 and s3_dumps.counts["hashes"] > 0
    assert load(spark, s3_dumps, "keys").rdd.getNumPartitions() >= SHARDS
    # One job for every table's count (a job each costs more than the reading).
    counts = functools.reduce(
        DataFrame.unionByName,
        (load(spark, s3_dumps, t).groupBy().count().withColumn("table", F.lit(t))
         for t in rdb_toolkit.TABLES),
    )
    got = {r["table"]: r["count"] for r in counts.collect()}
    assert got == {t: s3_dumps.counts[t] for t in rdb_toolkit.TABLES}


def test_schema_is_the_tables_arrow_schema(spark, s3_dumps):
    df = load(spark, s3_dumps, "hashes")
    arrow = rdb_toolkit.read(s3_dumps.paths[0], "hashes").schema
    assert df.columns == arrow.names
    assert dict(df.dtypes)["field_expire_ms"] == "timestamp"
    assert dict(df.dtypes)["value_raw"] == "binary"


def test_small_splits_cut_big_shards_and_rows_stay_the_same(spark, s3_dumps):
    # Several partitions per object: each worker reads its share of the object's splits.
    df = load(spark, s3_dumps, "keys", split_bytes="2048")
    assert df.rdd.getNumPartitions() > 2 * SHARDS
    assert df.count() == s3_dumps.counts["keys"]
    files = {r.file for r in df.select("file").distinct().collect()}
    assert files == {f"s3://{BUCKET}/{PREFIX}{os.path.basename(p)}" for p in s3_dumps.paths}


def test_values_equal_the_local_read(spark, s3_dumps):
    got = load(spark, s3_dumps, "zsets", url=f"s3://{BUCKET}/{PREFIX}shard-*.rdb")
    rows = sorted((r.key, r.member, r.score, r.db) for r in got.collect())
    want = rdb_toolkit.read(s3_dumps.paths, "zsets").read_all()
    columns = (want.column(c).to_pylist() for c in ("key", "member", "score", "db"))
    assert rows == sorted(zip(*columns))


def test_filters_and_local_globs(spark, s3_dumps):
    local = os.path.join(os.path.dirname(s3_dumps.paths[0]), "shard-*.rdb")
    df = spark.read.format("rdb").option("table", "keys").option("db", "1").load(local)
    assert df.rdd.getNumPartitions() >= SHARDS
    want = rdb_toolkit.read(s3_dumps.paths, "keys", db=1).read_all().num_rows
    assert want > 0 and df.count() == want
    hashes = load(spark, s3_dumps, "keys", type="hash,zset", key="*:1:*")
    want = rdb_toolkit.read(s3_dumps.paths, "keys", type=["hash", "zset"], key="*:1:*")
    assert hashes.count() == want.read_all().num_rows > 0


def test_a_missing_object_fails_with_its_url(spark, s3_dumps):
    with pytest.raises(Exception, match="no object matches"):
        load(spark, s3_dumps, "keys", url=f"s3://{BUCKET}/none/").count()


def test_pushed_conditions_keep_the_same_rows(spark, s3_dumps):
    keys = load(spark, s3_dumps, "keys")
    got = keys.where("db = 1 and type in ('string', 'hash')").count()
    want = rdb_toolkit.read(s3_dumps.paths, "keys", db=1, type=["string", "hash"])
    assert got == want.read_all().num_rows > 0
    # Pushed db = 1 and the option db = 0 meet no key.
    assert load(spark, s3_dumps, "keys", db="0").where("db = 1").count() == 0
    hashes = load(spark, s3_dumps, "hashes").where("db = 0 or field = 'f1'").count()
    assert hashes == s3_dumps.counts["hashes"]


def test_the_reader_prunes_what_spark_pushes(s3_dumps):
    from pyspark.sql.datasource import EqualTo, GreaterThan, In

    reader = rdb_toolkit.spark.RdbReader({"path": s3_dumps.paths[0], "db": "0,1"}, "keys")
    pushed = [EqualTo(("db",), 1), In(("type",), ("string", "hash")), GreaterThan(("size",), 3)]
    assert list(reader.pushFilters(pushed)) == pushed  # Spark checks them all again
    assert reader.filters == {"db": [1], "type": ["string", "hash"]}
    rows = [r for p in reader.partitions() for b in reader.read(p) for r in b.to_pylist()]
    assert rows and {(r["db"], r["type"]) for r in rows} == {(1, "string")}
    list(reader.pushFilters([EqualTo(("db",), 5)]))
    assert [b for p in reader.partitions() for b in reader.read(p)] == []


def test_distributed_export_equals_the_cli_export(spark, s3_dumps, tmp_path):
    out = str(tmp_path / "export")
    options = {"endpoint_url": s3_dumps.endpoint, "cache_dir": s3_dumps.cache_dir}
    manifest = rdb_toolkit.spark.export(spark, s3_dumps.url, out, **options)
    assert manifest["status"] == "COMPLETE"
    assert_same_export(out, s3_dumps.cli_export)
    with pytest.raises(rdb_toolkit.ExportError, match="already complete in this directory"):
        rdb_toolkit.spark.export(spark, s3_dumps.url, out, **options)


def test_a_failed_task_fails_the_export_and_leaves_no_part(spark, s3_dumps, tmp_path):
    import json

    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_dumps.endpoint)
    data = open(s3_dumps.paths[1], "rb").read()
    s3.upload_file(s3_dumps.paths[0], BUCKET, "half-bad/shard-0001.rdb")
    s3.put_object(Bucket=BUCKET, Key="half-bad/shard-0002.rdb", Body=data[: len(data) // 2])
    out = tmp_path / "export"
    options = {"endpoint_url": s3_dumps.endpoint, "cache_dir": s3_dumps.cache_dir}
    with pytest.raises(rdb_toolkit.ExportError, match="(?s)FAILED: .*half-bad/shard-0002.rdb"):
        rdb_toolkit.spark.export(spark, f"s3://{BUCKET}/half-bad/", str(out), **options)
    manifest = json.loads((out / "export_info.json").read_text())
    assert manifest["status"] == "FAILED" and "shard-0002.rdb" in manifest["failure_cause"]
    assert sorted(os.listdir(out)) == ["export_info.json"]
