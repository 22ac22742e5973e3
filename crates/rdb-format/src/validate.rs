//! Deep validation of values: what Redis's `sanitize-dump-payload yes` and `redis-check-rdb`
//! check beyond the decoder's own structural checks.
//!
//! Decoding a value lazily (as [`Record::value`] does) checks each element when it is read;
//! [`validate_record`] reads every element, and adds the rules that make a value loadable
//! by a server: no duplicate set members, hash fields or zset members (Redis refuses them,
//! and a duplicate inside a listpack or ziplist corrupts the server's memory once loaded),
//! intsets sorted and unique, no NaN zset score, stream entry ids increasing and matching
//! the stream's length, consumer-group pending lists consistent with their consumers.
//! Empty collections are reported as [`Verdict::Empty`]: Redis never writes them and skips
//! them when loading, so callers decide whether that is an error.
//!
//! Duplicates are found with 128-bit fingerprints ([`fingerprint`]), 16 bytes per element,
//! so memory stays proportional to the largest collection's element count, not its bytes.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::decoder::Record;
use crate::error::{Error, ErrorKind, Result};
use crate::read::stream::{Stream, StreamId};
use crate::read::string::{Scratch, Str};
use crate::value::{Encoding, Type, Value};

/// The outcome of a validation that found nothing corrupt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The value is valid.
    Valid,
    /// A collection with no elements (Redis skips such keys when loading).
    Empty(Type),
}

/// Decodes every element of `record`'s value and checks it as Redis's deep sanitisation
/// does. Errors name the offset of the value (or of the element the decoder stopped at).
pub fn validate_record(record: &Record<'_>, scratch: &Scratch) -> Result<Verdict> {
    let value = record.value(scratch)?;
    validate_value(record.encoding, value, record.value_offset)
}

/// [`validate_record`] for a value already decoded from encoding `enc` at offset `at`.
pub fn validate_value(enc: Encoding, value: Value<'_>, at: u64) -> Result<Verdict> {
    let counted = |n: u64, t: Type| {
        Ok(if n == 0 {
            Verdict::Empty(t)
        } else {
            Verdict::Valid
        })
    };
    match value {
        Value::String(_) | Value::Module(_) => Ok(Verdict::Valid),
        Value::List(items) => {
            let mut n = 0u64;
            for item in items {
                item?;
                n += 1;
            }
            counted(n, Type::List)
        }
        Value::Set(members) => {
            let mut n = 0u64;
            if enc == Encoding::SetIntset {
                // Redis binary-searches intsets: out of order means members cannot be found.
                let mut prev: Option<i64> = None;
                for m in members {
                    let v = match m? {
                        Str::Int(v) => v,
                        Str::Bytes(_) => return Err(invalid(at, "intset", "non-integer member")),
                    };
                    if prev.is_some_and(|p| p >= v) {
                        return Err(invalid(
                            at,
                            "intset",
                            format!("member {} is not in ascending order (duplicate or unsorted intset)", n + 1),
                        ));
                    }
                    prev = Some(v);
                    n += 1;
                }
            } else {
                let mut seen = Seen::default();
                for m in members {
                    if !seen.insert(m?) {
                        return Err(invalid(
                            at,
                            "set",
                            format!("member {} is a duplicate", n + 1),
                        ));
                    }
                    n += 1;
                }
            }
            counted(n, Type::Set)
        }
        Value::ZSet(members) => {
            let mut seen = Seen::default();
            let mut n = 0u64;
            for m in members {
                let (member, score) = m?;
                if score.is_nan() {
                    return Err(invalid(
                        at,
                        "zset",
                        format!("member {} has a NaN score", n + 1),
                    ));
                }
                if !seen.insert(member) {
                    return Err(invalid(
                        at,
                        "zset",
                        format!("member {} is a duplicate", n + 1),
                    ));
                }
                n += 1;
            }
            counted(n, Type::ZSet)
        }
        Value::Hash(fields) => {
            let mut seen = Seen::default();
            let mut n = 0u64;
            for f in fields {
                if !seen.insert(f?.field) {
                    return Err(invalid(
                        at,
                        "hash",
                        format!("field {} is a duplicate", n + 1),
                    ));
                }
                n += 1;
            }
            counted(n, Type::Hash)
        }
        Value::Stream(s) => {
            validate_stream(&s, at)?;
            Ok(Verdict::Valid)
        }
    }
}

