//! One table's rows of a run of items, cut into batches.

use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{ArrowError, SchemaRef};
use rdb_format::{Item, Scratch, Type};
use rdb_pipeline::pipeline::SinkError;

use super::{schema, ArrowOptions, ArrowSinkError, Table};
use crate::parquet::record::{meta, record, RowError, Rows};
use crate::parquet::schema::{Builder, Row};
use crate::parquet::ParquetSinkError;

/// The rows of one table, handed to `out` a batch at a time: when the builders hold
/// [`ArrowOptions::batch_bytes`], when the database changes (a batch is of one database)
/// and at the end.
pub(super) struct TableBatches<F> {
    table: Table,
    /// The Parquet table's columns (what the builder makes).
    columns: SchemaRef,
    /// The batches' (with `db`).
    schema: SchemaRef,
    builder: Builder,
    db: u64,
    batch_bytes: usize,
    out: F,
}

impl<F> TableBatches<F>
where
    F: FnMut(RecordBatch) -> Result<(), ArrowSinkError>,
{
    pub(super) fn new(table: Table, options: &ArrowOptions, out: F) -> Self {
        TableBatches {
            table,
            columns: table.schema(),
            schema: schema(table),
            builder: Builder::new(table),
            db: 0,
            batch_bytes: options.batch_bytes,
            out,
        }
    }

    /// Hands the rows built so far over as a batch.
    pub(super) fn flush(&mut self) -> Result<(), ArrowSinkError> {
        if self.builder.rows == 0 {
            return Ok(());
        }
        let rows = self.builder.rows;
        let batch = self
            .builder
            .finish(&self.columns)
            .map_err(|e| ArrowSinkError::Batch {
                error: match e {
                    ParquetSinkError::Batch { error } => error,
                    other => ArrowError::ExternalError(Box::new(other)),
                },
            })?;
        let batch = if self.table == Table::Meta {
            batch
        } else {
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            columns.push(Arc::new(Int64Array::from_value(self.db as i64, rows)));
            RecordBatch::try_new(self.schema.clone(), columns)
                .map_err(|error| ArrowSinkError::Batch { error })?
        };
        (self.out)(batch)
    }

    /// Makes the rows of a chunk's `items` (records the filter kept, and the rest) and hands
    /// them over, the last batch too. `file` fills the `file` columns.
    pub(super) fn items<'a>(
        &mut self,
        file: &str,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<(), SinkError<ArrowSinkError>> {
        let lift = |e: RowError<ArrowSinkError>| match e {
            RowError::Decode(e) => SinkError::Decode(e),
            RowError::Sink(e) => SinkError::Sink(e),
        };
        for item in items {
            // Only `meta` is made of other items than records: the rest are skipped undecoded.
            match (item?, self.table == Table::Meta) {
                (Item::Record(r), false) => {
                    if holds(self.table, r.data_type()) {
                        record(self, file, &r, scratch).map_err(lift)?
                    }
                }
                (Item::Record(_), true) | (_, false) => {}
                (other, true) => meta(self, file, other, scratch).map_err(lift)?,
            }
            scratch.reset();
        }
        self.flush().map_err(SinkError::Sink)
    }
}

/// Whether records of type `ty` may have rows in `table`: the values of others are not
/// decoded at all (so a damaged value of another type is not seen either).
fn holds(table: Table, ty: Type) -> bool {
    let of = match table {
        Table::Keys => return true,
        Table::Meta => return false,
        Table::Strings => Type::String,
        Table::Lists => Type::List,
        Table::Sets => Type::Set,
        Table::ZSets => Type::ZSet,
        Table::Hashes => Type::Hash,
        Table::Streams
        | Table::StreamMeta
        | Table::StreamGroups
        | Table::StreamPending
        | Table::StreamConsumers
        | Table::StreamIdmp => Type::Stream,
        Table::Modules => Type::Module,
    };
    ty == of
}

impl<F> Rows for TableBatches<F>
where
    F: FnMut(RecordBatch) -> Result<(), ArrowSinkError>,
{
    type Error = ArrowSinkError;

    fn row(
        &mut self,
        table: Table,
        db: u64,
        fill: impl FnOnce(&mut Row<'_>),
    ) -> Result<(), ArrowSinkError> {
        if table != self.table {
            return Ok(());
        }
        if db != self.db {
            self.flush()?;
            self.db = db;
        }
        let mut row = self.builder.row();
        fill(&mut row);
        // Rows are filled column by column: a row that misses or adds one would shift the
        // table's columns (the Parquet sink's tests check every table's rows).
        debug_assert!(
            row.is_complete(),
            "{table:?}: a row does not fill its columns"
        );
        if self.builder.bytes >= self.batch_bytes {
            self.flush()?;
        }
        Ok(())
    }
}
