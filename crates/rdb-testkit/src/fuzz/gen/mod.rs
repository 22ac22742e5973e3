//! The `structured` target's generator: an arbitrary description of a dump ([`FileSpec`]) is
//! turned into a valid RDB file and the exact list of items the decoder must report for it.
//!
//! Big choices (version, which items, which types and encodings, which elements) come from the
//! description, so the fuzzer mutates them directly. Small ones (non-minimal length and integer
//! widths, LZF wrapping of strings and blobs, unknown element counts, zipmap free bytes) come
//! from a generator seeded by the description, so every input still gives one fixed file.

mod file;
mod run;
mod style;
mod value;

pub use self::file::{generate, Generated};
pub use self::run::{mutate, run};

use arbitrary::{Arbitrary, Unstructured};
use rdb_format::owned::OwnedStr;

use super::build::LpValue;

/// Longest generated big string.
const MAX_BIG: usize = 17_000;

/// A string or integer element.
#[derive(Arbitrary, Debug, Clone)]
#[non_exhaustive]
pub enum Elem {
    /// Bytes.
    Bytes(Vec<u8>),
    /// An integer (int-encoded wherever the format allows).
    Int(i64),
    /// A small integer (immediate encodings).
    Small(u8),
    /// An integer written as text.
    IntText(i32),
    /// A long run of one byte (up to 17000 bytes): 12/14/32-bit lengths, big prevlens, LZF.
    Big {
        /// The byte.
        byte: u8,
        /// Its count.
        len: u16,
    },
}

impl Elem {
    fn lp(&self) -> LpValue {
        match self {
            Elem::Bytes(b) => LpValue::Str(b.clone()),
            Elem::Int(i) => LpValue::Int(*i),
            Elem::Small(u) => LpValue::Int(i64::from(*u % 16)),
            Elem::IntText(i) => LpValue::Str(i.to_string().into_bytes()),
            Elem::Big { byte, len } => {
                // Mostly a few hundred bytes (big prevlens, 12/14-bit lengths), sometimes more
                // than 16 KiB (32-bit lengths).
                let n = if *len < 0xC000 {
                    usize::from(*len) % 700
                } else {
                    usize::from(*len) % MAX_BIG
                };
                LpValue::Str(vec![*byte; n])
            }
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self.lp() {
            LpValue::Str(b) => b,
            LpValue::Int(i) => i.to_string().into_bytes(),
        }
    }
}

/// What the decoder reports for a packed element.
fn lp_model(v: &LpValue) -> OwnedStr {
    match v {
        LpValue::Str(b) => OwnedStr::Bytes(b.clone()),
        LpValue::Int(i) => OwnedStr::Int(*i),
    }
}

/// A zset score.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ScoreSpec {
    /// An integral score.
    Int(i32),
    /// Any double (its bits).
    Bits(u64),
    /// +inf.
    Inf,
    /// -inf.
    NegInf,
    /// NaN.
    Nan,
}

impl ScoreSpec {
    fn value(self) -> f64 {
        match self {
            ScoreSpec::Int(i) => f64::from(i),
            ScoreSpec::Bits(b) => f64::from_bits(b),
            ScoreSpec::Inf => f64::INFINITY,
            ScoreSpec::NegInf => f64::NEG_INFINITY,
            ScoreSpec::Nan => f64::NAN,
        }
    }

    /// Text as Redis would write it in a blob or a `ZSET` string double.
    fn text(self) -> Vec<u8> {
        let v = self.value();
        let s = match self {
            ScoreSpec::Int(i) => i.to_string(),
            _ if v.is_nan() => "nan".into(),
            _ if v == f64::INFINITY => "inf".into(),
            _ if v == f64::NEG_INFINITY => "-inf".into(),
            _ => format!("{v:e}"),
        };
        s.into_bytes()
    }
}

