"""A Parquet export run by Spark or Ray tasks through the Rust export of ``rdb-convert
--format parquet``: the driver takes the output directory as the CLI does (its lock: a
second driver, or a CLI, on the same output is refused), each task writes its splits' part
files with the Rust Parquet sink into ``.export-staging`` (the CLI's part names), and the
driver publishes them and writes the manifest with every field the CLI writes. A failed
run is marked FAILED and its files removed. The output directory must be reachable from
every task (a shared filesystem).
"""
import json
import os
import warnings
from typing import Callable, List

from . import _native
from ._scale import Part, is_s3, part_splits, plan_parts


def _given(source) -> List[str]:
    """The sources as the caller gave them, for the manifest (as the CLI records its
    arguments)."""
    if isinstance(source, (str, bytes, os.PathLike)):
        source = [source]
    return [s if is_s3(s) else os.fsdecode(s) for s in source]


def _filter_args(filters: dict):
    return list(filters.get("db", [])), filters.get("key"), list(filters.get("type", []))


def write_part(part: Part, staging: str, split_bytes: int, filters: dict, s3: dict,
               compression: str) -> List[str]:
    """Every table of one part's splits as staged part files; returns each split's output
    (JSON, for ``DriverExport.publish``)."""
    outputs = []
    for split in part_splits(part, split_bytes, s3):
        if split.input != part.input:
            # An object's splits are planned alone (input 0); part names take its place
            # among all the source's dumps, as the CLI's.
            fields = json.loads(split.to_json())
            fields["input"] = part.input
            split = _native.Split.from_json(json.dumps(fields))
        try:
            outputs.append(
                _native.write_split(split, part.url, staging, compression, *_filter_args(filters))
            )
        except (_native.RdbError, OSError) as e:
            raise type(e)(str(e).replace(split.path, part.url)) from None
    return outputs


def export(
    source,
    output: str,
    run: Callable[[List[Part], Callable], list],
    split_bytes: int,
    filters: dict,
    s3: dict,
    *,
    compression: str = "zstd",
    overwrite: bool = False,
    export_id=None,
) -> dict:
    """Plans ``source``, takes ``output``, has ``run(parts, task)`` execute ``task(part)``
    for every part (on an engine; results in the parts' order), publishes the files and
    returns the manifest (status COMPLETE). Raises ``ExportError`` when the output is taken
    or the run fails (the manifest then says FAILED)."""
    output = os.path.abspath(output)
    parts = plan_parts(source, split_bytes, s3)  # a damaged dump stops here: nothing written
    driver, notice = _native.start_export(
        output, _given(source), compression, overwrite, export_id, *_filter_args(filters)
    )
    if notice:
        warnings.warn(notice, stacklevel=2)
    try:
        results = run(parts, _Task(driver.staging, split_bytes, filters, s3, compression))
    except BaseException as e:
        raise driver.fail(str(e), isinstance(e, KeyboardInterrupt)) from e
    outputs = [o for r in results for o in r]
    total = sum(p.size for p in parts if p.index == 0)
    return json.loads(driver.publish(outputs, total))


class _Task:
    """``write_part`` with the run's settings, picklable for the engines."""

    def __init__(self, staging, split_bytes, filters, s3, compression):
        self.args = (staging, split_bytes, filters, s3, compression)

    def __call__(self, part: Part) -> List[str]:
        return write_part(part, *self.args)
