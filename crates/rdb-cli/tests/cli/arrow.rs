//! `--format arrow` against real servers: fill each server, SAVE, export the dump to Parquet
//! and every table as an Arrow IPC stream; pyarrow reads each stream and DuckDB compares it
//! with the Parquet table, both ways (`tests/support/arrow_vs_parquet.py`): the same rows and
//! values. Also: stdout, filters, a damaged dump (no output file), an unknown table.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::fill::fill;
use crate::common::{Kind, Server};

const TABLES: [&str; 14] = [
    "keys",
    "strings",
    "lists",
    "sets",
    "zsets",
    "hashes",
    "streams",
    "stream_meta",
    "stream_groups",
    "stream_pending",
    "stream_consumers",
    "modules",
    "meta",
    "stream_idmp",
];

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn scratch_dir(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("arrow-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn convert(rdb: &Path, args: &[&str]) -> std::process::Output {
    Command::new(bin()).arg(rdb).args(args).output().unwrap()
}

fn ok(out: std::process::Output) -> std::process::Output {
    assert!(
        out.status.success(),
        "rdb-convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Compares streams (`table=file`) with the Parquet export in `export`; returns the script's
/// rows per table.
fn compare(export: &Path, streams: &[(String, PathBuf)]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/arrow_vs_parquet.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(export)
        .args(streams.iter().map(|(t, f)| format!("{t}={}", f.display())))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "the Arrow streams differ from the Parquet export (or pyarrow/duckdb are missing: scripts/test-deps.sh installs them): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every table of `rdb`, as streams, against its Parquet export, with `args` on both.
fn tables_equal_parquet(rdb: &Path, dir: &Path, args: &[&str]) -> String {
    let export = dir.join("parquet");
    // Small chunks: several chunks, and the streams' batches cut where the parts are.
    ok(convert(
        rdb,
        &[
            &["--format", "parquet", "--chunk-bytes", "4096", "-o"][..],
            &[export.to_str().unwrap()],
            args,
        ]
        .concat(),
    ));
    let mut streams = Vec::new();
    for table in TABLES {
        let file = dir.join(format!("{table}.arrows"));
        ok(convert(
            rdb,
            &[
                &[
                    "--format",
                    "arrow",
                    "--chunk-bytes",
                    "4096",
                    "--table",
                    table,
                    "-o",
                ][..],
                &[file.to_str().unwrap()],
                args,
            ]
            .concat(),
        ));
        streams.push((table.to_string(), file));
    }
    compare(&export, &streams)
}

fn via_arrow(kind: Kind) {
    let t0 = std::time::Instant::now();
    let server = Server::start(kind);
    let mut con = server.conn();
    fill(&mut con, kind);
    let rdb = server.save(&mut con);
    let dir = scratch_dir(kind.label());
    let counts = tables_equal_parquet(&rdb, &dir, &[]);
    eprintln!("{}: rows {counts} in {:.2?}", kind.label(), t0.elapsed());
    assert!(counts.contains("\"keys\": "), "{counts}");
    let filtered = tables_equal_parquet(
        &rdb,
        &dir.join("filtered"),
        &["--type", "hash", "--db", "0"],
    );
    eprintln!("{}: hashes of db 0: {filtered}", kind.label());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_7_0_via_arrow() {
    via_arrow(Kind::Redis70);
}

#[test]
fn redis_6_2_via_arrow() {
    via_arrow(Kind::Redis62);
}

#[test]
fn redis_7_4_via_arrow() {
    via_arrow(Kind::Redis74);
}

#[test]
fn valkey_9_via_arrow() {
    via_arrow(Kind::Valkey9);
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample.rdb")
}

#[test]
fn the_stream_goes_to_stdout_too() {
    let dir = scratch_dir("stdout");
    let file = dir.join("keys.arrows");
    ok(convert(
        &sample(),
        &["--format", "arrow", "-o", file.to_str().unwrap()],
    ));
    for args in [
        &["--format", "arrow"][..],
        &["--format", "arrow", "-o", "-"],
    ] {
        let out = Command::new(bin())
            .arg(sample())
            .args(args)
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        let out = ok(out);
        assert_eq!(out.stdout, std::fs::read(&file).unwrap(), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_damaged_dump_leaves_no_stream() {
    let dir = scratch_dir("damaged");
    let dump = std::fs::read(sample()).unwrap();
    let cut = dir.join("cut.rdb");
    std::fs::write(&cut, &dump[..dump.len() / 2]).unwrap();
    let file = dir.join("keys.arrows");
    let out = convert(&cut, &["--format", "arrow", "-o", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cut.rdb") && stderr.contains("offset"),
        "{stderr}"
    );
    assert!(!file.exists());
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary file left"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unknown_table_is_a_usage_error() {
    let out = convert(&sample(), &["--format", "arrow", "--table", "nope"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("keys") && stderr.contains("stream_idmp"),
        "{stderr}"
    );
}

#[test]
fn table_without_arrow_is_a_usage_error() {
    // Ignored, it would read like a filter that did nothing.
    for format in ["json", "keys"] {
        let out = convert(&sample(), &["--format", format, "--table", "strings"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
        assert!(stderr.contains("--format arrow"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}
