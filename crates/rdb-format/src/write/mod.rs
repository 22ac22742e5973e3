//! The other direction: writing RDB. No I/O; everything goes into `Vec<u8>`s or any
//! [`std::io::Write`].
//!
//! An [`RdbWriter`] writes a whole dump for a chosen target [`Version`]: the magic, aux fields,
//! functions, `SELECTDB`/`RESIZEDB`, key records (copied raw from another dump, or encoded from a
//! decoded [`Value`](crate::Value)), then `EOF` and the CRC64. [`dump_payload`] wraps one serialized value
//! the way `DUMP` does (type byte, value, 2-byte RDB version, CRC64), ready for `RESTORE`.
//!
//! Values are encoded for the target with [`encode_value`] (or the per-type functions
//! [`string`], [`list`], [`set`], [`zset`], [`hash`] and [`stream`], which take iterators so a
//! caller can encode part of a huge collection). The encoding chosen is one the target's
//! loader reads: compact encodings where they are simple and the target has them (listpack
//! nodes in a `QUICKLIST_2` list from RDB 10, ziplist nodes from RDB 7), plain encodings
//! otherwise (the server converts small collections to its compact encodings as it loads).
//! What the target cannot hold at all — a stream before RDB 9, hash fields with TTLs before
//! RDB 12 (Valkey: before `VALKEY080`), a module value before RDB 8 — is an
//! [`EncodeError::Unsupported`].
//!
//! When a record's on-disk encoding is one the target reads with the same meaning
//! ([`copyable`]), its bytes can be copied without decoding at all. [`transcode`] does that
//! choice in one call: a record's value for a target, copied or decoded and re-encoded
//! ([`Conversion`]); [`supports`] says whether a target can hold a value without writing it
//! out. Seeding a live server and splitting a dump both go through them.
//!
//! ```
//! use rdb_format::write::{dump_payload, encode_value, RdbWriter};
//! use rdb_format::{Decoder, Flavor, Item, Scratch, Str, Value, Version};
//!
//! let target = Version { flavor: Flavor::Redis, number: 9 };
//! let mut w = RdbWriter::new(Vec::new(), target)?;
//! w.aux(b"redis-ver", b"6.2.14")?;
//! w.select_db(0)?;
//! let mut value = Vec::new();
//! let type_byte = encode_value(&Value::String(Str::Bytes(b"hello")), target, &mut value)?;
//! w.record(b"greeting", Some(4102444800000), type_byte, &value)?;
//! let file = w.finish()?;
//!
//! let scratch = Scratch::new();
//! let keys = Decoder::new(&file)?
//!     .filter(|i| matches!(i, Ok(Item::Record(_))))
//!     .count();
//! assert_eq!(keys, 1);
//!
//! // The same value as a DUMP payload for RESTORE.
//! let payload = dump_payload(type_byte, &value, target);
//! assert_eq!(&payload[..7], b"\x00\x05hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod dump;
mod length;
mod listpack;
mod rdb_file;
mod rdb_string;
mod stream;
mod transcode;
mod value;
mod ziplist;

#[cfg(test)]
mod tests;

pub use self::dump::{dump_payload, payload_version, DumpPayload};
pub use self::length::length;
pub use self::listpack::ListpackWriter;
pub use self::rdb_file::RdbWriter;
pub use self::rdb_string::{rdb_str, rdb_string, rdb_string_copy};
pub use self::stream::{stream, stream_metadata_lost};
pub use self::transcode::{supports, transcode, Conversion, Transcoded};
pub use self::value::{encode_value, hash, list, set, string, zset};
pub use self::ziplist::ZiplistWriter;

use crate::value::Encoding;
use crate::version::{Flavor, Version};

