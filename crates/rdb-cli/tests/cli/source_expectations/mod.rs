//! `rdb-convert` checked against the expectations the corpus' source projects wrote themselves:
//!
//! * `hdt3213_expected_json`: every `testdata/corpus/HDT3213-rdb/expected/*.json` (HDT3213/rdb's
//!   JSON export, `cases/<name>.json`) against the dump of the same name.
//! * `librdb_expected_json`: every `testdata/corpus/librdb/expected/*_data.json` (redis/librdb's
//!   data-level JSON; dump named by librdb's driver `test/test_rdb_to_json.c`), plus librdb's other
//!   value-level outputs (filtered variants, functions, stream metadata, raw string/module bytes,
//!   and the server-state JSONs of `test_rdb_to_redis.c`).
//! * `rdb_rs_expected_protocol`: every `testdata/corpus/rdb-rs/expected/protocol/*.protocol`
//!   (badboy/rdb-rs' RESP replay of the dump).
//! * `index_table_expectations`: the per-file expectations written in `testdata/corpus/INDEX.md`
//!   (redis-rdb-tools `tests/parser_tests.py`, redis `tests/integration/*.tcl`, ...), as explicit
//!   assertions, on every corpus copy of the file.
//!
//! Every key's db, name, type, value, expiry and hash-field TTLs are compared as far as each
//! project writes them; the projects' representations are normalised first (see the comment above
//! each section for what each one does and why). Bugs in a project's own expectation go in
//! `HDT_EXCEPTIONS` / `LIBRDB_EXCEPTIONS` / `RDB_RS_EXCEPTIONS`, each with its byte evidence (none
//! is needed today); an exception that stops matching anything is itself reported, so the lists
//! cannot go stale. Decoder bugs are never listed there: they must fail.
//!
//! Not compared (not about values): HDT3213 `*.aof` (AOF conversion output) and `*.csv` (memory
//! reports); librdb `*_raw.json` / `*_struct.json` (lower parse levels; `module_raw.json` is used
//! for one byte-level module check) and `*.resp` (RESTORE payloads); rdb-rs `plain/*.plain`.
//!
//! `SOURCE_EXPECTATIONS_CORPUS=/path/to/copy` runs everything against a copy of the corpus (used to
//! check that planted differences in the expectations are reported).

use crate::common::bytes as test_bytes;

use serde_json::{json, Map, Value as J};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

mod converter;
mod hdt3213;
mod index_table;
mod librdb;
mod ours;
mod rdb_rs;

use converter::*;
use ours::*;

/// Mismatches of one test; `finish` filters documented exceptions and panics on the rest.
#[derive(Default)]
struct Report {
    list: Vec<String>,
    files: usize,
    keys: usize,
    per_file: Vec<String>,
}

impl Report {
    fn add(&mut self, ctx: &str, msg: impl AsRef<str>) {
        let msg = msg.as_ref().replace('\n', " ");
        self.list.push(format!("{ctx}: {}", trunc(&msg, 600)));
    }
    fn finish(self, what: &str, exceptions: &[Exception]) {
        let mut used = vec![false; exceptions.len()];
        let mut left: Vec<String> = Vec::new();
        for m in &self.list {
            match exceptions.iter().position(|e| m.starts_with(e.prefix)) {
                Some(i) => used[i] = true,
                None => left.push(m.clone()),
            }
        }
        for (e, u) in exceptions.iter().zip(&used) {
            if !u {
                left.push(format!(
                    "stale exception (matches nothing now): {}",
                    e.prefix
                ));
            }
        }
        eprintln!(
            "{what}: checked {} files, {} keys\n  {}",
            self.files,
            self.keys,
            self.per_file.join("\n  ")
        );
        assert!(
            left.is_empty(),
            "{what}: {} mismatch(es) with the source project's expectations:\n  {}",
            left.len(),
            left.join("\n  ")
        );
    }
}

/// A documented bug in a source project's expectation (case (b)): mismatches whose text starts
/// with `prefix` are accepted. The evidence is in the comment next to each entry.
struct Exception {
    prefix: &'static str,
}
