//! The memory report as one Parquet file: the CSV's columns, typed, for dumps whose report
//! is too big to read as text.
//!
//! | column | type | |
//! |---|---|---|
//! | `database` | int64 | |
//! | `type` | string | `string`, `list`, `set`, `zset`, `hash`, `stream`, `module` |
//! | `key` | string | null when the key is not UTF-8 |
//! | `key_raw` | binary | the key's bytes, only when it is not UTF-8 |
//! | `size_in_bytes` | int64 | the estimate of `MEMORY USAGE key SAMPLES 0` |
//! | `encoding` | string | the in-memory encoding the server would pick |
//! | `num_elements` | int64 | |
//! | `len_largest_element` | int64 | |
//! | `expiry` | timestamp(ms, UTC) | null without one |
//!
//! Chunks are estimated on the pipeline's threads, each into its own record batch; batches
//! are written in file order when their chunk commits, so the file is the same whatever the
//! thread count.

use std::io::Write;
use std::sync::{Arc, Mutex};

use arrow_array::builder::{
    BinaryBuilder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rdb_format::{DecoderOptions, Record, Scratch};

use crate::memory::{for_each_estimate, FileModels, KeyMemory, MemoryModel, ModelOptions};
use crate::ReportSinkError;
use rdb_pipeline::pipeline::{Chunk, FileInfo as PipelineFile, Sink, SinkError};

type Result<T, E = ReportSinkError> = std::result::Result<T, E>;

/// The report's schema.
pub fn memory_schema() -> SchemaRef {
    let utc = Some(Arc::from("UTC"));
    Arc::new(Schema::new(vec![
        Field::new("database", DataType::Int64, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, true),
        Field::new("key_raw", DataType::Binary, true),
        Field::new("size_in_bytes", DataType::Int64, false),
        Field::new("encoding", DataType::Utf8, false),
        Field::new("num_elements", DataType::Int64, false),
        Field::new("len_largest_element", DataType::Int64, false),
        Field::new(
            "expiry",
            DataType::Timestamp(TimeUnit::Millisecond, utc),
            true,
        ),
    ]))
}

/// Column builders for one chunk's rows.
struct Rows {
    database: Int64Builder,
    data_type: StringBuilder,
    key: StringBuilder,
    key_raw: BinaryBuilder,
    size: Int64Builder,
    encoding: StringBuilder,
    elements: Int64Builder,
    largest: Int64Builder,
    expiry: TimestampMillisecondBuilder,
    len: usize,
}

/// Counts in the report are u64; Parquet has no unsigned 64-bit type DuckDB and Athena read
/// alike, and no real figure comes near 2^63.
fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Rows {
    fn new() -> Self {
        Rows {
            database: Int64Builder::new(),
            data_type: StringBuilder::new(),
            key: StringBuilder::new(),
            key_raw: BinaryBuilder::new(),
            size: Int64Builder::new(),
            encoding: StringBuilder::new(),
            elements: Int64Builder::new(),
            largest: Int64Builder::new(),
            expiry: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            len: 0,
        }
    }

    fn push(&mut self, r: &Record<'_>, key: &[u8], m: &KeyMemory) {
        self.database.append_value(i64_of(r.db));
        self.data_type.append_value(r.data_type().as_str());
        match std::str::from_utf8(key) {
            Ok(text) => {
                self.key.append_value(text);
                self.key_raw.append_null();
            }
            Err(_) => {
                self.key.append_null();
                self.key_raw.append_value(key);
            }
        }
        self.size.append_value(i64_of(m.bytes));
        self.encoding.append_value(m.encoding);
        self.elements.append_value(i64_of(m.elements));
        self.largest.append_value(i64_of(m.largest_element));
        self.expiry.append_option(r.expire_ms);
        self.len += 1;
    }

    fn finish(mut self, schema: &SchemaRef) -> Result<Option<RecordBatch>> {
        if self.len == 0 {
            return Ok(None);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.database.finish()),
            Arc::new(self.data_type.finish()),
            Arc::new(self.key.finish()),
            Arc::new(self.key_raw.finish()),
            Arc::new(self.size.finish()),
            Arc::new(self.encoding.finish()),
            Arc::new(self.elements.finish()),
            Arc::new(self.largest.finish()),
            Arc::new(self.expiry.finish()),
        ];
        RecordBatch::try_new(schema.clone(), columns)
            .map(Some)
            .map_err(|error| ReportSinkError::Batch { error })
    }
}

/// The memory report written as Parquet by the parallel pipeline.
pub struct MemoryParquetSink<W: Write + Send> {
    models: FileModels,
    schema: SchemaRef,
    writer: Mutex<ArrowWriter<W>>,
    min_memory: u64,
}

impl<W: Write + Send> MemoryParquetSink<W> {
    /// A report into `out` (zstd-compressed, row groups of up to a million keys).
    pub fn new(out: W, options: ModelOptions, decoder: DecoderOptions) -> Result<Self> {
        let schema = memory_schema();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(1 << 20))
            .build();
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props)).map_err(|error| {
            ReportSinkError::Parquet {
                what: "starting the Parquet report",
                error,
            }
        })?;
        Ok(MemoryParquetSink {
            models: FileModels::new(options, decoder),
            schema,
            writer: Mutex::new(writer),
            min_memory: 0,
        })
    }

    /// Only keys whose estimated memory is at least `bytes` get a row.
    pub fn with_min_memory(mut self, bytes: u64) -> Self {
        self.min_memory = bytes;
        self
    }

    /// The model used for each file.
    pub fn models(&self) -> Vec<MemoryModel> {
        self.models.models()
    }

    /// Writes the Parquet footer and returns the output.
    pub fn finish(self) -> Result<W> {
        let writer = self.writer.into_inner().unwrap_or_else(|p| p.into_inner());
        writer
            .into_inner()
            .map_err(|error| ReportSinkError::Parquet {
                what: "finishing the Parquet report",
                error,
            })
    }
}

impl<W: Write + Send> Sink for MemoryParquetSink<W> {
    type File = MemoryModel;
    type Part = Option<RecordBatch>;
    type Error = ReportSinkError;

    fn begin_file(
        &self,
        file: &PipelineFile,
        data: &[u8],
    ) -> Result<MemoryModel, SinkError<ReportSinkError>> {
        self.models.begin_file(file, data)
    }

    fn process<'a>(
        &self,
        model: &MemoryModel,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<rdb_format::Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Option<RecordBatch>, SinkError<ReportSinkError>> {
        let mut rows = Rows::new();
        let min = self.min_memory;
        for_each_estimate(chunk, items, scratch, model, min, |r, key, m, _| {
            rows.push(r, key, &m);
            Ok(())
        })?;
        rows.finish(&self.schema).map_err(SinkError::Sink)
    }

    fn commit(
        &self,
        _model: &MemoryModel,
        _chunk: &Chunk,
        batch: Option<RecordBatch>,
    ) -> Result<()> {
        let Some(batch) = batch else { return Ok(()) };
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        writer
            .write(&batch)
            .map_err(|error| ReportSinkError::Parquet {
                what: "writing the Parquet report",
                error,
            })
    }
}
