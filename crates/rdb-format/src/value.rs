//! Values: the Redis type and on-disk encoding of a record, skipping a value without decoding
//! it, and decoding it into lazy views ([`Value`]).

use crate::consts::*;
use crate::error::{Error, ErrorKind, Result};
use crate::intset::Intset;
use crate::listpack::Listpack;
use crate::module::{module_value, Module};
use crate::parse::{
    array, byte, count, finish, invalid, length, rdb_string, skip_string, u64_le, Fail, Origin,
    PResult,
};
use crate::quicklist::Quicklist;
use crate::stream::{skip_stream, Stream};
use crate::string::{RdbString, Scratch, Str};
use crate::version::Version;
use crate::ziplist::Ziplist;
use crate::zipmap::Zipmap;

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

/// Skips a value of encoding `enc`, returning the input after it.
pub(crate) fn skip_value(enc: Encoding, input: &[u8]) -> PResult<'_, ()> {
    use Encoding::*;
    let rest = match enc {
        String | HashZipmap | ListZiplist | SetIntset | ZSetZiplist | HashZiplist
        | HashListpack | ZSetListpack | SetListpack | HashListpackExPreGa => skip_string(input)?.0,
        List | Set | ListQuicklist => {
            let (mut rest, n) = count(input, 1, "collection length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
            }
            rest
        }
        ZSet => {
            let (mut rest, n) = count(input, 2, "zset length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
                rest = string_double(rest)?.0;
            }
            rest
        }
        Hash => {
            let (mut rest, n) = count(input, 2, "hash length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
                rest = skip_string(rest)?.0;
            }
            rest
        }
        ZSet2 => {
            let (mut rest, n) = count(input, 9, "zset length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
                rest = array::<8>(rest, "zset score")?.0;
            }
            rest
        }
        Module2 => module_value(input)?.0,
        ListQuicklist2 => {
            let (mut rest, n) = count(input, 2, "quicklist length")?;
            for _ in 0..n {
                rest = length(rest)?.0;
                rest = skip_string(rest)?.0;
            }
            rest
        }
        StreamListpacks | StreamListpacks2 | StreamListpacks3 | StreamListpacks4 => {
            skip_stream(enc, input)?.0
        }
        HashMetadataPreGa | HashMetadata => {
            let mut rest = input;
            if enc == HashMetadata {
                rest = u64_le(rest, "hash min expire")?.0;
            }
            let (mut rest, n) = count(rest, 3, "hash length")?;
            for _ in 0..n {
                rest = length(rest)?.0;
                rest = skip_string(rest)?.0;
                rest = skip_string(rest)?.0;
            }
            rest
        }
        HashListpackEx => skip_string(u64_le(input, "hash min expire")?.0)?.0,
        ValkeyHash2 => {
            let (mut rest, n) = count(input, 10, "hash length")?;
            for _ in 0..n {
                rest = skip_string(rest)?.0;
                rest = skip_string(rest)?.0;
                rest = array::<8>(rest, "hash field expiry")?.0;
            }
            rest
        }
    };
    Ok((rest, ()))
}

/// A zset score written as text (type `ZSET`): length byte, or 253/254/255 for nan/+inf/-inf.
pub(crate) fn string_double(input: &[u8]) -> PResult<'_, f64> {
    let (rest, n) = byte(input, "zset score")?;
    match n {
        253 => Ok((rest, f64::NAN)),
        254 => Ok((rest, f64::INFINITY)),
        255 => Ok((rest, f64::NEG_INFINITY)),
        _ => {
            let (rest2, text) = crate::parse::take_len(rest, u64::from(n), "zset score")?;
            match parse_f64(text) {
                Some(v) => Ok((rest2, v)),
                None => invalid(input, "zset score", "score is not a number"),
            }
        }
    }
}

/// Parses a score as Redis's `strtod` would for scores it wrote.
pub(crate) fn parse_f64(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    s.trim().parse::<f64>().ok()
}

