//! CRC-64 as Redis computes it (CRC-64/REDIS, the "Jones" polynomial, reflected, init 0).
//!
//! Computed with `crc-fast`'s carry-less-multiply folding (several GB/s; a table-driven CRC
//! would be slower than the decoder itself), with Redis's parameters.

use std::sync::OnceLock;

use crc_fast::{checksum_combine_with_params, checksum_with_params, CrcParams};

const POLY: u64 = 0xad93_d235_94c9_35a9;
const CHECK: u64 = 0xe9c6_d914_c4b8_d9ca;

fn params() -> CrcParams {
    // Folding keys are derived from the parameters once.
    static PARAMS: OnceLock<CrcParams> = OnceLock::new();
    *PARAMS.get_or_init(|| CrcParams::new("CRC-64/REDIS", 64, POLY, 0, true, 0, CHECK))
}

/// CRC-64/REDIS of `data`.
///
/// ```
/// assert_eq!(rdb_format::crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
/// ```
pub fn crc64(data: &[u8]) -> u64 {
    checksum_with_params(params(), data)
}

/// The CRC of `a` followed by `b`, from the CRCs of each and `b`'s length: lets chunks of a
/// dump be checksummed in parallel.
pub fn crc64_combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    checksum_combine_with_params(params(), crc_a, crc_b, len_b)
}

/// The CRC-64 a dump stores in its last 8 bytes (little-endian; 0 when the server did not
/// compute one), given those bytes. The CRC covers everything before them.
///
/// ```
/// let mut dump = b"REDIS0011\xff".to_vec();
/// let crc = rdb_format::crc64(&dump);
/// dump.extend_from_slice(&crc.to_le_bytes());
/// assert_eq!(rdb_format::stored_checksum(dump.last_chunk().unwrap()), crc);
/// ```
pub fn stored_checksum(last_8_bytes: &[u8; 8]) -> u64 {
    u64::from_le_bytes(*last_8_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(crc64(b"123456789"), CHECK);
        assert_eq!(crc64_combine(crc64(b"1234"), crc64(b"56789"), 5), CHECK);
        assert_eq!(crc64(b""), 0);
    }

    #[test]
    fn matches_the_table_driven_reference() {
        // Bit-at-a-time reflected CRC with Redis's parameters, over lengths that exercise the
        // SIMD folding's tails.
        fn reference(data: &[u8]) -> u64 {
            let poly = POLY.reverse_bits();
            let mut crc = 0u64;
            for &b in data {
                crc ^= u64::from(b);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ poly
                    } else {
                        crc >> 1
                    };
                }
            }
            crc
        }
        let data: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for len in [
            0, 1, 7, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 1000, 4096, 5000,
        ] {
            assert_eq!(crc64(&data[..len]), reference(&data[..len]), "len {len}");
        }
    }
}
