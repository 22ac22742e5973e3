//! Parquet export against real servers: fill each server, SAVE, export the dump to Parquet,
//! read the tables back with DuckDB (`tests/support/parquet_to_ndjson.py`, as a user would
//! query them) and compare every key with what the server reports. Also: filters, the
//! export task's manifest and states, and determinism across thread counts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::compare::round_trip_with;
use crate::common::Kind;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn scratch_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("parquet-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Exports `rdb` to Parquet with `args` into `dir`; panics with stderr on failure.
fn export(rdb: &Path, dir: &Path, args: &[&str]) {
    let out = Command::new(bin())
        .arg(rdb)
        .args(["--format", "parquet", "-o"])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// DuckDB's view of an export, as our NDJSON.
fn read_back(dir: &Path) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/parquet_to_ndjson.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "reading Parquet with DuckDB failed (is `pip install duckdb` done? scripts/test-deps.sh does it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn via_parquet(kind: Kind) {
    round_trip_with(kind, &|rdb| {
        let dir = scratch_dir(kind.label());
        // Small chunks and row groups so several part files and batches are exercised.
        export(rdb, &dir, &["--chunk-bytes", "4096"]);
        let text = read_back(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        text
    });
}

#[test]
fn redis_7_0_via_parquet() {
    via_parquet(Kind::Redis70);
}

#[test]
fn redis_6_2_via_parquet() {
    via_parquet(Kind::Redis62);
}

#[test]
fn redis_7_4_via_parquet() {
    via_parquet(Kind::Redis74);
}

#[test]
fn valkey_9_via_parquet() {
    via_parquet(Kind::Valkey9);
}
