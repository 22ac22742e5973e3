//! The `structured` target's generator: an arbitrary description of a dump ([`FileSpec`]) is
//! turned into a valid RDB file and the exact list of items the decoder must report for it.
//!
//! Big choices (version, which items, which types and encodings, which elements) come from the
//! description, so the fuzzer mutates them directly. Small ones (non-minimal length and integer
//! widths, LZF wrapping of strings and blobs, unknown element counts, zipmap free bytes) come
//! from a generator seeded by the description, so every input still gives one fixed file.

use arbitrary::{Arbitrary, Unstructured};
use rdb_format::{crc64, Checksum, Flavor, Version};

use crate::build::{self, LenForm, LpValue, ModuleOp, StreamNodeEntry};
use crate::model::{MConsumer, MGroup, MItem, MRecord, MStream, MValue, Score, S};
use crate::walk::VERSIONS;

/// Generated files stop growing past this size (records after it are left out).
const MAX_FILE: usize = 256 << 10;
/// Longest generated big string.
const MAX_BIG: usize = 17_000;

/// A string or integer element.
#[derive(Arbitrary, Debug, Clone)]
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

fn lp_model(v: &LpValue) -> S {
    match v {
        LpValue::Str(b) => S::B(b.clone()),
        LpValue::Int(i) => S::I(*i),
    }
}

/// A zset score.
#[derive(Arbitrary, Debug, Clone, Copy)]
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
    /// Index into [`VERSIONS`].
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

/// The small choices: a xorshift generator seeded by the spec.
struct Style(u64);

impl Style {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.next().is_multiple_of(n)
    }
    fn form(&mut self) -> LenForm {
        match self.next() % 24 {
            0 => LenForm::Bits14,
            1 => LenForm::Bits32,
            2 => LenForm::Bits64,
            _ => LenForm::Shortest,
        }
    }
    fn len(&mut self, n: u64, out: &mut Vec<u8>) {
        let f = self.form();
        build::rdb_len(n, f, out);
    }

    /// An RDB string holding `e`: int-encoded when allowed and possible, else raw or LZF.
    fn string(&mut self, e: &Elem, allow_int: bool, out: &mut Vec<u8>) -> S {
        let int = match e {
            Elem::Int(i) => i32::try_from(*i).ok(),
            Elem::Small(u) => Some(i32::from(*u)),
            _ => None,
        };
        if let (Some(i), true) = (int, allow_int) {
            if !self.one_in(8) {
                let w = [1, 1, 1, 2, 4][(self.next() % 5) as usize];
                build::rdb_string_int(i, w, out);
                return S::I(i64::from(i));
            }
        }
        let bytes = match e {
            Elem::Small(u) => u.to_string().into_bytes(),
            other => other.bytes(),
        };
        self.blob(&bytes, out);
        S::B(bytes)
    }

    /// An RDB string holding a blob: raw, or LZF-compressed.
    fn blob(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let form = self.form();
        match self.next() % 4 {
            0 => build::rdb_string_lzf(bytes, false, form, out),
            1 => build::rdb_string_lzf(bytes, true, form, out),
            _ => build::rdb_string_raw(bytes, form, out),
        }
    }

    fn listpack(&mut self, values: &[LpValue]) -> Vec<u8> {
        let seed = self.next();
        let unknown = self.one_in(8);
        build::listpack_of(values, |i| width_of(seed, i), unknown)
    }

    fn ziplist(&mut self, values: &[LpValue]) -> Vec<u8> {
        let seed = self.next();
        let unknown = self.one_in(8);
        build::ziplist(values, |i| width_of(seed, i), unknown)
    }

    fn module_ops(&mut self, ops: &[ModOp], out: &mut Vec<u8>) {
        let mut built = Vec::with_capacity(ops.len());
        for op in ops {
            built.push(match op {
                ModOp::Sint(v) => ModuleOp::Sint(*v),
                ModOp::Uint(v) => ModuleOp::Uint(*v),
                ModOp::Float(v) => ModuleOp::Float(*v),
                ModOp::Double(v) => ModuleOp::Double(*v),
                ModOp::Str(e) => {
                    let mut s = Vec::new();
                    self.string(e, true, &mut s);
                    ModuleOp::Str(s)
                }
            });
        }
        let form = self.form();
        build::module_opcode_stream(&built, form, out);
    }
}