/// A decoded value. Collections are lazy iterators over the dump's bytes.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Value<'b> {
    /// A string.
    String(Str<'b>),
    /// A list's elements, head to tail.
    List(List<'b>),
    /// A set's members.
    Set(Set<'b>),
    /// A sorted set's members and scores, in file order.
    ZSet(ZSet<'b>),
    /// A hash's fields, values and field expiries.
    Hash(Hash<'b>),
    /// A stream.
    Stream(Stream<'b>),
    /// A module value, kept raw.
    Module(Module<'b>),
}

impl<'b> Value<'b> {
    /// Decodes every element and counts them: list items, set members, zset members, hash
    /// fields, stream entries; 1 for strings and module values.
    pub fn element_count(self) -> Result<u64> {
        fn count<T>(mut items: impl Iterator<Item = Result<T>>) -> Result<u64> {
            items.try_fold(0u64, |n, item| item.map(|_| n + 1))
        }
        match self {
            Value::String(_) | Value::Module(_) => Ok(1),
            Value::List(items) => count(items),
            Value::Set(members) => count(members),
            Value::ZSet(members) => count(members),
            Value::Hash(fields) => count(fields),
            Value::Stream(stream) => count(stream.entries()),
        }
    }

    /// Decodes a value given its type byte and serialized bytes, as in a `DUMP` payload
    /// (without its version and CRC trailer). `version` picks the meaning of bytes that
    /// Redis and Valkey use differently. Errors name offsets relative to `payload`.
    pub fn decode(
        type_byte: u8,
        version: Version,
        payload: &'b [u8],
        scratch: &'b Scratch,
    ) -> Result<Value<'b>> {
        let enc = Encoding::from_type_byte(type_byte, version)
            .map_err(|kind| Error::new(0, "value", kind))?;
        let (rest, ()) = finish(&Origin::new(payload, 0), skip_value(enc, payload))?;
        let raw = &payload[..payload.len() - rest.len()];
        decode_value(enc, raw, 0, scratch)
    }
}

/// Reads one RDB string that holds a blob, decompressing it into `scratch` if needed.
pub(crate) fn blob<'b>(
    input: &'b [u8],
    origin: &Origin<'b>,
    scratch: &'b Scratch,
    context: &'static str,
) -> Result<(&'b [u8], &'b [u8], Origin<'b>)> {
    let (rest, s) = finish(origin, rdb_string(input))?;
    match s {
        RdbString::Raw(b) => Ok((rest, b, origin.sub(b))),
        RdbString::Lzf {
            compressed, len, ..
        } => {
            let at = origin.offset_of(input);
            let bytes = scratch.decompress(compressed, len, at)?;
            Ok((rest, bytes, Origin::decompressed(bytes, at)))
        }
        RdbString::Int(_) => Err(origin.error(Fail {
            at: input,
            context,
            kind: ErrorKind::Invalid("expected a blob, found an integer-encoded string".into()),
        })),
    }
}

/// A sequence of `n` RDB strings (plain lists and sets).
#[derive(Clone, Debug)]
pub(crate) struct Strings<'b> {
    rest: &'b [u8],
    remaining: u64,
    origin: Origin<'b>,
    scratch: &'b Scratch,
}

impl<'b> Strings<'b> {
    fn new(input: &'b [u8], origin: Origin<'b>, scratch: &'b Scratch) -> Result<Self> {
        let (rest, n) = finish(&origin, count(input, 1, "collection length"))?;
        Ok(Strings {
            rest,
            remaining: n,
            origin,
            scratch,
        })
    }

    fn next_string(&mut self) -> Result<Str<'b>> {
        let at = self.origin.offset_of(self.rest);
        let (rest, s) = finish(&self.origin, rdb_string(self.rest))?;
        self.rest = rest;
        s.located(at).decode(self.scratch)
    }
}

impl<'b> Iterator for Strings<'b> {
    type Item = Result<Str<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let r = self.next_string();
        if r.is_err() {
            self.remaining = 0;
        }
        Some(r)
    }
}

/// A list's elements.
#[derive(Clone, Debug)]
pub struct List<'b>(ListInner<'b>);

#[derive(Clone, Debug)]
enum ListInner<'b> {
    Strings(Strings<'b>),
    Ziplist(Ziplist<'b>),
    Quicklist(Quicklist<'b>),
}

impl<'b> Iterator for List<'b> {
    type Item = Result<Str<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            ListInner::Strings(i) => i.next(),
            ListInner::Ziplist(i) => i.next(),
            ListInner::Quicklist(i) => i.next(),
        }
    }
}

