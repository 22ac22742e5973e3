//! The run: dumps cut into chunks on the calling thread, chunks converted on rayon's
//! threads, results committed in order.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc, Mutex};

use rdb_format::{
    crc64, crc64_combine, Checksum, Decoder, DecoderOptions, DumpFile, Eof, Item, Scratch,
};

use super::{
    Chunk, FileInfo, FileSummary, PipelineError, PipelineOptions, Progress, Result, Sink,
    SinkError, SourceHeader,
};
use crate::filter::Filter;

/// A chunk's converted part, records kept and skipped, and its CRC-64 when verified.
type ChunkResult<P> = Result<(P, u64, u64, Option<u64>)>;

/// Chunks at least this big (or four target chunks, if that is more) are processed one at a
/// time.
const BIG_CHUNK: u64 = 16 << 20;

/// Input bytes of the chunks in flight (or four target chunks per thread, if that is more)
/// past which the scan waits for commits before walking further. A count of chunks alone
/// let a huge value's chunk be converted while the scan walked, and so faulted in, the
/// next huge value: two of them resident at once.
const BYTES_IN_FLIGHT: u64 = 64 << 20;

pub(super) fn run_inner<S: Sink>(
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
    /// CRC-64 of the bytes committed so far (header, then each chunk), when the checksum
    /// is verified: workers checksum their chunk while its bytes are at hand, so the dump is
    /// never read a second time (a whole-file pass at the end made every page resident).
    crc: Mutex<Option<u64>>,
    /// The aux fields the scan saw (at the start of the dump), for the summary.
    header: Mutex<SourceHeader>,
}

