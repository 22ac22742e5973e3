//! CRC-64 as Redis computes it (CRC-64/REDIS, the "Jones" polynomial, reflected, init 0).

use crc::{Crc, Table, CRC_64_REDIS};

static CRC64: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_REDIS);

/// CRC-64/REDIS of `data`.
///
/// ```
/// assert_eq!(rdb_format::crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
/// ```
pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

/// An incremental CRC-64/REDIS, for data that arrives in pieces.
pub struct Crc64Digest(crc::Digest<'static, u64, Table<16>>);

impl Crc64Digest {
    /// A digest with nothing added yet.
    pub fn new() -> Self {
        Crc64Digest(CRC64.digest())
    }
    /// Adds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data)
    }
    /// The checksum of everything added.
    pub fn finalize(self) -> u64 {
        self.0.finalize()
    }
}

impl Default for Crc64Digest {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_value() {
        assert_eq!(crc64(b"123456789"), 0xe9c6d914c4b8d9ca);
        let mut d = Crc64Digest::new();
        d.update(b"1234");
        d.update(b"56789");
        assert_eq!(d.finalize(), 0xe9c6d914c4b8d9ca);
        assert_eq!(crc64(b""), 0);
    }
}
