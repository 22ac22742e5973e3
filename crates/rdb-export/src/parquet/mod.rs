//! The Parquet sink: one table per kind of data, hive-partitioned by database.
//!
//! ```text
//! <table>/db=<N>/part-<input>-<file-stem>-<chunk>[-<n>].parquet     (meta: meta/part-...)
//! ```
//! `<input>` is the dump's position in the run (4 digits), so dumps with the same file name
//! (`host1/dump.rdb`, `host2/dump.rdb`) never share a part name; `<n>` numbers further parts
//! of one table and database in a chunk (a dump that selects a database twice). Names depend
//! only on the inputs and the chunk size, never on the thread count.
//!
//! Byte strings are two columns: `name` (UTF-8 text, null when the bytes are not UTF-8) and
//! `name_raw` (the bytes, only when they are not UTF-8), so nothing is lost and common
//! queries stay simple. Times are `timestamp(ms, UTC)`.
//!
//! The sink writes into a staging directory, flat, under names that no table glob matches
//! ([`PartFile::staged_name`]); the export moves the committed files ([`ParquetSink::files`])
//! into place once every input is done ([`crate::export::Export::publish`]).

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use rdb_format::{Item, Scratch, Str};

pub(crate) mod record;
pub(crate) mod schema;

use record::{record, RowError};
pub use schema::TABLES;
use schema::{Builder, Row, Table};

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
    /// Cut a row group when its encoded size reaches this.
    pub row_group_bytes: usize,
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
            // Per open table, up to a dozen per worker: 8 MiB each made most of a 250 MB
            // export's anon memory.
            batch_bytes: 2 << 20,
        }
    }
}

/// One part file being written by a worker.
struct PartWriter {
    builder: Builder,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    staged: PathBuf,
    file: PartFile,
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
    /// Files of committed chunks, in commit order.
    committed: Mutex<Vec<PartFile>>,
    /// Every file this run created, removed on abort.
    created: Mutex<Vec<PathBuf>>,
}

/// Bytes of a dump's file stem kept in part names (a file name has at most 255).
const STEM_BYTES: usize = 100;

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
            committed: Mutex::new(Vec::new()),
            created: Mutex::new(Vec::new()),
        }
    }

    /// The files of the chunks committed so far, in order.
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

    fn open_part(&self, chunk: &Chunk, table: Table, db: u64, n: u32) -> Result<PartWriter> {
        let mut stem = chunk.file.stem.as_str();
        if stem.len() > STEM_BYTES {
            let mut end = STEM_BYTES;
            while !stem.is_char_boundary(end) {
                end -= 1;
            }
            stem = &stem[..end];
        }
        let mut name = format!("part-{:04}-{stem}-{:05}", chunk.file.index, chunk.index);
        if n > 0 {
            name.push_str(&format!("-{n}"));
        }
        let path = match table {
            Table::Meta => format!("meta/{name}.parquet"),
            _ => format!("{}/db={db}/{name}.parquet", table.name()),
        };
        let file = PartFile {
            path,
            table: table.name(),
            rows: 0,
            bytes: 0,
        };
        let staged = self.dir.join(file.staged_name());
        let out = match File::create(&staged) {
            // The directory is made by begin_file; a wrapping sink may not forward it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                fs::create_dir_all(&self.dir).map_err(|e| Self::io_err(&self.dir, e))?;
                File::create(&staged)
            }
            r => r,
        }
        .map_err(|e| Self::io_err(&staged, e))?;
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(staged.clone());
        let schema = table.schema();
        let props = table.writer_properties(self.props.clone());
        let writer = ArrowWriter::try_new(out, schema.clone(), Some(props))
            .map_err(|e| Self::parquet_err(&staged, e))?;
        Ok(PartWriter {
            builder: Builder::new(table),
            schema,
            writer,
            staged,
            file,
        })
    }
}

/// The part writers of one chunk.
struct ChunkTables<'s> {
    sink: &'s ParquetSink,
    chunk: &'s Chunk,
    /// The database whose writers are open. A dump's databases come one after another, so
    /// the writers are closed when the next database begins: at most one per table is open
    /// (each holds a file and buffers) whatever the number of databases.
    db: u64,
    /// Open writers of `db`: a handful, looked up on every row, so a linear scan (hashing
    /// the key each time cost 8 % of a Parquet export).
    open: Vec<(Table, PartWriter)>,
    meta: Option<PartWriter>,
    /// Parts started per table and database in this chunk (a database selected again gets
    /// a further part, never a reused name).
    started: HashMap<(Table, u64), u32>,
    written: Vec<PartFile>,
}

impl<'s> ChunkTables<'s> {
    fn new(sink: &'s ParquetSink, chunk: &'s Chunk) -> Self {
        ChunkTables {
            sink,
            chunk,
            db: chunk.db,
            open: Vec::new(),
            meta: None,
            started: HashMap::new(),
            written: Vec::new(),
        }
    }

    fn start(&mut self, table: Table, db: u64) -> Result<PartWriter> {
        let n = self.started.entry((table, db)).or_insert(0);
        let part = self.sink.open_part(self.chunk, table, db, *n)?;
        *n += 1;
        Ok(part)
    }

