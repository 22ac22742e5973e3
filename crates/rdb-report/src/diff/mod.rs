//! Comparing two sets of dumps key by key: keys only on one side, keys whose type, value or
//! TTL differ, and per-db totals.
//!
//! Each side's records go through a [`DigestSink`], which keeps an [`Entry`] per key (48
//! bytes: the hash of db and key, a 128-bit digest of the decoded value, type and expiry),
//! never the key or the value. Past a threshold the entries are hash-partitioned into
//! files of a temporary directory ([`EntryStore`]) and compared partition by partition.
//! [`compare`] then lists the first differences by key hash only; their key names are
//! found by reading the keys again ([`KeyNames`]), for the listed ones only.
//!
//! Values are compared by [`value_digest`]: encoding-independent (a listpack hash equals a
//! hashtable hash with the same fields), sets, hashes and sorted sets by member whatever
//! their order, lists and streams in order.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Mutex;

use rdb_format::{Item, Scratch};
use rdb_pipeline::pipeline::{for_each_record, Chunk, FileInfo, Sink, SinkError};

use crate::{iso_time, json_bytes, printable, ReportSinkError};

mod digest;
mod store;

pub use digest::{key_hash, value_digest};
use digest::{type_index, type_name};
pub use store::{Entry, EntryStore};

/// Keeps one [`Entry`] per record of one side, in a [`EntryStore`].
pub struct DigestSink {
    store: Mutex<EntryStore>,
}

impl DigestSink {
    /// A sink adding to `store`.
    pub fn new(store: EntryStore) -> Self {
        DigestSink {
            store: Mutex::new(store),
        }
    }

    /// The store, once the run is over.
    pub fn into_store(self) -> EntryStore {
        self.store.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

impl Sink for DigestSink {
    type File = ();
    type Part = Vec<Entry>;
    type Error = ReportSinkError;

    fn begin_file(&self, _file: &FileInfo, _data: &[u8]) -> Result<(), SinkError<Self::Error>> {
        Ok(())
    }

    fn process<'a>(
        &self,
        _file: &(),
        _chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<Vec<Entry>, SinkError<Self::Error>> {
        let mut entries = Vec::new();
        for_each_record(items, scratch, |r, key, scratch| {
            entries.push(Entry {
                key: key_hash(r.db, key),
                digest: value_digest(r, scratch)?,
                expire_ms: r.expire_ms.unwrap_or(i64::MIN),
                db: u32::try_from(r.db).unwrap_or(u32::MAX),
                type_index: type_index(r.data_type()),
            });
            Ok(())
        })?;
        Ok(entries)
    }

    fn commit(&self, _file: &(), _chunk: &Chunk, part: Vec<Entry>) -> Result<(), Self::Error> {
        let mut store = self.store.lock().unwrap_or_else(|p| p.into_inner());
        store.extend(&part).map_err(ReportSinkError::Write)
    }
}

/// The counts of one database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DbTotals {
    /// The database.
    pub db: u32,
    /// Keys on the left.
    pub left: u64,
    /// Keys on the right.
    pub right: u64,
    /// Keys equal on both sides (type, value and TTL).
    pub same: u64,
    /// Keys only on the left.
    pub only_left: u64,
    /// Keys only on the right.
    pub only_right: u64,
    /// Keys of another type on the other side.
    pub type_differs: u64,
    /// Keys of the same type with another value.
    pub value_differs: u64,
    /// Keys with another TTL (whatever their value).
    pub ttl_differs: u64,
}

impl DbTotals {
    fn add(&mut self, o: &DbTotals) {
        self.left += o.left;
        self.right += o.right;
        self.same += o.same;
        self.only_left += o.only_left;
        self.only_right += o.only_right;
        self.type_differs += o.type_differs;
        self.value_differs += o.value_differs;
        self.ttl_differs += o.ttl_differs;
    }
}

/// One listed difference.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Difference {
    /// The key's entry on the left, if there.
    pub left: Option<Entry>,
    /// The key's entry on the right, if there.
    pub right: Option<Entry>,
    /// The key, once found by [`KeyNames`].
    pub key: Option<Vec<u8>>,
}

impl Difference {
    fn either(&self) -> Entry {
        self.left.or(self.right).unwrap_or(Entry {
            key: 0,
            digest: 0,
            expire_ms: i64::MIN,
            db: 0,
            type_index: 0,
        })
    }

    /// The database.
    pub fn db(&self) -> u32 {
        self.either().db
    }