/// Entry ids increasing and counted by `length`, the last one not after `last_id`; group
/// names, consumer names and pending ids unique; every id a consumer holds pending is in
/// its group's pending list, and every pending entry belongs to one consumer.
fn validate_stream(s: &Stream<'_>, at: u64) -> Result<()> {
    let mut n = 0u64;
    let mut prev: Option<StreamId> = None;
    for e in s.entries() {
        let e = e?;
        for f in e.fields {
            f?;
        }
        if prev.is_some_and(|p| p >= e.id) {
            return Err(invalid(
                at,
                "stream",
                format!("entry id {} is not after the one before it", e.id),
            ));
        }
        prev = Some(e.id);
        n += 1;
    }
    if n != s.length {
        return Err(invalid(
            at,
            "stream",
            format!("length says {} entries, found {n}", s.length),
        ));
    }
    if let Some(p) = prev {
        if p > s.last_id {
            return Err(invalid(
                at,
                "stream",
                format!("entry {p} is after the stream's last id {}", s.last_id),
            ));
        }
    }
    let mut groups = Seen::default();
    for g in s.groups() {
        let g = g?;
        if !groups.insert(g.name) {
            return Err(invalid(at, "stream consumer group", "duplicate group name"));
        }
        let mut pel = HashSet::new();
        for p in g.pending {
            let p = p?;
            if !pel.insert(p.id) {
                return Err(invalid(
                    at,
                    "stream consumer group",
                    format!("pending entry {} listed twice", p.id),
                ));
            }
        }
        let mut consumers = Seen::default();
        let mut owned = 0usize;
        for c in g.consumers {
            let c = c?;
            if !consumers.insert(c.name) {
                return Err(invalid(at, "stream consumer", "duplicate consumer name"));
            }
            for id in c.pending {
                // Removing makes a second claim of the same entry fail too.
                if !pel.remove(&id) {
                    return Err(invalid(
                        at,
                        "stream consumer",
                        format!("pending id {id} is not in its group's pending list (or is claimed twice)"),
                    ));
                }
                owned += 1;
            }
        }
        if !pel.is_empty() {
            return Err(invalid(
                at,
                "stream consumer group",
                format!(
                    "{} pending entries belong to no consumer ({owned} do)",
                    pel.len()
                ),
            ));
        }
    }
    Ok(())
}

fn invalid(
    at: u64,
    context: &'static str,
    msg: impl Into<std::borrow::Cow<'static, str>>,
) -> Error {
    Error::new(at, context, ErrorKind::Invalid(msg.into()))
}

/// A 128-bit fingerprint of `bytes` (two independent 64-bit SipHashes): equal inputs give
/// equal fingerprints; different ones collide with probability about 2^-128 per pair.
pub fn fingerprint(bytes: &[u8]) -> u128 {
    let half = |seed: u8| {
        // SipHash-2-4 with fixed keys: deterministic, and std has no stable 128-bit hash.
        #[allow(deprecated)]
        let mut h =
            std::hash::SipHasher::new_with_keys(0x5eed_0000 | u64::from(seed), 0x7264_622d_6677);
        h.write(bytes);
        h.finish()
    };
    (u128::from(half(1)) << 64) | u128::from(half(2))
}

/// A set of byte strings kept as [`fingerprint`]s: 16 bytes per member plus the table's
/// overhead, whatever the strings' lengths (duplicate keys of a whole dump, duplicate members
/// of one collection).
#[derive(Clone, Debug, Default)]
pub struct FingerprintSet(HashSet<u128, BuildHasherDefault<LowBits>>);

impl FingerprintSet {
    /// An empty set with room for `n` members.
    pub fn with_capacity(n: usize) -> Self {
        FingerprintSet(HashSet::with_capacity_and_hasher(n, Default::default()))
    }

    /// Adds `bytes`; false if it was there already.
    pub fn insert(&mut self, bytes: &[u8]) -> bool {
        self.0.insert(fingerprint(bytes))
    }