/// A module opcode.
#[derive(Arbitrary, Debug, Clone)]
#[non_exhaustive]
pub enum ModOp {
    /// SINT.
    Sint(u64),
    /// UINT.
    Uint(u64),
    /// FLOAT.
    Float(u32),
    /// DOUBLE.
    Double(u64),
    /// STRING.
    Str(Elem),
}

/// List encodings.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ListEnc {
    /// Type 1.
    Plain,
    /// Type 10.
    Ziplist,
    /// Type 14.
    Quicklist,
    /// Type 18.
    Quicklist2,
}

/// Set encodings.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[non_exhaustive]
pub enum SetEnc {
    /// Type 2.
    Plain,
    /// Type 11.
    Intset,
    /// Type 20.
    Listpack,
}

/// Sorted set encodings.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ZSetEnc {
    /// Type 3, text scores.
    Plain,
    /// Type 5, binary scores.
    Plain2,
    /// Type 12.
    Ziplist,
    /// Type 17.
    Listpack,
}

/// Hash encodings.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[non_exhaustive]
pub enum HashEnc {
    /// Type 4.
    Plain,
    /// Type 9.
    Zipmap,
    /// Type 13.
    Ziplist,
    /// Type 16.
    Listpack,
    /// Type 22 (Redis).
    MetadataPreGa,
    /// Type 23 (Redis).
    ListpackExPreGa,
    /// Type 24 (Redis).
    Metadata,
    /// Type 25 (Redis).
    ListpackEx,
    /// Type 22 (Valkey).
    ValkeyHash2,
}

/// A stream entry.
#[derive(Arbitrary, Debug, Clone)]
pub struct EntrySpec {
    /// Deleted flag.
    pub deleted: bool,
    /// Same fields as the master entry.
    pub same_fields: bool,
    /// Id difference, ms.
    pub ms_diff: i64,
    /// Id difference, seq.
    pub seq_diff: i64,
    /// Fields (with `same_fields`, only the values are used).
    pub fields: Vec<(Elem, Elem)>,
}

/// A stream node.
#[derive(Arbitrary, Debug, Clone)]
pub struct NodeSpec {
    /// Master id.
    pub master: (u64, u64),
    /// Master fields.
    pub master_fields: Vec<Elem>,
    /// Entries.
    pub entries: Vec<EntrySpec>,
}

/// A consumer.
#[derive(Arbitrary, Debug, Clone)]
pub struct ConsumerSpec {
    /// Name.
    pub name: Elem,
    /// Seen time.
    pub seen: i64,
    /// Active time.
    pub active: i64,
    /// PEL ids.
    pub pel: Vec<(u64, u64)>,
}

/// A consumer group.
#[derive(Arbitrary, Debug, Clone)]
pub struct GroupSpec {
    /// Name.
    pub name: Elem,
    /// Last delivered id.
    pub last_id: (u64, u64),
    /// Entries read.
    pub entries_read: u64,
    /// PEL: id, delivery time, count.
    pub pel: Vec<((u64, u64), i64, u64)>,
    /// Consumers.
    pub consumers: Vec<ConsumerSpec>,
}

/// A stream.
#[derive(Arbitrary, Debug, Clone)]
pub struct StreamSpec {
    /// 0: type 15, 1: type 19, else type 21.
    pub layout: u8,
    /// Nodes.
    pub nodes: Vec<NodeSpec>,
    /// XLEN.
    pub length: u64,
    /// Last id.
    pub last_id: (u64, u64),
    /// First id.
    pub first_id: (u64, u64),
    /// Max deleted id.
    pub max_deleted: (u64, u64),
    /// Entries added.
    pub entries_added: u64,
    /// Groups.
    pub groups: Vec<GroupSpec>,
}

