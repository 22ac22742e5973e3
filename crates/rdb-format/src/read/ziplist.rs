//! Ziplist (`ziplist.c`): the compact encoding of lists, hashes and zsets before Redis 7.
//!
//! ```text
//! zlbytes:u32le  zltail:u32le  zllen:u16le  entry*  0xFF
//! entry = prevlen(1 or 5 bytes)  encoding  data
//! ```

use crate::error::{ErrorKind, Result};
use crate::read::string::Str;
use crate::read::{fail, invalid, Fail, Origin, PResult};

const HEADER_SIZE: usize = 10;
const ZIP_END: u8 = 0xFF;
const ZIP_BIG_PREVLEN: u8 = 0xFE;
const UNKNOWN_COUNT: u16 = u16::MAX;

/// A lazy iterator over the entries of a ziplist blob.
#[derive(Clone, Debug)]
pub struct Ziplist<'b> {
    rest: &'b [u8],
    origin: Origin<'b>,
    declared: u16,
    seen: u64,
    done: bool,
}

impl<'b> Ziplist<'b> {
    /// Iterates a standalone blob (offsets in errors are relative to its start).
    pub fn parse(blob: &'b [u8]) -> Result<Self> {
        Self::new(blob, Origin::new(blob, 0))
    }

    /// Checks the header of `blob` and returns an iterator over its entries.
    pub(crate) fn new(blob: &'b [u8], origin: Origin<'b>) -> Result<Self> {
        let (rest, declared) = ziplist_header(blob).map_err(|e| origin.nom_error(e))?;
        Ok(Ziplist {
            rest,
            origin,
            declared,
            seen: 0,
            done: false,
        })
    }

    /// The element count in the header, when it is not the "unknown" marker.
    pub fn declared_len(&self) -> Option<u64> {
        (self.declared != UNKNOWN_COUNT).then_some(u64::from(self.declared))
    }

    fn step(&mut self) -> Result<Option<Str<'b>>> {
        let invalid_here = |at, msg: String| {
            self.origin.error(Fail {
                at,
                context: "ziplist",
                kind: ErrorKind::Invalid(msg.into()),
            })
        };
        match self.rest.first() {
            None => Err(invalid_here(self.rest, "missing end marker".into())),
            Some(&ZIP_END) => {
                if self.rest.len() != 1 {
                    return Err(invalid_here(self.rest, "bytes after the end marker".into()));
                }
                if self.declared != UNKNOWN_COUNT && u64::from(self.declared) != self.seen {
                    let msg = format!("header says {} entries, found {}", self.declared, self.seen);
                    return Err(invalid_here(self.rest, msg));
                }
                Ok(None)
            }
            Some(_) => {
                let (rest, s) = ziplist_entry(self.rest).map_err(|e| self.origin.nom_error(e))?;
                self.rest = rest;
                self.seen += 1;
                Ok(Some(s))
            }
        }
    }
}

impl<'b> Iterator for Ziplist<'b> {
    type Item = Result<Str<'b>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.step();
        crate::read::fused(&mut self.done, step)
    }
}

/// `zlbytes` (must equal the blob's length), `zltail` (must be inside it) and `zllen`.
pub(crate) fn ziplist_header(blob: &[u8]) -> PResult<'_, u16> {
    match ziplist_count(blob, blob.len() as u64) {
        Ok(count) => Ok((&blob[HEADER_SIZE..], count)),
        Err(msg) => invalid(blob, "ziplist header", msg),
    }
}

/// The header's entry count (65535: unknown), from the blob's first bytes (`head`, at least
/// the header or the whole blob) and its length, which `zlbytes` must equal and `zltail`
/// fall inside.
pub(crate) fn ziplist_count(head: &[u8], blob_len: u64) -> std::result::Result<u16, String> {
    let Some(h) = head.first_chunk::<HEADER_SIZE>() else {
        return Err(format!("blob of {blob_len} bytes is too short"));
    };
    let bytes = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    if u64::from(bytes) != blob_len {
        return Err(format!("zlbytes {bytes} but blob is {blob_len} bytes"));
    }
    let tail = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
    if u64::from(tail) >= blob_len {
        return Err(format!("zltail {tail} outside the {blob_len}-byte blob"));
    }
    Ok(u16::from_le_bytes([h[8], h[9]]))
}

/// Bytes [`ziplist_count`] needs.
pub(crate) const ZIPLIST_HEADER_SIZE: usize = HEADER_SIZE;

