//! An owned, comparable picture of everything the decoder reports for a dump, so the
//! `structured` target can compare it with what the generator wrote.

use rdb_format::{Checksum, Decoder, DecoderOptions, Error, Item, Scratch, Str, Value, Version};

/// A decoded string: bytes or an integer, as the decoder reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum S {
    /// Bytes.
    B(Vec<u8>),
    /// Integer.
    I(i64),
}

impl From<Str<'_>> for S {
    fn from(s: Str<'_>) -> S {
        match s {
            Str::Bytes(b) => S::B(b.to_vec()),
            Str::Int(i) => S::I(i),
        }
    }
}

/// A score compared bit for bit, any NaN equal to any NaN.
#[derive(Clone, Copy, Debug)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, other: &Score) -> bool {
        (self.0.is_nan() && other.0.is_nan()) || self.0.to_bits() == other.0.to_bits()
    }
}

/// A stream id.
pub type Id = (u64, u64);

/// A consumer.
#[derive(Clone, Debug, PartialEq)]
pub struct MConsumer {
    /// Name.
    pub name: S,
    /// Seen time.
    pub seen: i64,
    /// Active time (layout 3).
    pub active: Option<i64>,
    /// Pending ids.
    pub pending: Vec<Id>,
}

/// A consumer group.
#[derive(Clone, Debug, PartialEq)]
pub struct MGroup {
    /// Name.
    pub name: S,
    /// Last delivered id.
    pub last_id: Id,
    /// Entries read (layout 2+).
    pub entries_read: Option<u64>,
    /// PEL: id, delivery time, delivery count.
    pub pending: Vec<(Id, i64, u64)>,
    /// Consumers.
    pub consumers: Vec<MConsumer>,
}

/// A stream.
#[derive(Clone, Debug, PartialEq)]
pub struct MStream {
    /// XLEN as stored.
    pub length: u64,
    /// Last id.
    pub last_id: Id,
    /// First id (layout 2+).
    pub first_id: Option<Id>,
    /// Max deleted id (layout 2+).
    pub max_deleted_id: Option<Id>,
    /// Entries added (layout 2+).
    pub entries_added: Option<u64>,
    /// Node count.
    pub nodes: u64,
    /// Live entries with their fields.
    pub entries: Vec<(Id, Vec<(S, S)>)>,
    /// Groups.
    pub groups: Vec<MGroup>,
}

/// A decoded value.
#[derive(Clone, Debug, PartialEq)]
pub enum MValue {
    /// String.
    String(S),
    /// List.
    List(Vec<S>),
    /// Set.
    Set(Vec<S>),
    /// Sorted set.
    ZSet(Vec<(S, Score)>),
    /// Hash: field, value, expiry.
    Hash(Vec<(S, S, Option<i64>)>),
    /// Stream.
    Stream(MStream),
    /// Module: id and raw opcode stream.
    Module(u64, Vec<u8>),
}

/// A key record.
#[derive(Clone, Debug, PartialEq)]
pub struct MRecord {
    /// Database.
    pub db: u64,
    /// Key.
    pub key: S,
    /// Expiry.
    pub expire_ms: Option<i64>,
    /// LRU idle.
    pub idle: Option<u64>,
    /// LFU freq.
    pub freq: Option<u8>,
    /// KEY_META raw.
    pub key_meta: Option<Vec<u8>>,
    /// Encoding name (`Encoding::as_str`).
    pub encoding: &'static str,
    /// Offset of the first prefix byte.
    pub offset: u64,
    /// Serialized length.
    pub len: u64,
    /// Offset of the value.
    pub value_offset: u64,
    /// The value.
    pub value: MValue,
}

/// One item.
#[derive(Clone, Debug, PartialEq)]
pub enum MItem {
    /// AUX.
    Aux(S, S),
    /// SELECTDB.
    SelectDb(u64),
    /// RESIZEDB.
    ResizeDb(u64, u64),
    /// SLOT_INFO.
    SlotInfo(u64, u64, u64),
    /// Valkey SLOT_IMPORT.
    SlotImport {
        /// Job name.
        job: S,
        /// Raw ranges.
        ranges_raw: Vec<u8>,
        /// Range count.
        ranges: u64,
    },
    /// MODULE_AUX.
    ModuleAux {
        /// Module id.
        id: u64,
        /// When.
        when: u64,
        /// Opcode stream through EOF.
        raw: Vec<u8>,
    },
    /// FUNCTION2.
    Function(S),
    /// FUNCTION_PRE_GA.
    FunctionPreGa {
        /// Name.
        name: S,
        /// Engine.
        engine: S,
        /// Description.
        description: Option<S>,
        /// Code.
        code: S,
    },
    /// A key.
    Record(MRecord),
    /// EOF.
    Eof {
        /// Offset of the EOF opcode.
        offset: u64,
        /// Checksum state.
        checksum: Checksum,
        /// Bytes after the dump.
        trailing_bytes: u64,
    },
}

