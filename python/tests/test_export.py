"""The distributed export's driver side, without an engine: a run that fails is marked
FAILED and leaves no part file; a damaged dump stops it before anything is written."""
import json
import os
import subprocess

import pytest
from conftest import RDB_CONVERT, assert_same_export

from rdb_toolkit import _export, _native


def test_a_failed_run_is_marked_and_leaves_no_part(s3_dumps, tmp_path):
    out = tmp_path / "export"

    def run(parts, task):
        done = [task(p) for p in parts[:2]]  # staged files of two shards, then a task fails
        raise RuntimeError(f"task failed after {len(done)}")

    with pytest.raises(_native.ExportError, match="FAILED: task failed after 2; manifest in"):
        _export.export(s3_dumps.paths, str(out), run, _native.SPLIT_BYTES, {}, {})
    manifest = json.loads((out / "export_info.json").read_text())
    assert manifest["status"] == "FAILED"
    assert manifest["failure_cause"] == "task failed after 2"
    assert sorted(os.listdir(out)) == ["export_info.json"]


def test_a_damaged_dump_writes_nothing(s3_dumps, tmp_path):
    damaged = tmp_path / "shard-0001.rdb"
    data = open(s3_dumps.paths[0], "rb").read()
    damaged.write_bytes(data[: len(data) // 2])
    out = tmp_path / "export"
    with pytest.raises(_native.RdbError, match="shard-0001.rdb"):
        _export.export([str(damaged)], str(out), None, _native.SPLIT_BYTES, {}, {})
    assert not out.exists()


def test_an_export_is_not_overwritten(s3_dumps, tmp_path):
    def run(parts, task):
        return [task(p) for p in parts]

    manifest = _export.export(s3_dumps.paths, str(tmp_path), run, 4096, {"db": [1]}, {})
    assert manifest["status"] == "COMPLETE" and manifest["filters"]["db"] == [1]
    assert set(manifest["rows"]) == {"keys", "strings", "meta"}
    with pytest.raises(_native.ExportError, match="already complete in this directory"):
        _export.export(s3_dumps.paths, str(tmp_path), run, 4096, {}, {})
    assert json.loads((tmp_path / "export_info.json").read_text()) == manifest


def test_tiny_splits_are_refused(s3_dumps, tmp_path):
    with pytest.raises(ValueError, match="at least 1024"):
        _export.export(s3_dumps.paths, str(tmp_path), None, 10, {}, {})
    assert os.listdir(tmp_path) == []


def test_a_second_driver_is_refused_while_one_runs(s3_dumps, tmp_path):
    """Two drivers on one output refuse as two CLIs do (the same lock); the first one
    still completes."""
    out = tmp_path / "export"

    def run(parts, task):
        with pytest.raises(_native.ExportError, match="already running in this directory"):
            _export.export(s3_dumps.paths, str(out), None, _native.SPLIT_BYTES, {}, {})
        return [task(p) for p in parts]

    manifest = _export.export(s3_dumps.paths, str(out), run, _native.SPLIT_BYTES, {}, {})
    assert manifest["status"] == "COMPLETE"


def test_export_equals_the_cli(s3_dumps, tmp_path):
    """rdb_toolkit.export is the CLI's export: the same files, byte for byte, and the same
    manifest but for times and ids; a second export there is refused as the CLI's is."""
    import rdb_toolkit

    cli = tmp_path / "cli"
    done = subprocess.run(
        [RDB_CONVERT, *s3_dumps.paths, "--format", "parquet", "-o", str(cli)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "py"
    manifest = rdb_toolkit.export(s3_dumps.paths, out)
    assert manifest == json.loads((out / "export_info.json").read_text())
    assert_same_export(str(out), str(cli))
    with pytest.raises(rdb_toolkit.ExportError, match="already complete"):
        rdb_toolkit.export(s3_dumps.paths, out)
    manifest = rdb_toolkit.export(s3_dumps.paths, out, db=1, overwrite=True)
    assert manifest["filters"]["db"] == [1] and manifest["keys_filtered_out"] > 0


def test_export_errors_name_the_dump(tmp_path):
    import rdb_toolkit

    with pytest.raises(rdb_toolkit.RdbError, match="missing.rdb"):
        rdb_toolkit.export([str(tmp_path / "missing.rdb")], tmp_path / "out")
    assert not (tmp_path / "out").exists()



def test_splits_of_one_dump_write_their_own_parts_with_the_cli_rows(s3_dumps, tmp_path):
    """Dumps cut into many splits: each split's parts are named after its chunk, and the
    tables hold the CLI's rows."""
    import pyarrow.dataset as pads

    import rdb_toolkit

    cli = tmp_path / "cli"
    rdb_toolkit.export(s3_dumps.paths, cli)

    def run(parts, task):
        return [task(p) for p in parts]

    out = tmp_path / "split"
    manifest = _export.export(s3_dumps.paths, str(out), run, 2048, {}, {})
    want = json.loads((cli / "export_info.json").read_text())
    assert manifest["status"] == "COMPLETE" and manifest["rows"] == want["rows"]
    assert manifest["keys_exported"] == want["keys_exported"]
    assert [s["checksum"] for s in manifest["source_files"]] == ["ok"] * len(s3_dumps.paths)
    names = [f["path"] for f in manifest["files"]]
    assert len(names) > len(want["files"]) and len(set(names)) == len(names)
    assert "keys/db=0/part-0000-shard-0001-00001-00000.parquet" in names
    for table in manifest["rows"]:
        partitioning = None if table == "meta" else "hive"
        a, b = (
            pads.dataset(str(d / table), format="parquet", partitioning=partitioning).to_table()
            for d in (out, cli)
        )
        assert sorted(a.to_pylist(), key=repr) == sorted(b.to_pylist(), key=repr), table
