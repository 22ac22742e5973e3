//! The Parquet sink: one table per kind of data, hive-partitioned by database.
//!
//! ```text
//! <table>/db=<N>/part-<input>-<file-stem>-<n>.parquet     (meta: meta/part-...)
//! ```
//! `<input>` is the dump's position in the run (4 digits), so dumps with the same file name
//! (`host1/dump.rdb`, `host2/dump.rdb`) never share a part name; `<n>` (5 digits, from 0)
//! numbers the parts of one table and database of a dump: a part rolls over to the next once
//! it holds [`ParquetOptions::part_bytes`]. Each chunk of the dump adds one row group (more if
//! it is bigger than [`ParquetOptions::row_group_bytes`]). Files depend only on the inputs,
//! the chunk size and these options, never on the thread count.
//!
//! Workers encode and compress each chunk's row groups in memory (module `encode`); the thread
//! that commits appends them, in order, to the open part files (module `part`, [`DumpParts`]).
//!
//! Byte strings are two columns: `name` (UTF-8 text, null when the bytes are not UTF-8) and
//! `name_raw` (the bytes, only when they are not UTF-8), so nothing is lost and common
//! queries stay simple. Times are `timestamp(ms, UTC)`.
//!
//! The sink writes into a staging directory, flat, under names that no table glob matches
//! ([`PartFile::staged_name`]); the export moves the committed files ([`ParquetSink::files`])
//! into place once every input is done ([`crate::export::Export::publish`]).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use rdb_format::{Eof, Item, Scratch};

mod encode;
mod part;
pub(crate) mod record;
pub(crate) mod schema;

pub use encode::RowGroup;
use encode::{ChunkTables, Encodings};
pub use part::DumpParts;
pub use record::STRING_PIECE_BYTES;
use record::{meta, record, RowError};
pub use schema::TABLES;

use rdb_pipeline::pipeline::{Chunk, FileInfo, Sink, SinkError};

/// Errors of [`ParquetSink`] (the dump's decoding errors are the engine's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParquetSinkError {
    /// A part file or the staging directory could not be made or read.
    #[error("{}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet writer of a part file failed. Parquet's errors repeat their cause in their
    /// message, so the error is a field shown in this message, not a `source()`.
    #[error("{}: {error}", path.display())]
    Parquet {
        /// The part file.
        path: PathBuf,
        /// Why.
        error: parquet::errors::ParquetError,
    },
    /// A table's rows could not be encoded (before any file is written). Parquet's errors
    /// repeat their cause in their message, so the error is a field shown in this message.
    #[error("encoding table {table}: {error}")]
    Encode {
        /// The table.
        table: &'static str,
        /// Why.
        error: parquet::errors::ParquetError,
    },
    /// Rows could not be made into a batch (Arrow's errors repeat their cause in their
    /// message, so the error is a field, not a `source()`).
    #[error("building a batch: {error}")]
    Batch {
        /// Why.
        error: arrow_schema::ArrowError,
    },
}

type Result<T, E = ParquetSinkError> = std::result::Result<T, E>;

/// Column compression.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// zstd (default): small files, fast enough.
    #[default]
    Zstd,
    /// Snappy: faster, bigger.
    Snappy,
    /// None.
    None,
}

/// Parquet sink settings.
#[derive(Clone, Debug)]
pub struct ParquetOptions {
    /// Column compression.
    pub compression: Compression,
    /// Cut a row group when its encoded size reaches this (a chunk's rows of one table and
    /// database make one row group, more only past this size).
    pub row_group_bytes: usize,
    /// Close a part file and start the table's next one when it holds this many bytes.
    pub part_bytes: u64,
    /// And at most this many rows per row group.
    pub row_group_rows: usize,
    /// Hand rows to the file writer when the column builders hold this much.
    pub batch_bytes: usize,
}

impl Default for ParquetOptions {
    fn default() -> Self {
        ParquetOptions {
            compression: Compression::Zstd,
            row_group_bytes: 128 << 20,
            row_group_rows: 1 << 20,
            part_bytes: 256 << 20,
            // Per open table, up to a dozen per worker: 8 MiB each made most of a 250 MB
            // export's anon memory.
            batch_bytes: 2 << 20,
        }
    }
}

/// A part file the sink wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartFile {
    /// Its path in the export, relative, `/`-separated:
    /// `keys/db=0/part-0000-dump-00000.parquet`.
    pub path: String,
    /// Its table.
    pub table: &'static str,
    /// Rows in it.
    pub rows: u64,
    /// Its size.
    pub bytes: u64,
}

