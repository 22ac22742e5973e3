//! Owned copies of the decoder's items and records.

use super::{OwnedStr, OwnedValue};
use crate::{
    Decoder, DecoderOptions, Encoding, Eof, Item, ModuleId, RdbString, Record, Result, Scratch,
    Version,
};

/// A key record with its value decoded and copied (see [`Record`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedRecord {
    /// Database number.
    pub db: u64,
    /// The key.
    pub key: OwnedStr,
    /// Absolute expiry in Unix milliseconds.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds.
    pub idle: Option<u64>,
    /// LFU frequency counter.
    pub freq: Option<u8>,
    /// The raw `KEY_META` section (Redis 8.6+), if any.
    pub key_meta: Option<Vec<u8>>,
    /// On-disk encoding.
    pub encoding: Encoding,
    /// Offset of the record's first byte (its first prefix opcode, or its type byte).
    pub offset: u64,
    /// Serialized length of the record, from `offset` through the end of its value.
    pub len: u64,
    /// Offset of the value's first byte.
    pub value_offset: u64,
    /// The value.
    pub value: OwnedValue,
}

/// One item of a dump with everything copied (see [`Item`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OwnedItem {
    /// An auxiliary field.
    Aux {
        /// Field name.
        key: OwnedStr,
        /// Field value.
        value: OwnedStr,
    },
    /// Switch to database `db`.
    SelectDb {
        /// Database number.
        db: u64,
    },
    /// Hash table size hints for the current database.
    ResizeDb {
        /// Keys.
        db_size: u64,
        /// Keys with an expiry.
        expires_size: u64,
    },
    /// Cluster slot size hint.
    SlotInfo {
        /// Slot.
        slot: u64,
        /// Keys in it.
        size: u64,
        /// Keys with an expiry in it.
        expires_size: u64,
    },
    /// Valkey slot import job.
    SlotImport {
        /// Job name.
        job: OwnedStr,
        /// Slot ranges, raw.
        ranges_raw: Vec<u8>,
        /// Number of ranges.
        ranges: u64,
    },
    /// Module auxiliary data.
    ModuleAux {
        /// Module type.
        id: ModuleId,
        /// 1 = before the keyspace, 2 = after.
        when: u64,
        /// The opcode stream, through its EOF opcode.
        raw: Vec<u8>,
    },
    /// A function library (`FUNCTION2`).
    Function {
        /// The library code.
        code: OwnedStr,
    },
    /// A function of the Redis 7.0 release candidates.
    FunctionPreGa {
        /// Function name.
        name: OwnedStr,
        /// Engine name.
        engine: OwnedStr,
        /// Description, if any.
        description: Option<OwnedStr>,
        /// Code.
        code: OwnedStr,
    },
    /// A key record.
    Record(Box<OwnedRecord>),
    /// The end of the dump.
    Eof(Eof),
}

fn owned(s: &RdbString<'_>, scratch: &Scratch) -> Result<OwnedStr> {
    Ok(s.decode(scratch)?.into())
}

impl Record<'_> {
    /// An owned copy of the record, its key and value decoded (LZF data through `scratch`,
    /// which the copy does not borrow).
    pub fn to_owned_record(&self, scratch: &Scratch) -> Result<OwnedRecord> {
        Ok(OwnedRecord {
            db: self.db,
            key: owned(&self.key, scratch)?,
            expire_ms: self.expire_ms,
            idle: self.idle,
            freq: self.freq,
            key_meta: self.key_meta.map(<[u8]>::to_vec),
            encoding: self.encoding,
            offset: self.offset,
            len: self.len,
            value_offset: self.value_offset,
            value: OwnedValue::from_value(self.value(scratch)?)?,
        })
    }
}

impl Item<'_> {
    /// An owned copy of the item, every string and value decoded (LZF data through `scratch`,
    /// which the copy does not borrow).
    pub fn to_owned_item(&self, scratch: &Scratch) -> Result<OwnedItem> {
        Ok(match self {
            Item::Aux { key, value } => OwnedItem::Aux {
                key: owned(key, scratch)?,
                value: owned(value, scratch)?,
            },
            Item::SelectDb { db } => OwnedItem::SelectDb { db: *db },
            Item::ResizeDb {
                db_size,
                expires_size,
            } => OwnedItem::ResizeDb {
                db_size: *db_size,
                expires_size: *expires_size,
            },
            Item::SlotInfo {
                slot,
                size,
                expires_size,
            } => OwnedItem::SlotInfo {
                slot: *slot,
                size: *size,
                expires_size: *expires_size,
            },
            Item::SlotImport {
                job,
                ranges_raw,
                ranges,
            } => OwnedItem::SlotImport {
                job: owned(job, scratch)?,
                ranges_raw: ranges_raw.to_vec(),
                ranges: *ranges,
            },
            Item::ModuleAux { id, when, raw } => OwnedItem::ModuleAux {
                id: *id,
                when: *when,
                raw: raw.to_vec(),
            },
            Item::Function { code } => OwnedItem::Function {
                code: owned(code, scratch)?,
            },
            Item::FunctionPreGa {
                name,
                engine,
                description,
                code,
            } => OwnedItem::FunctionPreGa {
                name: owned(name, scratch)?,
                engine: owned(engine, scratch)?,
                description: match description {
                    Some(d) => Some(owned(d, scratch)?),
                    None => None,
                },
                code: owned(code, scratch)?,
            },
            Item::Record(r) => OwnedItem::Record(Box::new(r.to_owned_record(scratch)?)),
            Item::Eof(eof) => OwnedItem::Eof(*eof),
        })
    }
}

/// Decodes a whole dump into owned items, in file order, stopping at the first error.
///
/// Everything is held in memory at once: meant for small dumps, tests and tools.
pub fn decode_all(data: &[u8], options: DecoderOptions) -> Result<(Version, Vec<OwnedItem>)> {
    let decoder = Decoder::with_options(data, options)?;
    let version = decoder.version();
    let mut scratch = Scratch::new();
    let mut items = Vec::new();
    for item in decoder {
        items.push(item?.to_owned_item(&scratch)?);
        scratch.reset();
    }
    Ok((version, items))
}