/// One ziplist entry: previous-entry length, encoding, data.
///
/// Hand-written for the reasons given at `listpack_entry`: the innermost loop of old compact
/// collections, widths decided by the encoding byte, errors naming the entry's start.
#[inline]
pub(crate) fn ziplist_entry(input: &[u8]) -> PResult<'_, Str<'_>> {
    let prevlen_size = match input.first() {
        Some(&ZIP_BIG_PREVLEN) => 5,
        Some(_) => 1,
        None => return fail(input, "ziplist entry", ErrorKind::Truncated),
    };
    let Some(body) = input.get(prevlen_size..) else {
        return fail(input, "ziplist entry", ErrorKind::Truncated);
    };
    let Some(&e) = body.first() else {
        return fail(input, "ziplist entry", ErrorKind::Truncated);
    };
    let (header, len, is_str): (usize, usize, bool) = match e >> 6 {
        0 => (1, usize::from(e & 0x3F), true),
        1 => {
            let lo = *body.get(1).ok_or_else(|| truncated(input))?;
            (2, (usize::from(e & 0x3F) << 8) | usize::from(lo), true)
        }
        2 => {
            if e != 0x80 {
                return invalid(
                    input,
                    "ziplist entry",
                    format!("invalid string encoding byte {e:#04x}"),
                );
            }
            let n = body.get(1..5).ok_or_else(|| truncated(input))?;
            (
                5,
                u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize,
                true,
            )
        }
        _ => match e {
            0xC0 => (1, 2, false),
            0xD0 => (1, 4, false),
            0xE0 => (1, 8, false),
            0xF0 => (1, 3, false),
            0xFE => (1, 1, false),
            0xF1..=0xFD => {
                return Ok((&body[1..], Str::Int(i64::from(e & 0x0F) - 1)));
            }
            _ => {
                return invalid(
                    input,
                    "ziplist entry",
                    format!("invalid integer encoding byte {e:#04x}"),
                )
            }
        },
    };
    let Some(data) = body.get(header..header.saturating_add(len)) else {
        return fail(
            input,
            "ziplist entry",
            ErrorKind::PastEnd {
                length: len as u64,
                container: "blob",
                available: body.len().saturating_sub(header) as u64,
            },
        );
    };
    let rest = &body[header + len..];
    if is_str {
        return Ok((rest, Str::Bytes(data)));
    }
    let v = match data.len() {
        1 => i64::from(data[0] as i8),
        2 => i64::from(i16::from_le_bytes([data[0], data[1]])),
        3 => i64::from(i32::from_le_bytes([0, data[0], data[1], data[2]]) >> 8),
        4 => i64::from(i32::from_le_bytes([data[0], data[1], data[2], data[3]])),
        _ => {
            let mut a = [0u8; 8];
            a.copy_from_slice(data);
            i64::from_le_bytes(a)
        }
    };
    Ok((rest, Str::Int(v)))
}

fn truncated(input: &[u8]) -> nom::Err<Fail<'_>> {
    nom::Err::Error(Fail {
        at: input,
        context: "ziplist entry",
        kind: ErrorKind::Truncated,
    })
}

/// Builds a ziplist blob from encoded entries (encoding + data; prevlen is added here).
#[cfg(test)]
pub(crate) fn build(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut tail = HEADER_SIZE;
    for e in entries {
        tail = HEADER_SIZE + body.len();
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(0xFE);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        body.extend_from_slice(e);
        prev = HEADER_SIZE + body.len() - tail;
    }
    let total = (HEADER_SIZE + body.len() + 1) as u32;
    let mut out = total.to_le_bytes().to_vec();
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(ZIP_END);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(blob: &[u8]) -> Result<Vec<Str<'_>>> {
        Ziplist::new(blob, Origin::new(blob, 0))?.collect()
    }

    #[test]
    fn every_integer_width() {
        let blob = build(&[
            &[0xF1],                                                 // 0
            &[0xFD],                                                 // 12
            &[0xFE, 0x80],                                           // i8 -128
            &[0xC0, 0x00, 0x80],                                     // i16 min
            &[0xF0, 0xFF, 0xFF, 0x7F],                               // i24 max
            &[0xF0, 0x00, 0x00, 0x80],                               // i24 min
            &[0xD0, 0, 0, 0, 0x80],                                  // i32 min
            &[0xE0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], // i64 max
        ]);
        assert_eq!(
            all(&blob).unwrap(),
            vec![
                Str::Int(0),
                Str::Int(12),
                Str::Int(-128),
                Str::Int(i64::from(i16::MIN)),
                Str::Int(8388607),
                Str::Int(-8388608),
                Str::Int(i64::from(i32::MIN)),
                Str::Int(i64::MAX),
            ]
        );
    }

    #[test]
    fn string_widths_and_big_prevlen() {
        let mut e14 = vec![0x41, 0x2C]; // 14-bit big-endian: 300
        e14.extend(std::iter::repeat_n(b'x', 300));
        let mut e32 = vec![0x80, 0x00, 0x00, 0x40, 0x00]; // 32-bit big-endian: 16384
        e32.extend(std::iter::repeat_n(b'y', 16384));
        let blob = build(&[&[0x02, b'h', b'i'], &e14, &e32, &[0xF2]]);
        let v = all(&blob).unwrap();
        assert_eq!(v[0], Str::Bytes(b"hi"));
        assert_eq!(v[1].len(), 300);
        assert_eq!(v[2].len(), 16384);
        assert_eq!(v[3], Str::Int(1));
    }

    #[test]
    fn corrupt_ziplists_error() {
        let blob = build(&[&[0x09, b'a']]);
        let e = all(&blob).unwrap_err();
        assert!(e.to_string().contains("past end of blob"), "{e}");
        let blob = build(&[&[0xC5]]);
        assert!(all(&blob).is_err());
        let mut blob = build(&[&[0xF1]]);
        blob[8] = 3;
        assert!(all(&blob).is_err());
        assert!(all(&[1, 2, 3]).is_err());
    }
}
