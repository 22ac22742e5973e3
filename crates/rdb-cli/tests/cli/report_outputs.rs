//! `info` and `top` write where the data commands write: `-o PATH` (whole or not at all) and
//! `--format text|json` (`--json` kept as an alias) (issue 15).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample.rdb")
}

fn run(args: &[&str]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

fn stdout_of(args: &[&str]) -> Vec<u8> {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {out:?}");
    out.stdout
}

#[test]
fn info_and_top_write_to_a_file_as_to_stdout() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("reports-o-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let s = sample();
    let s = s.to_str().unwrap();
    let cases: [(&str, &[&str], &[&str]); 5] = [
        (
            "info.json",
            &["info", s, "--json"],
            &["info", s, "--format", "json"],
        ),
        ("info.txt", &["info", s], &["info", s, "--format", "text"]),
        (
            "top.json",
            &["top", s, "--json", "--no-progress"],
            &["top", s, "--format", "json", "--no-progress"],
        ),
        (
            "top.txt",
            &["top", s, "--no-progress"],
            &["top", s, "--no-progress"],
        ),
        (
            "top.folded",
            &["top", s, "--folded", "--no-progress"],
            &["top", s, "--folded", "--no-progress"],
        ),
    ];
    for (name, old, new) in cases {
        let expected = stdout_of(old);
        assert!(!expected.is_empty(), "{old:?}");
        let path = dir.join(name);
        let mut args = new.to_vec();
        let p = path.to_str().unwrap();
        args.extend(["-o", p]);
        assert!(stdout_of(&args).is_empty(), "{args:?} wrote to stdout");
        assert_eq!(std::fs::read(&path).unwrap(), expected, "{args:?}");
    }
    // A damaged dump: exit 1 and no file (not even a partial one).
    let data = std::fs::read(sample()).unwrap();
    let cut = dir.join("cut.rdb");
    std::fs::write(&cut, &data[..data.len() / 2]).unwrap();
    for cmd in ["info", "top"] {
        let path = dir.join(format!("{cmd}-of-cut.txt"));
        let out = run(&[cmd, cut.to_str().unwrap(), "-o", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{cmd}: {out:?}");
        assert!(!path.exists(), "{cmd} left {}", path.display());
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The input as the output: refused before anything is written (usage error).
    let out = run(&["info", s, "-o", s]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read(sample()).unwrap(), data);
    let _ = std::fs::remove_dir_all(&dir);
}
