//! The Parquet sink: one table per kind of data, hive-partitioned by database.
//!
//! ```text
//! DIR/<table>/db=<N>/part-<file-stem>-<chunk>.parquet     (meta: DIR/meta/part-<file-stem>-<chunk>.parquet)
//! ```
//! Byte strings are two columns: `name` (UTF-8 text, null when the bytes are not UTF-8) and
//! `name_raw` (the bytes, only when they are not UTF-8), so nothing is lost and common
//! queries stay simple. Times are `timestamp(ms, UTC)`. Each worker writes its chunk's part
//! files under temporary names; they are renamed into place when the chunk commits, in order.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow_array::builder::{
    BinaryBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as ParquetCompression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use rdb_format::{HashEntry, Item, Record, Scratch, Str, StreamId, Value};

use crate::pipeline::{Chunk, PipelineError, Result, Sink};

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
            batch_bytes: 8 << 20,
        }
    }
}

/// The tables, in the order they are listed in manifests.
pub const TABLES: [&str; 14] = [
    "keys",
    "strings",
    "lists",
    "sets",
    "zsets",
    "hashes",
    "streams",
    "stream_meta",
    "stream_groups",
    "stream_pending",
    "stream_consumers",
    "modules",
    "meta",
    "stream_idmp",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Table {
    Keys,
    Strings,
    Lists,
    Sets,
    ZSets,
    Hashes,
    Streams,
    StreamMeta,
    StreamGroups,
    StreamPending,
    StreamConsumers,
    Modules,
    Meta,
    StreamIdmp,
}

#[derive(Clone, Copy)]
enum Kind {
    /// A byte string: `name` (UTF-8) and `name_raw` (binary).
    Bytes,
    Text,
    I64,
    F64,
    Time,
}

impl Table {
    fn name(self) -> &'static str {
        TABLES[self as usize]
    }

    fn columns(self) -> &'static [(&'static str, Kind)] {
        use Kind::*;
        const KEY: (&str, Kind) = ("key", Bytes);
        match self {
            Table::Keys => &[
                ("file", Text),
                KEY,
                ("type", Text),
                ("encoding", Text),
                ("expire_ms", Time),
                ("idle", I64),
                ("freq", I64),
                ("size", I64),
                ("elements", I64),
            ],
            Table::Strings => &[KEY, ("value", Bytes)],
            Table::Lists => &[KEY, ("index", I64), ("value", Bytes)],
            Table::Sets => &[KEY, ("member", Bytes)],
            Table::ZSets => &[KEY, ("member", Bytes), ("score", F64)],
            Table::Hashes => &[
                KEY,
                ("field", Bytes),
                ("value", Bytes),
                ("field_expire_ms", Time),
            ],
            Table::Streams => &[
                KEY,
                ("id_ms", I64),
                ("id_seq", I64),
                ("field", Bytes),
                ("value", Bytes),
            ],
            Table::StreamMeta => &[
                KEY,
                ("length", I64),
                ("last_id_ms", I64),
                ("last_id_seq", I64),
                ("first_id_ms", I64),
                ("first_id_seq", I64),
                ("max_deleted_id_ms", I64),
                ("max_deleted_id_seq", I64),
                ("entries_added", I64),
                ("idmp_duration", I64),
                ("idmp_max_entries", I64),
                ("iids_added", I64),
                ("iids_duplicates", I64),
            ],
            Table::StreamGroups => &[
                KEY,
                ("group", Bytes),
                ("last_delivered_id_ms", I64),
                ("last_delivered_id_seq", I64),
                ("entries_read", I64),
            ],
            Table::StreamPending => &[
                KEY,
                ("group", Bytes),
                ("id_ms", I64),
                ("id_seq", I64),
                ("consumer", Bytes),
                ("delivery_time", Time),
                ("delivery_count", I64),
            ],
            Table::StreamConsumers => &[
                KEY,
                ("group", Bytes),
                ("consumer", Bytes),
                ("seen_time", Time),
                ("active_time", Time),
                ("pending", I64),
            ],
            Table::Modules => &[KEY, ("module", Text), ("version", I64), ("raw", Bytes)],
            Table::StreamIdmp => &[
                KEY,
                ("producer", Bytes),
                ("iid", Bytes),
                ("id_ms", I64),
                ("id_seq", I64),
            ],
            Table::Meta => &[
                ("file", Text),
                ("kind", Text),
                ("name", Bytes),
                ("value", Bytes),
            ],
        }
    }

    fn schema(self) -> SchemaRef {
        let mut fields = Vec::new();
        for &(name, kind) in self.columns() {
            match kind {
                Kind::Bytes => {
                    fields.push(Field::new(name, DataType::Utf8, true));
                    fields.push(Field::new(format!("{name}_raw"), DataType::Binary, true));
                }
                Kind::Text => fields.push(Field::new(name, DataType::Utf8, false)),
                Kind::I64 => fields.push(Field::new(name, DataType::Int64, true)),
                Kind::F64 => fields.push(Field::new(name, DataType::Float64, true)),
                Kind::Time => fields.push(Field::new(
                    name,
                    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                    true,
                )),
            }
        }
        Arc::new(Schema::new(fields))
    }
}