/// A value.
#[derive(Arbitrary, Debug, Clone)]
#[non_exhaustive]
pub enum ValueSpec {
    /// String.
    String(Elem),
    /// List.
    List(ListEnc, Vec<Elem>),
    /// Set (members, or the integers for an intset).
    Set(SetEnc, Vec<Elem>, Vec<i64>),
    /// Sorted set.
    ZSet(ZSetEnc, Vec<(Elem, ScoreSpec)>),
    /// Hash: fields, values, TTLs, and the stored minimum expiry.
    Hash(HashEnc, Vec<(Elem, Elem, Option<u64>)>, u64),
    /// Stream.
    Stream(Box<StreamSpec>),
    /// Module value.
    Module(u64, Vec<ModOp>),
}

/// Expiry prefix.
#[derive(Arbitrary, Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Expire {
    /// EXPIRETIME_MS.
    Ms(i64),
    /// EXPIRETIME (seconds).
    Secs(i32),
}

/// A key record.
#[derive(Arbitrary, Debug, Clone)]
pub struct RecordSpec {
    /// Expiry.
    pub expire: Option<Expire>,
    /// RAM_LRU hint (Redis Enterprise), ignored by the decoder.
    pub ram_lru: Option<u32>,
    /// IDLE.
    pub idle: Option<u64>,
    /// FREQ.
    pub freq: Option<u8>,
    /// KEY_META classes (Redis 13+ only).
    pub key_meta: Option<Vec<(u32, Vec<ModOp>)>>,
    /// Key.
    pub key: Elem,
    /// Value.
    pub value: ValueSpec,
}

/// Items other than key records.
#[derive(Arbitrary, Debug, Clone)]
#[non_exhaustive]
pub enum Extra {
    /// AUX.
    Aux(Elem, Elem),
    /// MODULE_AUX.
    ModuleAux(u64, u8, Vec<ModOp>),
    /// FUNCTION2.
    Function(Elem),
    /// FUNCTION_PRE_GA.
    FunctionPreGa(Elem, Elem, Option<Elem>, Elem),
    /// SLOT_INFO.
    SlotInfo(u16, u32, u32),
    /// SLOT_IMPORT (Valkey only).
    SlotImport(Elem, Vec<(u16, u16)>),
    /// SLOT_NUM (Redis Enterprise), ignored by the decoder.
    SlotNum(u32),
}

/// Something in a database section.
#[derive(Arbitrary, Debug, Clone)]
#[non_exhaustive]
pub enum DbEntry {
    /// A key.
    Record(RecordSpec),
    /// Another item between keys.
    Extra(Extra),
}

/// A database section.
#[derive(Arbitrary, Debug, Clone)]
pub struct DbSpec {
    /// Database number.
    pub id: u32,
    /// RESIZEDB hint.
    pub resize: Option<(u32, u32)>,
    /// Keys and other items.
    pub entries: Vec<DbEntry>,
}

/// A change to the generated bytes.
#[derive(Arbitrary, Debug, Clone)]
#[non_exhaustive]
pub enum Mutation {
    /// XOR a byte.
    Flip(u32, u8),
    /// Set a byte.
    Set(u32, u8),
    /// Cut the file.
    Truncate(u32),
    /// Insert bytes.
    Insert(u32, Vec<u8>),
    /// Remove bytes.
    Remove(u32, u8),
}

/// A whole dump.
#[derive(Arbitrary, Debug, Clone)]
pub struct FileSpec {
    /// Index into [`VERSIONS`](crate::fuzz::walk::VERSIONS).
    pub version: u8,
    /// Seed of the small choices.
    pub style: u64,
    /// Store checksum 0 (not computed).
    pub zero_checksum: bool,
    /// Items before the databases.
    pub head: Vec<Extra>,
    /// Databases.
    pub dbs: Vec<DbSpec>,
    /// Items after the databases.
    pub tail: Vec<Extra>,
    /// Bytes after the dump.
    pub trailing: Vec<u8>,
    /// Changes applied after the exact check.
    pub mutations: Vec<Mutation>,
}

/// Reads a [`FileSpec`] from fuzzer bytes exactly as the `structured` target does.
pub fn spec_from_bytes(data: &[u8]) -> arbitrary::Result<FileSpec> {
    FileSpec::arbitrary_take_rest(Unstructured::new(data))
}
