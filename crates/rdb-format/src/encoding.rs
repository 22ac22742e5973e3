//! The Redis type of a key and the on-disk encoding of its value (one per RDB type byte).

use crate::consts::*;
use crate::error::ErrorKind;
use crate::version::Version;

/// The Redis data type of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Type {
    /// String.
    String,
    /// List.
    List,
    /// Set.
    Set,
    /// Sorted set.
    ZSet,
    /// Hash.
    Hash,
    /// Stream.
    Stream,
    /// Module value.
    Module,
}

impl Type {
    /// The type as Redis's `TYPE` command names it.
    pub fn as_str(&self) -> &'static str {
        match self {
            Type::String => "string",
            Type::List => "list",
            Type::Set => "set",
            Type::ZSet => "zset",
            Type::Hash => "hash",
            Type::Stream => "stream",
            Type::Module => "module",
        }
    }
}

/// The on-disk encoding of a value: one per RDB type byte, named after Redis's `RDB_TYPE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
#[non_exhaustive]
pub enum Encoding {
    String,
    List,
    Set,
    ZSet,
    Hash,
    ZSet2,
    Module2,
    HashZipmap,
    ListZiplist,
    SetIntset,
    ZSetZiplist,
    HashZiplist,
    ListQuicklist,
    StreamListpacks,
    HashListpack,
    ZSetListpack,
    ListQuicklist2,
    StreamListpacks2,
    SetListpack,
    StreamListpacks3,
    HashMetadataPreGa,
    HashListpackExPreGa,
    HashMetadata,
    HashListpackEx,
    /// Redis 8.6's stream with idempotent-producer state (type byte 26).
    StreamListpacks4,
    /// Valkey 9's hash with field TTLs (type byte 22 in a `VALKEY` file).
    ValkeyHash2,
}

impl Encoding {
    /// The encoding of type byte `b` in a file of `version`, or an error naming the byte.
    pub fn from_type_byte(b: u8, version: Version) -> std::result::Result<Encoding, ErrorKind> {
        use Encoding::*;
        let unknown = |hint: &'static str| ErrorKind::UnknownByte {
            what: "type",
            byte: b,
            version: version.number,
            hint: hint.into(),
        };
        Ok(match b {
            RDB_TYPE_STRING => String,
            RDB_TYPE_LIST => List,
            RDB_TYPE_SET => Set,
            RDB_TYPE_ZSET => ZSet,
            RDB_TYPE_HASH => Hash,
            RDB_TYPE_ZSET_2 => ZSet2,
            RDB_TYPE_MODULE_PRE_GA => {
                return Err(unknown(
                    ": a Redis 4.0 release-candidate module value carries no opcode annotations, so it cannot be skipped",
                ))
            }
            RDB_TYPE_MODULE_2 => Module2,
            RDB_TYPE_HASH_ZIPMAP => HashZipmap,
            RDB_TYPE_LIST_ZIPLIST => ListZiplist,
            RDB_TYPE_SET_INTSET => SetIntset,
            RDB_TYPE_ZSET_ZIPLIST => ZSetZiplist,
            RDB_TYPE_HASH_ZIPLIST => HashZiplist,
            RDB_TYPE_LIST_QUICKLIST => ListQuicklist,
            RDB_TYPE_STREAM_LISTPACKS => StreamListpacks,
            RDB_TYPE_HASH_LISTPACK => HashListpack,
            RDB_TYPE_ZSET_LISTPACK => ZSetListpack,
            RDB_TYPE_LIST_QUICKLIST_2 => ListQuicklist2,
            RDB_TYPE_STREAM_LISTPACKS_2 => StreamListpacks2,
            RDB_TYPE_SET_LISTPACK => SetListpack,
            RDB_TYPE_STREAM_LISTPACKS_3 => StreamListpacks3,
            VALKEY_RDB_TYPE_HASH_2 if version.is_valkey() => ValkeyHash2,
            RDB_TYPE_HASH_LISTPACK_EX_PRE_GA if version.is_valkey() => {
                return Err(unknown(" (Valkey PATH_HASH): its layout is not supported yet"))
            }
            RDB_TYPE_HASH_METADATA_PRE_GA => HashMetadataPreGa,
            RDB_TYPE_HASH_LISTPACK_EX_PRE_GA => HashListpackExPreGa,
            RDB_TYPE_HASH_METADATA if !version.is_valkey() => HashMetadata,
            RDB_TYPE_HASH_LISTPACK_EX if !version.is_valkey() => HashListpackEx,
            RDB_TYPE_STREAM_LISTPACKS_4 if !version.is_valkey() => StreamListpacks4,
            RDB_TYPE_STREAM_LISTPACKS_5 if !version.is_valkey() => {
                return Err(unknown(
                    " (Redis 8.8+ stream with a NACK zone): its layout is not verified against a real server yet",
                ))
            }
            RDB_TYPE_ARRAY..=32 if !version.is_valkey() => {
                return Err(unknown(
                    " (Redis 8.8+ array or hash-template type): its layout is not verified against a real server yet",
                ))
            }
            _ => return Err(unknown("")),
        })
    }

    /// The Redis data type stored with this encoding.
    pub fn data_type(&self) -> Type {
        use Encoding::*;
        match self {
            String => Type::String,
            List | ListZiplist | ListQuicklist | ListQuicklist2 => Type::List,
            Set | SetIntset | SetListpack => Type::Set,
            ZSet | ZSet2 | ZSetZiplist | ZSetListpack => Type::ZSet,
            Hash | HashZipmap | HashZiplist | HashListpack | HashMetadataPreGa
            | HashListpackExPreGa | HashMetadata | HashListpackEx | ValkeyHash2 => Type::Hash,
            StreamListpacks | StreamListpacks2 | StreamListpacks3 | StreamListpacks4 => {
                Type::Stream
            }
            Module2 => Type::Module,
        }
    }

    /// The encoding's name: Redis's `RDB_TYPE_*` constant without the prefix, lower case.
    pub fn as_str(&self) -> &'static str {
        use Encoding::*;
        match self {
            String => "string",
            List => "list",
            Set => "set",
            ZSet => "zset",
            Hash => "hash",
            ZSet2 => "zset_2",
            Module2 => "module_2",
            HashZipmap => "hash_zipmap",
            ListZiplist => "list_ziplist",
            SetIntset => "set_intset",
            ZSetZiplist => "zset_ziplist",
            HashZiplist => "hash_ziplist",
            ListQuicklist => "list_quicklist",
            StreamListpacks => "stream_listpacks",
            HashListpack => "hash_listpack",
            ZSetListpack => "zset_listpack",
            ListQuicklist2 => "list_quicklist_2",
            StreamListpacks2 => "stream_listpacks_2",
            SetListpack => "set_listpack",
            StreamListpacks3 => "stream_listpacks_3",
            StreamListpacks4 => "stream_listpacks_4",
            HashMetadataPreGa => "hash_metadata_pre_ga",
            HashListpackExPreGa => "hash_listpack_ex_pre_ga",
            HashMetadata => "hash_metadata",
            HashListpackEx => "hash_listpack_ex",
            ValkeyHash2 => "hash_2",
        }
    }
}
