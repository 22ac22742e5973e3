//! Owned copies of decoded values and items (feature `owned`).
//!
//! The decoder borrows everything from the dump and hands out lazy iterators, which is what a
//! single pass wants. Keeping a value after its [`Scratch`](crate::Scratch) is reset, comparing
//! two values, or building the expected contents of a dump in a test needs an owned copy
//! instead: [`OwnedValue`] holds everything a [`Value`] exposes (stream entries, consumer groups
//! with their PEL and consumers, IDMP state, hash field expiries, module opcode streams), and
//! [`OwnedItem`] everything an [`Item`](crate::Item) does.
//!
//! Building one decodes every element, so it is fallible: the first element error is returned.
//!
//! ```
//! use rdb_format::owned::{OwnedItem, OwnedStr, OwnedValue};
//! use rdb_format::{Decoder, Scratch};
//!
//! // A tiny RDB 11 dump holding `SET greeting hello`, with its checksum not computed.
//! let mut dump = b"REDIS0011\xfe\x00\x00\x08greeting\x05hello\xff".to_vec();
//! dump.extend_from_slice(&[0; 8]);
//!
//! let mut scratch = Scratch::new();
//! let mut records = Vec::new();
//! for item in Decoder::new(&dump)? {
//!     if let OwnedItem::Record(record) = item?.to_owned_item(&scratch)? {
//!         records.push(record);
//!     }
//!     scratch.reset(); // the owned copies do not borrow it
//! }
//! assert_eq!(records[0].key, OwnedStr::from(&b"greeting"[..]));
//! assert_eq!(records[0].value, OwnedValue::String(OwnedStr::from(&b"hello"[..])));
//! # Ok::<(), rdb_format::Error>(())
//! ```

mod item;

pub use self::item::{decode_all, OwnedItem, OwnedRecord};

use crate::{
    ConsumerGroup, Error, HashEntry, Idmp, ModuleId, PendingEntry, Result, Str, Stream, StreamId,
    Value,
};

/// An owned decoded string: bytes, or an integer as the dump stored it (see [`Str`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum OwnedStr {
    /// Bytes.
    Bytes(Vec<u8>),
    /// An integer.
    Int(i64),
}

impl OwnedStr {
    /// The borrowed form, to use [`Str`]'s accessors or match on it.
    pub fn as_str(&self) -> Str<'_> {
        match self {
            OwnedStr::Bytes(b) => Str::Bytes(b),
            OwnedStr::Int(i) => Str::Int(*i),
        }
    }

    /// The bytes (the decimal text for integers).
    pub fn to_vec(&self) -> Vec<u8> {
        self.as_str().to_vec()
    }
}

impl From<Str<'_>> for OwnedStr {
    fn from(s: Str<'_>) -> Self {
        match s {
            Str::Bytes(b) => OwnedStr::Bytes(b.to_vec()),
            Str::Int(i) => OwnedStr::Int(i),
        }
    }
}

impl From<&[u8]> for OwnedStr {
    fn from(b: &[u8]) -> Self {
        OwnedStr::Bytes(b.to_vec())
    }
}

impl From<Vec<u8>> for OwnedStr {
    fn from(b: Vec<u8>) -> Self {
        OwnedStr::Bytes(b)
    }
}

impl From<i64> for OwnedStr {
    fn from(i: i64) -> Self {
        OwnedStr::Int(i)
    }
}

/// A decoded value with every element copied out of the dump.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedValue {
    /// A string.
    String(OwnedStr),
    /// A list's elements, head to tail.
    List(Vec<OwnedStr>),
    /// A set's members, in file order.
    Set(Vec<OwnedStr>),
    /// A sorted set's members and scores, in file order.
    ZSet(Vec<ZSetMember>),
    /// A hash's fields, in file order.
    Hash(Vec<HashField>),
    /// A stream.
    Stream(Box<OwnedStream>),
    /// A module value, kept raw.
    Module(OwnedModule),
}

/// A sorted-set member and its score.
///
/// Scores compare bit for bit, with every NaN equal to every NaN: a value equals itself and
/// `-0.0` stays distinct from `0.0`, which is what comparing two decodings needs.
#[derive(Clone, Debug)]
pub struct ZSetMember {
    /// The member.
    pub member: OwnedStr,
    /// Its score.
    pub score: f64,
}