/// Per-element width hint, mostly minimal.
fn width_of(seed: u64, i: usize) -> u8 {
    let x = seed.rotate_left((i % 61) as u32) ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    if x.is_multiple_of(5) {
        ((x >> 8) % 6) as u8
    } else {
        0
    }
}

fn id_len(st: &mut Style, id: (u64, u64), out: &mut Vec<u8>) {
    st.len(id.0, out);
    st.len(id.1, out);
}

fn id_raw(id: (u64, u64), out: &mut Vec<u8>) {
    out.extend_from_slice(&id.0.to_be_bytes());
    out.extend_from_slice(&id.1.to_be_bytes());
}

/// The generated file and what the decoder must report for it.
#[derive(Debug)]
pub struct Generated {
    /// The RDB bytes.
    pub data: Vec<u8>,
    /// Its version.
    pub version: Version,
    /// The items, the EOF's checksum as reported with verification on.
    pub items: Vec<MItem>,
    /// The stored checksum (None before RDB 5).
    pub stored_crc: Option<u64>,
    /// Each record's type byte, value offset and value, for `Value::decode`.
    pub values: Vec<(u8, usize, MValue)>,
}

impl Generated {
    /// The items as reported with checksum verification `verify`.
    pub fn expected(&self, verify: bool) -> Vec<MItem> {
        let mut items = self.items.clone();
        if let Some(MItem::Eof { checksum, .. }) = items.last_mut() {
            *checksum = match self.stored_crc {
                None => Checksum::Absent,
                Some(0) => Checksum::NotComputed,
                Some(c) if verify => Checksum::Verified(c),
                Some(c) => Checksum::NotVerified(c),
            };
        }
        items
    }
}

struct Gen {
    st: Style,
    out: Vec<u8>,
    items: Vec<MItem>,
    values: Vec<(u8, usize, MValue)>,
    version: Version,
    db: u64,
}

/// Builds the file a spec describes.
pub fn generate(spec: &FileSpec) -> Generated {
    let version = VERSIONS[usize::from(spec.version) % VERSIONS.len()];
    let mut g = Gen {
        st: Style(spec.style | 1),
        out: version.magic().into_bytes(),
        items: Vec::new(),
        values: Vec::new(),
        version,
        db: 0,
    };
    assert_eq!(g.out.len(), 9);
    for e in &spec.head {
        g.extra(e);
    }
    for db in &spec.dbs {
        if g.out.len() > MAX_FILE {
            break;
        }
        // Redis and Valkey refuse database ids of i32::MAX and up (the decoder does too).
        let id = u64::from(db.id % i32::MAX as u32);
        g.out.push(254);
        g.st.len(id, &mut g.out);
        g.db = id;
        g.items.push(MItem::SelectDb(g.db));
        if let Some((a, b)) = db.resize {
            g.out.push(251);
            g.st.len(u64::from(a), &mut g.out);
            g.st.len(u64::from(b), &mut g.out);
            g.items.push(MItem::ResizeDb(u64::from(a), u64::from(b)));
        }
        for e in &db.entries {
            if g.out.len() > MAX_FILE {
                break;
            }
            match e {
                DbEntry::Record(r) => g.record(r),
                DbEntry::Extra(x) => g.extra(x),
            }
        }
    }
    for e in &spec.tail {
        g.extra(e);
    }
    let eof = g.out.len();
    g.out.push(255);
    let stored_crc = if version.has_checksum() {
        let c = if spec.zero_checksum { 0 } else { crc64(&g.out) };
        g.out.extend_from_slice(&c.to_le_bytes());
        Some(c)
    } else {
        None
    };
    g.out.extend_from_slice(&spec.trailing);
    g.items.push(MItem::Eof {
        offset: eof as u64,
        checksum: Checksum::Absent,
        trailing_bytes: spec.trailing.len() as u64,
    });
    Generated {
        data: g.out,
        version,
        items: g.items,
        stored_crc,
        values: g.values,
    }
}

impl Gen {
    fn valkey(&self) -> bool {
        self.version.flavor == Flavor::Valkey
    }