/// Why a value or file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The target version cannot hold this value.
    #[error("{what} cannot be written for {target}: {why}")]
    Unsupported {
        /// What was to be written, e.g. `"a stream"`.
        what: &'static str,
        /// The target version.
        target: Version,
        /// What the target lacks.
        why: &'static str,
    },
    /// Decoding the source value failed.
    #[error(transparent)]
    Decode(#[from] crate::Error),
    /// A blob would exceed what its format can address (a listpack or ziplist over 4 GiB).
    #[error("{0} too large for its encoding")]
    TooLarge(&'static str),
    /// Writing the output failed.
    #[error("writing RDB output: {0}")]
    Io(#[from] std::io::Error),
}

/// Result with [`EncodeError`].
pub type Result<T, E = EncodeError> = std::result::Result<T, E>;

/// Whether a target loader reads `enc`, as written in a file of `source`, with the same
/// meaning, so the serialized value can be copied byte for byte.
///
/// Redis reads every encoding of its version and the ones before; Valkey 9 (`VALKEY080`+)
/// reads Redis's encodings up to RDB 11 and its own `HASH_2`. The 7.4 release-candidate hash
/// encodings are never copied.
pub fn copyable(enc: Encoding, source: Version, target: Version) -> bool {
    if enc == Encoding::ValkeyHash2 {
        return source.is_valkey() && target.is_valkey();
    }
    let Some(needs) = min_redis_version(enc) else {
        return false;
    };
    match target.flavor {
        Flavor::Redis => needs <= target.number,
        // Valkey reserves 12..=79 for foreign versions: it reads Redis encodings through 11.
        Flavor::Valkey => needs <= 11,
    }
}

/// The first Redis RDB version that has `enc` (None: not to be copied).
fn min_redis_version(enc: Encoding) -> Option<u32> {
    use Encoding::*;
    Some(match enc {
        String | List | Set | ZSet | Hash => 1,
        HashZipmap | ListZiplist | SetIntset | ZSetZiplist => 2,
        HashZiplist => 4,
        ListQuicklist => 7,
        ZSet2 | Module2 => 8,
        StreamListpacks => 9,
        HashListpack | ZSetListpack | ListQuicklist2 | StreamListpacks2 => 10,
        SetListpack | StreamListpacks3 => 11,
        HashMetadata | HashListpackEx => 12,
        StreamListpacks4 => 13,
        HashMetadataPreGa | HashListpackExPreGa | ValkeyHash2 => return None,
    })
}

/// Whether the target has hash-field TTLs (Redis RDB 12+, Valkey 9+).
pub(crate) fn has_field_ttls(target: Version) -> bool {
    match target.flavor {
        Flavor::Redis => target.number >= 12,
        Flavor::Valkey => true,
    }
}

/// The Redis-equivalent version for choosing layouts: Valkey 80+ writes RDB 11 layouts.
pub(crate) fn layout_version(target: Version) -> u32 {
    match target.flavor {
        Flavor::Redis => target.number,
        Flavor::Valkey => 11,
    }
}

/// The type byte that stands for `enc` on disk (the inverse of
/// [`Encoding::from_type_byte`]; `ValkeyHash2` and `HashMetadataPreGa` share byte 22, told
/// apart by the file's flavor).
pub fn type_byte(enc: Encoding) -> u8 {
    use crate::consts::*;
    use Encoding::*;
    match enc {
        String => RDB_TYPE_STRING,
        List => RDB_TYPE_LIST,
        Set => RDB_TYPE_SET,
        ZSet => RDB_TYPE_ZSET,
        Hash => RDB_TYPE_HASH,
        ZSet2 => RDB_TYPE_ZSET_2,
        Module2 => RDB_TYPE_MODULE_2,
        HashZipmap => RDB_TYPE_HASH_ZIPMAP,
        ListZiplist => RDB_TYPE_LIST_ZIPLIST,
        SetIntset => RDB_TYPE_SET_INTSET,
        ZSetZiplist => RDB_TYPE_ZSET_ZIPLIST,
        HashZiplist => RDB_TYPE_HASH_ZIPLIST,
        ListQuicklist => RDB_TYPE_LIST_QUICKLIST,
        StreamListpacks => RDB_TYPE_STREAM_LISTPACKS,
        HashListpack => RDB_TYPE_HASH_LISTPACK,
        ZSetListpack => RDB_TYPE_ZSET_LISTPACK,
        ListQuicklist2 => RDB_TYPE_LIST_QUICKLIST_2,
        StreamListpacks2 => RDB_TYPE_STREAM_LISTPACKS_2,
        SetListpack => RDB_TYPE_SET_LISTPACK,
        StreamListpacks3 => RDB_TYPE_STREAM_LISTPACKS_3,
        HashMetadataPreGa => RDB_TYPE_HASH_METADATA_PRE_GA,
        HashListpackExPreGa => RDB_TYPE_HASH_LISTPACK_EX_PRE_GA,
        HashMetadata => RDB_TYPE_HASH_METADATA,
        HashListpackEx => RDB_TYPE_HASH_LISTPACK_EX,
        ValkeyHash2 => VALKEY_RDB_TYPE_HASH_2,
        StreamListpacks4 => RDB_TYPE_STREAM_LISTPACKS_4,
    }
}