    fn table(&mut self, table: Table, db: u64) -> Result<&mut PartWriter> {
        if table == Table::Meta {
            if self.meta.is_none() {
                self.meta = Some(self.start(table, 0)?);
            }
            return Ok(self.meta.as_mut().expect("opened above"));
        }
        if db != self.db {
            self.close_open()?;
            self.db = db;
        }
        let at = match self.open.iter().position(|(t, _)| *t == table) {
            Some(at) => at,
            None => {
                let p = self.start(table, db)?;
                self.open.push((table, p));
                self.open.len() - 1
            }
        };
        Ok(&mut self.open[at].1)
    }

    /// Appends a row; hands full batches to the file writer so memory stays bounded.
    fn row(&mut self, table: Table, db: u64, fill: impl FnOnce(&mut Row<'_>)) -> Result<()> {
        let batch_bytes = self.sink.options.batch_bytes;
        let part = self.table(table, db)?;
        let mut row = part.builder.row();
        fill(&mut row);
        // Rows are filled column by column: a row that misses or adds one would shift the
        // table's columns, so tests check every row against the table's declaration.
        debug_assert!(
            row.is_complete(),
            "{table:?}: a row does not fill its columns"
        );
        part.file.rows += 1;
        if part.builder.bytes >= batch_bytes {
            flush_batch(part)?;
        }
        Ok(())
    }

    fn close_open(&mut self) -> Result<()> {
        for (_, p) in std::mem::take(&mut self.open) {
            self.written.push(close(p)?);
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<PartFile>> {
        self.close_open()?;
        if let Some(m) = self.meta.take() {
            self.written.push(close(m)?);
        }
        self.written.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(self.written)
    }
}

fn close(mut p: PartWriter) -> Result<PartFile> {
    flush_batch(&mut p)?;
    let file = p
        .writer
        .into_inner()
        .map_err(|e| ParquetSink::parquet_err(&p.staged, e))?;
    p.file.bytes = file
        .metadata()
        .map_err(|e| ParquetSink::io_err(&p.staged, e))?
        .len();
    Ok(p.file)
}

fn flush_batch(p: &mut PartWriter) -> Result<()> {
    if p.builder.rows == 0 {
        return Ok(());
    }
    let batch = p.builder.finish(&p.schema)?;
    p.writer
        .write(&batch)
        .map_err(|e| ParquetSink::parquet_err(&p.staged, e))
}

impl Sink for ParquetSink {
    type File = ();
    type Part = Vec<PartFile>;
    type Error = ParquetSinkError;

    fn begin_file(
        &self,
        _file: &FileInfo,
        _data: &[u8],
    ) -> Result<(), SinkError<ParquetSinkError>> {
        fs::create_dir_all(&self.dir).map_err(|e| SinkError::Sink(Self::io_err(&self.dir, e)))
    }

    fn process<'a>(
        &self,
        _file: &(),
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<PartFile>, SinkError<ParquetSinkError>> {
        let mut t = ChunkTables::new(self, chunk);
        let file = chunk.file.path.display().to_string();
        for item in items {
            match item? {
                Item::Record(r) => record(&mut t, &file, &r, scratch).map_err(|e| match e {
                    RowError::Decode(e) => SinkError::Decode(e),
                    RowError::Sink(e) => SinkError::Sink(e),
                })?,
                Item::Aux { key, value } => {
                    let (k, v) = (key.decode(scratch)?, value.decode(scratch)?);
                    t.row(Table::Meta, 0, |r| {
                        r.text(&file).text("aux").bytes(k).bytes(v);
                    })
                    .map_err(SinkError::Sink)?
                }
                Item::Function { code } => {
                    let code = code.decode(scratch)?;
                    t.row(Table::Meta, 0, |r| {
                        r.text(&file)
                            .text("function")
                            .bytes(Str::Bytes(b""))
                            .bytes(code);
                    })
                    .map_err(SinkError::Sink)?
                }
                Item::FunctionPreGa { name, code, .. } => {
                    let name = name.decode(scratch)?;
                    let code = code.decode(scratch)?;
                    t.row(Table::Meta, 0, |r| {
                        r.text(&file).text("function").bytes(name).bytes(code);
                    })
                    .map_err(SinkError::Sink)?
                }
                Item::ModuleAux { id, raw, .. } => {
                    let name = id.name();
                    t.row(Table::Meta, 0, |r| {
                        r.text(&file)
                            .text("module_aux")
                            .bytes(Str::Bytes(name.as_bytes()))
                            .raw(raw);
                    })
                    .map_err(SinkError::Sink)?
                }
                _ => {}
            }
            scratch.reset();
        }
        t.finish().map_err(SinkError::Sink)
    }

    fn commit(&self, _file: &(), _chunk: &Chunk, parts: Vec<PartFile>) -> Result<()> {
        self.committed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(parts);
        Ok(())
    }

    fn abort(&self) {
        let created = std::mem::take(&mut *self.created.lock().unwrap_or_else(|p| p.into_inner()));
        for path in created {
            let _ = fs::remove_file(path);
        }
    }
}
