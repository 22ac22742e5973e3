//! The outputs' sinks over arbitrary bytes (`out_resp`, `out_keys`, `out_diff`, `out_html`).
//!
//! Each target runs its sink twice over the same bytes: once on this thread, the whole dump as
//! one chunk ([`drive`], where the allocation cap applies), and once through the parallel
//! pipeline cut into tiny chunks ([`pipeline()`], on rayon's threads, uncapped). Properties:
//!
//! * no panic, no allocation over the cap, and every error displays;
//! * a decoding error's offset lies inside the input;
//! * a dump whose structure does not decode ([`structure`]) is never a success: an output is
//!   only whole when its dump is;
//! * the two runs agree on success, and on success write the same bytes;
//! * each target checks its output's shape on success (see the targets).

pub mod diff;
pub mod html;
pub mod keys;
pub mod resp;

use std::path::PathBuf;
use std::sync::Arc;

use rdb_format::{Decoder, DecoderOptions, DumpFile, Item, Scratch};
use rdb_pipeline::pipeline::{
    self, Chunk, FileInfo, Inputs, PipelineError, PipelineOptions, Progress, Sink, SinkError,
};

/// The allocation cap of the output targets: the decoder's, times 16. An output may be
/// bigger than its input many times over (an LZF string of 88× escaped as six-byte JSON
/// `\u00XX`, one RESP command per listpack element), and a `Vec` grows by doubling; a length
/// taken unchecked from the input still asks for gigabytes and is caught.
pub fn output_cap(len: usize) -> usize {
    crate::fuzz::alloc_cap::limit_for(len).saturating_mul(16)
}

/// Walks every item of `data` without decoding values: `Ok(records)` when the dump's
/// structure decodes to its EOF (checksum verified), else the decoder's first error.
pub fn structure(data: &[u8]) -> Result<u64, rdb_format::Error> {
    let mut decoder = Decoder::with_options(data, DecoderOptions::default())?;
    let mut records = 0u64;
    loop {
        match decoder.next_item()? {
            Some(Item::Record(_)) => records += 1,
            Some(Item::Eof(_)) | None => return Ok(records),
            Some(_) => {}
        }
    }
}

/// Checks the properties every error must have, and returns its text.
fn check_error(data: &[u8], e: &PipelineError) -> String {
    if let PipelineError::Decode { error, .. } = e {
        assert!(
            error.offset <= data.len() as u64,
            "error offset {} past the input's {} bytes: {error}",
            error.offset,
            data.len()
        );
    }
    let text = e.to_string();
    assert!(!text.is_empty(), "an error without text: {e:?}");
    text
}

/// Runs `sink` over `data` on this thread, the whole dump as one chunk, as the pipeline
/// calls it: `begin_file`, `process`, `commit`, then `end_file`. The checksum is the
/// decoder's own verification.
pub fn drive<S: Sink>(data: &[u8], sink: &S) -> Result<(), String> {
    let result = drive_inner(data, sink);
    if result.is_err() {
        sink.abort();
    }
    result.map_err(|e| check_error(data, &e))
}

fn drive_inner<S: Sink>(data: &[u8], sink: &S) -> Result<(), PipelineError> {
    let path = PathBuf::from("fuzz.rdb");
    let decode = |error| PipelineError::Decode {
        path: path.clone(),
        error,
    };
    let sink_error = |e: SinkError<S::Error>| match e {
        SinkError::Decode(error) => decode(error),
        SinkError::Sink(e) => PipelineError::sink(e),
        _ => PipelineError::WorkerStopped,
    };
    let mut decoder = Decoder::with_options(data, DecoderOptions::default()).map_err(decode)?;
    let info = Arc::new(FileInfo {
        index: 0,
        path: path.clone(),
        stem: "fuzz".into(),
        size: data.len() as u64,
        version: decoder.version(),
    });
    let state = sink.begin_file(&info, data).map_err(sink_error)?;
    let chunk = Chunk {
        file: info,
        index: 0,
        start: 0,
        end: data.len() as u64,
        db: 0,
    };
    // The items up to (not including) the EOF, as a chunk's; the first error ends them.
    let mut eof = None;
    let mut failed = None;
    let mut items = std::iter::from_fn(|| {
        if eof.is_some() || failed.is_some() {
            return None;
        }
        match decoder.next_item() {
            Ok(Some(Item::Eof(e))) => {
                eof = Some(e);
                None
            }
            Ok(Some(item)) => Some(Ok(item)),
            Ok(None) => None,
            Err(e) => {
                failed = Some(e.clone());
                Some(Err(e))
            }
        }
    });
    let mut scratch = Scratch::new();
    let part = sink.process(&state, &chunk, &mut items, &mut scratch);
    // As in the pipeline, the walk's first decoding error wins over what the sink made of it.
    if let Some(error) = failed {
        return Err(decode(error));
    }
    let part = part.map_err(sink_error)?;
    sink.commit(&state, &chunk, part)
        .map_err(PipelineError::sink)?;
    let eof = match eof {
        Some(eof) => eof,
        // The sink stopped reading early without an error: walk on to the end.
        None => loop {
            match decoder.next_item().map_err(decode)? {
                Some(Item::Eof(e)) => break e,
                Some(_) => {}
                None => return Err(PipelineError::WorkerStopped),
            }
        },
    };
    sink.end_file(state, &eof).map_err(PipelineError::sink)?;
    Ok(())
}

