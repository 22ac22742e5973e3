//! RDB lengths: the shortest of the 6-, 14-, 32- and 64-bit forms, as `rdbSaveLen` writes.

use crate::consts::{RDB_32BITLEN, RDB_64BITLEN};

/// Appends `n` as an RDB length.
///
/// ```
/// let mut out = Vec::new();
/// rdb_format::write::length(&mut out, 300);
/// assert_eq!(out, [0x41, 0x2C]);
/// ```
#[inline]
pub fn length(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u64::from(u32::MAX) {
        out.push(RDB_32BITLEN);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(RDB_64BITLEN);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::length as read_length;

    #[test]
    fn every_width_round_trips() {
        for n in [
            0u64,
            1,
            63,
            64,
            16383,
            16384,
            u64::from(u32::MAX),
            u64::from(u32::MAX) + 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            length(&mut out, n);
            let (rest, back) = read_length(&out).unwrap();
            assert!(rest.is_empty());
            assert_eq!(back, n);
        }
        let mut out = Vec::new();
        length(&mut out, 16384);
        assert_eq!(out, [0x80, 0, 0, 0x40, 0]);
    }
}