/// A set's members.
#[derive(Clone, Debug)]
pub struct Set<'b>(SetInner<'b>);

#[derive(Clone, Debug)]
enum SetInner<'b> {
    Strings(Strings<'b>),
    Intset(Intset<'b>),
    Listpack(Listpack<'b>),
}

impl<'b> Iterator for Set<'b> {
    type Item = Result<Str<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            SetInner::Strings(i) => i.next(),
            SetInner::Intset(i) => i.next(),
            SetInner::Listpack(i) => i.next(),
        }
    }
}

/// Two entries at a time from a blob iterator (hash fields and values, zset members and scores).
#[derive(Clone, Debug)]
struct Pairs<I> {
    inner: I,
    at: u64,
}

impl<'b, I: Iterator<Item = Result<Str<'b>>>> Iterator for Pairs<I> {
    type Item = Result<(Str<'b>, Str<'b>)>;
    fn next(&mut self) -> Option<Self::Item> {
        let a = match self.inner.next()? {
            Ok(a) => a,
            Err(e) => return Some(Err(e)),
        };
        match self.inner.next() {
            Some(Ok(b)) => Some(Ok((a, b))),
            Some(Err(e)) => Some(Err(e)),
            None => Some(Err(Error::new(
                self.at,
                "blob",
                ErrorKind::Invalid("odd number of entries where pairs were expected".into()),
            ))),
        }
    }
}

/// A sorted set's `(member, score)` pairs in file order.
#[derive(Clone, Debug)]
pub struct ZSet<'b>(ZSetInner<'b>);

#[derive(Clone, Debug)]
enum ZSetInner<'b> {
    /// Ended by an error.
    Done,
    /// `ZSET` (text scores) or `ZSET_2` (binary scores).
    Plain {
        strings: Strings<'b>,
        binary: bool,
    },
    Ziplist(Pairs<Ziplist<'b>>),
    Listpack(Pairs<Listpack<'b>>),
}

fn blob_score(s: Str<'_>, at: u64) -> Result<f64> {
    match s {
        Str::Int(i) => Ok(i as f64),
        Str::Bytes(b) => parse_f64(b).ok_or_else(|| {
            Error::new(
                at,
                "zset score",
                ErrorKind::Invalid("score is not a number".into()),
            )
        }),
    }
}

impl<'b> ZSet<'b> {
    fn next_plain(strings: &mut Strings<'b>, binary: bool) -> Result<(Str<'b>, f64)> {
        let member = strings.next_string()?;
        let (rest, score) = if binary {
            let (rest, a) = finish(&strings.origin, array::<8>(strings.rest, "zset score"))?;
            (rest, f64::from_le_bytes(a))
        } else {
            finish(&strings.origin, string_double(strings.rest))?
        };
        strings.rest = rest;
        Ok((member, score))
    }
}

impl<'b> Iterator for ZSet<'b> {
    type Item = Result<(Str<'b>, f64)>;
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.step();
        if let Some(Err(_)) = r {
            // Nothing after an error: the rest of the blob cannot be trusted.
            self.0 = ZSetInner::Done;
        }
        r
    }
}

impl<'b> ZSet<'b> {
    fn step(&mut self) -> Option<Result<(Str<'b>, f64)>> {
        match &mut self.0 {
            ZSetInner::Done => None,
            ZSetInner::Plain { strings, binary } => {
                if strings.remaining == 0 {
                    return None;
                }
                strings.remaining -= 1;
                let r = Self::next_plain(strings, *binary);
                if r.is_err() {
                    strings.remaining = 0;
                }
                Some(r)
            }
            ZSetInner::Ziplist(p) => {
                let at = p.at;
                Some(p.next()?.and_then(|(m, s)| Ok((m, blob_score(s, at)?))))
            }
            ZSetInner::Listpack(p) => {
                let at = p.at;
                Some(p.next()?.and_then(|(m, s)| Ok((m, blob_score(s, at)?))))
            }
        }
    }
}

/// One hash field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashEntry<'b> {
    /// The field name.
    pub field: Str<'b>,
    /// The value.
    pub value: Str<'b>,
    /// The field's absolute expiry in unix milliseconds, if it has a TTL.
    pub expire_ms: Option<i64>,
}

