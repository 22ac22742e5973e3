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
    /// The sink failed.
    #[error("{0}")]
    Sink(String),
    /// The run was canceled.
    #[error("canceled")]
    Canceled,
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

/// Where a sink's output goes: the pipeline calls [`Sink::process`] on worker threads for
/// each chunk and [`Sink::commit`] on the calling thread, in order. Methods take `&self`
/// because workers run while earlier chunks commit: keep commit state behind a `Mutex`
/// (only the calling thread takes it, so it is never contended).
pub trait Sink: Sync {
    /// What processing one chunk produces.
    type Part: Send;

    /// Called before a file's first chunk, with the whole dump's bytes (to read its header).
    fn begin_file(&self, _file: &FileInfo, _data: &[u8]) -> Result<()> {
        Ok(())
    }

    /// Converts a chunk's items, which the filter has already passed (records that fail the
    /// filter are not given). Runs in parallel with other chunks.
    fn process<'a>(
        &self,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Self::Part>;

    /// Takes a chunk's result, in file order.
    fn commit(&self, chunk: &Chunk, part: Self::Part) -> Result<()>;

    /// Called after a file's last chunk with its end (checksum state, trailing bytes).
    fn end_file(&self, _file: &FileInfo, _eof: &Eof) -> Result<()> {
        Ok(())
    }

    /// Drops what a failed or canceled run left half done (temporary files).
    fn abort(&self) {}
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
    sink.begin_file(&file, data)?;

    // Keep every thread busy with one chunk in hand and one queued.
    let max_in_flight = rayon::current_num_threads() * 2;
    // A chunk this big is one huge value: its decoded bytes (and the sink's output) cost
    // about its size in memory, so at most one is in flight and memory stays near
    // "the largest value plus a few chunks" instead of "the largest values, one per thread".
    let big_chunk = (options.chunk_bytes * 4).max(BIG_CHUNK);
    let commit = |chunk: Chunk, rx: mpsc::Receiver<Result<(S::Part, u64, u64)>>| -> Result<u64> {
        let result = wait(&rx).ok_or_else(|| PipelineError::Sink("a worker stopped".into()))?;
        // Nothing read after a cut reaches the sink.
        changed()?;
        let (part, kept, skipped) = result?;
        sink.commit(&chunk, part)?;
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
                scope.spawn(move |_| {
                    let _ = tx.send(process_chunk(
                        sink,
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
    sink.end_file(&file, &eof)?;
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
    let key_scratch = Scratch::new();
    let mut kept = 0u64;
    let mut skipped = 0u64;
    let path = &chunk.file.path;
    let mut items = std::iter::from_fn(|| loop {
        let item = match decoder.next_item() {
            Ok(Some(i)) => i,
            Ok(None) => return None,
            Err(error) => {
                return Some(Err(PipelineError::Decode {
                    path: path.clone(),
                    error,
                }))
            }
        };
        if let Item::Record(r) = &item {
            match keep(filter, r, &key_scratch) {
                Ok(true) => kept += 1,
                Ok(false) => {
                    skipped += 1;
                    continue;
                }
                Err(error) => {
                    return Some(Err(PipelineError::Decode {
                        path: path.clone(),
                        error,
                    }))
                }
            }
        }
        return Some(Ok(item));
    });
    let part = sink.process(chunk, &mut items, &mut scratch)?;
    Ok((part, kept, skipped))
}

fn keep(filter: &Filter, r: &Record<'_>, scratch: &Scratch) -> rdb_format::Result<bool> {
    if !filter.matches_metadata(r) {
        return Ok(false);
    }
    if !filter.needs_key() {
        return Ok(true);
    }
    let mut key = Vec::new();
    r.key.decode(scratch)?.write_to(&mut key);
    Ok(filter.matches_key(&key))
}