fn id(i: rdb_format::StreamId) -> Id {
    (i.ms, i.seq)
}

/// Converts a decoded value into its owned picture.
pub fn value(v: Value<'_>) -> Result<MValue, Error> {
    Ok(match v {
        Value::String(s) => MValue::String(s.into()),
        Value::Module(m) => MValue::Module(m.id.0, m.raw.to_vec()),
        Value::List(i) => MValue::List(i.map(|r| r.map(S::from)).collect::<Result<_, _>>()?),
        Value::Set(i) => MValue::Set(i.map(|r| r.map(S::from)).collect::<Result<_, _>>()?),
        Value::ZSet(i) => MValue::ZSet(
            i.map(|r| r.map(|(m, s)| (S::from(m), Score(s))))
                .collect::<Result<_, _>>()?,
        ),
        Value::Hash(i) => MValue::Hash(
            i.map(|r| r.map(|e| (S::from(e.field), S::from(e.value), e.expire_ms)))
                .collect::<Result<_, _>>()?,
        ),
        Value::Stream(s) => {
            let mut entries = Vec::new();
            for e in s.entries() {
                let e = e?;
                let fields = e
                    .fields
                    .map(|r| r.map(|(f, v)| (S::from(f), S::from(v))))
                    .collect::<Result<_, _>>()?;
                entries.push((id(e.id), fields));
            }
            let mut groups = Vec::new();
            for g in s.groups() {
                let g = g?;
                let pending = g
                    .pending
                    .map(|r| r.map(|p| (id(p.id), p.delivery_time_ms, p.delivery_count)))
                    .collect::<Result<_, _>>()?;
                let mut consumers = Vec::new();
                for c in g.consumers {
                    let c = c?;
                    consumers.push(MConsumer {
                        name: c.name.into(),
                        seen: c.seen_time_ms,
                        active: c.active_time_ms,
                        pending: c.pending.map(id).collect(),
                    });
                }
                groups.push(MGroup {
                    name: g.name.into(),
                    last_id: id(g.last_delivered_id),
                    entries_read: g.entries_read,
                    pending,
                    consumers,
                });
            }
            MValue::Stream(MStream {
                length: s.length,
                last_id: id(s.last_id),
                first_id: s.first_id.map(id),
                max_deleted_id: s.max_deleted_id.map(id),
                entries_added: s.entries_added,
                nodes: s.node_count(),
                entries,
                groups,
            })
        }
        _ => unreachable!("a value kind the fuzz model does not know: teach it"),
    })
}

/// Decodes a whole dump into its owned picture.
pub fn observe(data: &[u8], options: DecoderOptions) -> Result<(Version, Vec<MItem>), Error> {
    let dec = Decoder::with_options(data, options)?;
    let version = dec.version();
    let mut scratch = Scratch::new();
    let mut items = Vec::new();
    for item in dec {
        let s = &scratch;
        let m = match item? {
            Item::Aux { key, value } => MItem::Aux(key.decode(s)?.into(), value.decode(s)?.into()),
            Item::SelectDb { db } => MItem::SelectDb(db),
            Item::ResizeDb {
                db_size,
                expires_size,
            } => MItem::ResizeDb(db_size, expires_size),
            Item::SlotInfo {
                slot,
                size,
                expires_size,
            } => MItem::SlotInfo(slot, size, expires_size),
            Item::SlotImport {
                job,
                ranges_raw,
                ranges,
            } => MItem::SlotImport {
                job: job.decode(s)?.into(),
                ranges_raw: ranges_raw.to_vec(),
                ranges,
            },
            Item::ModuleAux { id, when, raw } => MItem::ModuleAux {
                id: id.0,
                when,
                raw: raw.to_vec(),
            },
            Item::Function { code } => MItem::Function(code.decode(s)?.into()),
            Item::FunctionPreGa {
                name,
                engine,
                description,
                code,
            } => MItem::FunctionPreGa {
                name: name.decode(s)?.into(),
                engine: engine.decode(s)?.into(),
                description: match description {
                    Some(d) => Some(d.decode(s)?.into()),
                    None => None,
                },
                code: code.decode(s)?.into(),
            },
            Item::Record(r) => MItem::Record(MRecord {
                db: r.db,
                key: r.key.decode(s)?.into(),
                expire_ms: r.expire_ms,
                idle: r.idle,
                freq: r.freq,
                key_meta: r.key_meta.map(<[u8]>::to_vec),
                encoding: r.encoding.as_str(),
                offset: r.offset,
                len: r.len,
                value_offset: r.value_offset,
                value: value(r.value(s)?)?,
            }),
            Item::Eof(e) => MItem::Eof {
                offset: e.offset,
                checksum: e.checksum,
                trailing_bytes: e.trailing_bytes,
            },
            _ => unreachable!("an item kind the fuzz model does not know: teach it"),
        };
        items.push(m);
        scratch.reset();
    }
    Ok((version, items))
}
