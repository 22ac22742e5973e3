//! Ziplist blobs (`ziplist.c`): quicklist nodes, hashes and zsets for targets before RDB 10.
//!
//! ```text
//! zlbytes:u32le  zltail:u32le  zllen:u16le  { prevlen encoding data }*  0xFF
//! ```

use crate::read::string::Str;
use crate::write::rdb_string::canonical_i64;
use crate::write::{EncodeError, Result};

const HEADER_SIZE: usize = 10;
const ZIP_END: u8 = 0xFF;

/// Builds one ziplist blob, entry by entry, with the integer encodings of RDB 6+
/// (`zipTryEncoding`: 4-bit immediates, 8, 16, 24, 32 and 64 bits).
#[derive(Debug, Clone)]
pub struct ZiplistWriter {
    buf: Vec<u8>,
    count: u64,
    prev_len: usize,
    tail: usize,
}

impl Default for ZiplistWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ZiplistWriter {
    /// An empty ziplist.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.resize(HEADER_SIZE, 0);
        ZiplistWriter {
            buf,
            count: 0,
            prev_len: 0,
            tail: HEADER_SIZE,
        }
    }

    /// Number of entries so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Size of the blob so far, header included, end marker not.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    fn start_entry(&mut self) -> usize {
        let start = self.buf.len();
        if self.prev_len < 254 {
            self.buf.push(self.prev_len as u8);
        } else {
            self.buf.push(0xFE);
            self.buf
                .extend_from_slice(&(self.prev_len as u32).to_le_bytes());
        }
        start
    }

    fn end_entry(&mut self, start: usize) {
        self.tail = start;
        self.prev_len = self.buf.len() - start;
        self.count += 1;
    }

    /// Appends a string entry (integer-encoded when it is canonical decimal text of at most
    /// 32 bytes, as Redis does).
    pub fn push_bytes(&mut self, b: &[u8]) {
        if b.len() <= 32 {
            if let Some(i) = canonical_i64(b) {
                return self.push_int(i);
            }
        }
        let start = self.start_entry();
        let n = b.len();
        if n <= 63 {
            self.buf.push(n as u8);
        } else if n <= 16383 {
            self.buf
                .extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
        } else {
            self.buf.push(0x80);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        }
        self.buf.extend_from_slice(b);
        self.end_entry(start);
    }

    /// Appends a decoded string.
    pub fn push(&mut self, s: Str<'_>) {
        match s {
            Str::Bytes(b) => self.push_bytes(b),
            Str::Int(i) => self.push_int(i),
        }
    }

    /// Appends an integer entry.
    pub fn push_int(&mut self, v: i64) {
        let start = self.start_entry();
        if (0..=12).contains(&v) {
            self.buf.push(0xF1 + v as u8);
        } else if let Ok(b) = i8::try_from(v) {
            self.buf.extend_from_slice(&[0xFE, b as u8]);
        } else if let Ok(s) = i16::try_from(v) {
            self.buf.push(0xC0);
            self.buf.extend_from_slice(&s.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(i) = i32::try_from(v) {
            self.buf.push(0xD0);
            self.buf.extend_from_slice(&i.to_le_bytes());
        } else {
            self.buf.push(0xE0);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.end_entry(start);
    }

    /// The finished blob.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.buf.push(ZIP_END);
        let total = u32::try_from(self.buf.len()).map_err(|_| EncodeError::TooLarge("ziplist"))?;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        self.buf[4..8].copy_from_slice(&(self.tail as u32).to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[8..10].copy_from_slice(&count.to_le_bytes());
        Ok(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::ziplist::Ziplist;

    #[test]
    fn entries_round_trip_through_the_decoder() {
        let ints = [
            0i64,
            12,
            13,
            -1,
            127,
            128,
            i64::from(i16::MIN),
            (1 << 23) - 1,
            -(1 << 23),
            i64::from(i32::MAX),
            i64::from(i32::MAX) + 1,
            i64::MIN,
        ];
        let strings: Vec<Vec<u8>> = [0usize, 5, 63, 64, 300, 16383, 16384, 70000]
            .iter()
            .map(|&n| vec![b'z'; n])
            .collect();
        let mut w = ZiplistWriter::new();
        for &i in &ints {
            w.push_int(i);
        }
        for s in &strings {
            w.push_bytes(s);
        }
        let blob = w.finish().unwrap();
        let got: Vec<Str<'_>> = Ziplist::parse(&blob)
            .unwrap()
            .collect::<crate::Result<_>>()
            .unwrap();
        let mut want: Vec<Str<'_>> = ints.iter().map(|&i| Str::Int(i)).collect();
        want.extend(strings.iter().map(|s| Str::Bytes(s)));
        assert_eq!(got, want);
        // zltail points at the last entry: its prevlen is the 16384-byte entry's size (5-byte form).
        let tail = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
        assert_eq!(blob[tail], 0xFE);
    }
}
