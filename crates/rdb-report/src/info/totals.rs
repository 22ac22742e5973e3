//! Totals over several dumps (e.g. the shards of one backup): printed after the per-file
//! sections when `info` reads more than one file.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{write_dbs, DbInfo, FileInfo};
use crate::human_bytes;

/// Keys per database summed over files.
#[derive(Clone, Debug, Default)]
pub struct InfoTotals {
    /// Files summed.
    pub files: usize,
    /// Their bytes.
    pub file_bytes: u64,
    /// Per database (RESIZEDB hints are per file and left out).
    pub dbs: BTreeMap<u64, DbInfo>,
}

impl InfoTotals {
    /// Sums `files`. "Expired" counts each file against its own reference time.
    pub fn of(files: &[FileInfo]) -> Self {
        let mut t = InfoTotals {
            files: files.len(),
            ..InfoTotals::default()
        };
        for f in files {
            t.file_bytes += f.file_bytes;
            for (n, db) in &f.dbs {
                t.dbs.entry(*n).or_default().add(db);
            }
        }
        t
    }

    /// Totals over all databases.
    pub fn all(&self) -> DbInfo {
        let mut t = DbInfo::default();
        for db in self.dbs.values() {
            t.add(db);
        }
        t
    }
}

/// The text section: a blank line, then `total (N files)` with the per-db blocks.
pub(crate) fn write_text_totals(out: &mut dyn Write, t: &InfoTotals) -> io::Result<()> {
    let all = t.all();
    writeln!(out)?;
    writeln!(
        out,
        "total ({} files, {})",
        t.files,
        human_bytes(t.file_bytes)
    )?;
    writeln!(
        out,
        "  keys        {} ({} with expiry, {} expired), {} serialized",
        all.keys,
        all.expires,
        all.expired,
        human_bytes(all.bytes)
    )?;
    write_dbs(out, &t.dbs)
}

/// The JSON object: files, bytes, keys, expires, expired, serialized_bytes, dbs.
pub(crate) fn write_json_totals(b: &mut Vec<u8>, t: &InfoTotals) {
    let all = t.all();
    let _ = write!(
        b,
        "{{\"files\":{},\"bytes\":{},\"keys\":{},\"expires\":{},\"expired\":{},\"serialized_bytes\":{},\"dbs\":[",
        t.files, t.file_bytes, all.keys, all.expires, all.expired, all.bytes
    );
    for (j, (n, db)) in t.dbs.iter().enumerate() {
        if j > 0 {
            b.push(b',');
        }
        let _ = write!(
            b,
            "{{\"db\":{n},\"keys\":{},\"expires\":{},\"expired\":{},\"serialized_bytes\":{},\"encodings\":[",
            db.keys, db.expires, db.expired, db.bytes
        );
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
    b.extend_from_slice(b"]}");
}