    fn extra(&mut self, e: &Extra) {
        let (st, out) = (&mut self.st, &mut self.out);
        let item = match e {
            Extra::Aux(k, v) => {
                out.push(250);
                let k = st.string(k, true, out);
                let v = st.string(v, true, out);
                MItem::Aux(k, v)
            }
            Extra::ModuleAux(id, when, ops) => {
                out.push(247);
                st.len(*id, out);
                st.len(2, out);
                let when = u64::from(*when % 4);
                st.len(when, out);
                let start = out.len();
                st.module_ops(ops, out);
                MItem::ModuleAux {
                    id: *id,
                    when,
                    raw: out[start..].to_vec(),
                }
            }
            Extra::Function(code) => {
                out.push(245);
                MItem::Function(st.string(code, true, out))
            }
            Extra::FunctionPreGa(name, engine, desc, code) => {
                out.push(246);
                let name = st.string(name, true, out);
                let engine = st.string(engine, true, out);
                out.push(u8::from(desc.is_some()));
                let description = desc.as_ref().map(|d| st.string(d, true, out));
                let code = st.string(code, true, out);
                MItem::FunctionPreGa {
                    name,
                    engine,
                    description,
                    code,
                }
            }
            Extra::SlotInfo(slot, size, expires) => {
                out.push(244);
                st.len(u64::from(*slot), out);
                st.len(u64::from(*size), out);
                st.len(u64::from(*expires), out);
                MItem::SlotInfo(u64::from(*slot), u64::from(*size), u64::from(*expires))
            }
            Extra::SlotImport(job, ranges) => {
                if !self.version.is_valkey() {
                    return;
                }
                out.push(243);
                let job = st.string(job, true, out);
                st.len(ranges.len() as u64, out);
                let start = out.len();
                for (a, b) in ranges {
                    st.len(u64::from(*a), out);
                    st.len(u64::from(*b), out);
                }
                MItem::SlotImport {
                    job,
                    ranges_raw: out[start..].to_vec(),
                    ranges: ranges.len() as u64,
                }
            }
            Extra::SlotNum(n) => {
                out.push(121);
                st.len(u64::from(*n), out);
                return;
            }
        };
        self.items.push(item);
    }

    fn record(&mut self, r: &RecordSpec) {
        let offset = self.out.len();
        let (st, out) = (&mut self.st, &mut self.out);
        let expire_ms = match r.expire {
            Some(Expire::Ms(ms)) => {
                out.push(252);
                out.extend_from_slice(&ms.to_le_bytes());
                Some(ms)
            }
            Some(Expire::Secs(s)) => {
                out.push(253);
                out.extend_from_slice(&s.to_le_bytes());
                Some(i64::from(s) * 1000)
            }
            None => None,
        };
        if let Some(n) = r.ram_lru {
            out.push(107);
            st.len(u64::from(n), out);
        }
        if let Some(n) = r.idle {
            out.push(248);
            st.len(n, out);
        }
        if let Some(f) = r.freq {
            out.push(249);
            out.push(f);
        }
        let mut key_meta = None;
        if let Some(classes) = &r.key_meta {
            if !self.version.is_valkey() && self.version.number >= 13 {
                out.push(243);
                let start = out.len();
                st.len(classes.len() as u64, out);
                for (spec, ops) in classes {
                    out.extend_from_slice(&spec.to_le_bytes());
                    st.module_ops(ops, out);
                }
                key_meta = Some(out[start..].to_vec());
            }
        }
        let (ty, encoding) = self.type_of(&r.value);
        let (st, out) = (&mut self.st, &mut self.out);
        out.push(ty);
        let key = st.string(&r.key, true, out);
        let value_offset = self.out.len();
        let value = self.value(ty, &r.value);
        self.values.push((ty, value_offset, value.clone()));
        self.items.push(MItem::Record(MRecord {
            db: self.db,
            key,
            expire_ms,
            idle: r.idle,
            freq: r.freq,
            key_meta,
            encoding,
            offset: offset as u64,
            len: (self.out.len() - offset) as u64,
            value_offset: value_offset as u64,
            value,
        }));
    }