impl<F> DumpRun<F> {
    /// The running checksum (only the committing thread takes it: never contended).
    fn crc_mut(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.crc.lock().unwrap_or_else(|p| p.into_inner())
    }

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
        result: mpsc::Receiver<ChunkResult<S::Part>>,
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
pub(super) fn run_dumps<S: Sink>(
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
    let max_bytes_in_flight = (options.chunk_bytes * max_in_flight as u64).max(BYTES_IN_FLIGHT);
    let mut summaries = Vec::with_capacity(count);
    let mut commit = |pending: Pending<S>| -> Result<()> {
        match pending {
            Pending::Chunk { run, chunk, result } => {
                let result = wait(&result).ok_or(PipelineError::WorkerStopped)?;
                // Nothing read after a cut reaches the sink.
                run.unchanged()?;
                let (part, kept, skipped, chunk_crc) = result?;
                sink.commit(&run.state, &chunk, part)
                    .map_err(PipelineError::sink)?;
                if let (Some(crc), Some(chunk_crc)) = (run.crc_mut().as_mut(), chunk_crc) {
                    *crc = crc64_combine(*crc, chunk_crc, chunk.end - chunk.start);
                }
                // The scan is past this chunk and no worker reads it again: its pages may go,
                // so resident memory stays near the chunks in flight whatever the dump's size.
                run.dump.release_before(chunk.end as usize);
                progress
                    .bytes_done
                    .fetch_add(chunk.end - chunk.start, Ordering::Relaxed);
                progress.keys_done.fetch_add(kept, Ordering::Relaxed);
                progress.keys_skipped.fetch_add(skipped, Ordering::Relaxed);
            }
            Pending::End {
                run,
                mut eof,
                chunked,
            } => {
                run.unchanged()?;
                if let (Some(crc), Checksum::NotVerified(stored)) = (*run.crc_mut(), eof.checksum) {
                    // The checksum covers everything up to and including the EOF opcode.
                    let at = eof.offset as usize;
                    let data = run.dump.data();
                    let computed = crc64_combine(crc, crc64(&data[at..=at]), 1);
                    if computed != stored {
                        return Err(run.decode_error(rdb_format::Error::new(
                            eof.offset + 1,
                            "checksum",
                            rdb_format::ErrorKind::ChecksumMismatch { stored, computed },
                        )));
                    }
                    eof.checksum = Checksum::Verified(stored);
                }
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
                    header: std::mem::take(
                        &mut run.header.lock().unwrap_or_else(|p| p.into_inner()),
                    ),
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
        // Input bytes of the chunks in `in_flight`.
        let mut bytes_in_flight = 0u64;
        let mut commit_front = |q: &mut VecDeque<Pending<S>>, bytes: &mut u64| -> Result<()> {
            let pending = q.pop_front().expect("non-empty");
            if let Pending::Chunk { chunk, .. } = &pending {
                *bytes -= chunk.end - chunk.start;
            }
            commit(pending)
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
            let verify = options.decoder.verify_checksum && version.has_checksum();
            let run = Arc::new(DumpRun {
                dump,
                info,
                state,
                crc: Mutex::new(None),
                header: Mutex::new(SourceHeader::default()),
            });
            // The scan leaves the checksum to the chunks (see DumpRun::crc).
            let scan_options = DecoderOptions {
                verify_checksum: false,
                ..options.decoder
            };
            let mut scan = Decoder::with_options(run.dump.data(), scan_options)
                .map_err(|e| run.decode_error(e))?;
            if verify {
                let header = &run.dump.data()[..scan.position() as usize];
                *run.crc_mut() = Some(crc64(header));
            }
            let mut chunked = 0u64;
            let mut header_scratch = Scratch::new();
            let mut chunk_index = 0;
            let mut start = scan.position();
            let mut start_db = 0;
            let eof = loop {
                if progress.cancel.load(Ordering::Relaxed) {
                    return Err(PipelineError::Canceled);
                }
                if let Some(e) = run.dump.cut_at(scan.position()) {
                    return Err(run.decode_error(e));
                }
                while bytes_in_flight >= max_bytes_in_flight {
                    commit_front(&mut in_flight, &mut bytes_in_flight)?;
                }
                let item = scan.next_item().map_err(|e| run.decode_error(e))?;
                let at = scan.position();
                let eof = match item {
                    Some(Item::Aux { key, value }) => {
                        header_scratch.reset();
                        let key = key.decode(&header_scratch);
                        let value = value.decode(&header_scratch);
                        if let (Ok(key), Ok(value)) = (key, value) {
                            run.header
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .note(&key.to_vec(), &value.to_vec());
                        }
                        None
                    }
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
                        commit_front(&mut in_flight, &mut bytes_in_flight)?;
                    }
                    let (tx, rx) = mpsc::channel();
                    let worker_chunk = chunk.clone();
                    let worker_run = run.clone();
                    let filter = &options.filter;
                    let decoder_options = options.decoder;
                    scope.spawn(move |_| {
                        let data = worker_run.dump.data();
                        let crc = verify.then(|| {
                            crc64(&data[worker_chunk.start as usize..worker_chunk.end as usize])
                        });
                        let result = process_chunk(
                            sink,
                            &worker_run.state,
                            &worker_chunk,
                            &worker_run.dump,
                            decoder_options,
                            filter,
                        )
                        .map(|(part, kept, skipped)| (part, kept, skipped, crc));
                        // Let go of the dump before the result is seen: its end, committed
                        // after its last chunk, takes the dump's state back.
                        drop(worker_run);
                        let _ = tx.send(result);
                    });
                    bytes_in_flight += chunk.end - chunk.start;
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
        while !in_flight.is_empty() {
            commit_front(&mut in_flight, &mut bytes_in_flight)?;
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
    dump: &DumpFile,
    options: DecoderOptions,
    filter: &Filter,
) -> Result<(S::Part, u64, u64)> {
    let mut decoder = Decoder::resume(
        dump.data(),
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
        if let Some(error) = dump.cut_at(decoder.position()) {
            failed.get_or_insert_with(|| error.clone());
            return Some(Err(error));
        }
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
pub(super) fn sink_error<E: std::error::Error + Send + Sync + 'static>(
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
