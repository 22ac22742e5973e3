"""RDB dumps as Spark DataFrames: a PySpark (>= 4.0) Python Data Source named ``rdb``.

::

    import rdb_toolkit.spark
    rdb_toolkit.spark.register(spark)
    keys = (spark.read.format("rdb")
            .option("table", "keys")                 # any of rdb_toolkit.TABLES
            .option("endpoint_url", "http://minio:9000")  # optional; else AWS_ENDPOINT_URL
            .load("s3://backups/nightly/name-*.rdb"))

``load`` takes a dump, a local directory (its ``*.rdb``), a glob, or an ``s3://`` object,
prefix or glob. One partition per split of ``rdb_toolkit.plan`` (shards, and chunks of big
shards); an ``s3://`` object is listed by the driver and fetched by the executors (once per
Python worker process, into ``cache_dir``), never by the driver. The schema is the table's
Arrow schema (the Parquet export's columns, then ``db``); executors send Arrow batches.

Options: ``table`` (default ``keys``), ``db`` (``"0,3"``), ``key`` (a Redis glob),
``type`` (``"hash,zset"``), ``split_bytes``, and for S3 ``endpoint_url``, ``region``,
``cache_dir``; credentials come from the usual ``AWS_*`` variables and profiles.

``register`` turns on ``spark.sql.python.filterPushdown.enabled``, so ``where`` conditions ``db = n``,
``db IN (...)`` (every table) and ``type = 'hash'``, ``type IN (...)`` (``keys``) also
skip the other keys while decoding; Spark still checks every condition itself.
"""
import pyarrow as pa
from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.pandas.types import from_arrow_schema

try:
    from pyspark.sql.datasource import EqualTo, In
except ImportError:  # PySpark 4.0 pushes no filters to Python data sources
    EqualTo = In = ()

from . import _native
from ._scale import S3_OPTIONS, Part, empty_schema, parse_filters, plan_parts, read_part

__all__ = ["RdbDataSource", "register", "export"]

# The `type` column's values, which the key filter takes as they are.
_KEY_TYPES = ("string", "list", "set", "zset", "hash", "stream", "module")


def register(spark) -> None:
    """Makes ``spark.read.format("rdb")`` available in this session, and turns on
    ``spark.sql.python.filterPushdown.enabled``: PySpark refuses to read from a source whose
    reader takes pushed filters while that setting is off (its default)."""
    if EqualTo:
        spark.conf.set("spark.sql.python.filterPushdown.enabled", "true")
    spark.dataSource.register(RdbDataSource)


def _spark_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """The table's schema as Spark takes Arrow batches: timestamps in microseconds."""
    fields = []
    for f in schema:
        if pa.types.is_timestamp(f.type):
            f = f.with_type(pa.timestamp("us", tz=f.type.tz))
        fields.append(f)
    return pa.schema(fields)


class RdbDataSource(DataSource):
    """``spark.read.format("rdb")``: one table of Redis/Valkey RDB dumps."""

    @classmethod
    def name(cls) -> str:
        return "rdb"

    def _table(self) -> str:
        table = self.options.get("table", "keys")
        if table not in _native.TABLES:
            raise ValueError(f"no table {table!r}; tables: {', '.join(_native.TABLES)}")
        return table

    def schema(self):
        return from_arrow_schema(empty_schema(self._table()))

    def reader(self, schema):
        return RdbReader(dict(self.options), self._table())


class RdbReader(DataSourceReader):
    """Plans on the driver; reads one split (or one share of an S3 object) per partition."""

    def __init__(self, options: dict, table: str):
        self.table = table
        self.split_bytes = int(options.get("split_bytes") or _native.SPLIT_BYTES)
        self.filters = parse_filters(options)
        self.nothing = False  # pushed conditions that no key can meet
        self.s3 = {k: options[k] for k in S3_OPTIONS if options.get(k)}
        path = options.get("path") or options.get("paths")
        if not path:
            raise ValueError('give the dumps to load(): a path, a glob or an s3:// URL')
        self.source = path
        self.arrow_schema = _spark_arrow_schema(empty_schema(table))

    def pushFilters(self, filters):
        for f in filters:
            if isinstance(f, (EqualTo, In)):
                values = list(f.value) if isinstance(f, In) else [f.value]
                if f.attribute == ("db",) and self.table != "meta":
                    if all(isinstance(v, int) and v >= 0 for v in values):
                        self._narrow("db", values)
                elif f.attribute == ("type",) and self.table == "keys":
                    if all(v in _KEY_TYPES for v in values):
                        self._narrow("type", values)
            # Every filter stays Spark's to check too: pruning here only saves decoding.
            yield f

    def _narrow(self, name, values):
        current = self.filters.get(name)
        kept = [v for v in values if current is None or v in current]
        if kept:
            self.filters[name] = kept
        else:
            self.nothing = True

    def partitions(self):
        return [InputPartition(p) for p in plan_parts(self.source, self.split_bytes, self.s3)]

    def read(self, partition: InputPartition):
        part: Part = partition.value
        if self.nothing:
            return
        for batch in read_part(part, self.table, self.split_bytes, self.filters, self.s3):
            if batch.num_rows:
                yield batch.cast(self.arrow_schema)


def export(spark, source, output: str, **options) -> dict:
    """Exports every table of ``source`` to Parquet in ``output`` (a directory every
    executor can write: a shared filesystem), with one Spark task per split, in the CLI's
    layout and manifest (``export_info.json``, written last: COMPLETE once every file is in
    place), through the CLI's Rust export: the same part files and manifest fields, and the
    same lock (a second export on ``output`` is refused while one runs). ``options`` as for
    ``format("rdb")``: ``db``, ``key``, ``type``, ``split_bytes``, ``endpoint_url``,
    ``region``, ``cache_dir``; and ``compression``, ``overwrite``, ``export_id`` as for
    ``rdb_toolkit.export``. Returns the manifest; raises ``rdb_toolkit.ExportError`` when
    the output is taken or a task fails (the manifest then says FAILED)."""
    from ._export import export as run_export

    def run(parts, task):
        sc = spark.sparkContext
        return sc.parallelize(parts, len(parts)).map(task).collect()

    return run_export(source, output, run, *_export_options(options), **_export_settings(options))


def _export_options(options: dict):
    options = {k: v for k, v in options.items() if v is not None}
    split_bytes = int(options.get("split_bytes") or _native.SPLIT_BYTES)
    return split_bytes, parse_filters(options), {k: options[k] for k in S3_OPTIONS if k in options}


def _export_settings(options: dict) -> dict:
    """``compression``, ``overwrite`` and ``export_id``, as ``rdb_toolkit.export`` takes them."""
    return {k: options[k] for k in ("compression", "overwrite", "export_id") if k in options}
