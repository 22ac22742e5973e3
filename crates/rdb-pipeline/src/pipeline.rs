//! Sources → filter → sink, in parallel.
//!
//! Each dump is cut into chunks at record boundaries by a fast sequential pass that skips
//! values without decoding them. Chunks are decoded and converted on rayon's threads, and
//! each chunk's result ([`Sink::Part`]) is committed in file order on the calling thread, so
//! the output is the same whatever the number of threads. At most a few chunks per thread
//! are in flight, so memory stays bounded whatever the dump's size.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use rdb_format::{Checksum, Decoder, DecoderOptions, Eof, Item, Record, Scratch, Version};

use crate::filter::Filter;
use rdb_format::DumpFile;

/// Errors of a pipeline run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// A dump could not be opened, or was cut or rewritten while being read.
    #[error("{path}: {error}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A dump could not be decoded.
    #[error("{path}: {error}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The decoder's error, with its offset.
        error: rdb_format::Error,
    },
    /// The sink failed: its own error ([`Sink::Error`]), which a caller can downcast. Shown
    /// as the sink's error, with the same `source()` chain.
    #[error(transparent)]
    Sink(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// A worker thread stopped without a result (it panicked).
    #[error("a worker stopped")]
    WorkerStopped,
    /// The run was canceled.
    #[error("canceled")]
    Canceled,
}

impl PipelineError {
    /// Wraps a sink's error.
    pub fn sink(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        PipelineError::Sink(Box::new(error))
    }
}

/// What can fail while a sink reads a dump's header or processes a chunk: the dump's bytes,
/// or the sink itself. The engine names the file of a [`SinkError::Decode`]
/// ([`PipelineError::Decode`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError<E> {
    /// An item or value of the chunk could not be decoded.
    #[error(transparent)]
    Decode(#[from] rdb_format::Error),
    /// The sink failed.
    #[error(transparent)]
    Sink(E),
}

/// Result of the pipeline.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

/// A dump being processed.
#[derive(Clone, Debug)]
pub struct FileInfo {
    /// Position in the run's list of files.
    pub index: usize,
    /// The path.
    pub path: PathBuf,
    /// The file name without its extension (names part files).
    pub stem: String,
    /// Size in bytes.
    pub size: u64,
    /// RDB version.
    pub version: Version,
}

/// A run of items of one dump, between two record boundaries.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// The dump.
    pub file: Arc<FileInfo>,
    /// Chunk number within the file, from 0.
    pub index: u64,
    /// First byte.
    pub start: u64,
    /// Past the last byte.
    pub end: u64,
    /// Database selected at `start`.
    pub db: u64,
}

/// Where a sink's output goes: the pipeline calls [`Sink::begin_file`] before a dump's
/// chunks, [`Sink::process`] on worker threads for each chunk and [`Sink::commit`] on the
/// calling thread, in order, then [`Sink::end_file`]. Dumps overlap: the next dump's
/// `begin_file` may come before the previous one's last commits and `end_file` (each of
/// these calls still comes in run order). Methods take `&self` because workers
/// run while earlier chunks commit: keep commit state behind a `Mutex` (only the calling
/// thread takes it, so it is never contended). What a sink needs per dump (a model read from
/// its header, say) is its [`Sink::File`], handed to every later call for that dump.
///
/// For a sink that only walks records, [`for_each_record`] does the walk in
/// [`Sink::process`], and [`FnSink`] makes a sink of one closure.
pub trait Sink: Sync {
    /// What the sink keeps per dump, from [`Sink::begin_file`] to [`Sink::end_file`].
    type File: Send + Sync;
    /// What processing one chunk produces.
    type Part: Send;
    /// The sink's own errors (the engine keeps them whole: [`PipelineError::Sink`]).
    type Error: std::error::Error + Send + Sync + 'static;

    /// Called before a file's first chunk, with the whole dump's bytes (to read its header).
    fn begin_file(
        &self,
        file: &FileInfo,
        data: &[u8],
    ) -> Result<Self::File, SinkError<Self::Error>>;

    /// Converts a chunk's items, which the filter has already passed (records that fail the
    /// filter are not given). Runs in parallel with other chunks.
    fn process<'a>(
        &self,
        file: &Self::File,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Self::Part, SinkError<Self::Error>>;

    /// Takes a chunk's result, in file order.
    fn commit(&self, file: &Self::File, chunk: &Chunk, part: Self::Part)
        -> Result<(), Self::Error>;

