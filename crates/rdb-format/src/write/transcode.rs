//! Transcoding: a record's value made ready for a target version, copied byte for byte when
//! the target reads its encoding ([`copyable`]) and decoded and re-encoded otherwise; and
//! [`supports`], which answers whether a target can hold a value at all without encoding it.
//!
//! Seeding (`RESTORE` payloads) and splitting (RDB files) both go through here, so a value
//! is copied or re-encoded the same way whatever it is written into.

use crate::decoder::Record;
use crate::read::string::Scratch;
use crate::value::Value;
use crate::version::Version;
use crate::write::value::{encode_value, field_ttls_supported};
use crate::write::{copyable, type_byte, Result};

/// How a value was made ready for the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conversion {
    /// The record's own bytes, unchanged.
    Copied,
    /// Decoded and encoded again for the target.
    Reencoded,
}

/// A record's value ready for a target: what follows the key in a record, or goes into a
/// `DUMP` payload with [`dump_payload`](crate::write::dump_payload).
#[derive(Clone, Copy, Debug)]
pub struct Transcoded<'a> {
    /// The type byte to write before the key.
    pub type_byte: u8,
    /// The serialized value.
    pub bytes: &'a [u8],
    /// Whether it was copied or re-encoded.
    pub conversion: Conversion,
}

/// The value of `record` (read from a dump of version `source`) for `target`: its own bytes
/// when the target reads their encoding with the same meaning, otherwise the value decoded
/// and re-encoded into `out` (cleared first). A value the target cannot hold is an
/// [`EncodeError::Unsupported`](super::EncodeError::Unsupported); a value that fails to decode, an [`EncodeError::Decode`](super::EncodeError::Decode).
pub fn transcode<'a>(
    record: &Record<'a>,
    scratch: &Scratch,
    source: Version,
    target: Version,
    out: &'a mut Vec<u8>,
) -> Result<Transcoded<'a>> {
    out.clear();
    if copyable(record.encoding, source, target) {
        return Ok(Transcoded {
            type_byte: type_byte(record.encoding),
            bytes: record.value_raw,
            conversion: Conversion::Copied,
        });
    }
    let value = record.value(scratch)?;
    let type_byte = encode_value(&value, target, out)?;
    Ok(Transcoded {
        type_byte,
        bytes: out,
        conversion: Conversion::Reencoded,
    })
}

/// Whether `target` can hold `value`, without writing it out: `Ok(())`, or the
/// [`EncodeError::Unsupported`](super::EncodeError::Unsupported) encoding it would give (an [`EncodeError::Decode`](super::EncodeError::Decode) if the
/// value fails to decode).
///
/// For most types this depends on the target version only; a hash depends on whether any
/// field has a TTL (every field is read). Streams and module values are encoded into a
/// scratch buffer, since their limits depend on their content. Limits on the TTL values
/// themselves (negative, or past 2^48 ms) are checked only when the hash is encoded.
pub fn supports(target: Version, value: &Value<'_>) -> Result<()> {
    match value {
        Value::Hash(fields) => {
            let mut any_ttl = false;
            for field in fields.clone() {
                any_ttl |= field?.expire_ms.is_some();
            }
            if any_ttl {
                field_ttls_supported(target)?;
            }
            Ok(())
        }
        Value::Stream(_) | Value::Module(_) => {
            encode_value(value, target, &mut Vec::new()).map(|_| ())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::string::Str;
    use crate::value::HashEntry;
    use crate::version::Flavor;
    use crate::write::{EncodeError, RdbWriter};
    use crate::{Decoder, Item};

    fn redis(number: u32) -> Version {
        Version {
            flavor: Flavor::Redis,
            number,
        }
    }

    /// A Redis 12 dump with a small list `l` and a hash `h` with one field TTL.
    fn dump() -> Vec<u8> {
        let mut w = RdbWriter::new(Vec::new(), redis(12)).unwrap();
        w.select_db(0).unwrap();
        let mut value = Vec::new();
        let items = [Str::Bytes(b"a"), Str::Bytes(b"b")];
        let t = crate::write::list(items.into_iter().map(Ok), redis(12), &mut value).unwrap();
        w.record(b"l", None, t, &value).unwrap();
        value.clear();
        let field = HashEntry {
            field: Str::Bytes(b"f"),
            value: Str::Bytes(b"v"),
            expire_ms: Some(4102444800000),
        };
        let t = crate::write::hash(std::iter::once(Ok(field)), redis(12), &mut value).unwrap();
        w.record(b"h", None, t, &value).unwrap();
        w.finish().unwrap()
    }

    #[test]
    fn copies_what_the_target_reads_and_reencodes_the_rest() {
        let file = dump();
        let scratch = Scratch::new();
        let mut out = Vec::new();
        for item in Decoder::new(&file).unwrap() {
            let Item::Record(r) = item.unwrap() else {
                continue;
            };
            let same = transcode(&r, &scratch, redis(12), redis(12), &mut out).unwrap();
            assert_eq!(same.conversion, Conversion::Copied);
            assert_eq!(same.bytes, r.value_raw);
            let older = transcode(&r, &scratch, redis(12), redis(9), &mut out);
            if r.key.decode(&scratch).unwrap().to_vec() == b"l" {
                // QUICKLIST_2 of listpacks becomes a QUICKLIST of ziplists.
                let older = older.unwrap();
                assert_eq!(older.conversion, Conversion::Reencoded);
                assert_eq!(older.type_byte, crate::consts::RDB_TYPE_LIST_QUICKLIST);
            } else {
                assert!(matches!(older, Err(EncodeError::Unsupported { .. })));
            }
        }
    }

    #[test]
    fn supports_agrees_with_encoding() {
        let file = dump();
        let scratch = Scratch::new();
        for item in Decoder::new(&file).unwrap() {
            let Item::Record(r) = item.unwrap() else {
                continue;
            };
            let value = r.value(&scratch).unwrap();
            for target in [redis(6), redis(9), redis(11), redis(12)] {
                let encoded = encode_value(&value, target, &mut Vec::new());
                match supports(target, &value) {
                    Ok(()) => assert!(encoded.is_ok()),
                    Err(EncodeError::Unsupported { why, .. }) => {
                        assert!(
                            matches!(encoded, Err(EncodeError::Unsupported { why: w, .. }) if w == why)
                        );
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }
}
