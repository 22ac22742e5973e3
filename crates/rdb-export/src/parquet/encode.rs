//! The worker side of the sink: a chunk's rows encoded into row groups in memory (compressed
//! pages), so the costly part of writing Parquet (encoding, compression, statistics) runs on
//! every core. The committing thread only appends the finished row groups to part files
//! ([`super::part`]), which is why part files need not follow chunks.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};

use super::schema::{Builder, Row, Table};
use super::{ParquetOptions, ParquetSinkError, Result};

/// How one table is encoded: its schema, its writer settings and the factory of its column
/// writers, made once per run and shared by every worker.
pub(super) struct Encoding {
    pub(super) schema: SchemaRef,
    pub(super) props: Arc<WriterProperties>,
    factory: ArrowRowGroupWriterFactory,
}

impl Encoding {
    pub(super) fn new(table: Table, base: &WriterPropertiesBuilder) -> Result<Self> {
        let schema = table.schema();
        let props = Arc::new(table.writer_properties(base.clone()));
        // The factory only needs the file's schema and settings; a writer into nothing gives
        // it without a file (the part files are opened at commit, see `part.rs`).
        let (_, factory) =
            ArrowWriter::try_new(std::io::sink(), schema.clone(), Some((*props).clone()))
                .and_then(|w| w.into_serialized_writer())
                .map_err(|error| ParquetSinkError::Encode {
                    table: table.name(),
                    error,
                })?;
        Ok(Encoding {
            schema,
            props,
            factory,
        })
    }
}

/// Every table's [`Encoding`].
pub(super) struct Encodings(HashMap<Table, Encoding>);

impl Encodings {
    pub(super) fn new(base: &WriterPropertiesBuilder) -> Result<Self> {
        Table::ALL
            .iter()
            .map(|&t| Ok((t, Encoding::new(t, base)?)))
            .collect::<Result<_>>()
            .map(Encodings)
    }

    pub(super) fn get(&self, table: Table) -> &Encoding {
        // Built for every table above.
        &self.0[&table]
    }
}

/// One row group of one table and database, encoded and compressed by a worker, waiting
/// for its chunk's commit (what [`super::ParquetSink`] passes from `process` to `commit`).
pub struct RowGroup {
    pub(super) table: Table,
    pub(super) db: u64,
    pub(super) rows: u64,
    pub(super) columns: Vec<ArrowColumnChunk>,
}

/// The row group of one table and database being filled by a worker.
struct Open {
    table: Table,
    builder: Builder,
    writers: Vec<ArrowColumnWriter>,
    /// Rows handed to `writers` so far.
    rows: u64,
}

/// The tables of one chunk, filled row by row.
pub(super) struct ChunkTables<'s> {
    encodings: &'s Encodings,
    options: &'s ParquetOptions,
    /// The database whose row groups are open. A dump's databases come one after another,
    /// so the row groups are closed when the next database begins: at most one per table is
    /// open (each holds builders and buffered pages) whatever the number of databases.
    db: u64,
    /// Open row groups of `db`: a handful, looked up on every row, so a linear scan (hashing
    /// the key each time cost 8 % of a Parquet export).
    open: Vec<Open>,
    meta: Option<Open>,
    done: Vec<RowGroup>,
}

impl<'s> ChunkTables<'s> {
    pub(super) fn new(encodings: &'s Encodings, options: &'s ParquetOptions, db: u64) -> Self {
        ChunkTables {
            encodings,
            options,
            db,
            open: Vec::new(),
            meta: None,
            done: Vec::new(),
        }
    }

    fn start(&self, table: Table) -> Result<Open> {
        let writers = self
            .encodings
            .get(table)
            .factory
            .create_column_writers(0)
            .map_err(|error| ParquetSinkError::Encode {
                table: table.name(),
                error,
            })?;
        Ok(Open {
            table,
            builder: Builder::new(table),
            writers,
            rows: 0,
        })
    }

