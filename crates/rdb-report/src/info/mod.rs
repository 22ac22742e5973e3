//! `info`: what a dump holds — version, aux fields, checksum, and per database the keys, keys
//! with an expiry, keys already expired, and counts and serialized bytes per type and
//! encoding; function libraries and module types.
//!
//! Only record metadata is read (type byte, expiry, serialized length, and a module value's
//! type id), so no value is decoded: an [`InfoReport`] runs at the decoder's scan speed.

use std::collections::BTreeMap;
use std::io::{self, Write};

use rdb_format::{Checksum, Encoding, Item, Record, Scratch, Type, Version};

use crate::memory::module_type_name;
use crate::{human_bytes, iso_time, json_bytes, json_str, now_ms, printable, ReportError};
use rdb_pipeline::filter::Filter;

mod scan;
mod totals;

pub use scan::{scan, scan_bytes, Cut, Release};
pub use totals::InfoTotals;
use totals::{write_json_totals, write_text_totals};

/// What became of a file's checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumStatus {
    /// Computed and equal to the stored value.
    Ok(u64),
    /// Stored as 0: the server ran with `rdbchecksum no`.
    NotComputed,
    /// Not verified (turned off); the stored value.
    NotVerified(u64),
    /// RDB before version 5 has none.
    Absent,
    /// A state this build of the report does not know.
    Unknown,
    /// Stored and computed values differ.
    Mismatch {
        /// The value in the file.
        stored: u64,
        /// The value computed over the file.
        computed: u64,
    },
}

impl ChecksumStatus {
    fn label(&self) -> &'static str {
        match self {
            ChecksumStatus::Ok(_) => "ok",
            ChecksumStatus::NotComputed => "not computed",
            ChecksumStatus::NotVerified(_) => "not verified",
            ChecksumStatus::Absent => "absent",
            ChecksumStatus::Unknown => "unknown",
            ChecksumStatus::Mismatch { .. } => "mismatch",
        }
    }
}

/// Keys and serialized bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Count {
    /// Keys.
    pub keys: u64,
    /// Serialized bytes of their records (expiry and LRU/LFU prefixes included).
    pub bytes: u64,
}

/// One database of a dump.
#[derive(Clone, Debug, Default)]
pub struct DbInfo {
    /// Keys (what `DBSIZE` answers after loading, expired keys included).
    pub keys: u64,
    /// Keys with an expiry (`INFO keyspace` `expires=`).
    pub expires: u64,
    /// Keys whose expiry is at or before the reference time.
    pub expired: u64,
    /// Serialized bytes of the records.
    pub bytes: u64,
    /// The `RESIZEDB` hint the server wrote: (keys, keys with expiry).
    pub declared: Option<(u64, u64)>,
    /// Per (type, on-disk encoding).
    pub encodings: BTreeMap<(&'static str, &'static str), Count>,
}

/// A function library.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionInfo {
    /// The library name (`#!lua name=...`), or the function name for Redis 7.0 RC dumps.
    pub name: String,
    /// The engine (`lua`).
    pub engine: String,
    /// Size of the code.
    pub bytes: u64,
}

/// A module type found in the dump.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Keys holding values of this type.
    pub keys: u64,
    /// Their serialized bytes.
    pub bytes: u64,
    /// Module aux data items.
    pub aux: u64,
}

/// Everything `info` reports about one file.
#[derive(Clone, Debug)]
pub struct FileInfo {
    /// The file's name as given.
    pub name: String,
    /// File size.
    pub file_bytes: u64,
    /// RDB version and magic.
    pub version: Version,
    /// Aux fields in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Checksum status (`None` if the file was not read to its end).
    pub checksum: Option<ChecksumStatus>,
    /// Bytes after the end of the dump.
    pub trailing_bytes: u64,
    /// Databases, by number.
    pub dbs: BTreeMap<u64, DbInfo>,
    /// Function libraries.
    pub functions: Vec<FunctionInfo>,
    /// Module types, by name.
    pub modules: BTreeMap<String, ModuleInfo>,
    /// The time "expired" is measured against, unix ms.
    pub now_ms: i64,
    /// Where that time came from: `--now`, `ctime` (the dump's creation time) or `clock`.
    pub now_from: &'static str,
}