    /// Called after a file's last chunk with its end (checksum state, trailing bytes).
    fn end_file(&self, _file: Self::File, _eof: &Eof) -> Result<(), Self::Error> {
        Ok(())
    }

    /// Drops what a failed or canceled run left half done (temporary files).
    fn abort(&self) {}
}

/// Walks the records of a chunk's `items` (other items are skipped), calling `f` with each
/// record, its decoded key and the scratch its value can be decoded into (reset before each
/// record). The walk of [`Sink::process`] for sinks that look at records only.
pub fn for_each_record<'a, E>(
    items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
    scratch: &mut Scratch,
    mut f: impl FnMut(&Record<'a>, &[u8], &Scratch) -> Result<(), SinkError<E>>,
) -> Result<(), SinkError<E>> {
    let mut key = Vec::new();
    for item in items {
        if let Item::Record(r) = item? {
            scratch.reset();
            key.clear();
            r.key.decode(scratch)?.write_to(&mut key);
            f(&r, &key, scratch)?;
        }
    }
    Ok(())
}

/// A sink made of one closure, called with every record the filter keeps, its decoded key
/// and a scratch buffer for its value ([`for_each_record`]), on the pipeline's threads and
/// in no particular order. The closure keeps what it learns itself (atomics, a `Mutex`).
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use rdb_pipeline::pipeline::{FnSink, PipelineOptions, Progress};
///
/// let keys = AtomicU64::new(0);
/// let sink = FnSink::new(|_record, _key: &[u8], _scratch| {
///     keys.fetch_add(1, Ordering::Relaxed);
///     Ok::<(), std::convert::Infallible>(())
/// });
/// let files: Vec<std::path::PathBuf> = Vec::new(); // dumps to read
/// rdb_pipeline::pipeline::run(&files, &PipelineOptions::default(), &sink, &Progress::default())?;
/// println!("{} keys", keys.load(Ordering::Relaxed));
/// # Ok::<(), rdb_pipeline::pipeline::PipelineError>(())
/// ```
pub struct FnSink<F> {
    record: F,
}

impl<F> FnSink<F> {
    /// A sink calling `record` for each record.
    pub fn new<E>(record: F) -> Self
    where
        F: Fn(&Record<'_>, &[u8], &Scratch) -> Result<(), E> + Sync,
        E: std::error::Error + Send + Sync + 'static,
    {
        FnSink { record }
    }
}

impl<F, E> Sink for FnSink<F>
where
    F: Fn(&Record<'_>, &[u8], &Scratch) -> Result<(), E> + Sync,
    E: std::error::Error + Send + Sync + 'static,
{
    type File = ();
    type Part = ();
    type Error = E;

    fn begin_file(&self, _file: &FileInfo, _data: &[u8]) -> Result<(), SinkError<E>> {
        Ok(())
    }

    fn process<'a>(
        &self,
        _file: &(),
        _chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<(), SinkError<E>> {
        for_each_record(items, scratch, |r, key, scratch| {
            (self.record)(r, key, scratch).map_err(SinkError::Sink)
        })
    }

    fn commit(&self, _file: &(), _chunk: &Chunk, _part: ()) -> Result<(), E> {
        Ok(())
    }
}

/// Counters a caller can read while the pipeline runs (progress bars, manifests).
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of all input files.
    pub bytes_total: AtomicU64,
    /// Bytes whose chunks are committed.
    pub bytes_done: AtomicU64,
    /// Records committed (after filtering).
    pub keys_done: AtomicU64,
    /// Records the filter dropped.
    pub keys_skipped: AtomicU64,
    /// Set to stop the run at the next chunk.
    pub cancel: AtomicBool,
}

/// How to cut and decode.
#[derive(Clone, Debug)]
pub struct PipelineOptions {
    /// Decoder options (checksum verification, future versions).
    pub decoder: DecoderOptions,
    /// Target bytes of input per chunk.
    pub chunk_bytes: u64,
    /// Which records to keep.
    pub filter: Filter,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        PipelineOptions {
            decoder: DecoderOptions::default(),
            chunk_bytes: 4 << 20,
            filter: Filter::default(),
        }
    }
}

/// What a run saw, per file.
#[derive(Clone, Debug)]
pub struct FileSummary {
    /// The file.
    pub info: FileInfo,
    /// Checksum state.
    pub checksum: Checksum,
    /// Bytes after the dump.
    pub trailing_bytes: u64,
}