impl PartFile {
    /// Its name in the staging directory: the path flattened, `.tmp` appended, so neither
    /// a table folder nor a `**/*.parquet` glob sees a file before it is published.
    pub fn staged_name(&self) -> String {
        format!("{}.tmp", self.path.replace('/', "~"))
    }
}

/// What the sink has committed so far.
#[derive(Clone, Debug, Default)]
pub struct ParquetStats {
    /// Rows per table.
    pub rows: BTreeMap<&'static str, u64>,
    /// Part files written.
    pub files: u64,
    /// Bytes of the part files.
    pub bytes: u64,
}

/// Writes a dump's data as Parquet part files into a staging directory.
pub struct ParquetSink {
    dir: PathBuf,
    options: ParquetOptions,
    /// Settings shared by every table; each table adds its own per column.
    props: WriterPropertiesBuilder,
    /// Every table's encoding, made by the first dump's `begin_file`.
    encodings: Mutex<Option<Arc<Encodings>>>,
    /// Part files closed (complete), in the order they were closed.
    committed: Mutex<Vec<PartFile>>,
    /// Every file this run created, removed on abort.
    created: Mutex<Vec<PathBuf>>,
}

impl ParquetSink {
    /// A sink writing into the staging directory `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>, options: ParquetOptions) -> Self {
        let compression = match options.compression {
            Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
            Compression::Snappy => ParquetCompression::SNAPPY,
            Compression::None => ParquetCompression::UNCOMPRESSED,
        };
        let props = WriterProperties::builder()
            .set_compression(compression)
            .set_max_row_group_bytes(Some(options.row_group_bytes))
            .set_max_row_group_row_count(Some(options.row_group_rows));
        ParquetSink {
            dir: dir.into(),
            options,
            props,
            encodings: Mutex::new(None),
            committed: Mutex::new(Vec::new()),
            created: Mutex::new(Vec::new()),
        }
    }

    /// The part files complete so far (every part of a dump once its `end_file` ran).
    pub fn files(&self) -> Vec<PartFile> {
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Rows, files and bytes committed so far.
    pub fn stats(&self) -> ParquetStats {
        let mut stats = ParquetStats::default();
        for f in self
            .committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            *stats.rows.entry(f.table).or_default() += f.rows;
            stats.files += 1;
            stats.bytes += f.bytes;
        }
        stats
    }

    fn io_err(path: &Path, source: std::io::Error) -> ParquetSinkError {
        ParquetSinkError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn parquet_err(path: &Path, error: parquet::errors::ParquetError) -> ParquetSinkError {
        ParquetSinkError::Parquet {
            path: path.to_path_buf(),
            error,
        }
    }
}

impl Sink for ParquetSink {
    type File = DumpParts;
    type Part = Vec<RowGroup>;
    type Error = ParquetSinkError;

    fn begin_file(
        &self,
        file: &FileInfo,
        _data: &[u8],
    ) -> Result<DumpParts, SinkError<ParquetSinkError>> {
        fs::create_dir_all(&self.dir).map_err(|e| SinkError::Sink(Self::io_err(&self.dir, e)))?;
        let encodings = {
            let mut e = self.encodings.lock().unwrap_or_else(|p| p.into_inner());
            match &*e {
                Some(e) => e.clone(),
                None => {
                    let made = Arc::new(Encodings::new(&self.props).map_err(SinkError::Sink)?);
                    *e = Some(made.clone());
                    made
                }
            }
        };
        Ok(DumpParts::new(encodings, file))
    }

    fn process<'a>(
        &self,
        dump: &DumpParts,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<RowGroup>, SinkError<ParquetSinkError>> {
        let mut t = ChunkTables::new(&dump.encodings, &self.options, chunk.db);
        let file = chunk.file.path.display().to_string();
        let row_error = |e| match e {
            RowError::Decode(e) => SinkError::Decode(e),
            RowError::Sink(e) => SinkError::Sink(e),
        };
        for item in items {
            match item? {
                Item::Record(r) => record(&mut t, &file, &r, scratch).map_err(row_error)?,
                other => meta(&mut t, &file, other, scratch).map_err(row_error)?,
            }
            scratch.reset();
        }
        t.finish().map_err(SinkError::Sink)
    }

    fn commit(&self, dump: &DumpParts, _chunk: &Chunk, groups: Vec<RowGroup>) -> Result<()> {
        let full = dump.append(self, groups)?;
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(full);
        Ok(())
    }

    fn end_file(&self, dump: DumpParts, _eof: &Eof) -> Result<()> {
        let files = dump.finish()?;
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(files);
        Ok(())
    }

    fn abort(&self) {
        let created = std::mem::take(&mut *self.created.lock().unwrap_or_else(|p| p.into_inner()));
        for path in created {
            let _ = fs::remove_file(path);
        }
    }
}
