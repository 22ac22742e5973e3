//! Listpack blobs (`listpack.c`): hash, zset and set listpacks, quicklist-2 nodes and stream
//! nodes.
//!
//! ```text
//! total_bytes:u32le  num_elements:u16le  { encoding+data  backlen }*  0xFF
//! ```

use crate::read::string::Str;
use crate::write::rdb_string::canonical_i64;
use crate::write::{EncodeError, Result};

const HEADER_SIZE: usize = 6;
const LP_EOF: u8 = 0xFF;

/// Builds one listpack blob, entry by entry, encoding integers the way `lpAppend` does
/// (the smallest integer encoding for canonical decimal text).
#[derive(Debug, Clone)]
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: u64,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackWriter {
    /// An empty listpack.
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(64);
        buf.resize(HEADER_SIZE, 0);
        ListpackWriter { buf, count: 0 }
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

    /// Appends a string entry (integer-encoded when it is canonical decimal text).
    pub fn push_bytes(&mut self, b: &[u8]) {
        if let Some(i) = canonical_i64(b) {
            return self.push_int(i);
        }
        let start = self.buf.len();
        let n = b.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf
                .extend_from_slice(&[0xE0 | (n >> 8) as u8, n as u8]);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(b);
        self.backlen(start);
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
        let start = self.buf.len();
        if (0..=127).contains(&v) {
            self.buf.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u16) & 0x1FFF;
            self.buf
                .extend_from_slice(&[0xC0 | (u >> 8) as u8, u as u8]);
        } else if let Ok(s) = i16::try_from(v) {
            self.buf.push(0xF1);
            self.buf.extend_from_slice(&s.to_le_bytes());
        } else if (-(1 << 23)..(1 << 23)).contains(&v) {
            self.buf.push(0xF2);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(i) = i32::try_from(v) {
            self.buf.push(0xF3);
            self.buf.extend_from_slice(&i.to_le_bytes());
        } else {
            self.buf.push(0xF4);
            self.buf.extend_from_slice(&v.to_le_bytes());
        }
        self.backlen(start);
    }

    /// `lpEncodeBacklen`: the entry's size, 7 bits per byte, most significant byte first,
    /// bit 7 set on all but the first.
    fn backlen(&mut self, start: usize) {
        let l = (self.buf.len() - start) as u64;
        let groups = match l {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        };
        for g in (0..groups).rev() {
            let b = ((l >> (7 * g)) & 0x7F) as u8;
            self.buf.push(if g == groups - 1 { b } else { b | 0x80 });
        }
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        self.buf.push(LP_EOF);
        let total = u32::try_from(self.buf.len()).map_err(|_| EncodeError::TooLarge("listpack"))?;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count).unwrap_or(u16::MAX);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        Ok(self.buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::listpack::Listpack;

    #[test]
    fn entries_round_trip_through_the_decoder() {
        let ints = [
            0i64,
            127,
            128,
            -1,
            -4096,
            4095,
            4096,
            -4097,
            i64::from(i16::MIN),
            i64::from(i16::MAX) + 1,
            (1 << 23) - 1,
            -(1 << 23),
            1 << 23,
            i64::from(i32::MIN),
            i64::from(i32::MAX) + 1,
            i64::MIN,
            i64::MAX,
        ];
        let strings: Vec<Vec<u8>> = [0usize, 1, 63, 64, 200, 4095, 4096, 20000, 300000]
            .iter()
            .map(|&n| vec![b'x'; n])
            .collect();
        let mut w = ListpackWriter::new();
        for &i in &ints {
            w.push_int(i);
        }
        for s in &strings {
            w.push_bytes(s);
        }
        w.push_bytes(b"-17");
        let blob = w.finish().unwrap();
        let got: Vec<Str<'_>> = Listpack::parse(&blob)
            .unwrap()
            .collect::<crate::Result<_>>()
            .unwrap();
        let mut want: Vec<Str<'_>> = ints.iter().map(|&i| Str::Int(i)).collect();
        want.extend(strings.iter().map(|s| Str::Bytes(s)));
        want.push(Str::Int(-17));
        assert_eq!(got, want);
    }

    #[test]
    fn backlen_bytes_match_redis() {
        // A 200-byte string: encoding 2 bytes + 200 = 202 = 0b1_1001010 -> [0x01, 0xCA].
        let mut w = ListpackWriter::new();
        w.push_bytes(&[b'a'; 200]);
        let blob = w.finish().unwrap();
        assert_eq!(&blob[blob.len() - 3..], &[0x01, 0xCA, 0xFF]);
    }
}