/// Runs `files` through `sink`.
pub fn run<S: Sink>(
    files: &[PathBuf],
    options: &PipelineOptions,
    sink: &S,
    progress: &Progress,
) -> Result<Vec<FileSummary>> {
    let result = run_inner(files, options, sink, progress);
    if result.is_err() {
        sink.abort();
    }
    result
}

/// Dumps opened one at a time, in order, when the pipeline reaches them: a download of later
/// dumps can overlap the conversion of earlier ones.
pub trait Inputs {
    /// Number of dumps.
    fn count(&self) -> usize;
    /// Bytes of all dumps, known before they are opened (progress).
    fn total_bytes(&self) -> u64;
    /// Opens dump `index`; called with 0, 1, 2... in order, each once the previous dump is
    /// cut into chunks (its last chunks may still be converting, from its own mapping).
    fn open(&mut self, index: usize) -> Result<DumpFile>;
}

/// Runs the dumps of `inputs` through `sink`, opening each when its turn comes.
pub fn run_inputs<S: Sink>(
    inputs: &mut dyn Inputs,
    options: &PipelineOptions,
    sink: &S,
    progress: &Progress,
) -> Result<Vec<FileSummary>> {
    progress
        .bytes_total
        .fetch_add(inputs.total_bytes(), Ordering::Relaxed);
    let count = inputs.count();
    let result = run_dumps(
        count,
        &mut |index| inputs.open(index),
        options,
        sink,
        progress,
    );
    if result.is_err() {
        sink.abort();
    }
    result
}

/// Chunks at least this big (or four target chunks, if that is more) are processed one at a
/// time.
const BIG_CHUNK: u64 = 16 << 20;

fn run_inner<S: Sink>(
    files: &[PathBuf],
    options: &PipelineOptions,
    sink: &S,
    progress: &Progress,
) -> Result<Vec<FileSummary>> {
    // Every file is opened first, so a missing one fails the run before any output.
    let mut dumps = Vec::with_capacity(files.len());
    for path in files {
        let dump = DumpFile::open(path).map_err(|error| PipelineError::Open {
            path: path.clone(),
            error,
        })?;
        progress
            .bytes_total
            .fetch_add(dump.data().len() as u64, Ordering::Relaxed);
        dumps.push(Some(dump));
    }
    let mut open = |index: usize| dumps[index].take().ok_or(PipelineError::WorkerStopped);
    run_dumps(files.len(), &mut open, options, sink, progress)
}

/// A dump being cut or converted: what its chunks' workers and its commits share.
struct DumpRun<F> {
    dump: DumpFile,
    info: Arc<FileInfo>,
    state: F,
}

impl<F> DumpRun<F> {
    /// Checks that the dump was not cut or rewritten while being read.
    fn unchanged(&self) -> Result<()> {
        self.dump.verify().map_err(|error| PipelineError::Open {
            path: self.info.path.clone(),
            error,
        })
    }

    /// A decoding error, or the cut that caused it.
    fn decode_error(&self, error: rdb_format::Error) -> PipelineError {
        match self.unchanged() {
            Err(e) => e,
            Ok(()) => PipelineError::Decode {
                path: self.info.path.clone(),
                error,
            },
        }
    }
}

/// What the calling thread commits, in order: chunks, and after each dump's last chunk its end.
enum Pending<S: Sink> {
    Chunk {
        run: Arc<DumpRun<S::File>>,
        chunk: Chunk,
        result: mpsc::Receiver<Result<(S::Part, u64, u64)>>,
    },
    End {
        run: Arc<DumpRun<S::File>>,
        eof: Eof,
        /// Bytes of the dump's chunks (the rest is header and end).
        chunked: u64,
    },
}