    /// What differs: `only-left`, `only-right`, or some of `type`, `value`, `ttl`.
    pub fn kinds(&self) -> Vec<&'static str> {
        match (self.left, self.right) {
            (Some(_), None) => vec!["only-left"],
            (None, Some(_)) => vec!["only-right"],
            (Some(l), Some(r)) => {
                let mut k = Vec::new();
                if l.type_index != r.type_index {
                    k.push("type");
                } else if l.digest != r.digest {
                    k.push("value");
                }
                if l.expire_ms != r.expire_ms {
                    k.push("ttl");
                }
                k
            }
            (None, None) => Vec::new(),
        }
    }
}

/// The outcome of [`compare`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct DiffResult {
    /// Per database, by number.
    pub dbs: Vec<DbTotals>,
    /// Keys that differ in any way (exact).
    pub differing: u64,
    /// The first differences (at most the limit given to [`compare`]), in key-hash order.
    pub differences: Vec<Difference>,
}

impl DiffResult {
    /// Whether both sides hold the same keys, types, values and TTLs.
    pub fn same(&self) -> bool {
        self.differing == 0
    }

    /// The totals over every database.
    pub fn total(&self) -> DbTotals {
        let mut t = DbTotals::default();
        for d in &self.dbs {
            t.add(d);
        }
        t
    }
}

/// Compares the two sides, listing at most `limit` differences (the totals are exact).
/// Memory: one partition of each side at a time when a side spilled, else both sides.
pub fn compare(
    left: &mut EntryStore,
    right: &mut EntryStore,
    limit: usize,
) -> io::Result<DiffResult> {
    let partitions = if left.spilled() || right.spilled() {
        left.flush()?;
        right.flush()?;
        store::PARTITIONS
    } else {
        1
    };
    let mut dbs: HashMap<u32, DbTotals> = HashMap::new();
    let mut result = DiffResult::default();
    for p in 0..partitions {
        let l = left.take_partition(p)?;
        let r = right.take_partition(p)?;
        let (mut i, mut j) = (0, 0);
        while i < l.len() || j < r.len() {
            let (a, b) = match (l.get(i), r.get(j)) {
                (Some(a), Some(b)) if a.key == b.key => {
                    i += 1;
                    j += 1;
                    (Some(*a), Some(*b))
                }
                (Some(a), Some(b)) if a.key < b.key => {
                    i += 1;
                    (Some(*a), None)
                }
                (Some(a), None) => {
                    i += 1;
                    (Some(*a), None)
                }
                (_, Some(b)) => {
                    j += 1;
                    (None, Some(*b))
                }
                (None, None) => break,
            };
            let d = Difference {
                left: a,
                right: b,
                key: None,
            };
            let t = dbs.entry(d.db()).or_insert_with(|| DbTotals {
                db: d.db(),
                ..DbTotals::default()
            });
            t.left += u64::from(a.is_some());
            t.right += u64::from(b.is_some());
            let kinds = d.kinds();
            for k in &kinds {
                match *k {
                    "only-left" => t.only_left += 1,
                    "only-right" => t.only_right += 1,
                    "type" => t.type_differs += 1,
                    "value" => t.value_differs += 1,
                    _ => t.ttl_differs += 1,
                }
            }
            if kinds.is_empty() {
                t.same += 1;
            } else {
                result.differing += 1;
                if result.differences.len() < limit {
                    result.differences.push(d);
                }
            }
        }
    }
    result.dbs = dbs.into_values().collect();
    result.dbs.sort_by_key(|d| d.db);
    Ok(result)
}

/// Finds the key names of the listed differences while the keys are read again (either
/// side; call [`KeyNames::record`] with each record's db and key).
pub struct KeyNames {
    wanted: HashMap<u128, usize>,
    found: Mutex<Vec<Option<Vec<u8>>>>,
}

impl KeyNames {
    /// Looks for the keys of `result`'s listed differences.
    pub fn new(result: &DiffResult) -> Self {
        let wanted: HashMap<u128, usize> = result
            .differences
            .iter()
            .enumerate()
            .map(|(i, d)| (d.either().key, i))
            .collect();
        KeyNames {
            found: Mutex::new(vec![None; result.differences.len()]),
            wanted,
        }
    }

    /// Whether no key is looked for (nothing listed).
    pub fn is_empty(&self) -> bool {
        self.wanted.is_empty()
    }

    /// Notes `key` if it is one of the listed differences.
    pub fn record(&self, db: u64, key: &[u8]) {
        if let Some(&i) = self.wanted.get(&key_hash(db, key)) {
            let mut found = self.found.lock().unwrap_or_else(|p| p.into_inner());
            if found[i].is_none() {
                found[i] = Some(key.to_vec());
            }
        }
    }

