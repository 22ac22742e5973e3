//! `DUMP` payloads: `type:u8  value  rdb_version:u16le  crc64:u64le`, the CRC covering
//! everything before it. This is what `RESTORE` takes.

use crate::crc::crc64;
use crate::error::{Error, ErrorKind};
use crate::version::{Flavor, Version};

/// The version number a payload for `target` carries. A server accepts payloads of its own
/// version and older; Valkey 9 (`VALKEY080`) also reads the Redis encodings through RDB 11.
pub fn payload_version(target: Version) -> u16 {
    u16::try_from(target.number).unwrap_or(u16::MAX)
}

/// A `DUMP` payload of a serialized value for `target`.
///
/// ```
/// use rdb_format::write::{dump_payload, DumpPayload};
/// use rdb_format::{Flavor, Version};
///
/// let v10 = Version { flavor: Flavor::Redis, number: 10 };
/// let payload = dump_payload(0, b"\x05hello", v10);
/// assert_eq!(&payload[..9], b"\x00\x05hello\x0a\x00");
/// let back = DumpPayload::parse(&payload)?;
/// assert_eq!((back.type_byte, back.value, back.version), (0, &b"\x05hello"[..], 10));
/// # Ok::<(), rdb_format::Error>(())
/// ```
pub fn dump_payload(type_byte: u8, value: &[u8], target: Version) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 11);
    out.push(type_byte);
    out.extend_from_slice(value);
    out.extend_from_slice(&payload_version(target).to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// A parsed `DUMP` payload whose CRC has been checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpPayload<'a> {
    /// The value's type byte.
    pub type_byte: u8,
    /// The serialized value (decode it with [`Value::decode`](crate::Value::decode)).
    pub value: &'a [u8],
    /// The RDB version in the trailer.
    pub version: u16,
}

impl<'a> DumpPayload<'a> {
    /// Splits a payload into its parts and checks its CRC (a CRC of 0 is accepted, as Redis
    /// does for payloads written with `rdbchecksum no`).
    pub fn parse(payload: &'a [u8]) -> Result<Self, Error> {
        if payload.len() < 11 {
            return Err(Error::new(0, "DUMP payload", ErrorKind::Truncated));
        }
        let (body, crc) = payload.split_at(payload.len() - 8);
        let mut c = [0u8; 8];
        c.copy_from_slice(crc);
        let stored = u64::from_le_bytes(c);
        if stored != 0 {
            let computed = crc64(body);
            if computed != stored {
                return Err(Error::new(
                    body.len() as u64,
                    "DUMP payload",
                    ErrorKind::ChecksumMismatch { stored, computed },
                ));
            }
        }
        let (rest, v) = body.split_at(body.len() - 2);
        Ok(DumpPayload {
            type_byte: rest[0],
            value: &rest[1..],
            version: u16::from_le_bytes([v[0], v[1]]),
        })
    }

    /// The version to decode the value with: 80 and above mean Valkey.
    pub fn decode_version(&self) -> Version {
        let number = u32::from(self.version);
        Version {
            flavor: if number >= crate::consts::RDB_VERSION_MIN_VALKEY {
                Flavor::Valkey
            } else {
                Flavor::Redis
            },
            number,
        }
    }
}
