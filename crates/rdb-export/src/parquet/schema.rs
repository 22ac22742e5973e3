//! The tables' columns and the builders rows are appended to.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, Float64Builder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterPropertiesBuilder};
use parquet::schema::types::ColumnPath;
use rdb_format::{Str, StreamId};

use super::{ParquetSinkError, Result};

/// Declares every table once: its variant of [`Table`], its name (in [`TABLES`], in the
/// order manifests list them) and its columns, so names, schemas and builders cannot drift
/// apart.
macro_rules! tables {
    ($($variant:ident = $name:literal => $columns:expr,)*) => {
        /// A table of the export (Parquet files, Arrow batches): one kind of data.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Table {
            $(#[doc = concat!("`", $name, "`.")] $variant,)*
        }

        /// The tables, in the order they are listed in manifests.
        pub const TABLES: [&str; [$($name),*].len()] = [$($name),*];

        impl Table {
            /// Every table, in the order of [`TABLES`].
            pub const ALL: [Table; [$($name),*].len()] = [$(Table::$variant),*];

            /// Its name, as in [`TABLES`].
            pub fn name(self) -> &'static str {
                match self {
                    $(Table::$variant => $name,)*
                }
            }

            /// The table of this name, if there is one.
            pub fn from_name(name: &str) -> Option<Table> {
                match name {
                    $($name => Some(Table::$variant),)*
                    _ => None,
                }
            }

            pub(crate) fn columns(self) -> &'static [(&'static str, Kind)] {
                use Kind::*;
                match self {
                    $(Table::$variant => $columns,)*
                }
            }
        }
    };
}

/// The key of a value table's rows.
const KEY: (&str, Kind) = ("key", Kind::Bytes);