impl FileInfo {
    /// Totals over all databases.
    pub fn totals(&self) -> DbInfo {
        let mut t = DbInfo::default();
        for db in self.dbs.values() {
            t.add(db);
        }
        t
    }
}

impl DbInfo {
    /// Adds another database's counts (not its RESIZEDB hint).
    pub(crate) fn add(&mut self, db: &DbInfo) {
        self.keys += db.keys;
        self.expires += db.expires;
        self.expired += db.expired;
        self.bytes += db.bytes;
        for (k, c) in &db.encodings {
            let e = self.encodings.entry(*k).or_default();
            e.keys += c.keys;
            e.bytes += c.bytes;
        }
    }
}

/// Collects a [`FileInfo`] from a dump's items.
pub struct InfoReport {
    info: FileInfo,
    now_given: bool,
    db: u64,
    scratch: Scratch,
    key: Vec<u8>,
    /// Counters of the database records are arriving for, merged into `info` when records
    /// of another database come (keeps map lookups off the per-record path).
    cur: Option<(u64, DbAcc)>,
}

/// Per-database counters, encodings indexed by discriminant.
#[derive(Default)]
struct DbAcc {
    keys: u64,
    expires: u64,
    expired: u64,
    bytes: u64,
    encodings: [(Option<Encoding>, Count); ENCODINGS],
}

/// Room for every `Encoding` discriminant.
const ENCODINGS: usize = 32;

impl DbAcc {
    fn merge_into(&self, db: &mut DbInfo) {
        db.keys += self.keys;
        db.expires += self.expires;
        db.expired += self.expired;
        db.bytes += self.bytes;
        for (enc, c) in &self.encodings {
            if let Some(e) = enc {
                let t = db
                    .encodings
                    .entry((e.data_type().as_str(), e.as_str()))
                    .or_default();
                t.keys += c.keys;
                t.bytes += c.bytes;
            }
        }
    }
}

impl InfoReport {
    /// A report on file `name` of `file_bytes` bytes. Expired keys are counted against
    /// `now_ms` when given, else the dump's `ctime` aux field, else the clock.
    pub fn new(
        name: impl Into<String>,
        file_bytes: u64,
        version: Version,
        now: Option<i64>,
    ) -> Self {
        InfoReport {
            info: FileInfo {
                name: name.into(),
                file_bytes,
                version,
                aux: Vec::new(),
                checksum: None,
                trailing_bytes: 0,
                dbs: BTreeMap::new(),
                functions: Vec::new(),
                modules: BTreeMap::new(),
                now_ms: now.unwrap_or_else(now_ms),
                now_from: if now.is_some() { "--now" } else { "clock" },
            },
            now_given: now.is_some(),
            db: 0,
            scratch: Scratch::new(),
            key: Vec::new(),
            cur: None,
        }
    }

    /// Takes one item of the dump. Records go through `filter` (which decodes the key only
    /// when it matches on keys).
    pub fn item(&mut self, item: &Item<'_>, filter: &Filter) -> Result<(), ReportError> {
        if let Item::Record(r) = item {
            return self.record(r, filter);
        }
        self.scratch.reset();
        match item {
            Item::Aux { key, value } => {
                let k = key.decode(&self.scratch)?.to_vec();
                let v = value.decode(&self.scratch)?.to_vec();
                if k == b"ctime" && !self.now_given {
                    if let Some(t) = std::str::from_utf8(&v)
                        .ok()
                        .and_then(|s| s.parse::<i64>().ok())
                    {
                        self.info.now_ms = t.saturating_mul(1000);
                        self.info.now_from = "ctime";
                    }
                }
                self.info.aux.push((k, v));
            }
            Item::SelectDb { db } => self.db = *db,
            Item::ResizeDb {
                db_size,
                expires_size,
            } => {
                self.info.dbs.entry(self.db).or_default().declared =
                    Some((*db_size, *expires_size));
            }
            Item::Function { code } => {
                let code = code.decode(&self.scratch)?.to_vec();
                let (name, engine) = library_name(&code);
                self.info.functions.push(FunctionInfo {
                    name,
                    engine,
                    bytes: code.len() as u64,
                });
            }
            Item::FunctionPreGa {
                name, engine, code, ..
            } => self.info.functions.push(FunctionInfo {
                name: String::from_utf8_lossy(&name.decode(&self.scratch)?.to_vec()).into_owned(),
                engine: String::from_utf8_lossy(&engine.decode(&self.scratch)?.to_vec())
                    .into_owned(),
                bytes: code.len(),
            }),
            Item::ModuleAux { id, .. } => {
                self.info.modules.entry(id.name()).or_default().aux += 1;
            }
            Item::Record(_) => {}
            Item::Eof(e) => {
                self.info.trailing_bytes = e.trailing_bytes;
                self.info.checksum = Some(match e.checksum {
                    Checksum::Verified(c) => ChecksumStatus::Ok(c),
                    Checksum::NotComputed => ChecksumStatus::NotComputed,
                    Checksum::NotVerified(c) => ChecksumStatus::NotVerified(c),
                    Checksum::Absent => ChecksumStatus::Absent,
                    _ => ChecksumStatus::Unknown,
                });
            }
            Item::SlotInfo { .. } | Item::SlotImport { .. } => {}
            // Items added to the format later say nothing this report counts.
            _ => {}
        }
        Ok(())
    }

