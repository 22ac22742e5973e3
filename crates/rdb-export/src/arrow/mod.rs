//! Dumps as Arrow record batches: the tables of the Parquet export ([`crate::parquet`]), one
//! at a time, for a dump or for one split of it.
//!
//! Each table has the Parquet table's columns (one definition), then `db` (`int64`), the
//! database the Parquet export puts in the path (`keys/db=0/...`); `meta` has no `db`. A
//! batch holds rows of one database and about [`ArrowOptions::batch_bytes`] of data.
//!
//! - [`read`]: every batch of a table of some dumps, converted on every core, in file order.
//! - [`plan`] and [`read_split`]: the same dumps cut into record-aligned byte ranges
//!   ([`Split`]s, serialisable) that separate processes or machines read on their own; the
//!   batches of all splits, in plan order, are those of [`read`].
//! - [`BatchSink`] and [`IpcStreamSink`]: the pipeline sinks behind them, for callers that
//!   run the pipeline themselves (the CLI's `--format arrow` writes an Arrow IPC stream).
//!
//! ```
//! use rdb_export::arrow::{read, ArrowOptions, Table};
//! use rdb_pipeline::pipeline::PipelineOptions;
//!
//! let dump = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sample.rdb");
//! let reader = read(&[dump.into()], Table::Keys, &PipelineOptions::default(), &ArrowOptions::default());
//! let mut keys = 0;
//! for batch in reader {
//!     keys += batch?.num_rows();
//! }
//! assert!(keys > 0);
//! # Ok::<(), rdb_pipeline::pipeline::PipelineError>(())
//! ```

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

mod batches;
mod reader;
mod sink;
pub(crate) mod split;

pub use crate::parquet::schema::Table;
pub use reader::{read, read_split, ArrowBatchReader, TableReader};
pub use sink::{BatchSink, IpcStreamSink};
pub use split::{plan, Split, SplitError, SPLIT_BYTES};

/// Errors of the Arrow sinks (the dump's decoding errors are the engine's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArrowSinkError {
    /// Rows could not be made into a batch (Arrow's errors repeat their cause in their
    /// message, so the error is a field, not a `source()`).
    #[error("building a batch: {error}")]
    Batch {
        /// Why.
        error: arrow_schema::ArrowError,
    },
    /// The batches' consumer failed (an IPC stream's writer: a closed pipe, a full disk).
    #[error("writing a batch: {error}")]
    Consume {
        /// Why.
        error: arrow_schema::ArrowError,
    },
}

/// Settings of the batches.
#[derive(Clone, Debug)]
pub struct ArrowOptions {
    /// Hand rows over as a batch when the table's column builders hold this much.
    pub batch_bytes: usize,
}

impl Default for ArrowOptions {
    fn default() -> Self {
        ArrowOptions {
            // As the Parquet sink's batches: small enough to keep many in flight.
            batch_bytes: 2 << 20,
        }
    }
}

/// The schema of `table`'s batches: the Parquet table's columns, then `db` (but in `meta`).
pub fn schema(table: Table) -> SchemaRef {
    let columns = table.schema();
    if table == Table::Meta {
        return columns;
    }
    let mut fields: Vec<Arc<Field>> = columns.fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new("db", DataType::Int64, false)));
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests;