/// Cuts every dump into chunks on this thread, converts chunks on rayon's threads and
/// commits them in order. One queue spans the dumps: the next dump is cut while the last
/// chunks of the previous one convert, so every core stays busy across file boundaries (a
/// backup is many shard files), and the output order is the same as one dump at a time.
fn run_dumps<S: Sink>(
    count: usize,
    open: &mut dyn FnMut(usize) -> Result<DumpFile>,
    options: &PipelineOptions,
    sink: &S,
    progress: &Progress,
) -> Result<Vec<FileSummary>> {
    // Keep every thread busy with one chunk in hand and one queued.
    let max_in_flight = rayon::current_num_threads() * 2;
    // A chunk this big is one huge value: its decoded bytes (and the sink's output) cost
    // about its size in memory, so at most one is in flight and memory stays near
    // "the largest value plus a few chunks" instead of "the largest values, one per thread".
    let big_chunk = (options.chunk_bytes * 4).max(BIG_CHUNK);
    let is_big = |c: &Chunk| c.end - c.start >= big_chunk;
    let mut summaries = Vec::with_capacity(count);
    let mut commit = |pending: Pending<S>| -> Result<()> {
        match pending {
            Pending::Chunk { run, chunk, result } => {
                let result = wait(&result).ok_or(PipelineError::WorkerStopped)?;
                // Nothing read after a cut reaches the sink.
                run.unchanged()?;
                let (part, kept, skipped) = result?;
                sink.commit(&run.state, &chunk, part)
                    .map_err(PipelineError::sink)?;
                // The scan is past this chunk and no worker reads it again: its pages may go,
                // so resident memory stays near the chunks in flight whatever the dump's size.
                run.dump.release_before(chunk.end as usize);
                progress
                    .bytes_done
                    .fetch_add(chunk.end - chunk.start, Ordering::Relaxed);
                progress.keys_done.fetch_add(kept, Ordering::Relaxed);
                progress.keys_skipped.fetch_add(skipped, Ordering::Relaxed);
            }
            Pending::End { run, eof, chunked } => {
                run.unchanged()?;
                // Every chunk of the dump is committed and its workers are done: this is the
                // last holder of its state.
                let run = Arc::into_inner(run).ok_or(PipelineError::WorkerStopped)?;
                sink.end_file(run.state, &eof)
                    .map_err(PipelineError::sink)?;
                // Header and EOF bytes belong to no chunk; count them once the file is done.
                progress
                    .bytes_done
                    .fetch_add(run.info.size - chunked, Ordering::Relaxed);
                summaries.push(FileSummary {
                    info: (*run.info).clone(),
                    checksum: eof.checksum,
                    trailing_bytes: eof.trailing_bytes,
                });
            }
        }
        Ok(())
    };
    // The scan runs on this thread (not a pool worker), so waiting for a chunk never takes
    // a worker away from the chunks it waits for: with one thread, a pool-side wait would
    // deadlock.
    rayon::in_place_scope(|scope| -> Result<()> {
        let mut in_flight: VecDeque<Pending<S>> = VecDeque::new();
        let chunks_in_flight = |q: &VecDeque<Pending<S>>| {
            q.iter()
                .filter(|p| matches!(p, Pending::Chunk { .. }))
                .count()
        };
        for index in 0..count {
            let dump = open(index)?;
            let path = dump.path().to_path_buf();
            let stem = dump
                .path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let size = dump.data().len() as u64;
            // The header is read from the dump's own bytes before it moves into the run.
            let version = {
                let scan = Decoder::with_options(dump.data(), options.decoder);
                match scan {
                    Ok(d) => d.version(),
                    Err(error) => {
                        let e = match dump.verify() {
                            Err(error) => PipelineError::Open { path, error },
                            Ok(()) => PipelineError::Decode { path, error },
                        };
                        return Err(e);
                    }
                }
            };
            let info = Arc::new(FileInfo {
                index,
                stem,
                path,
                size,
                version,
            });
            let state = sink
                .begin_file(&info, dump.data())
                .map_err(|e| sink_error(&info.path, e))?;
            let run = Arc::new(DumpRun { dump, info, state });
            let mut scan = Decoder::with_options(run.dump.data(), options.decoder)
                .map_err(|e| run.decode_error(e))?;
            let mut chunked = 0u64;
            let mut chunk_index = 0;
            let mut start = scan.position();
            let mut start_db = 0;
            let eof = loop {
                if progress.cancel.load(Ordering::Relaxed) {
                    return Err(PipelineError::Canceled);
                }
                let item = scan.next_item().map_err(|e| run.decode_error(e))?;
                let at = scan.position();
                let eof = match item {
                    Some(Item::Eof(e)) => Some(e),
                    Some(_) => None,
                    None => {
                        let e =
                            rdb_format::Error::new(at, "dump", rdb_format::ErrorKind::Truncated);
                        return Err(run.decode_error(e));
                    }
                };
                // The EOF opcode and checksum belong to no chunk.
                let chunk_end = eof.map_or(at, |e| e.offset);
                if chunk_end > start && (eof.is_some() || chunk_end - start >= options.chunk_bytes)
                {
                    let chunk = Chunk {
                        file: run.info.clone(),
                        index: chunk_index,
                        start,
                        end: chunk_end,
                        db: start_db,
                    };
                    chunk_index += 1;
                    chunked += chunk_end - start;
                    start = chunk_end;
                    start_db = scan.db();
                    while chunks_in_flight(&in_flight) >= max_in_flight
                        || (is_big(&chunk)
                            && in_flight
                                .iter()
                                .any(|p| matches!(p, Pending::Chunk { chunk: c, .. } if is_big(c))))
                    {
                        commit(in_flight.pop_front().expect("non-empty"))?;
                    }
                    let (tx, rx) = mpsc::channel();
                    let worker_chunk = chunk.clone();
                    let worker_run = run.clone();
                    let filter = &options.filter;
                    let decoder_options = options.decoder;
                    scope.spawn(move |_| {
                        let result = process_chunk(
                            sink,
                            &worker_run.state,
                            &worker_chunk,
                            worker_run.dump.data(),
                            decoder_options,
                            filter,
                        );
                        // Let go of the dump before the result is seen: its end, committed
                        // after its last chunk, takes the dump's state back.
                        drop(worker_run);
                        let _ = tx.send(result);
                    });
                    in_flight.push_back(Pending::Chunk {
                        run: run.clone(),
                        chunk,
                        result: rx,
                    });
                }
                if let Some(e) = eof {
                    break e;
                }
            };
            drop(scan);
            in_flight.push_back(Pending::End { run, eof, chunked });
        }
        while let Some(p) = in_flight.pop_front() {
            commit(p)?;
        }
        Ok(())
    })?;
    Ok(summaries)
}

