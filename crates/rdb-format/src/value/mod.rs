//! Decoding a value into lazy views ([`Value`]) over the dump's bytes.

mod hash;
mod zset;

pub use self::hash::{Hash, HashEntry};
use self::hash::{HashInner, PlainTtl};
pub use self::zset::ZSet;
use self::zset::ZSetInner;

pub use crate::encoding::{Encoding, Type};
use crate::error::{Error, Result};
use crate::read::blob::{blob, Pairs, Strings};
use crate::read::intset::Intset;
use crate::read::listpack::Listpack;
use crate::read::module::{module_value, Module};
use crate::read::origin::{finish, Origin};
use crate::read::primitive::{rdb_string, u64_le};
use crate::read::quicklist::Quicklist;
use crate::read::skip::skip_value;
use crate::read::stream::Stream;
use crate::read::string::{Scratch, Str};
use crate::read::ziplist::Ziplist;
use crate::read::zipmap::Zipmap;
use crate::version::Version;

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

impl List<'_> {
    /// Calls `f` with each element, head to tail, stopping at the first error. Unlike the
    /// iterator, which decompresses into the record's scratch (kept until it is reset, so a
    /// huge list held its whole decompressed size), compressed nodes and elements are
    /// decompressed into one buffer reused from one to the next: a list costs one node of
    /// memory whatever its size. An element lives for its call only.
    pub fn try_for_each_element<E: From<Error>>(
        self,
        mut f: impl FnMut(Str<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self.0 {
            ListInner::Strings(i) => i.try_for_each_string(&mut f),
            ListInner::Ziplist(mut i) => i.try_for_each(|item| f(item?)),
            ListInner::Quicklist(i) => i.try_for_each_element(&mut f),
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

impl Set<'_> {
    /// Calls `f` with each member, in file order, stopping at the first error. Unlike the
    /// iterator, which decompresses into the record's scratch (kept until it is reset),
    /// compressed members are decompressed into one buffer reused from one to the next. A
    /// member lives for its call only.
    pub fn try_for_each_member<E: From<Error>>(
        self,
        mut f: impl FnMut(Str<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self.0 {
            SetInner::Strings(i) => i.try_for_each_string(&mut f),
            // The other encodings are one blob, decompressed once.
            other => Set(other).try_for_each(|m| f(m?)),
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