    /// Counts one record (metadata only).
    pub fn record(&mut self, r: &Record<'_>, filter: &Filter) -> Result<(), ReportError> {
        self.scratch.reset();
        if !filter.keep(r, &self.scratch, &mut self.key)? {
            return Ok(());
        }
        if self.cur.as_ref().is_none_or(|(db, _)| *db != r.db) {
            self.flush_db();
            self.cur = Some((r.db, DbAcc::default()));
        }
        let now = self.info.now_ms;
        if let Some((_, acc)) = self.cur.as_mut() {
            acc.keys += 1;
            acc.bytes += r.len;
            if let Some(t) = r.expire_ms {
                acc.expires += 1;
                if t <= now {
                    acc.expired += 1;
                }
            }
            let i = (r.encoding as usize).min(ENCODINGS - 1);
            let slot = &mut acc.encodings[i];
            slot.0 = Some(r.encoding);
            slot.1.keys += 1;
            slot.1.bytes += r.len;
        }
        if r.data_type() == Type::Module {
            let m = self.info.modules.entry(module_type_name(r)?).or_default();
            m.keys += 1;
            m.bytes += r.len;
        }
        Ok(())
    }

    fn flush_db(&mut self) {
        if let Some((db, acc)) = self.cur.take() {
            acc.merge_into(self.info.dbs.entry(db).or_default());
        }
    }

    /// Records a checksum mismatch found at the end of the file.
    pub fn checksum_mismatch(&mut self, stored: u64, computed: u64) {
        self.info.checksum = Some(ChecksumStatus::Mismatch { stored, computed });
    }

    /// The collected information.
    pub fn finish(mut self) -> FileInfo {
        self.flush_db();
        self.info
    }
}

/// `#!lua name=mylib ...` → (`mylib`, `lua`).
fn library_name(code: &[u8]) -> (String, String) {
    let first = code.split(|&c| c == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let mut engine = String::new();
    let mut name = String::new();
    if let Some(rest) = first.strip_prefix("#!") {
        let mut parts = rest.split_whitespace();
        engine = parts.next().unwrap_or_default().to_string();
        for p in parts {
            if let Some(n) = p.strip_prefix("name=") {
                name = n.to_string();
            }
        }
    }
    (name, engine)
}

fn aux_display(key: &[u8], value: &[u8]) -> String {
    let text = printable(value, 80);
    let num = std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.parse::<i64>().ok());
    match (key, num) {
        (b"ctime", Some(t)) => format!("{text} ({})", iso_time(t.saturating_mul(1000))),
        (b"used-mem", Some(n)) if n >= 0 => format!("{text} ({})", human_bytes(n as u64)),
        _ => text,
    }
}