enum Col {
    Text(StringBuilder),
    Raw(BinaryBuilder),
    I64(Int64Builder),
    F64(Float64Builder),
    Time(TimestampMillisecondBuilder),
}

/// Column builders of one table, filled a row at a time.
struct Builder {
    cols: Vec<Col>,
    rows: usize,
    bytes: usize,
}

impl Builder {
    fn new(table: Table) -> Self {
        let mut cols = Vec::new();
        for &(_, kind) in table.columns() {
            match kind {
                Kind::Bytes => {
                    cols.push(Col::Text(StringBuilder::new()));
                    cols.push(Col::Raw(BinaryBuilder::new()));
                }
                Kind::Text => cols.push(Col::Text(StringBuilder::new())),
                Kind::I64 => cols.push(Col::I64(Int64Builder::new())),
                Kind::F64 => cols.push(Col::F64(Float64Builder::new())),
                Kind::Time => cols.push(Col::Time(
                    TimestampMillisecondBuilder::new().with_timezone("UTC"),
                )),
            }
        }
        Builder {
            cols,
            rows: 0,
            bytes: 0,
        }
    }

    fn row(&mut self) -> Row<'_> {
        self.rows += 1;
        Row { b: self, col: 0 }
    }

    fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Text(b) => Arc::new(b.finish()),
                    Col::Raw(b) => Arc::new(b.finish()),
                    Col::I64(b) => Arc::new(b.finish()),
                    Col::F64(b) => Arc::new(b.finish()),
                    Col::Time(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|e| PipelineError::Sink(format!("building a batch: {e}")))
    }
}

/// Appends one row's values, column by column, in the table's order.
struct Row<'a> {
    b: &'a mut Builder,
    col: usize,
}

impl Row<'_> {
    fn next(&mut self) -> &mut Col {
        let c = &mut self.b.cols[self.col];
        self.col += 1;
        c
    }

    fn bytes(&mut self, s: Str<'_>) -> &mut Self {
        let mut digits = [0u8; 20];
        let raw: &[u8] = match s {
            Str::Bytes(b) => b,
            Str::Int(i) => format_int(i, &mut digits),
        };
        self.b.bytes += raw.len() + 8;
        let text = std::str::from_utf8(raw).ok();
        if let Col::Text(t) = self.next() {
            t.append_option(text);
        }
        if let Col::Raw(r) = self.next() {
            if text.is_some() {
                r.append_null();
            } else {
                r.append_value(raw);
            }
        }
        self
    }

    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        // Binary payloads (module values) always go to the raw column.
        self.b.bytes += bytes.len() + 8;
        if let Col::Text(t) = self.next() {
            t.append_null();
        }
        if let Col::Raw(r) = self.next() {
            r.append_value(bytes);
        }
        self
    }

    fn text(&mut self, s: &str) -> &mut Self {
        self.b.bytes += s.len() + 4;
        if let Col::Text(t) = self.next() {
            t.append_value(s);
        }
        self
    }

    fn i64(&mut self, v: Option<i64>) -> &mut Self {
        self.b.bytes += 8;
        if let Col::I64(c) = self.next() {
            c.append_option(v);
        }
        self
    }

    fn f64(&mut self, v: f64) -> &mut Self {
        self.b.bytes += 8;
        if let Col::F64(c) = self.next() {
            c.append_value(v);
        }
        self
    }

    fn time(&mut self, v: Option<i64>) -> &mut Self {
        self.b.bytes += 8;
        if let Col::Time(c) = self.next() {
            c.append_option(v);
        }
        self
    }
}

fn format_int(i: i64, buf: &mut [u8; 20]) -> &[u8] {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cursor, "{i}");
    let n = cursor.position() as usize;
    &buf[..n]
}

fn id_parts(id: StreamId) -> (Option<i64>, Option<i64>) {
    (Some(id.ms as i64), Some(id.seq as i64))
}

/// One part file being written by a worker.
struct PartWriter {
    table: Table,
    builder: Builder,
    schema: SchemaRef,
    writer: ArrowWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
    rows: u64,
}