    /// The number of members.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Fingerprints are already uniform: the table uses their low bits instead of hashing again.
#[derive(Clone, Copy, Debug, Default)]
pub struct LowBits(u64);

impl Hasher for LowBits {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only reached for non-u128 keys, which this hasher is not used with.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.0 = v as u64;
    }
}

/// Members seen so far; integers count as their decimal text, as Redis compares them.
#[derive(Default)]
struct Seen(FingerprintSet);

impl Seen {
    fn insert(&mut self, s: Str<'_>) -> bool {
        match s {
            Str::Bytes(b) => self.0.insert(b),
            Str::Int(i) => self.0.insert(i.to_string().as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::{ListpackWriter, RdbWriter};
    use crate::{Decoder, Flavor, Item, Version};

    const V11: Version = Version {
        flavor: Flavor::Redis,
        number: 11,
    };

    /// Validates the one record of a dump holding `type_byte` + `value`.
    fn check(type_byte: u8, value: &[u8]) -> Result<Verdict> {
        let mut w = RdbWriter::new(Vec::new(), V11).unwrap();
        w.select_db(0).unwrap();
        w.record(b"k", None, type_byte, value).unwrap();
        let file = w.finish().unwrap();
        let scratch = Scratch::new();
        for item in Decoder::new(&file).unwrap() {
            if let Item::Record(r) = item.unwrap() {
                return validate_record(&r, &scratch);
            }
        }
        unreachable!()
    }

    fn listpack(items: &[&[u8]]) -> Vec<u8> {
        let mut lp = ListpackWriter::new();
        for i in items {
            lp.push_bytes(i);
        }
        let blob = lp.finish().unwrap();
        let mut out = Vec::new();
        crate::write::rdb_string(&mut out, &blob);
        out
    }

    fn intset(width: u32, members: &[i64]) -> Vec<u8> {
        let mut blob = width.to_le_bytes().to_vec();
        blob.extend((members.len() as u32).to_le_bytes());
        for m in members {
            blob.extend(&m.to_le_bytes()[..width as usize]);
        }
        let mut out = Vec::new();
        crate::write::rdb_string(&mut out, &blob);
        out
    }

    #[test]
    fn duplicates_in_listpacks() {
        use crate::consts::*;
        assert_eq!(
            check(RDB_TYPE_SET_LISTPACK, &listpack(&[b"a", b"b"])).unwrap(),
            Verdict::Valid
        );
        // "7" as text and as an integer entry are the same member.
        let e = check(RDB_TYPE_SET_LISTPACK, &listpack(&[b"7", b"x", b"7"])).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        let e = check(RDB_TYPE_HASH_LISTPACK, &listpack(&[b"f", b"1", b"f", b"2"])).unwrap_err();
        assert!(e.to_string().contains("field 2 is a duplicate"), "{e}");
        let e = check(RDB_TYPE_ZSET_LISTPACK, &listpack(&[b"m", b"1", b"m", b"2"])).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        let e = check(RDB_TYPE_ZSET_LISTPACK, &listpack(&[b"m", b"nan"])).unwrap_err();
        assert!(e.to_string().contains("NaN"), "{e}");
    }

    #[test]
    fn intsets_sorted_and_unique() {
        use crate::consts::*;
        assert_eq!(
            check(RDB_TYPE_SET_INTSET, &intset(2, &[-1, 5])).unwrap(),
            Verdict::Valid
        );
        assert!(check(RDB_TYPE_SET_INTSET, &intset(2, &[5, -1])).is_err());
        assert!(check(RDB_TYPE_SET_INTSET, &intset(4, &[3, 3])).is_err());
    }

    #[test]
    fn empty_collections() {
        use crate::consts::*;
        assert_eq!(
            check(RDB_TYPE_SET_LISTPACK, &listpack(&[])).unwrap(),
            Verdict::Empty(Type::Set)
        );
        assert_eq!(
            check(RDB_TYPE_LIST, &[0]).unwrap(),
            Verdict::Empty(Type::List)
        );
    }

    #[test]
    fn fingerprints_differ() {
        assert_eq!(fingerprint(b"a"), fingerprint(b"a"));
        assert_ne!(fingerprint(b"a"), fingerprint(b"b"));
        assert_ne!(fingerprint(b""), fingerprint(b"\0"));
    }
}
