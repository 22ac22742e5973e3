//! `export-status` and what an export's manifest records of its run (issue 15): filters in
//! the CLI's own syntax, each source's server version and save time, and a verification
//! that finds a listed file gone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("status-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn sample() -> String {
    format!("{}/../../testdata/sample.rdb", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn manifest_records_filters_and_sources_and_status_reads_it() {
    let dir = scratch("local");
    let out = dir.join("export");
    let o = out.to_str().unwrap();
    let exported = run(&[
        &sample(),
        "--format",
        "parquet",
        "--no-progress",
        "-o",
        o,
        "--expiry",
        "live-at:2026-01-01T00:00:00Z",
        "--not-type",
        "sortedset",
    ]);
    assert!(exported.status.success(), "{exported:?}");
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("export_info.json")).unwrap()).unwrap();
    // Filters as the CLI takes them (was Rust's Debug text, `LiveAt(1767225600000)`).
    assert_eq!(m["filters"]["expiry"], "live-at:1767225600000", "{m}");
    assert_eq!(m["filters"]["not_type"], serde_json::json!(["zset"]), "{m}");
    // The sample was saved by a real Redis 7.4.1 (testdata/README.md).
    let source = &m["source_files"][0];
    assert_eq!(source["redis_ver"], "7.4.1", "{m}");
    assert!(
        source["ctime"].as_i64().is_some_and(|t| t > 1_600_000_000),
        "{m}"
    );
    assert!(
        m.get("encryption").is_none(),
        "a local export has no encryption: {m}"
    );

    let status = run(&["export-status", o, "--verify"]);
    assert!(status.status.success(), "{status:?}");
    let text = String::from_utf8_lossy(&status.stdout);
    for line in [
        "status:    COMPLETE",
        "progress:  100.0%",
        "verified:  every listed file is in place with its size",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    let json = run(&["export-status", o, "--format", "json"]);
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["export_id"], m["export_id"]);

    // A listed part removed behind the export's back: --verify names it and exits 1.
    let part = m["files"][0]["path"].as_str().unwrap();
    std::fs::remove_file(out.join(part)).unwrap();
    let status = run(&["export-status", o, "--verify"]);
    assert_eq!(status.status.code(), Some(1));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains(&format!("{part}: listed, not found")),
        "{text}"
    );
    let e = String::from_utf8_lossy(&status.stderr);
    assert!(e.contains("--overwrite"), "{e}");

    // Not an export: exit 1 with what it is.
    let status = run(&["export-status", dir.to_str().unwrap()]);
    assert_eq!(status.status.code(), Some(1));
    let e = String::from_utf8_lossy(&status.stderr);
    assert!(e.contains("no manifest"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