/// A hash's fields in file order.
#[derive(Clone, Debug)]
pub struct Hash<'b>(HashInner<'b>);

#[derive(Clone, Debug)]
enum HashInner<'b> {
    /// Ended by an error.
    Done,
    /// Plain pairs; `Metadata` adds a TTL before each pair, `ValkeyHash2` one after.
    Plain {
        strings: Strings<'b>,
        ttl: PlainTtl,
    },
    Zipmap(Zipmap<'b>),
    Ziplist(Pairs<Ziplist<'b>>),
    Listpack(Pairs<Listpack<'b>>),
    /// Field, value, absolute TTL (0 = none).
    ListpackEx(Listpack<'b>),
}

#[derive(Clone, Copy, Debug)]
enum PlainTtl {
    None,
    /// `HASH_METADATA`: relative to the key's minimum expiry.
    Relative {
        min_expire: u64,
    },
    /// `HASH_METADATA_PRE_GA`: absolute, 0 = none.
    Absolute,
    /// Valkey `HASH_2`: i64 after the value, -1 = none.
    Valkey,
}

impl<'b> Hash<'b> {
    fn next_plain(strings: &mut Strings<'b>, ttl: PlainTtl) -> Result<HashEntry<'b>> {
        let mut expire_ms = None;
        match ttl {
            PlainTtl::Relative { min_expire } => {
                let (rest, t) = finish(&strings.origin, length(strings.rest))?;
                strings.rest = rest;
                if t != 0 {
                    expire_ms = Some(t.wrapping_add(min_expire).wrapping_sub(1) as i64);
                }
            }
            PlainTtl::Absolute => {
                let (rest, t) = finish(&strings.origin, length(strings.rest))?;
                strings.rest = rest;
                if t != 0 {
                    expire_ms = Some(t as i64);
                }
            }
            PlainTtl::None | PlainTtl::Valkey => {}
        }
        let field = strings.next_string()?;
        let value = strings.next_string()?;
        if let PlainTtl::Valkey = ttl {
            let (rest, a) = finish(
                &strings.origin,
                array::<8>(strings.rest, "hash field expiry"),
            )?;
            strings.rest = rest;
            let t = i64::from_le_bytes(a);
            if t != -1 {
                expire_ms = Some(t);
            }
        }
        Ok(HashEntry {
            field,
            value,
            expire_ms,
        })
    }
}

impl<'b> Iterator for Hash<'b> {
    type Item = Result<HashEntry<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.step();
        if let Some(Err(_)) = r {
            // Nothing after an error: the rest of the blob cannot be trusted.
            self.0 = HashInner::Done;
        }
        r
    }
}

impl<'b> Hash<'b> {
    fn step(&mut self) -> Option<Result<HashEntry<'b>>> {
        let pair = |(field, value)| HashEntry {
            field,
            value,
            expire_ms: None,
        };
        match &mut self.0 {
            HashInner::Done => None,
            HashInner::Plain { strings, ttl } => {
                if strings.remaining == 0 {
                    return None;
                }
                strings.remaining -= 1;
                let r = Self::next_plain(strings, *ttl);
                if r.is_err() {
                    strings.remaining = 0;
                }
                Some(r)
            }
            HashInner::Zipmap(i) => Some(i.next()?.map(pair)),
            HashInner::Ziplist(i) => Some(i.next()?.map(pair)),
            HashInner::Listpack(i) => Some(i.next()?.map(pair)),
            HashInner::ListpackEx(lp) => {
                let field = match lp.next()? {
                    Ok(f) => f,
                    Err(e) => return Some(Err(e)),
                };
                let r = (|| {
                    let value = lp.next_required("hash value")?;
                    let ttl = lp.next_int("hash field ttl")?;
                    Ok(HashEntry {
                        field,
                        value,
                        expire_ms: (ttl != 0).then_some(ttl),
                    })
                })();
                Some(r)
            }
        }
    }
}

/// Decodes a value whose bytes are `raw` (starting at absolute offset `offset`).
pub(crate) fn decode_value<'b>(
    enc: Encoding,
    raw: &'b [u8],
    offset: u64,
    scratch: &'b Scratch,
) -> Result<Value<'b>> {
    use Encoding::*;
    let origin = Origin::new(raw, offset);
    let at = offset;
    Ok(match enc {
        String => {
            let (_, s) = finish(&origin, rdb_string(raw))?;
            Value::String(s.located(offset).decode(scratch)?)
        }
        List => Value::List(self::List(ListInner::Strings(Strings::new(
            raw, origin, scratch,
        )?))),
        ListZiplist => {
            let (_, b, o) = blob(raw, &origin, scratch, "ziplist")?;
            Value::List(self::List(ListInner::Ziplist(Ziplist::new(b, o)?)))
        }
        ListQuicklist | ListQuicklist2 => Value::List(self::List(ListInner::Quicklist(
            Quicklist::new(raw, origin, scratch, enc == ListQuicklist2)?,
        ))),
        Set => Value::Set(self::Set(SetInner::Strings(Strings::new(
            raw, origin, scratch,
        )?))),
        SetIntset => {
            let (_, b, o) = blob(raw, &origin, scratch, "intset")?;
            Value::Set(self::Set(SetInner::Intset(Intset::new(b, o)?)))
        }
        SetListpack => {
            let (_, b, o) = blob(raw, &origin, scratch, "listpack")?;
            Value::Set(self::Set(SetInner::Listpack(Listpack::new(b, o)?)))
        }
        ZSet | ZSet2 => Value::ZSet(self::ZSet(ZSetInner::Plain {
            strings: Strings::new(raw, origin, scratch)?,
            binary: enc == ZSet2,
        })),
        ZSetZiplist => {
            let (_, b, o) = blob(raw, &origin, scratch, "ziplist")?;
            Value::ZSet(self::ZSet(ZSetInner::Ziplist(Pairs {
                inner: Ziplist::new(b, o)?,
                at,
            })))
        }
        ZSetListpack => {
            let (_, b, o) = blob(raw, &origin, scratch, "listpack")?;
            Value::ZSet(self::ZSet(ZSetInner::Listpack(Pairs {
                inner: Listpack::new(b, o)?,
                at,
            })))
        }
        Hash | HashMetadataPreGa | ValkeyHash2 => {
            let ttl = match enc {
                Hash => PlainTtl::None,
                HashMetadataPreGa => PlainTtl::Absolute,
                _ => PlainTtl::Valkey,
            };
            Value::Hash(self::Hash(HashInner::Plain {
                strings: Strings::new(raw, origin, scratch)?,
                ttl,
            }))
        }
        HashMetadata => {
            let (rest, min_expire) = finish(&origin, u64_le(raw, "hash min expire"))?;
            let strings = Strings::new(rest, origin, scratch)?;
            Value::Hash(self::Hash(HashInner::Plain {
                strings,
                ttl: PlainTtl::Relative { min_expire },
            }))
        }
        HashZipmap => {
            let (_, b, o) = blob(raw, &origin, scratch, "zipmap")?;
            Value::Hash(self::Hash(HashInner::Zipmap(Zipmap::new(b, o)?)))
        }
        HashZiplist => {
            let (_, b, o) = blob(raw, &origin, scratch, "ziplist")?;
            Value::Hash(self::Hash(HashInner::Ziplist(Pairs {
                inner: Ziplist::new(b, o)?,
                at,
            })))
        }
        HashListpack => {
            let (_, b, o) = blob(raw, &origin, scratch, "listpack")?;
            Value::Hash(self::Hash(HashInner::Listpack(Pairs {
                inner: Listpack::new(b, o)?,
                at,
            })))
        }
        HashListpackEx | HashListpackExPreGa => {
            let rest = if enc == HashListpackEx {
                // The stored minimum expiry can be stale; the per-field TTLs are authoritative.
                finish(&origin, u64_le(raw, "hash min expire"))?.0
            } else {
                raw
            };
            let (_, b, o) = blob(rest, &origin, scratch, "listpack")?;
            Value::Hash(self::Hash(HashInner::ListpackEx(Listpack::new(b, o)?)))
        }
        StreamListpacks | StreamListpacks2 | StreamListpacks3 | StreamListpacks4 => {
            Value::Stream(Stream::new(enc, raw, origin, scratch)?)
        }
        Module2 => Value::Module(finish(&origin, module_value(raw))?.1),
    })
}
