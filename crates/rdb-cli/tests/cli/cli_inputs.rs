//! `check` and `split` inputs: standard input (`-`) and gzip/zstd/lz4 dumps read as the
//! plain dump; `split`'s default output names for them (`d.rdb.gz` -> `d-0001.rdb`,
//! `-` -> `stdin-0001.rdb`). Compressed with the system's tools (scripts/test-deps.sh).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample.rdb")
}

fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-inputs-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs rdb-convert in `cwd` with `stdin` as its standard input.
fn run_in(cwd: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // A command that does not read stdin may close it early.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// `tool -c SRC > DIR/NAME` with the system's tool.
fn compress(tool: &str, src: &Path, out: &Path) {
    let o = Command::new(tool)
        .args(["-c", s(src)])
        .output()
        .unwrap_or_else(|e| panic!("{tool} (installed by scripts/test-deps.sh): {e}"));
    assert!(o.status.success(), "{tool}: {}", text(&o));
    fs::write(out, o.stdout).unwrap();
}

#[test]
fn check_reads_stdin_and_compressed_dumps() {
    let d = dir("check");
    let plain = sample();
    let o = run_in(&d, &["check", s(&plain)], b"");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let verdict = String::from_utf8(o.stdout).unwrap();
    let verdict = verdict
        .strip_prefix(&format!("{}: ", s(&plain)))
        .unwrap_or_else(|| panic!("{verdict}"))
        .to_string();
    assert!(verdict.starts_with("OK, "), "{verdict}");

    let bytes = fs::read(&plain).unwrap();
    let o = run_in(&d, &["check", "-"], &bytes);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("<stdin>: {verdict}")
    );

    for (tool, ext) in [("gzip", "gz"), ("zstd", "zst"), ("lz4", "lz4")] {
        let packed = d.join(format!("d.rdb.{ext}"));
        compress(tool, &plain, &packed);
        let o = run_in(&d, &["check", s(&packed)], b"");
        assert_eq!(o.status.code(), Some(0), "{tool}: {}", text(&o));
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!("{}: {verdict}", s(&packed)),
            "{tool}"
        );
        let o = run_in(&d, &["check", "-"], &fs::read(&packed).unwrap());
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            format!("<stdin>: {verdict}"),
            "{tool} on stdin"
        );
    }

    // A cut gzip file is a problem of that file (exit 1), named, saying why.
    let gz = fs::read(d.join("d.rdb.gz")).unwrap();
    let cut = d.join("cut.rdb.gz");
    fs::write(&cut, &gz[..gz.len() / 2]).unwrap();
    let o = run_in(&d, &["check", s(&cut), s(&plain)], b"");
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains(&format!("{}: cannot open: ", s(&cut))), "{t}");
    assert!(t.contains("gzip"), "{t}");
    assert!(t.contains(&format!("{}: {verdict}", s(&plain))), "{t}");
    assert!(!t.contains("panicked"), "{t}");

    // A directory says so; stdin twice is a usage error.
    let o = run_in(&d, &["check", s(&d)], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("is a directory"), "{}", text(&o));
    let o = run_in(&d, &["check", "-", "-"], b"");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn split_names_compressed_and_stdin_inputs_after_the_dump() {
    let d = dir("split");
    let plain = d.join("d.rdb");
    fs::copy(sample(), &plain).unwrap();
    let split = |args: &[&str], stdin: &[u8]| {
        let mut all = vec!["split", "--shards", "2", "--flatten-dbs"];
        all.extend_from_slice(args);
        let o = run_in(&d, &all, stdin);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o));
    };
    let shards = |prefix: &str| -> Vec<Vec<u8>> {
        (1..=2)
            .map(|i| fs::read(d.join(format!("{prefix}-{i:04}.rdb"))).unwrap())
            .collect()
    };
    split(&["d.rdb", "--output-prefix", "plain"], b"");
    let want = shards("plain");

    compress("gzip", &plain, &d.join("c.rdb.gz"));
    split(&["c.rdb.gz"], b"");
    assert_eq!(shards("c"), want, "c.rdb.gz -> c-0001.rdb");
    assert!(!d.join("c.rdb-0001.rdb").exists());

    split(&["-"], &fs::read(&plain).unwrap());
    assert_eq!(shards("stdin"), want, "- -> stdin-0001.rdb");
    assert!(!d.join("--0001.rdb").exists());
    let _ = fs::remove_dir_all(&d);
}
