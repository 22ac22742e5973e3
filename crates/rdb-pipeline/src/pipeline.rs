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
/// calling thread, in order, then [`Sink::end_file`]. Methods take `&self` because workers
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
    /// Opens dump `index`; called with 0, 1, 2... in order, each after the previous dump
    /// is done.
    fn open(&mut self, index: usize) -> Result<DumpFile>;
}

/// Runs the dumps of `inputs` through `sink`, opening each when its turn comes.
pub fn run_inputs<S: Sink>(
    inputs: &mut dyn Inputs,
    options: &PipelineOptions,
    sink: &S,
    progress: &Progress,
) -> Result<Vec<FileSummary>> {
    let mut run = || {
        progress
            .bytes_total
            .fetch_add(inputs.total_bytes(), Ordering::Relaxed);
        let mut summaries = Vec::with_capacity(inputs.count());
        for index in 0..inputs.count() {
            let dump = inputs.open(index)?;
            summaries.push(run_file(index, &dump, options, sink, progress)?);
        }
        Ok(summaries)
    };
    let result = run();
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
    let mut dumps = Vec::with_capacity(files.len());
    for path in files {
        let dump = DumpFile::open(path).map_err(|error| PipelineError::Open {
            path: path.clone(),
            error,
        })?;
        progress
            .bytes_total
            .fetch_add(dump.data().len() as u64, Ordering::Relaxed);
        dumps.push(dump);
    }
    let mut summaries = Vec::with_capacity(dumps.len());
    for (index, dump) in dumps.iter().enumerate() {
        summaries.push(run_file(index, dump, options, sink, progress)?);
    }
    Ok(summaries)
}

fn run_file<S: Sink>(
    index: usize,
    dump: &DumpFile,
    options: &PipelineOptions,
    sink: &S,
    progress: &Progress,
) -> Result<FileSummary> {
    let path = dump.path().to_path_buf();
    let data = dump.data();
    // A dump cut while being read decodes as zeros somewhere: say it was cut.
    let changed = || {
        dump.verify().map_err(|error| PipelineError::Open {
            path: path.clone(),
            error,
        })
    };
    let decode_err = |error| match changed() {
        Err(e) => e,
        Ok(()) => PipelineError::Decode {
            path: path.clone(),
            error,
        },
    };
    let mut scan = Decoder::with_options(data, options.decoder).map_err(decode_err)?;
    let file = Arc::new(FileInfo {
        index,
        stem: dump
            .path()
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
        path: path.clone(),
        size: data.len() as u64,
        version: scan.version(),
    });
    let state = sink
        .begin_file(&file, data)
        .map_err(|e| sink_error(&file.path, e))?;

    // Keep every thread busy with one chunk in hand and one queued.
    let max_in_flight = rayon::current_num_threads() * 2;
    // A chunk this big is one huge value: its decoded bytes (and the sink's output) cost
    // about its size in memory, so at most one is in flight and memory stays near
    // "the largest value plus a few chunks" instead of "the largest values, one per thread".
    let big_chunk = (options.chunk_bytes * 4).max(BIG_CHUNK);
    let commit = |chunk: Chunk, rx: mpsc::Receiver<Result<(S::Part, u64, u64)>>| -> Result<u64> {
        let result = wait(&rx).ok_or(PipelineError::WorkerStopped)?;
        // Nothing read after a cut reaches the sink.
        changed()?;
        let (part, kept, skipped) = result?;
        sink.commit(&state, &chunk, part)
            .map_err(PipelineError::sink)?;
        let bytes = chunk.end - chunk.start;
        progress.bytes_done.fetch_add(bytes, Ordering::Relaxed);
        progress.keys_done.fetch_add(kept, Ordering::Relaxed);
        progress.keys_skipped.fetch_add(skipped, Ordering::Relaxed);
        Ok(bytes)
    };
    let mut chunked = 0u64;
    // The scan runs on this thread (not a pool worker), so waiting for a chunk never takes
    // a worker away from the chunks it waits for: with one thread, a pool-side wait would
    // deadlock.
    let eof = rayon::in_place_scope(|scope| -> Result<Eof> {
        let mut in_flight: VecDeque<(Chunk, mpsc::Receiver<_>)> = VecDeque::new();
        let is_big = |c: &Chunk| c.end - c.start >= big_chunk;
        let mut chunk_index = 0;
        let mut start = scan.position();
        let mut start_db = 0;
        let eof = loop {
            if progress.cancel.load(Ordering::Relaxed) {
                return Err(PipelineError::Canceled);
            }
            let item = scan.next_item().map_err(decode_err)?;
            let at = scan.position();
            let eof = match item {
                Some(Item::Eof(e)) => Some(e),
                Some(_) => None,
                None => {
                    let e = rdb_format::Error::new(at, "dump", rdb_format::ErrorKind::Truncated);
                    return Err(decode_err(e));
                }
            };
            // The EOF opcode and checksum belong to no chunk.
            let chunk_end = eof.map_or(at, |e| e.offset);
            if chunk_end > start && (eof.is_some() || chunk_end - start >= options.chunk_bytes) {
                let chunk = Chunk {
                    file: file.clone(),
                    index: chunk_index,
                    start,
                    end: chunk_end,
                    db: start_db,
                };
                chunk_index += 1;
                start = chunk_end;
                start_db = scan.db();
                while in_flight.len() >= max_in_flight
                    || (is_big(&chunk) && in_flight.iter().any(|(c, _)| is_big(c)))
                {
                    let (c, rx) = in_flight.pop_front().expect("non-empty");
                    chunked += commit(c, rx)?;
                }
                let (tx, rx) = mpsc::channel();
                let worker_chunk = chunk.clone();
                let filter = &options.filter;
                let decoder_options = options.decoder;
                let state = &state;
                scope.spawn(move |_| {
                    let _ = tx.send(process_chunk(
                        sink,
                        state,
                        &worker_chunk,
                        data,
                        decoder_options,
                        filter,
                    ));
                });
                in_flight.push_back((chunk, rx));
            }
            if let Some(e) = eof {
                break e;
            }
        };
        while let Some((c, rx)) = in_flight.pop_front() {
            chunked += commit(c, rx)?;
        }
        Ok(eof)
    })?;
    changed()?;
    sink.end_file(state, &eof).map_err(PipelineError::sink)?;
    // Header and EOF bytes belong to no chunk; count them once the file is done.
    progress
        .bytes_done
        .fetch_add(file.size - chunked, Ordering::Relaxed);
    Ok(FileSummary {
        info: (*file).clone(),
        checksum: eof.checksum,
        trailing_bytes: eof.trailing_bytes,
    })
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
