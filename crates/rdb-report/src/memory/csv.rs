//! The CSV memory report: one row per key, like redis-rdb-tools.

use super::*;

/// The header line of the memory report.
pub const CSV_HEADER: &[u8] =
    b"database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n";

/// Appends one key's CSV row.
pub(super) fn push_row(
    b: &mut Vec<u8>,
    r: &Record<'_>,
    key: &[u8],
    m: &KeyMemory,
    escape: KeyEscape,
) {
    push_u64(b, r.db);
    b.push(b',');
    b.extend_from_slice(r.data_type().as_str().as_bytes());
    b.push(b',');
    if escape == KeyEscape::Raw {
        csv_field(b, key);
    } else {
        let mut escaped = Vec::with_capacity(key.len());
        push_escaped_key(&mut escaped, key, escape);
        csv_field(b, &escaped);
    }
    b.push(b',');
    push_u64(b, m.bytes);
    b.push(b',');
    b.extend_from_slice(m.encoding.as_bytes());
    b.push(b',');
    push_u64(b, m.elements);
    b.push(b',');
    push_u64(b, m.largest_element);
    b.push(b',');
    if let Some(ms) = r.expire_ms {
        push_iso_time(b, ms);
    }
    b.push(b'\n');
}

/// The memory report: one CSV row per key, with the columns of redis-rdb-tools' memory
/// report: `database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry`.
///
/// `expiry` is an ISO 8601 UTC time with milliseconds (`2025-01-31T12:00:00.000Z`), empty
/// when the key has none. Keys are written as their bytes, quoted when they contain a comma,
/// a quote or a line break.
pub struct MemoryCsv<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> MemoryCsv<W> {
    /// A report into `out`; writes the header line.
    pub fn new(out: W) -> Result<Self, ReportError> {
        let mut w = MemoryCsv {
            out,
            buf: Vec::with_capacity(1 << 16),
        };
        w.buf.extend_from_slice(CSV_HEADER);
        Ok(w)
    }

    /// Writes the row of one key.
    pub fn record(&mut self, r: &Record<'_>, key: &[u8], m: &KeyMemory) -> Result<(), ReportError> {
        push_row(&mut self.buf, r, key, m, KeyEscape::Raw);
        if self.buf.len() >= 1 << 16 {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> Result<W, ReportError> {
        self.out.write_all(&self.buf)?;
        self.out.flush()?;
        Ok(self.out)
    }
}