    fn type_of(&self, v: &ValueSpec) -> (u8, &'static str) {
        match v {
            ValueSpec::String(_) => (0, "string"),
            ValueSpec::List(ListEnc::Plain, _) => (1, "list"),
            ValueSpec::List(ListEnc::Ziplist, _) => (10, "list_ziplist"),
            ValueSpec::List(ListEnc::Quicklist, _) => (14, "list_quicklist"),
            ValueSpec::List(ListEnc::Quicklist2, _) => (18, "list_quicklist_2"),
            ValueSpec::Set(SetEnc::Plain, ..) => (2, "set"),
            ValueSpec::Set(SetEnc::Intset, ..) => (11, "set_intset"),
            ValueSpec::Set(SetEnc::Listpack, ..) => (20, "set_listpack"),
            ValueSpec::ZSet(ZSetEnc::Plain, _) => (3, "zset"),
            ValueSpec::ZSet(ZSetEnc::Plain2, _) => (5, "zset_2"),
            ValueSpec::ZSet(ZSetEnc::Ziplist, _) => (12, "zset_ziplist"),
            ValueSpec::ZSet(ZSetEnc::Listpack, _) => (17, "zset_listpack"),
            ValueSpec::Hash(enc, ..) => match (enc, self.valkey()) {
                (HashEnc::Plain, _) => (4, "hash"),
                (HashEnc::Zipmap, _) => (9, "hash_zipmap"),
                (HashEnc::Ziplist, _) => (13, "hash_ziplist"),
                (HashEnc::Listpack, _) => (16, "hash_listpack"),
                (_, true) => (22, "hash_2"),
                (HashEnc::MetadataPreGa, false) => (22, "hash_metadata_pre_ga"),
                (HashEnc::ListpackExPreGa, false) => (23, "hash_listpack_ex_pre_ga"),
                (HashEnc::Metadata | HashEnc::ValkeyHash2, false) => (24, "hash_metadata"),
                (HashEnc::ListpackEx, false) => (25, "hash_listpack_ex"),
            },
            ValueSpec::Stream(s) => match s.layout % 3 {
                0 => (15, "stream_listpacks"),
                1 => (19, "stream_listpacks_2"),
                _ => (21, "stream_listpacks_3"),
            },
            ValueSpec::Module(..) => (7, "module_2"),
        }
    }

