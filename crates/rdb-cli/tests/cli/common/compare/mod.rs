//! Run `rdb-convert` on a dump and compare its NDJSON output, key by key,
//! with what the (still running) server reports.

use super::bytes::{base64_decode, show, trunc};
use super::fill::{now_ms, C};
use super::server::{Kind, Server};
use redis::{Connection, Value};
use serde_json::{Map, Value as J};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

mod meta;
mod ndjson;
mod replies;
mod snapshot;
mod streams;
mod values;

use meta::*;
pub use ndjson::*;
use replies::*;
pub use snapshot::*;
use streams::*;
pub use values::*;

/// Collected mismatches (each one line, values truncated).
#[derive(Default)]
pub struct Mismatches {
    pub list: Vec<String>,
}

impl Mismatches {
    pub fn add(&mut self, ctx: &str, msg: impl AsRef<str>) {
        let msg = msg.as_ref().replace('\n', "\\n");
        self.list.push(format!("{ctx}: {}", trunc(&msg, 400)));
    }
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
    /// Panic listing (at most 80 of) the mismatches.
    pub fn assert_none(&self, what: &str) {
        if self.list.is_empty() {
            return;
        }
        let shown: Vec<&str> = self.list.iter().take(80).map(|s| s.as_str()).collect();
        panic!(
            "{what}: {} mismatch(es) between the server and rdb-convert's JSON{}:\n  {}",
            self.list.len(),
            if self.list.len() > 80 {
                " (first 80 shown)"
            } else {
                ""
            },
            shown.join("\n  ")
        );
    }
}

/// The whole round trip for one server kind: start, fill, SAVE, convert,
/// compare. Panics listing every mismatch.
pub fn round_trip(kind: Kind) {
    round_trip_with(kind, &|rdb| {
        run_convert(rdb, &["--format", "json", "--with-meta"])
    });
}

/// The round trip with another way of producing the NDJSON from the dump (e.g. through a
/// Parquet export read back by DuckDB).
pub fn round_trip_with(kind: Kind, convert: &dyn Fn(&Path) -> String) {
    let t0 = std::time::Instant::now();
    let server = Server::start(kind);
    let mut con = server.conn();
    let filled = super::fill::fill(&mut con, kind);
    let rdb = server.save(&mut con);
    let snap = snapshot(&mut con);
    let t_fill = t0.elapsed();

    let text = convert(&rdb);
    let mut mm = Mismatches::default();
    let dump = parse_ndjson(&text, &mut mm);
    let stats = compare_all(&server, &mut con, &snap, &dump, &mut mm);
    let magic = std::fs::read(&rdb)
        .map(|b| String::from_utf8_lossy(&b[..9.min(b.len())]).to_string())
        .unwrap_or_default();
    eprintln!(
        "{}: {magic}, {} bytes, {} keys compared ({:?} per db), {} function(s), fill+save {:.2?}, total {:.2?}",
        kind.label(),
        std::fs::metadata(&rdb).map(|m| m.len()).unwrap_or(0),
        stats.keys,
        filled.keys_per_db,
        filled.functions.len(),
        t_fill,
        t0.elapsed()
    );
    let enc: Vec<String> = stats
        .encodings
        .iter()
        .map(|((t, e), n)| format!("{t}/{e}:{n}"))
        .collect();
    eprintln!(
        "{}: JSON type/encoding counts: {}",
        kind.label(),
        enc.join(" ")
    );
    mm.assert_none(kind.label());
    drop(server);
}
