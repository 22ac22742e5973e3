//! Pipeline sinks making one table's batches: handed to a closure, or written as an Arrow
//! IPC stream.

use std::io::Write;
use std::sync::Mutex;

use arrow_array::RecordBatch;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, SchemaRef};
use rdb_format::{Item, Scratch};
use rdb_pipeline::pipeline::{Chunk, FileInfo, Sink, SinkError};

use super::batches::TableBatches;
use super::{schema, ArrowOptions, ArrowSinkError, Table};

/// The batches of one chunk, cut at [`ArrowOptions::batch_bytes`] (run on a worker).
fn chunk_batches<'a>(
    table: Table,
    options: &ArrowOptions,
    chunk: &Chunk,
    items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
    scratch: &mut Scratch,
) -> Result<Vec<RecordBatch>, SinkError<ArrowSinkError>> {
    let mut batches = Vec::new();
    let mut t = TableBatches::new(table, options, |b| {
        batches.push(b);
        Ok(())
    });
    let file = chunk.file.path.display().to_string();
    t.items(&file, items, scratch)?;
    drop(t);
    Ok(batches)
}

/// A sink handing one table's batches to `consume`, in file order (chunks are converted in
/// parallel, batches handed over on the pipeline's calling thread).
pub struct BatchSink<C> {
    table: Table,
    options: ArrowOptions,
    consume: Mutex<C>,
}

impl<C> BatchSink<C>
where
    C: FnMut(RecordBatch) -> Result<(), ArrowError> + Send,
{
    /// A sink making `table`'s batches and handing them to `consume`.
    pub fn new(table: Table, options: ArrowOptions, consume: C) -> Self {
        BatchSink {
            table,
            options,
            consume: Mutex::new(consume),
        }
    }

    /// The batches' schema.
    pub fn schema(&self) -> SchemaRef {
        schema(self.table)
    }
}

impl<C> Sink for BatchSink<C>
where
    C: FnMut(RecordBatch) -> Result<(), ArrowError> + Send,
{
    type File = ();
    type Part = Vec<RecordBatch>;
    type Error = ArrowSinkError;

    fn begin_file(&self, _: &FileInfo, _: &[u8]) -> Result<(), SinkError<ArrowSinkError>> {
        Ok(())
    }

    fn process<'a>(
        &self,
        _: &(),
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<RecordBatch>, SinkError<ArrowSinkError>> {
        chunk_batches(self.table, &self.options, chunk, items, scratch)
    }

    fn commit(&self, _: &(), _: &Chunk, batches: Vec<RecordBatch>) -> Result<(), ArrowSinkError> {
        let mut consume = self.consume.lock().unwrap_or_else(|p| p.into_inner());
        for batch in batches {
            (consume)(batch).map_err(|error| ArrowSinkError::Consume { error })?;
        }
        Ok(())
    }
}

/// A sink writing one table as an Arrow IPC stream (the schema, then each batch, in file
/// order). [`IpcStreamSink::finish`] writes the stream's end.
pub struct IpcStreamSink<W: Write> {
    table: Table,
    options: ArrowOptions,
    writer: Mutex<StreamWriter<W>>,
}

impl<W: Write + Send> IpcStreamSink<W> {
    /// A sink writing `table`'s stream into `out` (the schema is written at once).
    pub fn new(out: W, table: Table, options: ArrowOptions) -> Result<Self, ArrowSinkError> {
        let writer = StreamWriter::try_new(out, &schema(table))
            .map_err(|error| ArrowSinkError::Consume { error })?;
        Ok(IpcStreamSink {
            table,
            options,
            writer: Mutex::new(writer),
        })
    }

    /// Ends the stream and returns the writer.
    pub fn finish(self) -> Result<W, ArrowSinkError> {
        let mut writer = self.writer.into_inner().unwrap_or_else(|p| p.into_inner());
        writer
            .finish()
            .and_then(|()| writer.into_inner())
            .map_err(|error| ArrowSinkError::Consume { error })
    }
}

impl<W: Write + Send> Sink for IpcStreamSink<W> {
    type File = ();
    type Part = Vec<RecordBatch>;
    type Error = ArrowSinkError;

    fn begin_file(&self, _: &FileInfo, _: &[u8]) -> Result<(), SinkError<ArrowSinkError>> {
        Ok(())
    }

    fn process<'a>(
        &self,
        _: &(),
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<RecordBatch>, SinkError<ArrowSinkError>> {
        chunk_batches(self.table, &self.options, chunk, items, scratch)
    }

    fn commit(&self, _: &(), _: &Chunk, batches: Vec<RecordBatch>) -> Result<(), ArrowSinkError> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        for batch in &batches {
            writer
                .write(batch)
                .map_err(|error| ArrowSinkError::Consume { error })?;
        }
        Ok(())
    }
}
