//! `--progress` off a terminal writes plain progress lines to stderr; without it, nothing.

use std::process::Command;

fn sample() -> String {
    crate::common::server::workspace_root()
        .join("testdata/sample.rdb")
        .display()
        .to_string()
}

fn stderr_of(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args(args)
        .env("RDB_CONVERT_PROGRESS_INTERVAL_MS", "0")
        // With CI set, lines are the default off a terminal.
        .env_remove("CI")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

#[test]
fn progress_lines_off_a_terminal() {
    let s = sample();
    for args in [
        vec![s.as_str(), "--progress"],
        vec!["memory", s.as_str(), "--progress"],
        vec!["top", s.as_str(), "--progress"],
    ] {
        let err = stderr_of(&args);
        let done = err
            .lines()
            .find(|l| l.starts_with("progress: done 100.0% "))
            .unwrap_or_else(|| panic!("{args:?}: {err}"));
        assert!(done.contains(" keys"), "{done}");
        let quiet = stderr_of(&args[..args.len() - 1]);
        assert!(!quiet.contains("progress:"), "{args:?}: {quiet}");
    }
}
