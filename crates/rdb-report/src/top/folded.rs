//! `top --folded`: one line per key in the "folded stacks" format of flamegraph.pl and
//! speedscope (`user;1;cart 1234`): the key split at its separator into frames, then the
//! key's memory (or elements, or serialized size). The tools add up lines by prefix.

use std::io::{self, Write};
use std::sync::Mutex;

use rdb_format::{DecoderOptions, Scratch};
use rdb_pipeline::pipeline::{Chunk, FileInfo as PipelineFile, Sink, SinkError};

use super::TopBy;
use crate::memory::{for_each_estimate, for_each_record, FileModels, MemoryModel, ModelOptions};
use crate::{push_u64, ReportSinkError};

/// Appends `key` as folded frames: split at `separator`, frames joined by `;`. Bytes that
/// would break the format (`;`, line breaks, anything not printable ASCII) and `\` are
/// written as `\xNN` / `\\`.
pub fn push_frames(out: &mut Vec<u8>, key: &[u8], separator: &[u8]) {
    let mut i = 0;
    while i < key.len() {
        if !separator.is_empty() && key[i..].starts_with(separator) {
            out.push(b';');
            i += separator.len();
            continue;
        }
        match key[i] {
            b'\\' => out.extend_from_slice(b"\\\\"),
            c @ 0x20..=0x7e if c != b';' => out.push(c),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(c >> 4)],
                    HEX[usize::from(c & 15)],
                ]);
            }
        }
        i += 1;
    }
}

/// Writes the folded lines of every key, in file order, as a [`Sink`].
pub struct FoldedSink<W: Write + Send> {
    models: FileModels,
    separator: Vec<u8>,
    by: TopBy,
    out: Mutex<W>,
    min_memory: u64,
}

impl<W: Write + Send> FoldedSink<W> {
    /// Lines into `out`, keys split at `separator`, weighed by `by`.
    pub fn new(
        out: W,
        separator: &[u8],
        by: TopBy,
        model: ModelOptions,
        decoder: DecoderOptions,
    ) -> Self {
        FoldedSink {
            models: FileModels::new(model, decoder),
            separator: separator.to_vec(),
            by,
            out: Mutex::new(out),
            min_memory: 0,
        }
    }

    /// Only keys whose estimated memory is at least `bytes` get a line.
    pub fn with_min_memory(mut self, bytes: u64) -> Self {
        self.min_memory = bytes;
        self
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.out.into_inner().unwrap_or_else(|p| p.into_inner());
        out.flush()?;
        Ok(out)
    }
}

impl<W: Write + Send> Sink for FoldedSink<W> {
    type File = MemoryModel;
    type Part = Vec<u8>;
    type Error = ReportSinkError;

    fn begin_file(
        &self,
        file: &PipelineFile,
        data: &[u8],
    ) -> Result<MemoryModel, SinkError<ReportSinkError>> {
        self.models.begin_file(file, data)
    }

    fn process<'a>(
        &self,
        model: &MemoryModel,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<rdb_format::Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<u8>, SinkError<ReportSinkError>> {
        let mut buf = Vec::new();
        let mut line = |key: &[u8], weight: u64| {
            push_frames(&mut buf, key, &self.separator);
            buf.push(b' ');
            push_u64(&mut buf, weight);
            buf.push(b'\n');
        };
        if matches!(self.by, TopBy::Size) && self.min_memory == 0 {
            // Only the memory ranking and threshold need the value decoded.
            for_each_record(chunk, items, scratch, |r, key, _| {
                line(key, r.len);
                Ok(())
            })?;
        } else {
            let min = self.min_memory;
            for_each_estimate(chunk, items, scratch, model, min, |r, key, m, _| {
                line(key, self.by.of(m.bytes, m.elements, r.len));
                Ok(())
            })?;
        }
        Ok(buf)
    }

    fn commit(
        &self,
        _model: &MemoryModel,
        _chunk: &Chunk,
        part: Vec<u8>,
    ) -> Result<(), ReportSinkError> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        out.write_all(&part).map_err(ReportSinkError::Write)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let mut b = Vec::new();
        push_frames(&mut b, b"user:1:cart", b":");
        b.push(b'|');
        push_frames(&mut b, b"a;b\n\\c d", b":");
        b.push(b'|');
        push_frames(&mut b, b"x::y", b"::");
        assert_eq!(b, b"user;1;cart|a\\x3bb\\x0a\\\\c d|x;y");
    }
}
