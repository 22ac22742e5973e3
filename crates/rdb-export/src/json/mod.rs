//! NDJSON output: one JSON object per key, in file order.
//!
//! ```text
//! {"db":0,"key":K,"type":T,"encoding":E,"expire_ms":MS,"idle":N,"freq":N,"value":V}
//! ```
//! Byte strings are JSON strings when valid UTF-8, else `{"base64":"..."}`. See the README for
//! each type's value.
//!
//! [`JsonWriter`] writes a dump sequentially, [`JsonSink`] in the parallel pipeline; both
//! build lines with the same code (`values`), and byte strings, numbers and scores are
//! written by [`escape`], which the reports' JSON uses too.

use std::io::{self, Write};

use rdb_format::{Checksum, Decoder, Eof, Item, Scratch, Str};

pub mod escape;
mod sink;
mod values;

pub use escape::base64;
use escape::{base64_object, bytes, escaped, number, string};
pub use sink::{JsonPart, JsonSink, JsonSinkError};

/// Errors of the JSON writer.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The dump could not be decoded.
    #[error(transparent)]
    Decode(#[from] rdb_format::Error),
    /// The output could not be written.
    #[error("writing output: {0}")]
    Io(#[from] io::Error),
}

/// What to write besides the keys.
#[derive(Clone, Debug, Default)]
pub struct JsonOptions {
    /// Also write aux fields, functions and module aux data as their own lines.
    pub with_meta: bool,
}

/// Flush the line buffer to the output past this size, so huge values stream.
const FLUSH_AT: usize = 1 << 16;

/// Huge strings are escaped and written in slices of this many bytes (a multiple of 3, so
/// base64 slices join without padding).
const STRING_SLICE: usize = 3 << 16;

/// Writes a dump's items as NDJSON into `W`.
pub struct JsonWriter<W: Write> {
    out: Out<W>,
    scratch: Scratch,
    options: JsonOptions,
}

/// The output and the line being built.
struct Out<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Flush `buf` into `out` when it reaches this size.
    flush_at: usize,
}

impl<W: Write> JsonWriter<W> {
    /// A writer into `out` (wrap files in a `BufWriter`).
    pub fn new(out: W, options: JsonOptions) -> Self {
        JsonWriter {
            out: Out {
                out,
                buf: Vec::with_capacity(FLUSH_AT * 2),
                flush_at: FLUSH_AT,
            },
            scratch: Scratch::new(),
            options,
        }
    }

    /// Writes every item of `decoder`, returning the end-of-file information.
    pub fn write_dump(&mut self, decoder: Decoder<'_>) -> Result<Eof, JsonError> {
        for item in decoder {
            if let Some(eof) = self.write_item(&item?)? {
                return Ok(eof);
            }
        }
        // The decoder always ends with Eof or an error.
        Err(JsonError::Io(io::Error::other("decoder ended without EOF")))
    }

    /// Writes one item; returns the end-of-file information for `Item::Eof`.
    pub fn write_item(&mut self, item: &Item<'_>) -> Result<Option<Eof>, JsonError> {
        self.scratch.reset();
        let eof = self.out.item(item, &self.scratch, self.options.with_meta)?;
        self.out.flush_buf()?;
        Ok(eof)
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush_buf()?;
        self.out.out.flush()?;
        Ok(self.out.out)
    }
}

impl<W: Write> Out<W> {
    /// Appends one item's line (if it has one).
    fn item(
        &mut self,
        item: &Item<'_>,
        scratch: &Scratch,
        with_meta: bool,
    ) -> Result<Option<Eof>, JsonError> {
        match item {
            Item::Record(r) => self.record(r, scratch)?,
            Item::Eof(e) => return Ok(Some(*e)),
            _ if !with_meta => {}
            Item::Aux { key, value } => {
                self.buf.extend_from_slice(b"{\"aux\":{\"key\":");
                bytes(&mut self.buf, key.decode(scratch)?);
                self.buf.extend_from_slice(b",\"value\":");
                bytes(&mut self.buf, value.decode(scratch)?);
                self.buf.extend_from_slice(b"}}\n");
            }
            Item::Function { code } => {
                self.buf.extend_from_slice(b"{\"function\":");
                bytes(&mut self.buf, code.decode(scratch)?);
                self.buf.extend_from_slice(b"}\n");
            }
            Item::FunctionPreGa {
                name,
                engine,
                description,
                code,
            } => {
                self.buf.extend_from_slice(b"{\"function\":");
                bytes(&mut self.buf, code.decode(scratch)?);
                self.buf.extend_from_slice(b",\"name\":");
                bytes(&mut self.buf, name.decode(scratch)?);
                self.buf.extend_from_slice(b",\"engine\":");
                bytes(&mut self.buf, engine.decode(scratch)?);
                if let Some(d) = description {
                    self.buf.extend_from_slice(b",\"description\":");
                    bytes(&mut self.buf, d.decode(scratch)?);
                }
                self.buf.extend_from_slice(b"}\n");
            }
            Item::ModuleAux { id, when, raw } => {
                self.buf.extend_from_slice(b"{\"module_aux\":{\"module\":");
                string(&mut self.buf, &id.name());
                self.buf.extend_from_slice(b",\"version\":");
                number(&mut self.buf, id.version());
                self.buf.extend_from_slice(b",\"when\":");
                number(&mut self.buf, *when);
                self.buf.extend_from_slice(b",\"raw\":");
                base64_object(&mut self.buf, raw);
                self.buf.extend_from_slice(b"}}\n");
            }
            Item::SelectDb { .. }
            | Item::ResizeDb { .. }
            | Item::SlotInfo { .. }
            | Item::SlotImport { .. } => {}
            // Items added to the format later carry no key: nothing to write.
            _ => {}
        }
        Ok(None)
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// A string value; a huge one is written in slices with flushes between, so it streams.
    fn string_value(&mut self, s: Str<'_>) -> io::Result<()> {
        let raw = match s {
            Str::Bytes(raw) if raw.len() > STRING_SLICE => raw,
            _ => {
                bytes(&mut self.buf, s);
                return Ok(());
            }
        };
        if crate::utf8::is_utf8(raw) {
            // Escaping touches ASCII bytes only, so slices may split a multi-byte character.
            self.buf.push(b'"');
            for slice in raw.chunks(STRING_SLICE) {
                escaped(&mut self.buf, slice);
                self.maybe_flush()?;
            }
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(b"{\"base64\":\"");
            for slice in raw.chunks(STRING_SLICE) {
                base64(&mut self.buf, slice);
                self.maybe_flush()?;
            }
            self.buf.extend_from_slice(b"\"}");
        }
        Ok(())
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= self.flush_at {
            self.flush_buf()?;
        }
        Ok(())
    }
}

/// Checks a dump's checksum state and describes it for warnings.
pub fn checksum_warning(eof: &Eof) -> Option<&'static str> {
    match eof.checksum {
        Checksum::NotComputed => Some("checksum not computed (the server ran with rdbchecksum no)"),
        Checksum::NotVerified(_) => Some("checksum not verified"),
        Checksum::Verified(_) | Checksum::Absent => None,
        _ => Some("checksum state unknown"),
    }
}
