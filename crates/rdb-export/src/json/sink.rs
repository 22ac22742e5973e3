//! The NDJSON sink of the parallel pipeline.

use std::io::{self, Write};
use std::sync::Mutex;

use rdb_format::{Item, Scratch};
use rdb_pipeline::pipeline::{Chunk, FileInfo, Sink, SinkError};
use rdb_pipeline::spill::{SpillFile, SPILL_AT};

use super::{JsonError, JsonOptions, Out};

/// Errors of [`JsonSink`] (the dump's decoding errors are the engine's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonSinkError {
    /// A chunk's lines could not be kept (its temporary file).
    #[error(transparent)]
    Buffer(io::Error),
    /// A chunk's last lines could not be moved to its temporary file.
    #[error("spilling output")]
    Spill(#[source] io::Error),
    /// The output could not be written.
    #[error("writing output")]
    Write(#[source] io::Error),
}

/// The NDJSON sink of the parallel pipeline: chunks become lines on worker threads and are
/// written to `W` in file order.
pub struct JsonSink<W: Write + Send> {
    out: Mutex<W>,
    options: JsonOptions,
    spill_at: usize,
}

impl<W: Write + Send> JsonSink<W> {
    /// A sink writing into `out`.
    pub fn new(out: W, options: JsonOptions) -> Self {
        JsonSink {
            out: Mutex::new(out),
            options,
            spill_at: SPILL_AT,
        }
    }

    /// Moves a chunk's output from memory to a temporary file (in `TMPDIR`) once it reaches
    /// `bytes` (default 16 MiB), so a huge value's JSON is not held in memory.
    pub fn with_spill_threshold(mut self, bytes: usize) -> Self {
        self.spill_at = bytes.max(1);
        self
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.out.into_inner().unwrap_or_else(|p| p.into_inner());
        out.flush()?;
        Ok(out)
    }
}

/// A chunk's lines: in memory, or in an unlinked temporary file when they grew past
/// the spill threshold (see [`JsonSink::with_spill_threshold`]).
pub struct JsonPart {
    buf: Vec<u8>,
    spill: SpillFile,
}

impl<W: Write + Send> Sink for JsonSink<W> {
    type File = ();
    type Part = JsonPart;
    type Error = JsonSinkError;

    fn begin_file(&self, _file: &FileInfo, _data: &[u8]) -> Result<(), SinkError<JsonSinkError>> {
        Ok(())
    }

    fn process<'a>(
        &self,
        _file: &(),
        _chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<JsonPart, SinkError<JsonSinkError>> {
        let mut out = Out {
            out: SpillFile::default(),
            buf: Vec::new(),
            flush_at: self.spill_at,
        };
        for item in items {
            out.item(&item?, scratch, self.options.with_meta)
                .map_err(|e| match e {
                    JsonError::Decode(error) => SinkError::Decode(error),
                    JsonError::Io(e) => SinkError::Sink(JsonSinkError::Buffer(e)),
                })?;
            scratch.reset();
        }
        if out.out.is_used() {
            out.flush_buf()
                .map_err(|e| SinkError::Sink(JsonSinkError::Spill(e)))?;
        }
        Ok(JsonPart {
            buf: out.buf,
            spill: out.out,
        })
    }

    fn commit(&self, _file: &(), _chunk: &Chunk, part: JsonPart) -> Result<(), JsonSinkError> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let write_err = JsonSinkError::Write;
        part.spill.copy_to(&mut *out).map_err(write_err)?;
        out.write_all(&part.buf).map_err(write_err)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::super::{base64, JsonWriter};
    use super::*;
    use rdb_format::Str;

    /// A dump with huge strings (UTF-8 with escapes and multi-byte characters across slice
    /// boundaries, and binary) and collections.
    fn big_values_dump() -> Vec<u8> {
        use rdb_format::write::{encode_value, RdbWriter};
        use rdb_format::{Flavor, Value, Version};
        let target = Version {
            flavor: Flavor::Redis,
            number: 10,
        };
        let mut w = RdbWriter::new(Vec::new(), target).unwrap();
        w.select_db(0).unwrap();
        let text: String = (0..40_000).map(|i| format!("é\"{i}\n€\u{1}")).collect();
        let binary: Vec<u8> = (0..700_001u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let small = b"small".to_vec();
        for (key, bytes) in [
            (&b"text"[..], text.as_bytes()),
            (b"bin", &binary),
            (b"s", &small),
        ] {
            let mut v = Vec::new();
            let t = encode_value(&Value::String(Str::Bytes(bytes)), target, &mut v).unwrap();
            w.record(key, None, t, &v).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn huge_values_stream_and_spill_to_the_same_bytes() {
        let data = big_values_dump();
        let dir = std::env::temp_dir().join(format!("rdb-json-spill-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.rdb");
        fs::write(&path, &data).unwrap();

        let mut sequential = JsonWriter::new(Vec::new(), JsonOptions::default());
        for item in rdb_format::Decoder::new(&data).unwrap() {
            sequential.write_item(&item.unwrap()).unwrap();
        }
        let sequential = sequential.finish().unwrap();

        let options = rdb_pipeline::pipeline::PipelineOptions {
            chunk_bytes: 1,
            ..Default::default()
        };
        let progress = rdb_pipeline::pipeline::Progress::default();
        for spill_at in [SPILL_AT, 4096, 1] {
            let sink =
                JsonSink::new(Vec::new(), JsonOptions::default()).with_spill_threshold(spill_at);
            rdb_pipeline::pipeline::run(std::slice::from_ref(&path), &options, &sink, &progress)
                .unwrap();
            let out = sink.finish().unwrap();
            assert!(out == sequential, "spill at {spill_at}: output differs");
        }
        let lines: Vec<serde_json::Value> = sequential
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        let text: String = (0..40_000).map(|i| format!("é\"{i}\n€\u{1}")).collect();
        assert_eq!(lines[0]["value"].as_str().unwrap(), text);
        let mut want = Vec::new();
        let binary: Vec<u8> = (0..700_001u32).map(|i| (i * 7 + i / 251) as u8).collect();
        base64(&mut want, &binary);
        assert_eq!(
            lines[1]["value"]["base64"].as_str().unwrap().as_bytes(),
            want
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
