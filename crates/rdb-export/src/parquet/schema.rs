//! The tables' columns and the builders rows are appended to.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rdb_format::{Str, StreamId};

use rdb_pipeline::pipeline::{PipelineError, Result};

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
pub(super) enum Table {
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
pub(super) enum Kind {
    /// A byte string: `name` (UTF-8) and `name_raw` (binary).
    Bytes,
    Text,
    I64,
    F64,
    Time,
}

impl Table {
    pub(super) fn name(self) -> &'static str {
        TABLES[self as usize]
    }

    pub(super) fn columns(self) -> &'static [(&'static str, Kind)] {
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

    pub(super) fn schema(self) -> SchemaRef {
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

pub(super) enum Col {
    Text(StringBuilder),
    Raw(BinaryBuilder),
    I64(Int64Builder),
    F64(Float64Builder),
    Time(TimestampMillisecondBuilder),
}

/// Column builders of one table, filled a row at a time.
pub(super) struct Builder {
    cols: Vec<Col>,
    pub(super) rows: usize,
    pub(super) bytes: usize,
}

impl Builder {
    pub(super) fn new(table: Table) -> Self {
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

    pub(super) fn row(&mut self) -> Row<'_> {
        self.rows += 1;
        Row { b: self, col: 0 }
    }

    pub(super) fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
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
pub(super) struct Row<'a> {
    b: &'a mut Builder,
    col: usize,
}

impl Row<'_> {
    fn next(&mut self) -> &mut Col {
        let c = &mut self.b.cols[self.col];
        self.col += 1;
        c
    }

    pub(super) fn bytes(&mut self, s: Str<'_>) -> &mut Self {
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

    pub(super) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
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

    pub(super) fn text(&mut self, s: &str) -> &mut Self {
        self.b.bytes += s.len() + 4;
        if let Col::Text(t) = self.next() {
            t.append_value(s);
        }
        self
    }

    pub(super) fn i64(&mut self, v: Option<i64>) -> &mut Self {
        self.b.bytes += 8;
        if let Col::I64(c) = self.next() {
            c.append_option(v);
        }
        self
    }

    pub(super) fn f64(&mut self, v: f64) -> &mut Self {
        self.b.bytes += 8;
        if let Col::F64(c) = self.next() {
            c.append_value(v);
        }
        self
    }

    pub(super) fn time(&mut self, v: Option<i64>) -> &mut Self {
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

pub(super) fn id_parts(id: StreamId) -> (Option<i64>, Option<i64>) {
    (Some(id.ms as i64), Some(id.seq as i64))
}

impl Row<'_> {
    /// A null byte string (both columns null).
    pub(super) fn i64_null_bytes(&mut self) -> &mut Self {
        if let Col::Text(t) = self.next() {
            t.append_null();
        }
        if let Col::Raw(r) = self.next() {
            r.append_null();
        }
        self
    }
}