    /// Names the differences of `result`.
    pub fn apply(self, result: &mut DiffResult) {
        let found = self.found.into_inner().unwrap_or_else(|p| p.into_inner());
        for (d, key) in result.differences.iter_mut().zip(found) {
            d.key = key;
        }
    }
}

fn ttl_text(e: &Entry) -> String {
    e.expiry().map_or_else(|| "none".to_string(), iso_time)
}

/// Writes the comparison as text: per-db totals, then the listed differences.
pub fn write_text(out: &mut impl Write, r: &DiffResult) -> io::Result<()> {
    writeln!(
        out,
        "{:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8}",
        "db", "left", "right", "same", "only-left", "only-right", "type", "value", "ttl"
    )?;
    let row = |out: &mut dyn Write, name: &str, t: &DbTotals| {
        writeln!(
            out,
            "{:>4} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8} {:>8}",
            name,
            t.left,
            t.right,
            t.same,
            t.only_left,
            t.only_right,
            t.type_differs,
            t.value_differs,
            t.ttl_differs
        )
    };
    for t in &r.dbs {
        row(out, &t.db.to_string(), t)?;
    }
    row(out, "all", &r.total())?;
    if r.same() {
        return writeln!(out, "\nsame: every key, type, value and TTL is equal");
    }
    writeln!(
        out,
        "\n{} keys differ{}",
        r.differing,
        if (r.differences.len() as u64) < r.differing {
            format!(" (the first {} listed)", r.differences.len())
        } else {
            String::new()
        }
    )?;
    for d in &r.differences {
        let key = d
            .key
            .as_deref()
            .map_or_else(|| "(key not found again)".into(), |k| printable(k, 200));
        write!(out, "{:<11} db {:<3} {key}", d.kinds().join(","), d.db())?;
        if let (Some(l), Some(rt)) = (d.left, d.right) {
            if l.type_index != rt.type_index {
                write!(
                    out,
                    "  type {} -> {}",
                    type_name(l.type_index),
                    type_name(rt.type_index)
                )?;
            }
            if l.expire_ms != rt.expire_ms {
                write!(out, "  ttl {} -> {}", ttl_text(&l), ttl_text(&rt))?;
            }
        }
        writeln!(out)?;
    }
    Ok(())
}

fn json_totals(b: &mut Vec<u8>, t: &DbTotals) {
    b.extend_from_slice(
        format!(
            "\"left\":{},\"right\":{},\"same\":{},\"only_left\":{},\"only_right\":{},\"type\":{},\"value\":{},\"ttl\":{}",
            t.left, t.right, t.same, t.only_left, t.only_right, t.type_differs, t.value_differs, t.ttl_differs
        )
        .as_bytes(),
    );
}

fn json_side(b: &mut Vec<u8>, e: Option<Entry>) {
    match e {
        None => b.extend_from_slice(b"null"),
        Some(e) => {
            b.extend_from_slice(format!("{{\"type\":\"{}\"", type_name(e.type_index)).as_bytes());
            if let Some(ms) = e.expiry() {
                b.extend_from_slice(format!(",\"expire_ms\":{ms}").as_bytes());
            }
            b.push(b'}');
        }
    }
}

/// Writes the comparison as one JSON object:
/// `{"same":B,"differing":N,"total":{..},"dbs":[{"db":N,..}],"differences":[..]}`.
pub fn write_json(out: &mut impl Write, r: &DiffResult) -> io::Result<()> {
    let mut b = Vec::new();
    b.extend_from_slice(
        format!(
            "{{\"same\":{},\"differing\":{},\"total\":{{",
            r.same(),
            r.differing
        )
        .as_bytes(),
    );
    json_totals(&mut b, &r.total());
    b.extend_from_slice(b"},\"dbs\":[");
    for (i, t) in r.dbs.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(format!("{{\"db\":{},", t.db).as_bytes());
        json_totals(&mut b, t);
        b.push(b'}');
    }
    b.extend_from_slice(b"],\"differences\":[");
    for (i, d) in r.differences.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(format!("{{\"db\":{},\"key\":", d.db()).as_bytes());
        match &d.key {
            Some(k) => json_bytes(&mut b, k),
            None => b.extend_from_slice(b"null"),
        }
        b.extend_from_slice(b",\"kinds\":[");
        for (i, k) in d.kinds().iter().enumerate() {
            if i > 0 {
                b.push(b',');
            }
            b.extend_from_slice(format!("\"{k}\"").as_bytes());
        }
        b.extend_from_slice(b"],\"left\":");
        json_side(&mut b, d.left);
        b.extend_from_slice(b",\"right\":");
        json_side(&mut b, d.right);
        b.push(b'}');
    }
    b.extend_from_slice(b"]}\n");
    out.write_all(&b)
}
