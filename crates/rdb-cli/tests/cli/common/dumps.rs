//! Small hand-made dumps for the validation tests: records whose value bytes are given, so
//! a test can hold what a server never writes (duplicates, NaN scores, empty collections),
//! with a correct checksum.

use std::path::Path;

use rdb_format::write::{rdb_string, ListpackWriter, RdbWriter};
use rdb_format::{Flavor, Version};

/// RDB 10: what the installed redis-check-rdb (Redis 7.0) reads.
pub const V10: Version = Version {
    flavor: Flavor::Redis,
    number: 10,
};

/// One record: db, key, type byte, serialized value.
pub type Rec = (u64, &'static [u8], u8, Vec<u8>);

/// Writes a dump of `records` (with `RESIZEDB` hints `resize` per db when given) to `path`.
pub fn write(path: &Path, records: &[Rec], resize: Option<(u64, u64)>) {
    let mut w = RdbWriter::new(Vec::new(), V10).unwrap();
    w.aux(b"redis-ver", b"7.0.15").unwrap();
    let mut db = None;
    for (d, key, t, value) in records {
        if db != Some(*d) {
            w.select_db(*d).unwrap();
            if let Some((a, b)) = resize {
                w.resize_db(a, b).unwrap();
            }
            db = Some(*d);
        }
        w.record(key, None, *t, value).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

/// A string value.
pub fn string(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    rdb_string(&mut out, s);
    out
}

/// A listpack blob holding `items`, as an RDB string.
pub fn listpack(items: &[&[u8]]) -> Vec<u8> {
    let mut lp = ListpackWriter::new();
    for i in items {
        lp.push_bytes(i);
    }
    string(&lp.finish().unwrap())
}

/// An intset of 16-bit members in the given (possibly wrong) order, as an RDB string.
pub fn intset16(members: &[i16]) -> Vec<u8> {
    let mut blob = 2u32.to_le_bytes().to_vec();
    blob.extend((members.len() as u32).to_le_bytes());
    for m in members {
        blob.extend(m.to_le_bytes());
    }
    string(&blob)
}

/// Type bytes.
pub const STRING: u8 = 0;
pub const SET: u8 = 2;
pub const SET_INTSET: u8 = 11;
pub const HASH_LISTPACK: u8 = 16;
pub const ZSET_LISTPACK: u8 = 17;