impl PartialEq for ZSetMember {
    fn eq(&self, other: &Self) -> bool {
        let same_score = (self.score.is_nan() && other.score.is_nan())
            || self.score.to_bits() == other.score.to_bits();
        same_score && self.member == other.member
    }
}

impl Eq for ZSetMember {}

/// A hash field, its value and its expiry (hash field TTLs, Redis 7.4+ and Valkey 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashField {
    /// Field name.
    pub field: OwnedStr,
    /// Value.
    pub value: OwnedStr,
    /// Absolute expiry in Unix milliseconds, if the field has one.
    pub expire_ms: Option<i64>,
}

impl From<HashEntry<'_>> for HashField {
    fn from(e: HashEntry<'_>) -> Self {
        HashField {
            field: e.field.into(),
            value: e.value.into(),
            expire_ms: e.expire_ms,
        }
    }
}

/// A module value: its type and raw opcode stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedModule {
    /// The module type.
    pub id: ModuleId,
    /// The opcode stream, from after the id through its EOF opcode.
    pub raw: Vec<u8>,
}

/// A stream with its entries, consumer groups and idempotent-producer state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedStream {
    /// `XLEN` as stored.
    pub length: u64,
    /// The last id ever generated.
    pub last_id: StreamId,
    /// First entry id (layout 2+).
    pub first_id: Option<StreamId>,
    /// Largest deleted id (layout 2+).
    pub max_deleted_id: Option<StreamId>,
    /// Entries ever added (layout 2+).
    pub entries_added: Option<u64>,
    /// Number of listpack nodes the entries are stored in.
    pub node_count: u64,
    /// Live entries, in id order as stored.
    pub entries: Vec<OwnedStreamEntry>,
    /// Consumer groups.
    pub groups: Vec<OwnedConsumerGroup>,
    /// Idempotent-producer state (layout 4, Redis 8.6+).
    pub idmp: Option<OwnedIdmp>,
}

/// A stream entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedStreamEntry {
    /// Its id.
    pub id: StreamId,
    /// Field/value pairs, in order.
    pub fields: Vec<(OwnedStr, OwnedStr)>,
}

/// A consumer group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedConsumerGroup {
    /// Group name.
    pub name: OwnedStr,
    /// Last id delivered to the group.
    pub last_delivered_id: StreamId,
    /// Entries read (layout 2+).
    pub entries_read: Option<u64>,
    /// The pending entries list, in file order.
    pub pending: Vec<PendingEntry>,
    /// Consumers.
    pub consumers: Vec<OwnedConsumer>,
}

/// A consumer of a group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedConsumer {
    /// Consumer name.
    pub name: OwnedStr,
    /// Last time it was seen, Unix milliseconds.
    pub seen_time_ms: i64,
    /// Last time it was active (layout 3+).
    pub active_time_ms: Option<i64>,
    /// The ids of the pending entries it owns, in file order.
    pub pending: Vec<StreamId>,
}

/// A stream's idempotent-producer state (see [`Idmp`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedIdmp {
    /// How long an IID is remembered, in seconds.
    pub duration: u64,
    /// How many IIDs are remembered.
    pub max_entries: u64,
    /// IIDs ever added.
    pub iids_added: u64,
    /// Duplicate IIDs detected.
    pub iids_duplicates: u64,
    /// Producers and the IIDs each has sent.
    pub producers: Vec<OwnedIdmpProducer>,
}

/// One idempotent producer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedIdmpProducer {
    /// Producer id.
    pub pid: OwnedStr,
    /// Each remembered IID with the stream entry it became.
    pub entries: Vec<(OwnedStr, StreamId)>,
}

