//! Listpack (`listpack.c`): the compact encoding of Redis 7+ hashes, sets, zsets, list nodes
//! and stream nodes.
//!
//! ```text
//! total_bytes:u32le  num_elements:u16le  entry*  0xFF
//! entry = encoding+data  backlen(1–5 bytes)
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::read::string::Str;
use crate::read::{fail, invalid, Origin, PResult};

const HEADER_SIZE: usize = 6;
const LP_EOF: u8 = 0xFF;
const UNKNOWN_COUNT: u16 = u16::MAX;

/// A lazy iterator over the entries of a listpack blob.
#[derive(Clone, Debug)]
pub struct Listpack<'b> {
    rest: &'b [u8],
    origin: Origin<'b>,
    declared: u16,
    seen: u64,
    done: bool,
}

impl<'b> Listpack<'b> {
    /// Iterates a standalone blob (offsets in errors are relative to its start).
    pub fn parse(blob: &'b [u8]) -> Result<Self> {
        Self::new(blob, Origin::new(blob, 0))
    }

    /// Checks the header of `blob` and returns an iterator over its entries.
    pub(crate) fn new(blob: &'b [u8], origin: Origin<'b>) -> Result<Self> {
        let (rest, declared) = listpack_header(blob).map_err(|e| origin.nom_error(e))?;
        Ok(Listpack {
            rest,
            origin,
            declared,
            seen: 0,
            done: false,
        })
    }

    /// Whether the next byte is the end marker.
    pub(crate) fn at_end(&self) -> bool {
        self.done || self.rest.first() == Some(&LP_EOF)
    }

    /// The element count in the header, when it is not the "unknown" marker.
    pub fn declared_len(&self) -> Option<u64> {
        (self.declared != UNKNOWN_COUNT).then_some(u64::from(self.declared))
    }

    fn step(&mut self) -> Result<Option<Str<'b>>> {
        match self.rest.first() {
            None => Err(self.origin.error(crate::read::Fail {
                at: self.rest,
                context: "listpack",
                kind: ErrorKind::Invalid("missing end marker".into()),
            })),
            Some(&LP_EOF) => {
                if self.rest.len() != 1 {
                    return Err(self.error("listpack", "bytes after the end marker"));
                }
                if self.declared != UNKNOWN_COUNT && u64::from(self.declared) != self.seen {
                    let msg = format!("header says {} entries, found {}", self.declared, self.seen);
                    return Err(self.error("listpack", msg));
                }
                Ok(None)
            }
            Some(_) => {
                let (rest, s) = listpack_entry(self.rest).map_err(|e| self.origin.nom_error(e))?;
                self.rest = rest;
                self.seen += 1;
                Ok(Some(s))
            }
        }
    }

    fn error(
        &self,
        context: &'static str,
        msg: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Error {
        self.origin.error(crate::read::Fail {
            at: self.rest,
            context,
            kind: ErrorKind::Invalid(msg.into()),
        })
    }

    /// The next entry, or an error naming an entry count problem.
    pub(crate) fn next_required(&mut self, what: &'static str) -> Result<Str<'b>> {
        match self.next() {
            Some(r) => r,
            None => Err(self.error(what, "listpack ended early")),
        }
    }

    /// The next entry as an integer.
    pub(crate) fn next_int(&mut self, what: &'static str) -> Result<i64> {
        let at = self.rest;
        match self.next_required(what)? {
            Str::Int(i) => Ok(i),
            Str::Bytes(b) => match Str::Bytes(b).as_i64() {
                Some(i) => Ok(i),
                None => Err(self.origin.error(crate::read::Fail {
                    at,
                    context: what,
                    kind: ErrorKind::Invalid("expected an integer entry".into()),
                })),
            },
        }
    }

    /// Skips `n` entries.
    pub(crate) fn skip_entries(&mut self, n: u64, what: &'static str) -> Result<()> {
        for _ in 0..n {
            self.next_required(what)?;
        }
        Ok(())
    }
}

impl<'b> Iterator for Listpack<'b> {
    type Item = Result<Str<'b>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.step();
        crate::read::fused(&mut self.done, step)
    }
}