/// A part file written under its temporary name, waiting for its chunk to commit.
#[derive(Debug)]
pub struct WrittenPart {
    table: &'static str,
    tmp: PathBuf,
    path: PathBuf,
    rows: u64,
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

/// Writes a dump's data as Parquet tables under a directory.
pub struct ParquetSink {
    dir: PathBuf,
    options: ParquetOptions,
    props: WriterProperties,
    stats: Mutex<ParquetStats>,
    /// Every file this run created (temporary or final), removed on abort.
    created: Mutex<Vec<PathBuf>>,
}

impl ParquetSink {
    /// A sink writing under `dir` (created if missing).
    pub fn new(dir: impl Into<PathBuf>, options: ParquetOptions) -> Self {
        let compression = match options.compression {
            Compression::Zstd => ParquetCompression::ZSTD(ZstdLevel::default()),
            Compression::Snappy => ParquetCompression::SNAPPY,
            Compression::None => ParquetCompression::UNCOMPRESSED,
        };
        let props = WriterProperties::builder()
            .set_compression(compression)
            .set_max_row_group_bytes(Some(options.row_group_bytes))
            .set_max_row_group_row_count(Some(options.row_group_rows))
            .build();
        ParquetSink {
            dir: dir.into(),
            options,
            props,
            stats: Mutex::new(ParquetStats::default()),
            created: Mutex::new(Vec::new()),
        }
    }

    /// Rows, files and bytes committed so far.
    pub fn stats(&self) -> ParquetStats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn io_err(path: &Path, e: impl std::fmt::Display) -> PipelineError {
        PipelineError::Sink(format!("{}: {e}", path.display()))
    }

    fn open_part(&self, chunk: &Chunk, table: Table, db: u64) -> Result<PartWriter> {
        let mut dir = self.dir.join(table.name());
        if table != Table::Meta {
            dir.push(format!("db={db}"));
        }
        fs::create_dir_all(&dir).map_err(|e| Self::io_err(&dir, e))?;
        let name = format!("part-{}-{:05}.parquet", chunk.file.stem, chunk.index);
        let path = dir.join(&name);
        let tmp = dir.join(format!(".{name}.tmp"));
        let file = File::create(&tmp).map_err(|e| Self::io_err(&tmp, e))?;
        self.created
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tmp.clone());
        let schema = table.schema();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(self.props.clone()))
            .map_err(|e| Self::io_err(&tmp, e))?;
        Ok(PartWriter {
            table,
            builder: Builder::new(table),
            schema,
            writer,
            tmp,
            path,
            rows: 0,
        })
    }
}

/// The part writers of one chunk, by table and database.
struct ChunkTables<'s> {
    sink: &'s ParquetSink,
    chunk: &'s Chunk,
    /// A handful of entries (tables × databases in one chunk), looked up on every row: a
    /// linear scan beats hashing the key each time (SipHash was 8 % of a Parquet export).
    parts: Vec<((Table, u64), PartWriter)>,
}