    fn value(&mut self, ty: u8, v: &ValueSpec) -> MValue {
        let (st, out) = (&mut self.st, &mut self.out);
        match v {
            ValueSpec::String(e) => MValue::String(st.string(e, true, out)),
            ValueSpec::List(enc, items) => {
                let lp: Vec<LpValue> = items.iter().map(Elem::lp).collect();
                match enc {
                    ListEnc::Plain => {
                        st.len(items.len() as u64, out);
                        MValue::List(items.iter().map(|e| st.string(e, true, out)).collect())
                    }
                    ListEnc::Ziplist => {
                        let blob = st.ziplist(&lp);
                        st.blob(&blob, out);
                        MValue::List(lp.iter().map(lp_model).collect())
                    }
                    ListEnc::Quicklist => {
                        let chunks = split(st, &lp);
                        st.len(chunks.len() as u64, out);
                        for c in &chunks {
                            let blob = st.ziplist(c);
                            st.blob(&blob, out);
                        }
                        MValue::List(lp.iter().map(lp_model).collect())
                    }
                    ListEnc::Quicklist2 => {
                        // Plain nodes hold one element each; packed nodes a listpack.
                        let mut nodes: Vec<Result<&Elem, &[LpValue]>> = Vec::new();
                        let mut i = 0;
                        let mut empty = 0;
                        while i < items.len() {
                            if st.one_in(3) {
                                nodes.push(Ok(&items[i]));
                                i += 1;
                            } else {
                                let mut n = (st.next() % 6) as usize;
                                if n == 0 {
                                    empty += 1;
                                    if empty > 2 {
                                        n = 1;
                                    }
                                }
                                let end = (i + n).min(items.len());
                                nodes.push(Err(&lp[i..end]));
                                i = end;
                            }
                        }
                        st.len(nodes.len() as u64, out);
                        let mut model = Vec::new();
                        for n in nodes {
                            match n {
                                Ok(e) => {
                                    st.len(1, out);
                                    model.push(st.string(e, true, out));
                                }
                                Err(values) => {
                                    st.len(2, out);
                                    let blob = st.listpack(values);
                                    st.blob(&blob, out);
                                    model.extend(values.iter().map(lp_model));
                                }
                            }
                        }
                        MValue::List(model)
                    }
                }
            }
            ValueSpec::Set(enc, members, ints) => match enc {
                SetEnc::Plain => {
                    st.len(members.len() as u64, out);
                    MValue::Set(members.iter().map(|e| st.string(e, true, out)).collect())
                }
                SetEnc::Intset => {
                    let w = [2, 2, 4, 8][(st.next() % 4) as usize];
                    let (blob, sorted) = build::intset(ints, w);
                    st.blob(&blob, out);
                    MValue::Set(sorted.into_iter().map(S::I).collect())
                }
                SetEnc::Listpack => {
                    let lp: Vec<LpValue> = members.iter().map(Elem::lp).collect();
                    let blob = st.listpack(&lp);
                    st.blob(&blob, out);
                    MValue::Set(lp.iter().map(lp_model).collect())
                }
            },
            ValueSpec::ZSet(enc, members) => match enc {
                ZSetEnc::Plain | ZSetEnc::Plain2 => {
                    st.len(members.len() as u64, out);
                    let mut model = Vec::new();
                    for (m, score) in members {
                        let m = st.string(m, true, out);
                        let v = score.value();
                        let got = if ty == 5 {
                            out.extend_from_slice(&v.to_le_bytes());
                            v
                        } else if v.is_nan() {
                            out.push(253);
                            f64::NAN
                        } else if v == f64::INFINITY {
                            out.push(254);
                            v
                        } else if v == f64::NEG_INFINITY {
                            out.push(255);
                            v
                        } else {
                            let text = score.text();
                            out.push(text.len() as u8);
                            out.extend_from_slice(&text);
                            v
                        };
                        model.push((m, Score(got)));
                    }
                    MValue::ZSet(model)
                }
                ZSetEnc::Ziplist | ZSetEnc::Listpack => {
                    let mut lp = Vec::new();
                    let mut model = Vec::new();
                    for (m, score) in members {
                        let m = m.lp();
                        model.push((lp_model(&m), Score(score.value())));
                        lp.push(m);
                        lp.push(match score {
                            ScoreSpec::Int(i) => LpValue::Int(i64::from(*i)),
                            other => LpValue::Str(other.text()),
                        });
                    }
                    let blob = if matches!(enc, ZSetEnc::Ziplist) {
                        st.ziplist(&lp)
                    } else {
                        st.listpack(&lp)
                    };
                    st.blob(&blob, out);
                    MValue::ZSet(model)
                }
            },
            ValueSpec::Hash(_, fields, min_expire) => {
                let mut model = Vec::new();
                match ty {
                    4 | 22 | 24 => {
                        if ty == 24 {
                            out.extend_from_slice(&min_expire.to_le_bytes());
                        }
                        st.len(fields.len() as u64, out);
                        let valkey = self.version.is_valkey();
                        for (f, v, ttl) in fields {
                            let t = ttl.unwrap_or(0);
                            if ty == 24 || (ty == 22 && !valkey) {
                                st.len(t, out);
                            }
                            let f = st.string(f, true, out);
                            let v = st.string(v, true, out);
                            let expire = match ty {
                                24 => (t != 0)
                                    .then(|| t.wrapping_add(*min_expire).wrapping_sub(1) as i64),
                                22 if valkey => {
                                    let t = ttl.map_or(-1, |t| t as i64);
                                    out.extend_from_slice(&t.to_le_bytes());
                                    (t != -1).then_some(t)
                                }
                                22 => (t != 0).then_some(t as i64),
                                _ => None,
                            };
                            model.push((f, v, expire));
                        }
                    }
                    9 => {
                        let pairs: Vec<(Vec<u8>, Vec<u8>)> = fields
                            .iter()
                            .map(|(f, v, _)| (f.bytes(), v.bytes()))
                            .collect();
                        let seed = st.next();
                        let blob = build::zipmap(
                            &pairs,
                            |i| (width_of(seed, i) % 3) * 2,
                            |i| width_of(seed ^ 1, i) == 5,
                        );
                        st.blob(&blob, out);
                        model = pairs
                            .into_iter()
                            .map(|(f, v)| (S::B(f), S::B(v), None))
                            .collect();
                    }
                    13 | 16 => {
                        let mut lp = Vec::new();
                        for (f, v, _) in fields {
                            let (f, v) = (f.lp(), v.lp());
                            model.push((lp_model(&f), lp_model(&v), None));
                            lp.push(f);
                            lp.push(v);
                        }
                        let blob = if ty == 13 {
                            st.ziplist(&lp)
                        } else {
                            st.listpack(&lp)
                        };
                        st.blob(&blob, out);
                    }
                    _ => {
                        // 23 and 25: listpack triples with absolute TTLs, 0 = none.
                        if ty == 25 {
                            out.extend_from_slice(&min_expire.to_le_bytes());
                        }
                        let mut lp = Vec::new();
                        for (f, v, ttl) in fields {
                            let (f, v) = (f.lp(), v.lp());
                            let t = ttl.unwrap_or(0) as i64;
                            model.push((lp_model(&f), lp_model(&v), (t != 0).then_some(t)));
                            lp.push(f);
                            lp.push(v);
                            lp.push(LpValue::Int(t));
                        }
                        let blob = st.listpack(&lp);
                        st.blob(&blob, out);
                    }
                }
                MValue::Hash(model)
            }
            ValueSpec::Stream(s) => MValue::Stream(stream(st, out, ty, s)),
            ValueSpec::Module(id, ops) => {
                st.len(*id, out);
                let start = out.len();
                st.module_ops(ops, out);
                MValue::Module(*id, out[start..].to_vec())
            }
        }
    }
}

