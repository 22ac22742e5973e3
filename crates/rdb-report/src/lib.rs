//! Reports about dumps, sinks of the `rdb-pipeline` engine: what is in a dump ([`info`]), what
//! each key costs in a running server ([`memory`]), and which keys, prefixes and expiry ranges
//! hold the memory ([`top`]).
//!
//! Each report is fed one item or record at a time and produces its output at the end, so
//! it can sit behind the sequential walk of [`scan_keys`] or behind a parallel pipeline:
//!
//! - [`info::InfoReport`] looks at record metadata only (type, encoding, serialized size,
//!   expiry): no value is decoded, so it runs at the decoder's scan speed.
//! - [`memory::MemoryModel::estimate`] turns one record into a [`memory::KeyMemory`] (an
//!   estimate of `MEMORY USAGE key SAMPLES 0`); it is pure and can run on any thread.
//!   [`memory::MemoryCsv`] writes those as the CSV memory report.
//! - [`top::TopReport`] keeps the biggest keys, per-prefix totals and a TTL histogram.
//!
//! ```
//! use rdb_format::{Decoder, DecoderOptions};
//! use rdb_pipeline::filter::Filter;
//! use rdb_report::{memory::{MemoryCsv, MemoryModel, ModelOptions}, scan_keys, DumpHeader};
//!
//! let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sample.rdb"))?;
//! let header = DumpHeader::read(&data, DecoderOptions::default())?;
//! let model = MemoryModel::for_dump(&header, &ModelOptions::default());
//! let mut csv = MemoryCsv::new(Vec::new())?;
//! let decoder = Decoder::new(&data)?;
//! scan_keys(decoder, &Filter::default(), |record, key, scratch| {
//!     let m = model.estimate(record, scratch)?;
//!     csv.record(record, key, &m)
//! })?;
//! let csv = String::from_utf8(csv.finish()?)?;
//! assert!(csv.starts_with("database,type,key,size_in_bytes,encoding"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;

use rdb_format::{Decoder, DecoderOptions, Eof, Item, Record, Scratch, Version};

use rdb_export::json::escape::{push_bytes, push_str, Escapes};
use rdb_pipeline::filter::Filter;

pub mod alloc;
pub mod diff;
pub mod html;
pub mod info;
pub mod keys;
pub mod memory;
// Feature `parquet` (default).
#[cfg(feature = "parquet")]
pub mod memory_parquet;
mod rax;
pub mod top;

pub use alloc::Allocator;

