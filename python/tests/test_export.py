"""The distributed export's driver side, without an engine: a run that fails is marked
FAILED and leaves no part file; a damaged dump stops it before anything is written."""
import json
import os

import pytest

from rdb_toolkit import _export, _native


def test_a_failed_run_is_marked_and_leaves_no_part(s3_dumps, tmp_path):
    out = tmp_path / "export"

    def run(parts, task):
        done = [task(p) for p in parts[:2]]  # staged files of two shards, then a task fails
        raise RuntimeError(f"task failed after {len(done)}")

    with pytest.raises(RuntimeError, match="task failed after 2"):
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
    with pytest.raises(FileExistsError):
        _export.export(s3_dumps.paths, str(tmp_path), run, 4096, {}, {})


def test_tiny_splits_are_refused(s3_dumps, tmp_path):
    with pytest.raises(ValueError, match="at least 1024"):
        _export.export(s3_dumps.paths, str(tmp_path), None, 10, {}, {})
    assert os.listdir(tmp_path) == []