/// Splits `values` into quicklist nodes of 0 to 7 elements (empty nodes are legal).
fn split<'a>(st: &mut Style, values: &'a [LpValue]) -> Vec<&'a [LpValue]> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < values.len() || (out.is_empty() && st.one_in(2)) {
        let n = (st.next() % 8) as usize;
        let end = (i + n).min(values.len());
        out.push(&values[i..end]);
        i = end;
        if out.len() > values.len() + 4 {
            break;
        }
    }
    out
}

fn stream(st: &mut Style, out: &mut Vec<u8>, ty: u8, s: &StreamSpec) -> MStream {
    let layout = match ty {
        15 => 1,
        19 => 2,
        _ => 3,
    };
    let mut entries = Vec::new();
    st.len(s.nodes.len() as u64, out);
    for node in &s.nodes {
        let master_fields: Vec<LpValue> = node.master_fields.iter().map(Elem::lp).collect();
        let mut built = Vec::new();
        for e in &node.entries {
            let fields: Vec<(LpValue, LpValue)> = if e.same_fields {
                master_fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        let v = e.fields.get(i).map_or(LpValue::Int(0), |(_, v)| v.lp());
                        (f.clone(), v)
                    })
                    .collect()
            } else {
                e.fields.iter().map(|(f, v)| (f.lp(), v.lp())).collect()
            };
            if !e.deleted {
                entries.push((
                    (
                        node.master.0.wrapping_add(e.ms_diff as u64),
                        node.master.1.wrapping_add(e.seq_diff as u64),
                    ),
                    fields
                        .iter()
                        .map(|(f, v)| (lp_model(f), lp_model(v)))
                        .collect(),
                ));
            }
            built.push(StreamNodeEntry {
                deleted: e.deleted,
                same_fields: e.same_fields,
                ms_diff: e.ms_diff,
                seq_diff: e.seq_diff,
                fields,
            });
        }
        let mut key = Vec::with_capacity(16);
        id_raw(node.master, &mut key);
        st.blob(&key, out);
        let values = build::stream_node_values(&master_fields, &built);
        let blob = st.listpack(&values);
        st.blob(&blob, out);
    }
    st.len(s.length, out);
    id_len(st, s.last_id, out);
    if layout >= 2 {
        id_len(st, s.first_id, out);
        id_len(st, s.max_deleted, out);
        st.len(s.entries_added, out);
    }
    st.len(s.groups.len() as u64, out);
    let mut groups = Vec::new();
    for g in &s.groups {
        let name = st.string(&g.name, true, out);
        id_len(st, g.last_id, out);
        if layout >= 2 {
            st.len(g.entries_read, out);
        }
        st.len(g.pel.len() as u64, out);
        for (id, time, count) in &g.pel {
            id_raw(*id, out);
            out.extend_from_slice(&time.to_le_bytes());
            st.len(*count, out);
        }
        st.len(g.consumers.len() as u64, out);
        let mut consumers = Vec::new();
        for c in &g.consumers {
            let name = st.string(&c.name, true, out);
            out.extend_from_slice(&c.seen.to_le_bytes());
            if layout >= 3 {
                out.extend_from_slice(&c.active.to_le_bytes());
            }
            st.len(c.pel.len() as u64, out);
            for id in &c.pel {
                id_raw(*id, out);
            }
            consumers.push(MConsumer {
                name,
                seen: c.seen,
                active: (layout >= 3).then_some(c.active),
                pending: c.pel.clone(),
            });
        }
        groups.push(MGroup {
            name,
            last_id: g.last_id,
            entries_read: (layout >= 2).then_some(g.entries_read),
            pending: g.pel.iter().map(|(id, t, c)| (*id, *t, *c)).collect(),
            consumers,
        });
    }
    MStream {
        length: s.length,
        last_id: s.last_id,
        first_id: (layout >= 2).then_some(s.first_id),
        max_deleted_id: (layout >= 2).then_some(s.max_deleted),
        entries_added: (layout >= 2).then_some(s.entries_added),
        nodes: s.nodes.len() as u64,
        entries,
        groups,
    }
}

