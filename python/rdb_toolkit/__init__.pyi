import os
from typing import Iterable, Optional, Sequence, Union

import pyarrow as pa

Source = Union[str, os.PathLike, Sequence[Union[str, os.PathLike]]]

TABLES: list[str]
SPLIT_BYTES: int

class RdbError(Exception):
    """A dump could not be read: the message names the file and the byte offset."""

class ExportError(Exception):
    """An export could not start (another one runs in the directory, a finished one is
    there) or ended FAILED or CANCELED: the CLI's message, naming the manifest."""

class Split:
    """A record-aligned byte range of one dump, read on its own by ``read_split``."""
    path: str
    input: int
    chunk: int
    start: int
    end: int
    @staticmethod
    def from_json(text: str) -> "Split": ...
    def to_json(self) -> str: ...

def read(
    source: Source,
    table: str = "keys",
    *,
    db: Optional[Union[int, Iterable[int]]] = None,
    key: Optional[str] = None,
    type: Optional[Union[str, Iterable[str]]] = None,
    endpoint_url: Optional[str] = None,
    region: Optional[str] = None,
    cache_dir: Optional[str] = None,
) -> pa.RecordBatchReader: ...
def plan(source: Source, split_bytes: int = ...) -> list[Split]: ...
def read_split(
    split: Split,
    table: str = "keys",
    *,
    db: Optional[Union[int, Iterable[int]]] = None,
    key: Optional[str] = None,
    type: Optional[Union[str, Iterable[str]]] = None,
) -> pa.RecordBatchReader: ...
def info(source: Source) -> dict: ...
def export(
    source: Source,
    output: Union[str, os.PathLike],
    format: str = "parquet",
    *,
    db: Optional[Union[int, Iterable[int]]] = None,
    key: Optional[str] = None,
    type: Optional[Union[str, Iterable[str]]] = None,
    compression: str = "zstd",
    overwrite: bool = False,
    export_id: Optional[str] = None,
) -> dict: ...
def memory(
    source: Source,
    *,
    endpoint_url: Optional[str] = None,
    region: Optional[str] = None,
    cache_dir: Optional[str] = None,
) -> pa.RecordBatchReader: ...