/// `total_bytes` (must equal the blob's length) and `num_elements`.
pub(crate) fn listpack_header(blob: &[u8]) -> PResult<'_, u16> {
    match listpack_count(blob, blob.len() as u64) {
        Ok(count) => Ok((&blob[HEADER_SIZE..], count)),
        Err(msg) => invalid(blob, "listpack header", msg),
    }
}

/// The header's entry count (65535: unknown), from the blob's first bytes (`head`, at least
/// the header or the whole blob) and its length, which `total_bytes` must equal.
pub(crate) fn listpack_count(head: &[u8], blob_len: u64) -> std::result::Result<u16, String> {
    let Some(header) = head.first_chunk::<HEADER_SIZE>() else {
        return Err(format!("blob of {blob_len} bytes is too short"));
    };
    let total = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    if u64::from(total) != blob_len {
        return Err(format!("total_bytes {total} but blob is {blob_len} bytes"));
    }
    Ok(u16::from_le_bytes([header[4], header[5]]))
}

/// Bytes [`listpack_count`] needs.
pub(crate) const LISTPACK_HEADER_SIZE: usize = HEADER_SIZE;

/// Size of the backlen that follows an entry of `len` bytes (encoding + data).
#[inline]
fn backlen_size(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// One listpack entry: a string or an integer, plus its backlen.
///
/// Hand-written rather than composed from nom's parsers: this is the innermost loop of every
/// compact collection, the encoding byte decides the widths of what follows, and one bounds
/// check per field, with the error naming the entry's start and its declared length (not
/// nom's "ran out"), is both simpler and no slower than a combinator per field.
#[inline]
pub(crate) fn listpack_entry(input: &[u8]) -> PResult<'_, Str<'_>> {
    let Some(&b) = input.first() else {
        return fail(input, "listpack entry", ErrorKind::Truncated);
    };
    let (value, size): (Str<'_>, usize) = if b & 0x80 == 0 {
        (Str::Int(i64::from(b & 0x7F)), 1)
    } else if b & 0xC0 == 0x80 {
        let len = usize::from(b & 0x3F);
        (Str::Bytes(entry_bytes(input, 1, len)?), 1 + len)
    } else if b & 0xE0 == 0xC0 {
        let lo = *entry_byte(input, 1)?;
        let v = (i64::from(b & 0x1F) << 8) | i64::from(lo);
        (Str::Int(if v >= 1 << 12 { v - (1 << 13) } else { v }), 2)
    } else if b & 0xF0 == 0xE0 {
        let lo = *entry_byte(input, 1)?;
        let len = (usize::from(b & 0x0F) << 8) | usize::from(lo);
        (Str::Bytes(entry_bytes(input, 2, len)?), 2 + len)
    } else {
        match b {
            0xF0 => {
                let n = entry_bytes(input, 1, 4)?;
                let len = u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize;
                (Str::Bytes(entry_bytes(input, 5, len)?), 5 + len)
            }
            0xF1 => {
                let n = entry_bytes(input, 1, 2)?;
                (Str::Int(i64::from(i16::from_le_bytes([n[0], n[1]]))), 3)
            }
            0xF2 => {
                let n = entry_bytes(input, 1, 3)?;
                let v = i32::from_le_bytes([0, n[0], n[1], n[2]]) >> 8;
                (Str::Int(i64::from(v)), 4)
            }
            0xF3 => {
                let n = entry_bytes(input, 1, 4)?;
                (
                    Str::Int(i64::from(i32::from_le_bytes([n[0], n[1], n[2], n[3]]))),
                    5,
                )
            }
            0xF4 => {
                let n = entry_bytes(input, 1, 8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(n);
                (Str::Int(i64::from_le_bytes(a)), 9)
            }
            _ => {
                return invalid(
                    input,
                    "listpack entry",
                    format!("invalid encoding byte {b:#04x}"),
                )
            }
        }
    };
    let total = size + backlen_size(size);
    if total > input.len() {
        return fail(
            input,
            "listpack entry",
            ErrorKind::PastEnd {
                length: total as u64,
                container: "blob",
                available: input.len() as u64,
            },
        );
    }
    Ok((&input[total..], value))
}

#[inline]
fn entry_byte(input: &[u8], at: usize) -> Result<&u8, nom::Err<crate::read::Fail<'_>>> {
    input.get(at).ok_or(nom::Err::Error(crate::read::Fail {
        at: input,
        context: "listpack entry",
        kind: ErrorKind::Truncated,
    }))
}

#[inline]
fn entry_bytes(
    input: &[u8],
    start: usize,
    len: usize,
) -> Result<&[u8], nom::Err<crate::read::Fail<'_>>> {
    input.get(start..start.saturating_add(len)).ok_or_else(|| {
        nom::Err::Error(crate::read::Fail {
            at: input,
            context: "listpack entry",
            kind: ErrorKind::PastEnd {
                length: len as u64,
                container: "blob",
                available: input.len().saturating_sub(start) as u64,
            },
        })
    })
}

