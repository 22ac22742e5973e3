//! The file as a whole: header, databases, auxiliary items, records and the end, with the
//! items the decoder must report for them.

use rdb_format::owned::{OwnedItem, OwnedRecord, OwnedValue};
use rdb_format::{crc64, Checksum, Encoding, Eof, Flavor, ModuleId, Version};

use super::style::Style;
use super::{
    DbEntry, Expire, Extra, FileSpec, HashEnc, ListEnc, RecordSpec, SetEnc, ValueSpec, ZSetEnc,
};
use crate::fuzz::walk::VERSIONS;

/// Generated files stop growing past this size (records after it are left out).
const MAX_FILE: usize = 256 << 10;

/// The generated file and what the decoder must report for it.
#[derive(Debug)]
pub struct Generated {
    /// The RDB bytes.
    pub data: Vec<u8>,
    /// Its version.
    pub version: Version,
    /// The items, the EOF's checksum as reported with verification on.
    pub items: Vec<OwnedItem>,
    /// The stored checksum (None before RDB 5).
    pub stored_crc: Option<u64>,
    /// Each record's type byte, value offset and value, for `Value::decode`.
    pub values: Vec<(u8, usize, OwnedValue)>,
}

impl Generated {
    /// The items as reported with checksum verification `verify`.
    pub fn expected(&self, verify: bool) -> Vec<OwnedItem> {
        let mut items = self.items.clone();
        if let Some(OwnedItem::Eof(eof)) = items.last_mut() {
            eof.checksum = match self.stored_crc {
                None => Checksum::Absent,
                Some(0) => Checksum::NotComputed,
                Some(c) if verify => Checksum::Verified(c),
                Some(c) => Checksum::NotVerified(c),
            };
        }
        items
    }
}

pub(super) struct Gen {
    pub(super) st: Style,
    pub(super) out: Vec<u8>,
    items: Vec<OwnedItem>,
    values: Vec<(u8, usize, OwnedValue)>,
    pub(super) version: Version,
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
        g.items.push(OwnedItem::SelectDb { db: g.db });
        if let Some((a, b)) = db.resize {
            g.out.push(251);
            g.st.len(u64::from(a), &mut g.out);
            g.st.len(u64::from(b), &mut g.out);
            g.items.push(OwnedItem::ResizeDb {
                db_size: u64::from(a),
                expires_size: u64::from(b),
            });
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
    g.items.push(OwnedItem::Eof(Eof {
        offset: eof as u64,
        checksum: Checksum::Absent,
        trailing_bytes: spec.trailing.len() as u64,
    }));
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
                OwnedItem::Aux { key: k, value: v }
            }
            Extra::ModuleAux(id, when, ops) => {
                out.push(247);
                st.len(*id, out);
                st.len(2, out);
                let when = u64::from(*when % 4);
                st.len(when, out);
                let start = out.len();
                st.module_ops(ops, out);
                OwnedItem::ModuleAux {
                    id: ModuleId(*id),
                    when,
                    raw: out[start..].to_vec(),
                }
            }
            Extra::Function(code) => {
                out.push(245);
                OwnedItem::Function {
                    code: st.string(code, true, out),
                }
            }
            Extra::FunctionPreGa(name, engine, desc, code) => {
                out.push(246);
                let name = st.string(name, true, out);
                let engine = st.string(engine, true, out);
                out.push(u8::from(desc.is_some()));
                let description = desc.as_ref().map(|d| st.string(d, true, out));
                let code = st.string(code, true, out);
                OwnedItem::FunctionPreGa {
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
                OwnedItem::SlotInfo {
                    slot: u64::from(*slot),
                    size: u64::from(*size),
                    expires_size: u64::from(*expires),
                }
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
                OwnedItem::SlotImport {
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
        let (ty, name) = self.type_of(&r.value);
        // The decoder's own mapping, checked against the name the generator expects.
        let encoding = Encoding::from_type_byte(ty, self.version)
            .unwrap_or_else(|e| panic!("type {ty} refused for {}: {e:?}", self.version));
        assert_eq!(encoding.as_str(), name, "type {ty} for {}", self.version);
        let (st, out) = (&mut self.st, &mut self.out);
        out.push(ty);
        let key = st.string(&r.key, true, out);
        let value_offset = self.out.len();
        let value = self.value(ty, &r.value);
        self.values.push((ty, value_offset, value.clone()));
        self.items.push(OwnedItem::Record(Box::new(OwnedRecord {
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
        })));
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
}
