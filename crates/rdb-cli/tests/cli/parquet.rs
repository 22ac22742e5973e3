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

/// Values over 8 MiB are cut into pieces, one `strings` row each (a Parquet writer holds a
/// cell whole several times over). DuckDB, putting the pieces back together in `piece`
/// order, gets the values the server holds: a text cut between characters (an LZF-compressed
/// value) and a binary value (stored raw).
#[test]
fn huge_strings_are_cut_into_pieces_that_join_back() {
    use crate::common::bytes::base64_decode;
    use crate::common::Server;

    let server = Server::start(Kind::Redis70);
    let mut con = server.conn();
    // 1-, 2-, 3- and 4-byte characters: an 8 MiB boundary falls inside the 4-byte one.
    let text = "a\u{e9}\u{20ac}\u{1f600}".repeat((17 << 20) / 10);
    let binary: Vec<u8> = (0..(9u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 0x80)
        .collect();
    let _: () = redis::cmd("SET")
        .arg("huge:text")
        .arg(&text)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("huge:binary")
        .arg(&binary)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("small")
        .arg("x")
        .query(&mut con)
        .unwrap();
    let rdb = server.save(&mut con);

    let dir = scratch_dir("huge-strings");
    export(&rdb, &dir, &[]);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("export_info.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "COMPLETE");
    assert_eq!(manifest["rows"]["keys"], 3);
    assert_eq!(manifest["rows"]["strings"], 3 + 2 + 1, "pieces: {manifest}");
    let text_back = read_back(&dir);
    let _ = std::fs::remove_dir_all(&dir);

    let mut seen = 0;
    for line in text_back.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let value = &v["value"];
        match v["key"].as_str() {
            Some("huge:text") => assert!(value.as_str() == Some(text.as_str()), "text differs"),
            Some("huge:binary") => {
                let b64 = value["base64"].as_str().expect("binary as base64");
                assert!(
                    base64_decode(b64) == Some(binary.clone()),
                    "binary value differs"
                );
            }
            Some("small") => assert_eq!(value, "x"),
            _ => continue,
        }
        seen += 1;
    }
    assert_eq!(seen, 3, "keys read back");
}