    fn table(&mut self, table: Table, db: u64) -> Result<&mut Open> {
        if table == Table::Meta {
            if self.meta.is_none() {
                self.meta = Some(self.start(table)?);
            }
            return Ok(self.meta.as_mut().expect("opened above"));
        }
        if db != self.db {
            self.close_open()?;
            self.db = db;
        }
        let at = match self.open.iter().position(|o| o.table == table) {
            Some(at) => at,
            None => {
                let o = self.start(table)?;
                self.open.push(o);
                self.open.len() - 1
            }
        };
        Ok(&mut self.open[at])
    }

    /// Appends a row; encodes full batches so memory stays bounded, and closes the row group
    /// when it reaches the configured size.
    pub(super) fn row(
        &mut self,
        table: Table,
        db: u64,
        fill: impl FnOnce(&mut Row<'_>),
    ) -> Result<()> {
        let options = self.options;
        let encodings = self.encodings;
        let open = self.table(table, db)?;
        let mut row = open.builder.row();
        fill(&mut row);
        // Rows are filled column by column: a row that misses or adds one would shift the
        // table's columns, so tests check every row against the table's declaration.
        debug_assert!(
            row.is_complete(),
            "{table:?}: a row does not fill its columns"
        );
        let group_rows = options.row_group_rows as u64;
        if open.builder.bytes < options.batch_bytes
            && open.rows + (open.builder.rows as u64) < group_rows
        {
            return Ok(());
        }
        encode_batch(encodings, open)?;
        let bytes: usize = open
            .writers
            .iter()
            .map(|w| w.get_estimated_total_bytes())
            .sum();
        if open.rows >= group_rows || bytes >= options.row_group_bytes {
            let next = self.start(table)?;
            let db = if table == Table::Meta { 0 } else { self.db };
            let open = self.table(table, db)?;
            let full = std::mem::replace(open, next);
            self.done.push(finish(encodings, full, db)?);
        }
        Ok(())
    }

    fn close_open(&mut self) -> Result<()> {
        for o in std::mem::take(&mut self.open) {
            self.done.push(finish(self.encodings, o, self.db)?);
        }
        Ok(())
    }

    /// The chunk's row groups, in the order they were closed.
    pub(super) fn finish(mut self) -> Result<Vec<RowGroup>> {
        self.close_open()?;
        if let Some(m) = self.meta.take() {
            self.done.push(finish(self.encodings, m, 0)?);
        }
        Ok(self.done)
    }
}

fn encode_error(table: Table) -> impl Fn(parquet::errors::ParquetError) -> ParquetSinkError {
    move |error| ParquetSinkError::Encode {
        table: table.name(),
        error,
    }
}

/// Hands the builder's rows to the column writers (encoding and compressing pages).
fn encode_batch(encodings: &Encodings, open: &mut Open) -> Result<()> {
    if open.builder.rows == 0 {
        return Ok(());
    }
    let encode = encode_error(open.table);
    let schema = &encodings.get(open.table).schema;
    let batch = open.builder.finish(schema)?;
    let mut writers = open.writers.iter_mut();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        for leaf in compute_leaves(field, column).map_err(&encode)? {
            // The factory made one writer per leaf of this very schema.
            let writer = writers.next().expect("a column writer per leaf");
            writer.write(&leaf).map_err(&encode)?;
        }
    }
    open.rows += batch.num_rows() as u64;
    Ok(())
}

/// Closes a row group: its last rows encoded, its column chunks finished.
fn finish(encodings: &Encodings, mut open: Open, db: u64) -> Result<RowGroup> {
    encode_batch(encodings, &mut open)?;
    let encode = encode_error(open.table);
    let columns = open
        .writers
        .into_iter()
        .map(|w| w.close().map_err(&encode))
        .collect::<Result<_>>()?;
    Ok(RowGroup {
        table: open.table,
        db,
        rows: open.rows,
        columns,
    })
}
