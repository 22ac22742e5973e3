"""rdb_toolkit against the CLI's Parquet export: the same tables, row for row; pyarrow,
duckdb and polars read the readers directly; plans and splits; errors with the offset."""
import os
import pickle
import subprocess

import duckdb
import polars
import pyarrow as pa
import pytest

import rdb_toolkit

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SAMPLE = os.path.join(REPO, "testdata", "sample.rdb")
RDB_CONVERT = os.environ.get("RDB_CONVERT", os.path.join(REPO, "target", "debug", "rdb-convert"))


def corpus(limit=40):
    """Dumps of the test corpus the CLI exports (the first `limit`, by path)."""
    found = []
    for root, _, names in os.walk(os.path.join(REPO, "testdata", "corpus")):
        found.extend(os.path.join(root, n) for n in names if n.endswith(".rdb"))
    return sorted(found)[:limit]


def parquet_export(dump, out, *args):
    done = subprocess.run(
        [RDB_CONVERT, dump, "--format", "parquet", "-o", str(out), *args],
        capture_output=True,
    )
    return done.returncode == 0


def equal_to_parquet(stream, export, table):
    """Row count and rows (EXCEPT ALL both ways) of an Arrow table against a Parquet table."""
    con = duckdb.connect()  # one per table: a failed read_parquet leaves it unusable
    pattern = os.path.join(export, table, "*.parquet" if table == "meta" else "**/*.parquet")
    con.register("stream", stream)
    names = ", ".join(f'"{n}"' for n in stream.schema.names)
    parquet = f"(select {names} from read_parquet('{pattern}', hive_partitioning=true))"
    try:
        want = con.execute(f"select count(*) from {parquet}").fetchone()[0]
    except duckdb.IOException:
        assert stream.num_rows == 0, table
        return 0
    assert stream.num_rows == want, table
    for a, b in (("stream", parquet), (parquet, "stream")):
        extra = con.execute(f"select count(*) from (select * from {a} except all select * from {b})")
        assert extra.fetchone()[0] == 0, table
    return want


@pytest.mark.parametrize("dump", [SAMPLE] + corpus())
def test_every_table_equals_the_parquet_export(dump, tmp_path):
    if not parquet_export(dump, tmp_path / "export"):
        pytest.skip("the CLI does not read this dump either")
    for table in rdb_toolkit.TABLES:
        got = rdb_toolkit.read(dump, table).read_all()
        assert got.schema == rdb_toolkit.read(dump, table).schema
        equal_to_parquet(got, str(tmp_path / "export"), table)


def test_filters_match_the_cli(tmp_path):
    export = tmp_path / "export"
    assert parquet_export(SAMPLE, export, "--db", "0", "--key", "user:*", "--type", "hash")
    got = rdb_toolkit.read(SAMPLE, "keys", db=0, key="user:*", type="hash").read_all()
    assert equal_to_parquet(got, str(export), "keys") == got.num_rows > 0


def test_duckdb_and_polars_read_the_reader():
    n = rdb_toolkit.read(SAMPLE).read_all().num_rows
    reader = rdb_toolkit.read(SAMPLE)
    assert duckdb.sql("select count(*) from reader").fetchall()[0][0] == n
    assert polars.from_arrow(rdb_toolkit.read(SAMPLE)).height == n
    assert pa.table(rdb_toolkit._native.read([SAMPLE], "keys", [], None, [])).num_rows == n


def test_splits_read_what_the_dump_reads(tmp_path):
    dumps = [SAMPLE] + corpus(10)
    splits = rdb_toolkit.plan(dumps, split_bytes=500)
    assert len(splits) > len(dumps)
    for table in ("keys", "hashes", "meta"):
        whole = rdb_toolkit.read(dumps, table).read_all()
        parts = [
            rdb_toolkit.read_split(pickle.loads(pickle.dumps(s)), table).read_all() for s in splits
        ]
        assert pa.concat_tables(parts).equals(whole), table
    # A directory is its .rdb files, by name.
    (tmp_path / "b.rdb").write_bytes(open(SAMPLE, "rb").read())
    (tmp_path / "a.rdb").write_bytes(open(SAMPLE, "rb").read())
    assert {s.input for s in rdb_toolkit.plan(tmp_path)} == {0, 1}
    one = rdb_toolkit.read(SAMPLE).read_all().num_rows
    assert rdb_toolkit.read(tmp_path).read_all().num_rows == 2 * one
    info = rdb_toolkit.info(tmp_path)
    assert [os.path.basename(f["path"]) for f in info["files"]] == ["a.rdb", "b.rdb"]


def test_a_damaged_dump_raises_with_its_offset(tmp_path):
    data = open(SAMPLE, "rb").read()
    cut = tmp_path / "cut.rdb"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(Exception, match=r"cut\.rdb.*offset"):
        rdb_toolkit.read(cut).read_all()
    with pytest.raises(rdb_toolkit.RdbError, match=r"cut\.rdb.*offset"):
        rdb_toolkit.plan(cut)
    with pytest.raises(ValueError, match="no table"):
        rdb_toolkit.read(SAMPLE, "nope")


def test_memory_is_the_clis_parquet_memory_report(tmp_path):
    """rdb_toolkit.memory gives the rows of ``rdb-convert memory --format parquet``."""
    import pyarrow.parquet as pq

    dumps = [SAMPLE, *corpus(8)]
    out = tmp_path / "memory.parquet"
    done = subprocess.run(
        [RDB_CONVERT, "memory", *dumps, "--format", "parquet", "-o", str(out)],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    want = pq.read_table(out)
    got = rdb_toolkit.memory(dumps).read_all()
    assert want.num_rows > 0 and got.equals(want)
    assert duckdb.sql("select count(*) from got").fetchall() == [(want.num_rows,)]
    with pytest.raises(rdb_toolkit.RdbError, match="missing.rdb"):
        rdb_toolkit.memory(str(tmp_path / "missing.rdb"))