tables! {
    Keys = "keys" => &[
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
    Strings = "strings" => &[KEY, ("piece", I64), ("value", Bytes)],
    Lists = "lists" => &[KEY, ("index", I64), ("value", Bytes)],
    Sets = "sets" => &[KEY, ("member", Bytes)],
    ZSets = "zsets" => &[KEY, ("member", Bytes), ("score", F64)],
    Hashes = "hashes" => &[
        KEY,
        ("field", Bytes),
        ("value", Bytes),
        ("field_expire_ms", Time),
    ],
    Streams = "streams" => &[
        KEY,
        ("id_ms", I64),
        ("id_seq", I64),
        ("field", Bytes),
        ("value", Bytes),
    ],
    StreamMeta = "stream_meta" => &[
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
    StreamGroups = "stream_groups" => &[
        KEY,
        ("group", Bytes),
        ("last_delivered_id_ms", I64),
        ("last_delivered_id_seq", I64),
        ("entries_read", I64),
    ],
    StreamPending = "stream_pending" => &[
        KEY,
        ("group", Bytes),
        ("id_ms", I64),
        ("id_seq", I64),
        ("consumer", Bytes),
        ("delivery_time", Time),
        ("delivery_count", I64),
    ],
    StreamConsumers = "stream_consumers" => &[
        KEY,
        ("group", Bytes),
        ("consumer", Bytes),
        ("seen_time", Time),
        ("active_time", Time),
        ("pending", I64),
    ],
    Modules = "modules" => &[KEY, ("module", Text), ("version", I64), ("raw", Bytes)],
    Meta = "meta" => &[
        ("file", Text),
        ("kind", Text),
        ("name", Bytes),
        ("value", Bytes),
    ],
    StreamIdmp = "stream_idmp" => &[
        KEY,
        ("producer", Bytes),
        ("iid", Bytes),
        ("id_ms", I64),
        ("id_seq", I64),
    ],
}

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// A byte string: `name` (UTF-8) and `name_raw` (binary).
    Bytes,
    Text,
    I64,
    F64,
    Time,
}

/// Columns whose values repeat from row to row, so a dictionary makes them smaller and
/// cheaper to write: names of types and encodings, hash and stream field names, stream group
/// and consumer names. Elsewhere (keys, values, members) a dictionary costs a hash and a
/// lookup per value (12 % of a Parquet export's time, `perf`). That includes a collection's
/// key on each of its element rows: it repeats, but in runs that zstd packs as well as a
/// dictionary does (files 0.4 % smaller without it on cache-250m) for 7 % less CPU
/// (benches/RESULTS.md, "Issue 14, fourth step").
fn repeats(table: Table, column: &str) -> bool {
    match column {
        "file" | "type" | "encoding" | "kind" | "module" | "group" | "consumer" | "producer" => {
            true
        }
        "field" => matches!(table, Table::Hashes | Table::Streams),
        _ => false,
    }
}

/// Columns whose min/max statistics no query can use to skip data (payloads: values,
/// members, module data): comparing every value to keep them costs time for nothing.
fn payload(column: &str) -> bool {
    matches!(column, "value" | "member" | "raw" | "iid")
}

impl Table {
    /// The writer settings of this table's files: `base` with a dictionary only on the
    /// columns that repeat, and no statistics on payload columns.
    pub(crate) fn writer_properties(self, base: WriterPropertiesBuilder) -> WriterProperties {
        let mut props = base.set_dictionary_enabled(false);
        for &(name, kind) in self.columns() {
            let raw = matches!(kind, Kind::Bytes).then(|| format!("{name}_raw"));
            for column in std::iter::once(name.to_string()).chain(raw) {
                if repeats(self, name) {
                    props = props.set_column_dictionary_enabled(column.as_str().into(), true);
                }
                if payload(name) {
                    props = props.set_column_statistics_enabled(
                        ColumnPath::from(column),
                        EnabledStatistics::None,
                    );
                }
            }
        }
        props.build()
    }

    pub(crate) fn schema(self) -> SchemaRef {
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

pub(crate) enum Col {
    Text(Bytes<StringBuilder>),
    Raw(Bytes<BinaryBuilder>),
    I64(Int64Builder),
    F64(Float64Builder),
    Time(TimestampMillisecondBuilder),
}

/// A builder of a byte string column whose trailing nulls are counted, not appended: each
/// byte string fills one of two columns (`name` when UTF-8, `name_raw` when not) and leaves
/// the other null, so most rows append a null to a column of nulls (4 % of an export's
/// time, one at a time). They are appended in one go before the next value or at the end.
pub(crate) struct Bytes<B> {
    builder: B,
    nulls: usize,
}

/// The calls of arrow's byte builders that [`Bytes`] needs.
pub(crate) trait ByteColumn {
    type Value: ?Sized;
    fn append_value(&mut self, value: &Self::Value);
    fn append_nulls(&mut self, n: usize);
    fn values_slice(&self) -> &[u8];
}

macro_rules! byte_column {
    ($builder:ty, $value:ty) => {
        impl ByteColumn for $builder {
            type Value = $value;
            fn append_value(&mut self, value: &$value) {
                <$builder>::append_value(self, value)
            }
            fn append_nulls(&mut self, n: usize) {
                <$builder>::append_nulls(self, n)
            }
            fn values_slice(&self) -> &[u8] {
                <$builder>::values_slice(self)
            }
        }
    };
}
byte_column!(StringBuilder, str);
byte_column!(BinaryBuilder, [u8]);

impl<B: ByteColumn> Bytes<B> {
    fn new(builder: B) -> Self {
        Bytes { builder, nulls: 0 }
    }

    #[inline]
    fn append_null(&mut self) {
        self.nulls += 1;
    }

    #[inline]
    fn append_value(&mut self, value: &B::Value) {
        if self.nulls > 0 {
            self.builder.append_nulls(std::mem::take(&mut self.nulls));
        }
        self.builder.append_value(value);
    }

    #[inline]
    fn append_option(&mut self, value: Option<&B::Value>) {
        match value {
            Some(v) => self.append_value(v),
            None => self.append_null(),
        }
    }

    fn values_slice(&self) -> &[u8] {
        self.builder.values_slice()
    }
}

impl Bytes<StringBuilder> {
    fn finish(&mut self) -> arrow_array::StringArray {
        self.builder.append_nulls(std::mem::take(&mut self.nulls));
        self.builder.finish()
    }
}

impl Bytes<BinaryBuilder> {
    fn finish(&mut self) -> arrow_array::BinaryArray {
        self.builder.append_nulls(std::mem::take(&mut self.nulls));
        self.builder.finish()
    }
}

/// Column builders of one table, filled a row at a time.
pub(crate) struct Builder {
    cols: Vec<Col>,
    pub(crate) rows: usize,
    pub(crate) bytes: usize,
}

impl Builder {
    pub(crate) fn new(table: Table) -> Self {
        let mut cols = Vec::new();
        for &(_, kind) in table.columns() {
            match kind {
                Kind::Bytes => {
                    cols.push(Col::Text(Bytes::new(StringBuilder::new())));
                    cols.push(Col::Raw(Bytes::new(BinaryBuilder::new())));
                }
                Kind::Text => cols.push(Col::Text(Bytes::new(StringBuilder::new()))),
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

    pub(crate) fn row(&mut self) -> Row<'_> {
        self.rows += 1;
        Row {
            b: self,
            col: 0,
            kinds_matched: true,
        }
    }

    pub(crate) fn finish(&mut self, schema: &SchemaRef) -> Result<RecordBatch> {
        // Each builder starts the next batch with this batch's size: grown from nothing,
        // its buffers were copied at every doubling (memmove ~8 % of an export, `perf`).
        let rows = self.rows;
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| -> ArrayRef {
                match c {
                    Col::Text(b) => {
                        let bytes = b.values_slice().len();
                        let array = b.finish();
                        *b = Bytes::new(StringBuilder::with_capacity(rows, bytes));
                        Arc::new(array)
                    }
                    Col::Raw(b) => {
                        let bytes = b.values_slice().len();
                        let array = b.finish();
                        *b = Bytes::new(BinaryBuilder::with_capacity(rows, bytes));
                        Arc::new(array)
                    }
                    Col::I64(b) => {
                        let array = b.finish();
                        *b = Int64Builder::with_capacity(rows);
                        Arc::new(array)
                    }
                    Col::F64(b) => {
                        let array = b.finish();
                        *b = Float64Builder::with_capacity(rows);
                        Arc::new(array)
                    }
                    Col::Time(b) => {
                        let array = b.finish();
                        *b = TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC");
                        Arc::new(array)
                    }
                }
            })
            .collect();
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(schema.clone(), arrays)
            .map_err(|error| ParquetSinkError::Batch { error })
    }
}

/// A byte string checked for UTF-8 once: a collection's key goes on each of its element
/// rows, and checking it again for each cost 5 % of an export (`perf`).
pub(crate) struct Checked<'a> {
    raw: &'a [u8],
    text: Option<&'a str>,
}

impl<'a> Checked<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> Self {
        Checked {
            raw,
            text: crate::utf8::text(raw),
        }
    }
}

/// Appends one row's values, column by column, in the table's order.
pub(crate) struct Row<'a> {
    b: &'a mut Builder,
    col: usize,
    /// False once a value went to a column of another kind (it was dropped).
    kinds_matched: bool,
}