/// Builds a listpack blob from entries (for tests of this crate and its users' fixtures).
#[cfg(test)]
pub(crate) fn build(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in entries {
        body.extend_from_slice(e);
    }
    let total = (HEADER_SIZE + body.len() + 1) as u32;
    let mut out = total.to_le_bytes().to_vec();
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(LP_EOF);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(blob: &[u8]) -> Result<Vec<Str<'_>>> {
        Listpack::new(blob, Origin::new(blob, 100))?.collect()
    }

    #[test]
    fn every_integer_width() {
        let blob = build(&[
            &[0x05, 0x01],                            // 7-bit uint
            &[0x7F, 0x01],                            // 127
            &[0xC0 | 0x1F, 0xFF, 0x02],               // 13-bit -1
            &[0xD0, 0x00, 0x02],                      // 13-bit 4096 → -4096
            &[0xC0 | 0x0F, 0xFF, 0x02],               // 13-bit 4095
            &[0xF1, 0x00, 0x80, 0x03],                // i16 min
            &[0xF2, 0xFF, 0xFF, 0x7F, 0x04],          // i24 max
            &[0xF2, 0x00, 0x00, 0x80, 0x04],          // i24 min
            &[0xF3, 0xFF, 0xFF, 0xFF, 0x7F, 0x05],    // i32 max
            &[0xF4, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x09], // i64 min
        ]);
        let v = all(&blob).unwrap();
        assert_eq!(
            v,
            vec![
                Str::Int(5),
                Str::Int(127),
                Str::Int(-1),
                Str::Int(-4096),
                Str::Int(4095),
                Str::Int(i64::from(i16::MIN)),
                Str::Int(8388607),
                Str::Int(-8388608),
                Str::Int(i64::from(i32::MAX)),
                Str::Int(i64::MIN),
            ]
        );
    }

    #[test]
    fn string_widths() {
        let mut e12 = vec![0xE0 | 0x01, 0x00];
        e12.extend(std::iter::repeat_n(b'x', 256));
        e12.extend([0x82, 0x02]); // backlen of 258 bytes: two bytes
        let mut e32 = vec![0xF0, 0x00, 0x10, 0x00, 0x00];
        e32.extend(std::iter::repeat_n(b'y', 4096));
        e32.extend([0xA0, 0x05]); // backlen of 4101: two bytes
        let blob = build(&[&[0x83, b'a', b'b', b'c', 0x04], &e12, &e32]);
        let v = all(&blob).unwrap();
        assert_eq!(v[0], Str::Bytes(b"abc"));
        assert_eq!(v[1].len(), 256);
        assert_eq!(v[2].len(), 4096);
    }

    #[test]
    fn corrupt_listpacks_error_with_offset() {
        // Length past the end of the blob.
        let blob = build(&[&[0x8A, b'a', 0x02]]);
        let e = all(&blob).unwrap_err();
        assert_eq!(e.offset, 106);
        assert!(e.to_string().contains("past end of blob"), "{e}");
        // Wrong total_bytes.
        let mut blob = build(&[&[0x01, 0x01]]);
        blob[0] += 1;
        assert!(all(&blob).is_err());
        // Count mismatch.
        let mut blob = build(&[&[0x01, 0x01]]);
        blob[4] = 2;
        assert!(all(&blob).is_err());
        // Invalid encoding byte.
        let blob = build(&[&[0xF5, 0x01]]);
        assert!(all(&blob).is_err());
        // Unknown count is fine.
        let mut blob = build(&[&[0x01, 0x01]]);
        blob[4] = 0xFF;
        blob[5] = 0xFF;
        assert_eq!(all(&blob).unwrap(), vec![Str::Int(1)]);
    }
}