/// One dump held in memory, for [`pipeline::run_inputs`].
struct Memory(Option<Vec<u8>>);

impl Inputs for Memory {
    fn count(&self) -> usize {
        1
    }

    fn total_bytes(&self) -> u64 {
        self.0.as_ref().map_or(0, |d| d.len() as u64)
    }

    fn open(&mut self, _index: usize) -> pipeline::Result<DumpFile> {
        let data = self.0.take().ok_or(PipelineError::WorkerStopped)?;
        Ok(DumpFile::from_vec(data, PathBuf::from("fuzz.rdb")))
    }
}

/// Runs `sink` over `data` through the parallel pipeline, cut into chunks of about
/// `chunk_bytes` (as `rdb-convert` does, minus the files).
pub fn pipeline<S: Sink>(data: &[u8], sink: &S, chunk_bytes: u64) -> Result<(), String> {
    let options = PipelineOptions {
        chunk_bytes,
        ..PipelineOptions::default()
    };
    pipeline::run_inputs(
        &mut Memory(Some(data.to_vec())),
        &options,
        sink,
        &Progress::default(),
    )
    .map(|_| ())
    .map_err(|e| check_error(data, &e))
}

/// The properties shared by every target, given the outcome of [`drive`] and of
/// [`pipeline()`] on `data` and the outputs the two wrote.
pub fn check_runs(
    data: &[u8],
    direct: &Result<(), String>,
    parallel: &Result<(), String>,
    direct_out: &[u8],
    parallel_out: &[u8],
) {
    if let Err(e) = structure(data) {
        assert!(
            direct.is_err() && parallel.is_err(),
            "the dump's structure does not decode ({e}), yet an output was complete: \
             direct {direct:?}, pipeline {parallel:?}"
        );
    }
    assert_eq!(
        direct.is_ok(),
        parallel.is_ok(),
        "one chunk and the pipeline disagree: direct {direct:?}, pipeline {parallel:?}"
    );
    if direct.is_ok() && direct_out != parallel_out {
        let at = direct_out
            .iter()
            .zip(parallel_out)
            .position(|(a, b)| a != b)
            .unwrap_or(direct_out.len().min(parallel_out.len()));
        let show = |b: &[u8]| {
            String::from_utf8_lossy(&b[at.saturating_sub(40)..(at + 40).min(b.len())]).into_owned()
        };
        panic!(
            "one chunk and the pipeline wrote different outputs ({} and {} bytes), from byte {at}: {:?} / {:?}",
            direct_out.len(),
            parallel_out.len(),
            show(direct_out),
            show(parallel_out)
        );
    }
}

/// Runs `direct` on the whole dump as one chunk on this thread and `parallel` through the
/// pipeline in small chunks ([`chunk_bytes`]); the two results, for [`check_runs`].
pub fn both_ways<S: Sink>(
    data: &[u8],
    direct: &S,
    parallel: &S,
) -> (Result<(), String>, Result<(), String>) {
    (
        drive(data, direct),
        pipeline(data, parallel, chunk_bytes(data)),
    )
}

/// The chunk size of the pipeline run: small, so that even a fuzz input is cut in several
/// chunks, and varying with the input.
pub fn chunk_bytes(data: &[u8]) -> u64 {
    16 + (data.len() as u64 % 64)
}