impl OwnedValue {
    /// Decodes every element of `value` into an owned copy.
    pub fn from_value(value: Value<'_>) -> Result<OwnedValue> {
        Ok(match value {
            Value::String(s) => OwnedValue::String(s.into()),
            Value::List(items) => OwnedValue::List(strs(items)?),
            Value::Set(members) => OwnedValue::Set(strs(members)?),
            Value::ZSet(members) => OwnedValue::ZSet(
                members
                    .map(|r| {
                        r.map(|(member, score)| ZSetMember {
                            member: member.into(),
                            score,
                        })
                    })
                    .collect::<Result<_>>()?,
            ),
            Value::Hash(fields) => OwnedValue::Hash(
                fields
                    .map(|r| r.map(HashField::from))
                    .collect::<Result<_>>()?,
            ),
            Value::Stream(s) => OwnedValue::Stream(Box::new(OwnedStream::from_stream(&s)?)),
            Value::Module(m) => OwnedValue::Module(OwnedModule {
                id: m.id,
                raw: m.raw.to_vec(),
            }),
        })
    }
}

impl TryFrom<Value<'_>> for OwnedValue {
    type Error = Error;

    fn try_from(value: Value<'_>) -> Result<OwnedValue> {
        OwnedValue::from_value(value)
    }
}

impl Value<'_> {
    /// An owned copy of the value, every element decoded (see [`OwnedValue`]).
    pub fn to_owned_value(&self) -> Result<OwnedValue> {
        OwnedValue::from_value(self.clone())
    }
}

fn strs<'b>(items: impl Iterator<Item = Result<Str<'b>>>) -> Result<Vec<OwnedStr>> {
    items.map(|r| r.map(OwnedStr::from)).collect()
}

impl OwnedStream {
    /// Decodes every entry, group and producer of `stream`.
    pub fn from_stream(stream: &Stream<'_>) -> Result<OwnedStream> {
        let mut entries = Vec::new();
        for entry in stream.entries() {
            let entry = entry?;
            let fields = entry
                .fields
                .map(|r| r.map(|(f, v)| (f.into(), v.into())))
                .collect::<Result<_>>()?;
            entries.push(OwnedStreamEntry {
                id: entry.id,
                fields,
            });
        }
        let groups = stream
            .groups()
            .map(|g| g.and_then(OwnedConsumerGroup::from_group))
            .collect::<Result<_>>()?;
        let idmp = match &stream.idmp {
            Some(idmp) => Some(OwnedIdmp::from_idmp(idmp)?),
            None => None,
        };
        Ok(OwnedStream {
            length: stream.length,
            last_id: stream.last_id,
            first_id: stream.first_id,
            max_deleted_id: stream.max_deleted_id,
            entries_added: stream.entries_added,
            node_count: stream.node_count(),
            entries,
            groups,
            idmp,
        })
    }
}

impl OwnedConsumerGroup {
    /// Decodes the group's PEL and consumers.
    pub fn from_group(group: ConsumerGroup<'_>) -> Result<OwnedConsumerGroup> {
        let pending = group.pending.collect::<Result<_>>()?;
        let mut consumers = Vec::new();
        for consumer in group.consumers {
            let consumer = consumer?;
            consumers.push(OwnedConsumer {
                name: consumer.name.into(),
                seen_time_ms: consumer.seen_time_ms,
                active_time_ms: consumer.active_time_ms,
                pending: consumer.pending.collect(),
            });
        }
        Ok(OwnedConsumerGroup {
            name: group.name.into(),
            last_delivered_id: group.last_delivered_id,
            entries_read: group.entries_read,
            pending,
            consumers,
        })
    }
}

impl OwnedIdmp {
    /// Decodes every producer and IID.
    pub fn from_idmp(idmp: &Idmp<'_>) -> Result<OwnedIdmp> {
        let mut producers = Vec::new();
        for producer in idmp.producers() {
            let producer = producer?;
            let entries = producer
                .entries
                .map(|r| r.map(|e| (e.iid.into(), e.id)))
                .collect::<Result<_>>()?;
            producers.push(OwnedIdmpProducer {
                pid: producer.pid.into(),
                entries,
            });
        }
        Ok(OwnedIdmp {
            duration: idmp.duration,
            max_entries: idmp.max_entries,
            iids_added: idmp.iids_added,
            iids_duplicates: idmp.iids_duplicates,
            producers,
        })
    }
}

#[cfg(test)]
mod tests;