/// Writes the reports as readable text.
pub fn write_text(out: &mut dyn Write, files: &[FileInfo]) -> io::Result<()> {
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        writeln!(out, "{}", f.name)?;
        writeln!(
            out,
            "  format      {} (RDB {}{}), {}",
            f.version.magic(),
            f.version.number,
            if f.version.is_valkey() {
                ", Valkey"
            } else {
                ""
            },
            human_bytes(f.file_bytes)
        )?;
        let checksum = match f.checksum {
            Some(ChecksumStatus::Ok(c)) => format!("ok ({c:#018x})"),
            Some(ChecksumStatus::NotVerified(c)) => format!("not verified (stored {c:#018x})"),
            Some(ChecksumStatus::Mismatch { stored, computed }) => {
                format!("MISMATCH (stored {stored:#018x}, computed {computed:#018x})")
            }
            Some(s) => s.label().to_string(),
            None => "unknown".to_string(),
        };
        writeln!(out, "  checksum    {checksum}")?;
        if f.trailing_bytes > 0 {
            writeln!(
                out,
                "  trailing    {} bytes after the end of the dump",
                f.trailing_bytes
            )?;
        }
        for (k, v) in &f.aux {
            writeln!(
                out,
                "  aux         {} = {}",
                printable(k, 40),
                aux_display(k, v)
            )?;
        }
        let t = f.totals();
        writeln!(
            out,
            "  keys        {} ({} with expiry, {} expired at {} [{}]), {} serialized",
            t.keys,
            t.expires,
            t.expired,
            iso_time(f.now_ms),
            f.now_from,
            human_bytes(t.bytes)
        )?;
        if !f.functions.is_empty() {
            let libs: Vec<String> = f
                .functions
                .iter()
                .map(|l| format!("{} ({}, {} bytes)", l.name, l.engine, l.bytes))
                .collect();
            writeln!(out, "  functions   {}", libs.join(", "))?;
        }
        for (name, m) in &f.modules {
            writeln!(
                out,
                "  module      {name}: {} keys, {}, {} aux items",
                m.keys,
                human_bytes(m.bytes),
                m.aux
            )?;
        }
        write_dbs(out, &f.dbs)?;
    }
    if files.len() > 1 {
        write_text_totals(out, &InfoTotals::of(files))?;
    }
    Ok(())
}

/// Writes one block per database: its counts, then keys per type and encoding.
pub(crate) fn write_dbs(out: &mut dyn Write, dbs: &BTreeMap<u64, DbInfo>) -> io::Result<()> {
    for (n, db) in dbs {
        if db.keys == 0 && db.declared.is_none() {
            continue;
        }
        write!(
            out,
            "  db {n}: {} keys, {} with expiry, {} expired, {} serialized",
            db.keys,
            db.expires,
            db.expired,
            human_bytes(db.bytes)
        )?;
        match db.declared {
            Some((k, e)) => writeln!(out, " (RESIZEDB hint: {k} keys, {e} with expiry)")?,
            None => writeln!(out)?,
        }
        if db.encodings.is_empty() {
            continue;
        }
        writeln!(
            out,
            "    {:<8} {:<24} {:>12} {:>12} {:>10}",
            "type", "encoding", "keys", "serialized", "avg"
        )?;
        for ((ty, enc), c) in &db.encodings {
            writeln!(
                out,
                "    {:<8} {:<24} {:>12} {:>12} {:>10}",
                ty,
                enc,
                c.keys,
                human_bytes(c.bytes),
                human_bytes(c.bytes / c.keys.max(1))
            )?;
        }
    }
    Ok(())
}

