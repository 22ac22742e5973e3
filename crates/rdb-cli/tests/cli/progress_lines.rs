//! `--progress` off a terminal writes plain progress lines for split, filter, info and seed;
//! `--no-progress` (and, off a terminal, no flag) writes none.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::server::{Kind, Server};

fn sample() -> String {
    crate::common::server::workspace_root()
        .join("testdata/sample.rdb")
        .display()
        .to_string()
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("progress-lines-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn stderr_of(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args(args)
        .env("RDB_CONVERT_PROGRESS_INTERVAL_MS", "0")
        .env_remove("CI")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {stderr}");
    stderr
}

/// Runs `args` with `--progress`, `--no-progress` and neither: a final line with every byte
/// and the keys in the first case, nothing in the others.
fn check(args: &[&str]) {
    let with = |flag: Option<&str>| {
        let mut a = args.to_vec();
        a.extend(flag);
        stderr_of(&a)
    };
    let err = with(Some("--progress"));
    let done = err
        .lines()
        .find(|l| l.starts_with("progress: done 100.0% "))
        .unwrap_or_else(|| panic!("{args:?}: {err}"));
    assert!(done.contains(" keys"), "{done}");
    for flag in [Some("--no-progress"), None] {
        let quiet = with(flag);
        assert!(!quiet.contains("progress:"), "{args:?} {flag:?}: {quiet}");
    }
}

#[test]
fn split_filter_and_info_write_progress_lines() {
    let s = sample();
    let dir = out_dir();
    let prefix = dir.join("shard").display().to_string();
    let one = dir.join("one.rdb").display().to_string();
    check(&[
        "split",
        &s,
        &s,
        "--shards",
        "2",
        "--output-prefix",
        &prefix,
        "--no-validate",
        "--db",
        "0",
    ]);
    check(&["filter", &s, "-o", &one]);
    check(&["info", &s, &s]);
}

#[test]
fn seed_writes_progress_lines() {
    let server = Server::start(Kind::Redis70);
    let target = server.url();
    let s = sample();
    for (flag, lines) in [
        ("--progress", true),
        ("--no-progress", false),
        ("-q", false),
    ] {
        let err = stderr_of(&["seed", &s, "--target", &target, "--replace", flag]);
        let done = err.lines().any(|l| l.starts_with("progress: done 100.0% "));
        assert_eq!(done, lines, "{flag}: {err}");
        if !lines {
            assert!(!err.contains("progress:"), "{flag}: {err}");
        }
    }
}