/// Errors of the reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The dump could not be decoded.
    #[error(transparent)]
    Decode(#[from] rdb_format::Error),
    /// A value's layout did not hold what its encoding promises.
    #[error("{what} at offset {offset}: {msg}")]
    Invalid {
        /// Absolute byte offset in the dump.
        offset: u64,
        /// The element being read.
        what: &'static str,
        /// What was wrong.
        msg: String,
    },
    /// The output could not be written.
    #[error("writing output: {0}")]
    Io(#[from] io::Error),
}

/// Errors of the reports' pipeline sinks ([`memory::MemorySink`],
/// [`memory_parquet::MemoryParquetSink`], [`top::TopSink`]); the dump's decoding errors are
/// the engine's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReportSinkError {
    /// A key of this dump could not be estimated.
    #[error("{}", path.display())]
    Estimate {
        /// The dump.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: ReportError,
    },
    /// The output could not be written.
    #[error("writing output")]
    Write(#[source] io::Error),
    /// The Parquet report could not be started, written or finished (`what` says which).
    /// Parquet's errors repeat their cause in their message, so the error is a field shown
    /// in this message, not a `source()`.
    #[cfg(feature = "parquet")]
    #[error("{what}: {error}")]
    Parquet {
        /// What was being done.
        what: &'static str,
        /// Why.
        error: parquet::errors::ParquetError,
    },
    /// Rows could not be made into a batch (Arrow's errors repeat their cause in their
    /// message, so the error is a field, not a `source()`).
    #[cfg(feature = "parquet")]
    #[error("building the memory report batch: {error}")]
    Batch {
        /// Why.
        error: arrow_schema::ArrowError,
    },
}

/// What a dump says about itself before its keys: its version and leading aux fields.
#[derive(Clone, Debug)]
pub struct DumpHeader {
    /// The file's RDB version.
    pub version: Version,
    /// The aux fields found before the first non-aux item, in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
}

impl DumpHeader {
    /// Reads the magic and the aux fields at the start of `data` (nothing else is read).
    pub fn read(data: &[u8], options: DecoderOptions) -> Result<DumpHeader, ReportError> {
        let mut decoder = Decoder::with_options(data, options)?;
        let version = decoder.version();
        let scratch = Scratch::new();
        let mut aux = Vec::new();
        while let Some(Item::Aux { key, value }) = decoder.next_item()? {
            aux.push((
                key.decode(&scratch)?.to_vec(),
                value.decode(&scratch)?.to_vec(),
            ));
        }
        Ok(DumpHeader { version, aux })
    }

    /// The last value of aux field `key`, as text.
    pub fn aux_str(&self, key: &str) -> Option<&str> {
        self.aux
            .iter()
            .rev()
            .find(|(k, _)| k == key.as_bytes())
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
    }
}

/// Walks `decoder` to its end, calling `f` with each record the filter keeps, its decoded
/// key and the scratch buffer its value can be decoded into (reset between records).
/// Returns the end-of-file information.
pub fn scan_keys<'a>(
    decoder: Decoder<'a>,
    filter: &Filter,
    mut f: impl FnMut(&Record<'a>, &[u8], &Scratch) -> Result<(), ReportError>,
) -> Result<Eof, ReportError> {
    let mut scratch = Scratch::new();
    let mut key = Vec::new();
    for item in decoder {
        match item? {
            Item::Record(r) => {
                scratch.reset();
                if !filter.keep(&r, &scratch, &mut key)? {
                    continue;
                }
                // Decoded already when the filter looks at keys.
                if !filter.needs_key() {
                    r.key.decode(&scratch)?.write_to(&mut key);
                }
                f(&r, &key, &scratch)?;
            }
            Item::Eof(eof) => return Ok(eof),
            _ => {}
        }
    }
    // The decoder always ends with Eof or an error.
    Err(ReportError::Io(io::Error::other(
        "decoder ended without EOF",
    )))
}

/// Appends `b` as a CSV field: as is, or quoted (quotes doubled) when it holds a comma, a
/// quote or a line break.
pub(crate) fn csv_field(out: &mut Vec<u8>, b: &[u8]) {
    if b.iter().any(|&c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for &c in b {
            if c == b'"' {
                out.push(b'"');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(b);
    }
}

/// Appends the decimal digits of `n`.
pub(crate) fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Unix milliseconds as ISO 8601 UTC: `2025-01-31T12:00:00.000Z`.
pub fn iso_time(ms: i64) -> String {
    let mut b = Vec::with_capacity(24);
    push_iso_time(&mut b, ms);
    String::from_utf8_lossy(&b).into_owned()
}

/// Appends unix milliseconds as ISO 8601 UTC (see [`iso_time`]).
pub(crate) fn push_iso_time(out: &mut Vec<u8>, ms: i64) {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Days to civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if (0..=9999).contains(&year) {
        push_digits(out, year as u64, 4);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(year).as_bytes());
    }
    out.push(b'-');
    push_digits(out, month as u64, 2);
    out.push(b'-');
    push_digits(out, day as u64, 2);
    out.push(b'T');
    push_digits(out, (tod / 3600) as u64, 2);
    out.push(b':');
    push_digits(out, (tod % 3600 / 60) as u64, 2);
    out.push(b':');
    push_digits(out, (tod % 60) as u64, 2);
    out.push(b'.');
    push_digits(out, millis as u64, 3);
    out.push(b'Z');
}

/// Appends `n` zero-padded to `width` digits.
fn push_digits(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    out.resize(out.len() + width.saturating_sub(digits.len()), b'0');
    out.extend_from_slice(digits);
}

/// `1536` → `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// A byte string for a terminal: printable ASCII as is, anything else `\xNN`, cut to `max`
/// characters with `…`.
pub fn printable(b: &[u8], max: usize) -> String {
    let mut s = String::new();
    for &c in b {
        if s.len() >= max {
            s.push('…');
            break;
        }
        match c {
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

/// Appends `b` as a JSON string, or `{"base64":"..."}` when it is not UTF-8 (the convention
/// of the NDJSON output).
pub(crate) fn json_bytes(out: &mut Vec<u8>, b: &[u8]) {
    push_bytes(out, b, Escapes::Unicode);
}

/// Appends `s` as a JSON string.
pub(crate) fn json_str(out: &mut Vec<u8>, s: &str) {
    push_str(out, s, Escapes::Unicode);
}

pub use rdb_pipeline::now_ms;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(iso_time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_time(4_102_444_800_123), "2100-01-01T00:00:00.123Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso_time(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn csv_quoting() {
        let mut b = Vec::new();
        csv_field(&mut b, b"plain");
        b.push(b'|');
        csv_field(&mut b, b"a,\"b\"");
        assert_eq!(b, b"plain|\"a,\"\"b\"\"\"");
    }

    #[test]
    fn json_strings() {
        let mut b = Vec::new();
        json_bytes(&mut b, b"a\"\n\x01");
        b.push(b' ');
        json_bytes(&mut b, b"\xff");
        assert_eq!(
            String::from_utf8(b).unwrap(),
            r#""a\"\n\u0001" {"base64":"/w=="}"#
        );
    }

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(100), "100 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(printable(b"a\xffb", 10), "a\\xffb");
    }
}
