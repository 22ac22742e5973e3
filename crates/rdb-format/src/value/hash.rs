//! A hash's fields, values and field expiries, whatever the encoding.

use crate::error::{Error, Result};
use crate::read::blob::{Pairs, Strings};
use crate::read::listpack::Listpack;
use crate::read::origin::finish;
use crate::read::primitive::{i64_le, length};
use crate::read::string::Str;
use crate::read::ziplist::Ziplist;
use crate::read::zipmap::Zipmap;

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
pub struct Hash<'b>(pub(super) HashInner<'b>);

#[derive(Clone, Debug)]
pub(super) enum HashInner<'b> {
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
pub(super) enum PlainTtl {
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
    /// Calls `f` with each entry, in file order, stopping at the first error. Unlike the
    /// iterator, which decompresses into the record's scratch (kept until it is reset, so a
    /// huge hash held its whole decompressed size, once per pass), compressed fields and
    /// values are decompressed into two buffers reused from one entry to the next. An entry
    /// lives for its call only.
    pub fn try_for_each_entry<E: From<Error>>(
        self,
        mut f: impl FnMut(HashEntry<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self.0 {
            HashInner::Plain { mut strings, ttl } => {
                let (mut field, mut value) = (Vec::new(), Vec::new());
                while strings.remaining > 0 {
                    strings.remaining -= 1;
                    f(Self::next_plain(
                        &mut strings,
                        ttl,
                        Some((&mut field, &mut value)),
                    )?)?;
                }
                Ok(())
            }
            // The other encodings are one blob, decompressed once.
            other => Hash(other).try_for_each(|e| f(e?)),
        }
    }

    /// The next entry of a plain hash, its compressed strings decompressed into `bufs`
    /// (field, value) or, without them, into the scratch.
    fn next_plain<'o>(
        strings: &mut Strings<'b>,
        ttl: PlainTtl,
        bufs: Option<(&'o mut Vec<u8>, &'o mut Vec<u8>)>,
    ) -> Result<HashEntry<'o>>
    where
        'b: 'o,
    {
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
        let (field, value) = match bufs {
            Some((field, value)) => (
                strings.next_string_in(field)?,
                strings.next_string_in(value)?,
            ),
            None => (strings.next_string()?, strings.next_string()?),
        };
        if let PlainTtl::Valkey = ttl {
            let (rest, t) = finish(&strings.origin, i64_le(strings.rest, "hash field expiry"))?;
            strings.rest = rest;
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
                let r = Self::next_plain(strings, *ttl, None);
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
