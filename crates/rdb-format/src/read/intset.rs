//! Intset (`intset.h`): a sorted array of integers of one width (2, 4 or 8 bytes).
//!
//! ```text
//! encoding:u32le  length:u32le  length × int(encoding bytes, LE)
//! ```

use crate::error::Result;
use crate::read::string::Str;
use crate::read::{invalid, Origin, PResult};

/// A lazy iterator over the members of an intset blob.
#[derive(Clone, Debug)]
pub struct Intset<'b> {
    items: std::slice::ChunksExact<'b, u8>,
}

impl<'b> Intset<'b> {
    /// Iterates a standalone blob (offsets in errors are relative to its start).
    pub fn parse(blob: &'b [u8]) -> Result<Self> {
        Self::new(blob, Origin::new(blob, 0))
    }

    /// Checks the header of `blob` and returns an iterator over its members.
    pub(crate) fn new(blob: &'b [u8], origin: Origin<'b>) -> Result<Self> {
        let (items, width) = intset_header(blob).map_err(|e| origin.nom_error(e))?;
        Ok(Intset {
            items: items.chunks_exact(width),
        })
    }
}

impl<'b> Iterator for Intset<'b> {
    type Item = Result<Str<'b>>;

    fn next(&mut self) -> Option<Self::Item> {
        let c = self.items.next()?;
        let v = match c.len() {
            2 => i64::from(i16::from_le_bytes([c[0], c[1]])),
            4 => i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        Some(Ok(Str::Int(v)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

/// The members' bytes (exactly `length × encoding`) and the width.
pub(crate) fn intset_header(blob: &[u8]) -> PResult<'_, usize> {
    match intset_count(blob, blob.len() as u64) {
        Ok((_, width)) => Ok((&blob[INTSET_HEADER_SIZE..], width)),
        Err(msg) => invalid(blob, "intset header", msg),
    }
}

/// The member count and width, from the blob's first bytes (`head`, at least the header or
/// the whole blob) and its length, which the members must fill exactly.
pub(crate) fn intset_count(
    head: &[u8],
    blob_len: u64,
) -> std::result::Result<(u64, usize), String> {
    let Some(h) = head.first_chunk::<INTSET_HEADER_SIZE>() else {
        return Err(format!("blob of {blob_len} bytes is too short"));
    };
    let width = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
    if !matches!(width, 2 | 4 | 8) {
        return Err(format!("invalid encoding {width}"));
    }
    let len = u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]]));
    let body = blob_len.saturating_sub(INTSET_HEADER_SIZE as u64);
    if len * u64::from(width) != body {
        return Err(format!(
            "{len} members of {width} bytes do not fill the {body}-byte body"
        ));
    }
    Ok((len, width as usize))
}

/// Bytes [`intset_count`] needs.
pub(crate) const INTSET_HEADER_SIZE: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    fn all(blob: &[u8]) -> Result<Vec<Str<'_>>> {
        Intset::new(blob, Origin::new(blob, 0))?.collect()
    }

    #[test]
    fn widths() {
        let mut b = vec![2, 0, 0, 0, 2, 0, 0, 0];
        b.extend((-2i16).to_le_bytes());
        b.extend(0x7ffei16.to_le_bytes());
        assert_eq!(all(&b).unwrap(), vec![Str::Int(-2), Str::Int(0x7ffe)]);
        let mut b = vec![4, 0, 0, 0, 1, 0, 0, 0];
        b.extend(i32::MIN.to_le_bytes());
        assert_eq!(all(&b).unwrap(), vec![Str::Int(i64::from(i32::MIN))]);
        let mut b = vec![8, 0, 0, 0, 1, 0, 0, 0];
        b.extend(i64::MAX.to_le_bytes());
        assert_eq!(all(&b).unwrap(), vec![Str::Int(i64::MAX)]);
    }

    #[test]
    fn corrupt() {
        assert!(all(&[3, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(all(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0]).is_err());
        assert!(all(&[2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]).is_err());
    }
}