/// Writes the reports as one JSON object: `{"files":[...]}`.
pub fn write_json(out: &mut dyn Write, files: &[FileInfo]) -> io::Result<()> {
    let mut b = Vec::new();
    b.extend_from_slice(b"{\"files\":[");
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.extend_from_slice(b"{\"file\":");
        json_str(&mut b, &f.name);
        let _ = write!(
            b,
            ",\"bytes\":{},\"magic\":\"{}\",\"rdb_version\":{},\"flavor\":\"{}\",\"checksum\":",
            f.file_bytes,
            f.version.magic(),
            f.version.number,
            if f.version.is_valkey() {
                "valkey"
            } else {
                "redis"
            }
        );
        match f.checksum {
            Some(s) => {
                let _ = write!(b, "{{\"status\":\"{}\"", s.label());
                match s {
                    ChecksumStatus::Ok(c) | ChecksumStatus::NotVerified(c) => {
                        let _ = write!(b, ",\"stored\":\"{c:#018x}\"");
                    }
                    ChecksumStatus::Mismatch { stored, computed } => {
                        let _ = write!(
                            b,
                            ",\"stored\":\"{stored:#018x}\",\"computed\":\"{computed:#018x}\""
                        );
                    }
                    _ => {}
                }
                b.push(b'}');
            }
            None => b.extend_from_slice(b"null"),
        }
        let _ = write!(b, ",\"trailing_bytes\":{},\"aux\":[", f.trailing_bytes);
        for (j, (k, v)) in f.aux.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"key\":");
            json_bytes(&mut b, k);
            b.extend_from_slice(b",\"value\":");
            json_bytes(&mut b, v);
            b.push(b'}');
        }
        let t = f.totals();
        let _ = write!(
            b,
            "],\"now_ms\":{},\"now_from\":\"{}\",\"keys\":{},\"expires\":{},\"expired\":{},\"serialized_bytes\":{},\"dbs\":[",
            f.now_ms, f.now_from, t.keys, t.expires, t.expired, t.bytes
        );
        for (j, (n, db)) in f.dbs.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            let _ = write!(
                b,
                "{{\"db\":{n},\"keys\":{},\"expires\":{},\"expired\":{},\"serialized_bytes\":{}",
                db.keys, db.expires, db.expired, db.bytes
            );
            if let Some((k, e)) = db.declared {
                let _ = write!(b, ",\"resizedb\":{{\"keys\":{k},\"expires\":{e}}}");
            }
            b.extend_from_slice(b",\"encodings\":[");
            for (x, ((ty, enc), c)) in db.encodings.iter().enumerate() {
                if x > 0 {
                    b.push(b',');
                }
                let _ = write!(
                    b,
                    "{{\"type\":\"{ty}\",\"encoding\":\"{enc}\",\"keys\":{},\"serialized_bytes\":{}}}",
                    c.keys, c.bytes
                );
            }
            b.extend_from_slice(b"]}");
        }
        b.extend_from_slice(b"],\"functions\":[");
        for (j, l) in f.functions.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"name\":");
            json_str(&mut b, &l.name);
            b.extend_from_slice(b",\"engine\":");
            json_str(&mut b, &l.engine);
            let _ = write!(b, ",\"bytes\":{}}}", l.bytes);
        }
        b.extend_from_slice(b"],\"modules\":[");
        for (j, (name, m)) in f.modules.iter().enumerate() {
            if j > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"name\":");
            json_str(&mut b, name);
            let _ = write!(
                b,
                ",\"keys\":{},\"serialized_bytes\":{},\"aux\":{}}}",
                m.keys, m.bytes, m.aux
            );
        }
        b.extend_from_slice(b"]}");
    }
    b.push(b']');
    if files.len() > 1 {
        b.extend_from_slice(b",\"total\":");
        write_json_totals(&mut b, &InfoTotals::of(files));
    }
    b.extend_from_slice(b"}\n");
    out.write_all(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdb_format::Decoder;

    #[test]
    fn library_names() {
        assert_eq!(
            library_name(b"#!lua name=mylib\nredis.register_function(...)"),
            ("mylib".to_string(), "lua".to_string())
        );
        assert_eq!(library_name(b"nothing"), (String::new(), String::new()));
    }

    #[test]
    fn counts_a_tiny_dump() {
        // SET greeting hello with an expiry in the past, checksum not computed.
        let mut dump = b"REDIS0011\xfa\x05ctime\xc2\x00\xe1\xf5\x05".to_vec();
        dump.extend_from_slice(b"\xfe\x00\xfc");
        dump.extend_from_slice(&1000i64.to_le_bytes());
        dump.extend_from_slice(b"\x00\x08greeting\x05hello\xff");
        dump.extend_from_slice(&[0; 8]);
        let d = Decoder::new(&dump).unwrap();
        let f = scan(d, "t.rdb", dump.len() as u64, &Filter::default(), None).unwrap();
        assert_eq!(f.now_from, "ctime");
        assert_eq!(f.now_ms, 100_000_000_000);
        let db = &f.dbs[&0];
        assert_eq!((db.keys, db.expires, db.expired), (1, 1, 1));
        assert_eq!(f.checksum, Some(ChecksumStatus::NotComputed));
        let mut out = Vec::new();
        write_json(&mut out, &[f]).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("\"keys\":1,\"expires\":1,\"expired\":1"),
            "{text}"
        );
    }
}