impl Row<'_> {
    /// Whether every column got a value, each of its column's kind.
    pub(crate) fn is_complete(&self) -> bool {
        self.col == self.b.cols.len() && self.kinds_matched
    }

    fn next(&mut self) -> &mut Col {
        let c = &mut self.b.cols[self.col];
        self.col += 1;
        c
    }

    pub(crate) fn bytes(&mut self, s: Str<'_>) -> &mut Self {
        let mut digits = itoa::Buffer::new();
        let raw: &[u8] = match s {
            Str::Bytes(b) => b,
            Str::Int(i) => digits.format(i).as_bytes(),
        };
        self.checked(&Checked::new(raw))
    }

    /// A byte string already checked for UTF-8.
    pub(crate) fn checked(&mut self, s: &Checked<'_>) -> &mut Self {
        self.b.bytes += s.raw.len() + 8;
        if let Col::Text(t) = self.next() {
            t.append_option(s.text);
        } else {
            self.kinds_matched = false;
        }
        if let Col::Raw(r) = self.next() {
            if s.text.is_some() {
                r.append_null();
            } else {
                r.append_value(s.raw);
            }
        } else {
            self.kinds_matched = false;
        }
        self
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        // Binary payloads (module values) always go to the raw column.
        self.b.bytes += bytes.len() + 8;
        if let Col::Text(t) = self.next() {
            t.append_null();
        } else {
            self.kinds_matched = false;
        }
        if let Col::Raw(r) = self.next() {
            r.append_value(bytes);
        } else {
            self.kinds_matched = false;
        }
        self
    }

    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        self.b.bytes += s.len() + 4;
        if let Col::Text(t) = self.next() {
            t.append_value(s);
        } else {
            self.kinds_matched = false;
        }
        self
    }

    pub(crate) fn i64(&mut self, v: Option<i64>) -> &mut Self {
        self.b.bytes += 8;
        if let Col::I64(c) = self.next() {
            c.append_option(v);
        } else {
            self.kinds_matched = false;
        }
        self
    }

    pub(crate) fn f64(&mut self, v: f64) -> &mut Self {
        self.b.bytes += 8;
        if let Col::F64(c) = self.next() {
            c.append_value(v);
        } else {
            self.kinds_matched = false;
        }
        self
    }

    pub(crate) fn time(&mut self, v: Option<i64>) -> &mut Self {
        self.b.bytes += 8;
        if let Col::Time(c) = self.next() {
            c.append_option(v);
        } else {
            self.kinds_matched = false;
        }
        self
    }
}

pub(crate) fn id_parts(id: StreamId) -> (Option<i64>, Option<i64>) {
    (Some(id.ms as i64), Some(id.seq as i64))
}

impl Row<'_> {
    /// A null byte string (both columns null).
    pub(crate) fn i64_null_bytes(&mut self) -> &mut Self {
        if let Col::Text(t) = self.next() {
            t.append_null();
        } else {
            self.kinds_matched = false;
        }
        if let Col::Raw(r) = self.next() {
            r.append_null();
        } else {
            self.kinds_matched = false;
        }
        self
    }
}