impl ChunkTables<'_> {
    fn table(&mut self, table: Table, db: u64) -> Result<&mut PartWriter> {
        let at = match self.parts.iter().position(|(k, _)| *k == (table, db)) {
            Some(at) => at,
            None => {
                let p = self.sink.open_part(self.chunk, table, db)?;
                self.parts.push(((table, db), p));
                self.parts.len() - 1
            }
        };
        Ok(&mut self.parts[at].1)
    }

    /// Appends a row; hands full batches to the file writer so memory stays bounded.
    fn row(&mut self, table: Table, db: u64, fill: impl FnOnce(&mut Row<'_>)) -> Result<()> {
        let batch_bytes = self.sink.options.batch_bytes;
        let part = self.table(table, db)?;
        fill(&mut part.builder.row());
        part.rows += 1;
        if part.builder.bytes >= batch_bytes {
            flush_batch(part)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<Vec<WrittenPart>> {
        let mut written = Vec::with_capacity(self.parts.len());
        let mut parts: Vec<_> = self.parts.into_iter().map(|(_, p)| p).collect();
        parts.sort_by_key(|p| p.tmp.clone());
        for mut p in parts {
            flush_batch(&mut p)?;
            p.writer
                .close()
                .map_err(|e| ParquetSink::io_err(&p.tmp, e))?;
            written.push(WrittenPart {
                table: p.table.name(),
                tmp: p.tmp,
                path: p.path,
                rows: p.rows,
            });
        }
        Ok(written)
    }
}

fn flush_batch(p: &mut PartWriter) -> Result<()> {
    if p.builder.rows == 0 {
        return Ok(());
    }
    let batch = p.builder.finish(&p.schema)?;
    p.writer
        .write(&batch)
        .map_err(|e| ParquetSink::io_err(&p.tmp, e))
}

fn decode_err(chunk: &Chunk, error: rdb_format::Error) -> PipelineError {
    PipelineError::Decode {
        path: chunk.file.path.clone(),
        error,
    }
}

impl Sink for ParquetSink {
    type Part = Vec<WrittenPart>;

    fn process<'a>(
        &self,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<WrittenPart>> {
        let mut t = ChunkTables {
            sink: self,
            chunk,
            parts: Vec::new(),
        };
        let file = chunk.file.path.display().to_string();
        for item in items {
            match item? {
                Item::Record(r) => record(&mut t, &file, &r, scratch).map_err(|e| match e {
                    RowError::Decode(e) => decode_err(chunk, e),
                    RowError::Sink(e) => e,
                })?,
                Item::Aux { key, value } => {
                    let (k, v) = (key.decode(scratch), value.decode(scratch));
                    let (k, v) = (
                        k.map_err(|e| decode_err(chunk, e))?,
                        v.map_err(|e| decode_err(chunk, e))?,
                    );
                    t.row(Table::Meta, 0, |r| {
                        r.text(&file).text("aux").bytes(k).bytes(v);
                    })?
                }
                Item::Function { code } => {
                    let code = code.decode(scratch).map_err(|e| decode_err(chunk, e))?;
                    t.row(Table::Meta, 0, |r| {
                        r.text(&file)
                            .text("function")
                            .bytes(Str::Bytes(b""))
                            .bytes(code);
                    })?
                }
                Item::FunctionPreGa { name, code, .. } => {
                    let name = name.decode(scratch).map_err(|e| decode_err(chunk, e))?;
                    let code = code.decode(scratch).map_err(|e| decode_err(chunk, e))?;
                    t.row(Table::Meta, 0, |r| {
                        r.text(&file).text("function").bytes(name).bytes(code);
                    })?
                }
                Item::ModuleAux { id, raw, .. } => {
                    let name = id.name();
                    t.row(Table::Meta, 0, |r| {
                        r.text(&file)
                            .text("module_aux")
                            .bytes(Str::Bytes(name.as_bytes()))
                            .raw(raw);
                    })?
                }
                _ => {}
            }
            scratch.reset();
        }
        t.finish()
    }

    fn commit(&self, _chunk: &Chunk, parts: Vec<WrittenPart>) -> Result<()> {
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        for p in parts {
            fs::rename(&p.tmp, &p.path).map_err(|e| Self::io_err(&p.path, e))?;
            created.push(p.path.clone());
            *stats.rows.entry(p.table).or_default() += p.rows;
            stats.files += 1;
            stats.bytes += fs::metadata(&p.path).map(|m| m.len()).unwrap_or(0);
        }
        Ok(())
    }

    fn abort(&self) {
        let created = std::mem::take(&mut *self.created.lock().unwrap_or_else(|p| p.into_inner()));
        for path in created {
            let _ = fs::remove_file(path);
        }
    }
}

enum RowError {
    Decode(rdb_format::Error),
    Sink(PipelineError),
}

impl From<rdb_format::Error> for RowError {
    fn from(e: rdb_format::Error) -> Self {
        RowError::Decode(e)
    }
}

impl From<PipelineError> for RowError {
    fn from(e: PipelineError) -> Self {
        RowError::Sink(e)
    }
}

/// One key: its value rows, then its `keys` row (which counts them).
fn record(
    t: &mut ChunkTables<'_>,
    file: &str,
    r: &Record<'_>,
    scratch: &Scratch,
) -> Result<(), RowError> {
    let db = r.db;
    let key = r.key.decode(scratch)?;
    let mut elements: i64 = 0;
    match r.value(scratch)? {
        Value::String(s) => {
            elements = 1;
            t.row(Table::Strings, db, |row| {
                row.bytes(key).bytes(s);
            })?;
        }
        Value::List(items) => {
            for item in items {
                let item = item?;
                t.row(Table::Lists, db, |row| {
                    row.bytes(key).i64(Some(elements)).bytes(item);
                })?;
                elements += 1;
            }
        }
        Value::Set(members) => {
            for m in members {
                let m = m?;
                t.row(Table::Sets, db, |row| {
                    row.bytes(key).bytes(m);
                })?;
                elements += 1;
            }
        }
        Value::ZSet(members) => {
            for m in members {
                let (member, score) = m?;
                t.row(Table::ZSets, db, |row| {
                    row.bytes(key).bytes(member).f64(score);
                })?;
                elements += 1;
            }
        }
        Value::Hash(fields) => {
            for f in fields {
                let HashEntry {
                    field,
                    value,
                    expire_ms,
                } = f?;
                t.row(Table::Hashes, db, |row| {
                    row.bytes(key).bytes(field).bytes(value).time(expire_ms);
                })?;
                elements += 1;
            }
        }
        Value::Stream(s) => {
            for e in s.entries() {
                let e = e?;
                let (ms, seq) = id_parts(e.id);
                for f in e.fields {
                    let (field, value) = f?;
                    t.row(Table::Streams, db, |row| {
                        row.bytes(key).i64(ms).i64(seq).bytes(field).bytes(value);
                    })?;
                }
                elements += 1;
            }
            let (last_ms, last_seq) = id_parts(s.last_id);
            let (first_ms, first_seq) = s.first_id.map_or((None, None), id_parts);
            let (del_ms, del_seq) = s.max_deleted_id.map_or((None, None), id_parts);
            t.row(Table::StreamMeta, db, |row| {
                row.bytes(key)
                    .i64(Some(s.length as i64))
                    .i64(last_ms)
                    .i64(last_seq)
                    .i64(first_ms)
                    .i64(first_seq)
                    .i64(del_ms)
                    .i64(del_seq)
                    .i64(s.entries_added.map(|n| n as i64));
                let idmp = s.idmp.as_ref();
                row.i64(idmp.map(|i| i.duration as i64))
                    .i64(idmp.map(|i| i.max_entries as i64))
                    .i64(idmp.map(|i| i.iids_added as i64))
                    .i64(idmp.map(|i| i.iids_duplicates as i64));
            })?;
            for p in s.idmp.iter().flat_map(|i| i.producers()) {
                let p = p?;
                for e in p.entries {
                    let e = e?;
                    let (ms, seq) = id_parts(e.id);
                    t.row(Table::StreamIdmp, db, |row| {
                        row.bytes(key).bytes(p.pid).bytes(e.iid).i64(ms).i64(seq);
                    })?;
                }
            }
            for g in s.groups() {
                let g = g?;
                let (ld_ms, ld_seq) = id_parts(g.last_delivered_id);
                // u64::MAX is Redis's "unknown".
                let entries_read = g.entries_read.filter(|&n| n != u64::MAX).map(|n| n as i64);
                t.row(Table::StreamGroups, db, |row| {
                    row.bytes(key)
                        .bytes(g.name)
                        .i64(ld_ms)
                        .i64(ld_seq)
                        .i64(entries_read);
                })?;
                for c in g.consumers.clone() {
                    let c = c?;
                    let pending = c.pending.len() as i64;
                    t.row(Table::StreamConsumers, db, |row| {
                        row.bytes(key)
                            .bytes(g.name)
                            .bytes(c.name)
                            .time(Some(c.seen_time_ms))
                            .time(Some(c.active_time_ms.unwrap_or(c.seen_time_ms)))
                            .i64(Some(pending));
                    })?;
                }
                for p in g.pending_with_owners() {
                    let (p, consumer) = p?;
                    let (ms, seq) = id_parts(p.id);
                    t.row(Table::StreamPending, db, |row| {
                        row.bytes(key).bytes(g.name).i64(ms).i64(seq);
                        match consumer {
                            Some(c) => row.bytes(c),
                            None => row.i64_null_bytes(),
                        };
                        row.time(Some(p.delivery_time_ms))
                            .i64(Some(p.delivery_count as i64));
                    })?;
                }
            }
        }
        Value::Module(m) => {
            elements = 1;
            let name = m.id.name();
            t.row(Table::Modules, db, |row| {
                row.bytes(key)
                    .text(&name)
                    .i64(Some(m.id.version() as i64))
                    .raw(m.raw);
            })?;
        }
    }
    let type_name = r.data_type().as_str();
    let encoding = r.encoding.as_str();
    t.row(Table::Keys, db, |row| {
        row.text(file)
            .bytes(key)
            .text(type_name)
            .text(encoding)
            .time(r.expire_ms)
            .i64(r.idle.map(|v| v as i64))
            .i64(r.freq.map(i64::from))
            .i64(Some(r.len as i64))
            .i64(Some(elements));
    })?;
    Ok(())
}

impl Row<'_> {
    /// A null byte string (both columns null).
    fn i64_null_bytes(&mut self) -> &mut Self {
        if let Col::Text(t) = self.next() {
            t.append_null();
        }
        if let Col::Raw(r) = self.next() {
            r.append_null();
        }
        self
    }
}
