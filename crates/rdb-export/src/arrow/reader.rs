//! Readers: a table's batches made on other threads, handed over through a short queue.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use rdb_format::Scratch;
use rdb_pipeline::pipeline::{self, PipelineError, PipelineOptions, Progress, SinkError};

use super::batches::TableBatches;
use super::split::{decode_error, KeyCounts};
use super::{schema, ArrowOptions, ArrowSinkError, BatchSink, Split, Table};

/// Batches made but not yet taken: with the pipeline's chunks in flight, enough to keep
/// every core busy while the consumer works, and memory bounded.
const QUEUE: usize = 4;

enum Message {
    Batch(RecordBatch),
    Failed(PipelineError),
    Done,
}

/// The batches of one table, made on other threads while the caller takes them: an
/// iterator of `Result<RecordBatch, PipelineError>` that ends after the last batch or the
/// first error. Dropping it stops the work at the next chunk.
pub struct TableReader {
    schema: SchemaRef,
    messages: mpsc::Receiver<Message>,
    progress: Arc<Progress>,
    done: bool,
}

impl TableReader {
    /// The batches' schema ([`super::schema`]).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Counters of the work (bytes and records done) for a progress display.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    /// The reader as Arrow's [`RecordBatchReader`] (what Arrow's C stream interface
    /// exports), its errors as [`ArrowError::ExternalError`] holding the [`PipelineError`].
    pub fn into_arrow(self) -> ArrowBatchReader {
        ArrowBatchReader(self)
    }

    /// Runs `work` on a thread of its own, handing it a way to send batches.
    fn spawn(
        table: Table,
        work: impl FnOnce(&(dyn Fn(RecordBatch) -> bool + Sync), &Progress) -> Result<(), PipelineError>
            + Send
            + 'static,
    ) -> TableReader {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let progress = Arc::new(Progress::default());
        let worker_progress = progress.clone();
        let spawned = std::thread::Builder::new()
            .name("rdb-arrow-reader".into())
            .spawn(move || {
                let send = |batch| tx.send(Message::Batch(batch)).is_ok();
                let last = match work(&send, &worker_progress) {
                    Ok(()) => Message::Done,
                    Err(e) => Message::Failed(e),
                };
                let _ = tx.send(last);
            });
        let mut reader = TableReader {
            schema: schema(table),
            messages: rx,
            progress,
            done: false,
        };
        if spawned.is_err() {
            // No thread, no messages: the first call of `next` says the work stopped.
            reader.messages = mpsc::sync_channel(0).1;
        }
        reader
    }
}

impl Iterator for TableReader {
    type Item = Result<RecordBatch, PipelineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.messages.recv() {
            Ok(Message::Batch(b)) => Some(Ok(b)),
            Ok(Message::Done) => {
                self.done = true;
                None
            }
            Ok(Message::Failed(e)) => {
                self.done = true;
                Some(Err(e))
            }
            // The thread stopped without saying it was done: never a silently short table.
            Err(mpsc::RecvError) => {
                self.done = true;
                Some(Err(PipelineError::WorkerStopped))
            }
        }
    }
}

impl Drop for TableReader {
    fn drop(&mut self) {
        self.progress.cancel.store(true, Ordering::Relaxed);
    }
}

/// A [`TableReader`] as Arrow's [`RecordBatchReader`] ([`TableReader::into_arrow`]).
pub struct ArrowBatchReader(TableReader);

impl ArrowBatchReader {
    /// The reader it wraps.
    pub fn into_inner(self) -> TableReader {
        self.0
    }
}

impl Iterator for ArrowBatchReader {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0
            .next()
            .map(|r| r.map_err(|e| ArrowError::ExternalError(Box::new(e))))
    }
}

impl RecordBatchReader for ArrowBatchReader {
    fn schema(&self) -> SchemaRef {
        self.0.schema()
    }
}

fn dropped() -> ArrowError {
    ArrowError::ExternalError("the reader was dropped".into())
}

/// Every batch of `table` in `files`, in file order: the pipeline converts chunks on every
/// core (`options`: filter, checksum, chunk size) while the caller takes batches.
pub fn read(
    files: &[PathBuf],
    table: Table,
    options: &PipelineOptions,
    arrow: &ArrowOptions,
) -> TableReader {
    let files = files.to_vec();
    let options = options.clone();
    let arrow = arrow.clone();
    TableReader::spawn(table, move |send, progress| {
        let sink = BatchSink::new(table, arrow, |batch| {
            if send(batch) {
                Ok(())
            } else {
                Err(dropped())
            }
        });
        pipeline::run(&files, &options, &sink, progress).map(drop)
    })
}

/// The batches of `table` in one split of a plan ([`super::plan`]), on one thread:
/// `options` gives the filter and decoder settings (its chunk size is not used; the
/// checksum is not verified, a split being part of a dump).
pub fn read_split(
    split: &Split,
    table: Table,
    options: &PipelineOptions,
    arrow: &ArrowOptions,
) -> TableReader {
    let split = split.clone();
    let options = options.clone();
    let arrow = arrow.clone();
    TableReader::spawn(table, move |send, progress| {
        read_split_on(&split, table, &options, &arrow, send, progress)
    })
}

fn read_split_on(
    split: &Split,
    table: Table,
    options: &PipelineOptions,
    arrow: &ArrowOptions,
    send: &(dyn Fn(RecordBatch) -> bool + Sync),
    progress: &Progress,
) -> Result<(), PipelineError> {
    let path = &split.path;
    let open_error = |error| PipelineError::Open {
        path: path.clone(),
        error,
    };
    let open = split.open(path, options.decoder)?;
    let dump = &open.dump;
    let mut counts = KeyCounts::default();
    let mut items = open.kept_items(split, &options.filter, &mut counts);
    let mut batches = TableBatches::new(table, arrow, |batch| {
        if !progress.cancel.load(Ordering::Relaxed) && send(batch) {
            Ok(())
        } else {
            Err(ArrowSinkError::Consume { error: dropped() })
        }
    });
    let file = path.display().to_string();
    let result = batches.items(&file, &mut items, &mut Scratch::new());
    drop(batches);
    // Nothing read after a cut is believed.
    dump.verify().map_err(open_error)?;
    match result {
        Ok(()) => Ok(()),
        Err(SinkError::Decode(e)) => Err(decode_error(dump, path, e)),
        Err(SinkError::Sink(e)) => Err(PipelineError::sink(e)),
        Err(e) => Err(PipelineError::sink(std::io::Error::other(e.to_string()))),
    }
}
