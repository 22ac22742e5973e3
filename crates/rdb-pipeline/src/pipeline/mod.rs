//! Sources → filter → sink, in parallel.
//!
//! Each dump is cut into chunks at record boundaries by a fast sequential pass that skips
//! values without decoding them. Chunks are decoded and converted on rayon's threads, and
//! each chunk's result ([`Sink::Part`]) is committed in file order on the calling thread, so
//! the output is the same whatever the number of threads. At most a few chunks per thread
//! are in flight, so memory stays bounded whatever the dump's size.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use rdb_format::{Checksum, DecoderOptions, DumpFile, Eof, Item, Record, Scratch, Version};

use crate::filter::Filter;

mod cut;
mod run;
pub use cut::{cut, ChunkRange};
use run::{run_dumps, run_inner};

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
    /// What the server that wrote the dump said of it in its aux fields.
    pub header: SourceHeader,
}

/// The aux fields that say where a dump comes from (the others, such as `lua` scripts of
/// old dumps, may hold user data and are not kept).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceHeader {
    /// `redis-ver`: the server version (Valkey also writes it, as a Redis-compatible one).
    pub redis_ver: Option<String>,
    /// `valkey-ver`, on Valkey 8 and later.
    pub valkey_ver: Option<String>,
    /// `ctime`: when the dump was written, unix seconds.
    pub ctime: Option<i64>,
}

impl SourceHeader {
    /// Notes one aux field (the last of repeated ones wins, as a server loading it does).
    pub fn note(&mut self, key: &[u8], value: &[u8]) {
        let text = || String::from_utf8_lossy(value).into_owned();
        match key {
            b"redis-ver" => self.redis_ver = Some(text()),
            b"valkey-ver" => self.valkey_ver = Some(text()),
            b"ctime" => self.ctime = std::str::from_utf8(value).ok().and_then(|s| s.parse().ok()),
            _ => {}
        }
    }
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