/// Waits for a chunk's result. On a pool thread (a caller already inside rayon), runs other
/// pool work meanwhile instead of blocking a worker.
fn wait<T>(rx: &mpsc::Receiver<T>) -> Option<T> {
    loop {
        match rx.try_recv() {
            Ok(v) => return Some(v),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => {}
            Some(rayon::Yield::Idle) => {
                match rx.recv_timeout(std::time::Duration::from_millis(1)) {
                    Ok(v) => return Some(v),
                    Err(mpsc::RecvTimeoutError::Disconnected) => return None,
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                }
            }
            None => return rx.recv().ok(),
        }
    }
}

/// Decodes one chunk, applies the filter, hands the rest to the sink.
fn process_chunk<S: Sink>(
    sink: &S,
    state: &S::File,
    chunk: &Chunk,
    data: &[u8],
    options: DecoderOptions,
    filter: &Filter,
) -> Result<(S::Part, u64, u64)> {
    let mut decoder = Decoder::resume(
        data,
        rdb_format::Resume {
            version: chunk.file.version,
            start: chunk.start,
            end: chunk.end,
            db: chunk.db,
        },
        options,
    );
    let mut scratch = Scratch::new();
    let mut key_scratch = Scratch::new();
    let mut key = Vec::new();
    let mut kept = 0u64;
    let mut skipped = 0u64;
    // The first decoding error of the walk wins, even over what the sink makes of it.
    let mut failed: Option<rdb_format::Error> = None;
    let mut items = std::iter::from_fn(|| loop {
        let item = match decoder.next_item() {
            Ok(Some(i)) => i,
            Ok(None) => return None,
            Err(error) => {
                failed.get_or_insert_with(|| error.clone());
                return Some(Err(error));
            }
        };
        if let Item::Record(r) = &item {
            key_scratch.reset();
            match filter.keep(r, &key_scratch, &mut key) {
                Ok(true) => kept += 1,
                Ok(false) => {
                    skipped += 1;
                    continue;
                }
                Err(error) => {
                    failed.get_or_insert_with(|| error.clone());
                    return Some(Err(error));
                }
            }
        }
        return Some(Ok(item));
    });
    let result = sink.process(state, chunk, &mut items, &mut scratch);
    if let Some(error) = failed {
        return Err(sink_error::<S::Error>(&chunk.file.path, error.into()));
    }
    match result {
        Ok(part) => Ok((part, kept, skipped)),
        Err(e) => Err(sink_error(&chunk.file.path, e)),
    }
}

/// A sink's error as the run's, naming the file of a decoding error.
fn sink_error<E: std::error::Error + Send + Sync + 'static>(
    path: &std::path::Path,
    e: SinkError<E>,
) -> PipelineError {
    match e {
        SinkError::Decode(error) => PipelineError::Decode {
            path: path.to_path_buf(),
            error,
        },
        SinkError::Sink(error) => PipelineError::sink(error),
    }
}