/// Applies `mutations` to a copy of `data`.
pub fn mutate(data: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut d = data.to_vec();
    for m in mutations {
        let at = |p: u32, len: usize| p as usize % (len + 1);
        match m {
            Mutation::Flip(p, x) => {
                if !d.is_empty() {
                    let i = *p as usize % d.len();
                    d[i] ^= if *x == 0 { 1 } else { *x };
                }
            }
            Mutation::Set(p, b) => {
                if !d.is_empty() {
                    let i = *p as usize % d.len();
                    d[i] = *b;
                }
            }
            Mutation::Truncate(p) => d.truncate(at(*p, d.len())),
            Mutation::Insert(p, bytes) => {
                let i = at(*p, d.len());
                d.splice(i..i, bytes.iter().copied());
            }
            Mutation::Remove(p, n) => {
                let i = at(*p, d.len());
                let end = (i + usize::from(*n)).min(d.len());
                d.drain(i..end);
            }
        }
    }
    d
}

/// The `structured` target: generate, check the decoder reports exactly what was written (with
/// the checksum verified and not), run the property walk, then mutate and walk again.
pub fn run(data: &[u8]) {
    let Ok(spec) = spec_from_bytes(data) else {
        return;
    };
    let g = generate(&spec);
    for verify in [true, false] {
        let options = rdb_format::DecoderOptions {
            verify_checksum: verify,
            allow_future_versions: false,
        };
        let (version, items) = match crate::model::observe(&g.data, options) {
            Ok(x) => x,
            Err(e) => {
                panic!("decoder rejected a generated file (verify={verify}): {e}\nspec: {spec:?}")
            }
        };
        assert_eq!(version, g.version);
        let expected = g.expected(verify);
        if items != expected {
            let n = items
                .iter()
                .zip(&expected)
                .take_while(|(a, b)| a == b)
                .count();
            panic!(
                "decoded items differ from the generated ones at item {n} (verify={verify})\n\
                 decoded:  {:?}\ngenerated: {:?}\nspec: {spec:?}",
                items.get(n),
                expected.get(n)
            );
        }
    }
    // Each value on its own, DUMP-style, followed by the rest of the file (which
    // `Value::decode` must leave alone).
    for (ty, at, expected) in &g.values {
        let scratch = rdb_format::Scratch::new();
        let got = rdb_format::Value::decode(*ty, g.version, &g.data[*at..], &scratch)
            .and_then(crate::model::value);
        match got {
            Ok(v) => assert_eq!(&v, expected, "Value::decode of type {ty} at {at}"),
            Err(e) => panic!("Value::decode of type {ty} at {at} failed: {e}\nspec: {spec:?}"),
        }
    }
    // The property walks run with allocations capped by the generated file's size (the
    // generator and the owned model above allocate freely).
    crate::capped(&g.data, crate::walk::whole_file);
    if !spec.mutations.is_empty() {
        let m = mutate(&g.data, &spec.mutations);
        crate::capped(&m, crate::walk::whole_file);
    }
}
