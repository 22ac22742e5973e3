//! Zipmap (`zipmap.c`): the compact hash encoding of Redis ≤ 2.4 (RDB 2–6).
//!
//! ```text
//! zmlen:u8  { len key  len free:u8 value free-bytes }*  0xFF
//! len = u8 when < 254, else 0xFE + u32le
//! ```

use crate::error::{ErrorKind, Result};
use crate::read::string::Str;
use crate::read::{fail, invalid, Fail, Origin, PResult};

const ZIPMAP_BIGLEN: u8 = 254;
const ZIPMAP_END: u8 = 255;

/// A lazy iterator over the field/value pairs of a zipmap blob.
#[derive(Clone, Debug)]
pub struct Zipmap<'b> {
    rest: &'b [u8],
    origin: Origin<'b>,
    done: bool,
}

impl<'b> Zipmap<'b> {
    /// Iterates a standalone blob (offsets in errors are relative to its start).
    pub fn parse(blob: &'b [u8]) -> Result<Self> {
        Self::new(blob, Origin::new(blob, 0))
    }

    /// Returns an iterator over the pairs of `blob`.
    pub(crate) fn new(blob: &'b [u8], origin: Origin<'b>) -> Result<Self> {
        if blob.is_empty() {
            return Err(origin.error(Fail {
                at: blob,
                context: "zipmap header",
                kind: ErrorKind::Truncated,
            }));
        }
        Ok(Zipmap {
            rest: &blob[1..],
            origin,
            done: false,
        })
    }

    fn step(&mut self) -> Result<Option<(Str<'b>, Str<'b>)>> {
        match self.rest.first() {
            None => Err(self.origin.error(Fail {
                at: self.rest,
                context: "zipmap",
                kind: ErrorKind::Invalid("missing end marker".into()),
            })),
            Some(&ZIPMAP_END) => Ok(None),
            Some(_) => {
                let (rest, pair) = zipmap_entry(self.rest).map_err(|e| self.origin.nom_error(e))?;
                self.rest = rest;
                Ok(Some(pair))
            }
        }
    }
}

impl<'b> Iterator for Zipmap<'b> {
    type Item = Result<(Str<'b>, Str<'b>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let step = self.step();
        crate::read::fused(&mut self.done, step)
    }
}

fn zipmap_len(input: &[u8]) -> PResult<'_, usize> {
    match input.first() {
        Some(&ZIPMAP_BIGLEN) => match input.get(1..5) {
            Some(n) => Ok((
                &input[5..],
                u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize,
            )),
            None => fail(input, "zipmap length", ErrorKind::Truncated),
        },
        Some(&ZIPMAP_END) => invalid(
            input,
            "zipmap length",
            "end marker where a length was expected",
        ),
        Some(&b) => Ok((&input[1..], usize::from(b))),
        None => fail(input, "zipmap length", ErrorKind::Truncated),
    }
}

fn zipmap_bytes(input: &[u8], len: usize) -> PResult<'_, &[u8]> {
    if len > input.len() {
        return fail(
            input,
            "zipmap entry",
            ErrorKind::PastEnd {
                length: len as u64,
                container: "blob",
                available: input.len() as u64,
            },
        );
    }
    Ok((&input[len..], &input[..len]))
}

/// One field/value pair, skipping the value's free bytes.
pub(crate) fn zipmap_entry(input: &[u8]) -> PResult<'_, (Str<'_>, Str<'_>)> {
    let (rest, klen) = zipmap_len(input)?;
    let (rest, key) = zipmap_bytes(rest, klen)?;
    let (rest, vlen) = zipmap_len(rest)?;
    let Some((&free, rest)) = rest.split_first() else {
        return fail(rest, "zipmap entry", ErrorKind::Truncated);
    };
    let (rest, value) = zipmap_bytes(rest, vlen)?;
    let (rest, _) = zipmap_bytes(rest, usize::from(free))?;
    Ok((rest, (Str::Bytes(key), Str::Bytes(value))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_with_free_bytes_and_big_lengths() {
        let mut blob = vec![2, 2, b'f', b'1', 2, 3, b'v', b'1', 0, 0, 0];
        blob.extend([1, b'g', 0xFE, 0x2C, 0x01, 0, 0, 0]);
        blob.extend(std::iter::repeat_n(b'z', 300));
        blob.push(0xFF);
        let v: Vec<_> = Zipmap::new(&blob, Origin::new(&blob, 0))
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(v[0], (Str::Bytes(b"f1"), Str::Bytes(b"v1")));
        assert_eq!(v[1].0, Str::Bytes(b"g"));
        assert_eq!(v[1].1.len(), 300);
    }

    #[test]
    fn corrupt() {
        let blob = [1, 5, b'a', 0xFF];
        let r: Result<Vec<_>> = Zipmap::new(&blob, Origin::new(&blob, 0)).unwrap().collect();
        assert!(r.is_err());
        let blob = [1, 1, b'a', 1, 0, b'b'];
        let r: Result<Vec<_>> = Zipmap::new(&blob, Origin::new(&blob, 0)).unwrap().collect();
        assert!(r.is_err());
    }
}
