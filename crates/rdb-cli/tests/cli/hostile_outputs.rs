//! Corrupt dumps through the outputs of issue 16 (`--format resp|keys|keys-csv`, `diff`,
//! `report -o x.html`, `top --folded`): each must fail with the error `convert --format json`
//! gives for the same bytes (same text, same offset), exit 1 (`diff`: 2, its "trouble"
//! status, since 1 means "different"), and leave no output file behind. Outputs that stream
//! to stdout (`keys` without `-o`, `top --folded`) may have written the lines of the keys
//! before the damage: the exit status is what tells the output is not whole (checked here).
//! The dumps are `testdata/sample.rdb` damaged in four ways, so no server is needed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
}

/// Temporary files (diff's spill, spools) go to the test's directory, so that a leftover
/// shows in its listing.
fn run(args: &[&str]) -> Output {
    bin()
        .args(args)
        .env("TMPDIR", tmp_dir(args))
        .arg("--no-progress")
        .output()
        .expect("run rdb-convert")
}

/// `run` for the commands that have no progress flag.
fn run_plain(args: &[&str]) -> Output {
    bin()
        .args(args)
        .env("TMPDIR", tmp_dir(args))
        .output()
        .expect("run rdb-convert")
}

/// The directory of the run's dump (its first argument ending in `.rdb`).
fn tmp_dir(args: &[&str]) -> PathBuf {
    let dump = args.iter().find(|a| a.ends_with(".rdb")).expect("a dump");
    Path::new(dump).parent().unwrap().to_path_buf()
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("hostile-outputs-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The files in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// An RDB length: 6-bit, or the 32- or 64-bit forms.
fn put_len(b: &mut Vec<u8>, n: u64) {
    if n < 64 {
        b.push(n as u8);
    } else if n <= u64::from(u32::MAX) {
        b.push(0x80);
        b.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        b.push(0x81);
        b.extend_from_slice(&n.to_be_bytes());
    }
}

/// The damaged dumps, by name: a good dump cut in half, its checksum wrong, an unknown
/// type byte right after the header, and values declaring lengths far past the file's end.
fn damaged() -> Vec<(&'static str, Vec<u8>)> {
    let sample =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample.rdb"))
            .unwrap();
    let truncated = sample[..sample.len() / 2].to_vec();
    let mut bad_checksum = sample.clone();
    *bad_checksum.last_mut().unwrap() ^= 0xff;
    let mut garbage = sample[..9].to_vec();
    garbage.extend_from_slice(b"\xfe\x00\x3e\x99\xab\xcd\xef\x01\x23\x45\x67\x89");
    // A string of 4 GiB - 1, then a list of 2^62 elements: the lengths alone must not be
    // trusted (no allocation of that size, the same error as convert's).
    let mut huge_string = b"REDIS0011\xfe\x00\x00\x01k".to_vec();
    put_len(&mut huge_string, u64::from(u32::MAX));
    huge_string.extend_from_slice(b"abc\xff");
    let mut huge_list = b"REDIS0009\xfe\x00\x00\x01a\x01b\x01\x01l".to_vec();
    put_len(&mut huge_list, 1 << 62);
    huge_list.extend_from_slice(b"\x01x\x01y\xff");
    vec![
        ("truncated", truncated),
        ("bad-checksum", bad_checksum),
        ("garbage-after-header", garbage),
        ("huge-string-length", huge_string),
        ("huge-list-length", huge_list),
    ]
}

/// The `error:` lines of a run (hints and warnings left out).
fn error_lines(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| l.contains("error"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `convert --format json -o` on `dump`: its error is the reference.
fn reference_error(dir: &Path, dump: &Path) -> String {
    let out = dir.join("reference.json");
    let o = run(&[s(dump), "--format", "json", "-o", s(&out)]);
    assert_eq!(o.status.code(), Some(1), "convert --format json: {o:?}");
    assert!(!out.exists(), "convert left its output");
    let e = error_lines(&o);
    assert!(e.contains(s(dump)), "the error names the dump: {e}");
    e
}

#[test]
fn corrupt_dumps_fail_every_new_output_like_convert() {
    let dir = scratch("all");
    let good = dir.join("good.rdb");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sample.rdb"),
        &good,
    )
    .unwrap();
    for (name, bytes) in damaged() {
        let dump = dir.join(format!("{name}.rdb"));
        std::fs::write(&dump, &bytes).unwrap();
        let d = s(&dump);
        let expected = reference_error(&dir, &dump);
        let before = names(&dir);

        // Outputs written to a file: the same error, exit 1, and no file (nor temporary).
        let resp = dir.join("out.resp");
        let keys = dir.join("out.ndjson");
        let csv = dir.join("out.csv");
        let html = dir.join("out.html");
        let filed: [(&str, Vec<&str>); 5] = [
            ("resp restore", vec![d, "--format", "resp", "-o", s(&resp)]),
            (
                "resp commands",
                vec![
                    d,
                    "--format",
                    "resp",
                    "--resp-mode",
                    "commands",
                    "-o",
                    s(&resp),
                ],
            ),
            ("keys", vec![d, "--format", "keys", "-o", s(&keys)]),
            ("keys-csv", vec![d, "--format", "keys-csv", "-o", s(&csv)]),
            ("report html", vec!["report", d, "-o", s(&html)]),
        ];
        for (what, args) in &filed {
            let o = run(args);
            assert_eq!(o.status.code(), Some(1), "{name}, {what}: {o:?}");
            assert_eq!(
                error_lines(&o),
                expected,
                "{name}, {what}: not convert's error"
            );
            assert_eq!(names(&dir), before, "{name}, {what}: an output was left");
        }

        // Outputs to stdout: the same error and exit 1; lines of keys before the damage may
        // have been written (a stream), the status says the output is not whole.
        for (what, args) in [
            ("keys to stdout", vec![d, "--format", "keys"]),
            ("resp to stdout", vec![d, "--format", "resp"]),
            ("top --folded", vec!["top", d, "--folded"]),
        ] {
            let o = run(&args);
            assert_eq!(o.status.code(), Some(1), "{name}, {what}: {o:?}");
            assert_eq!(
                error_lines(&o),
                expected,
                "{name}, {what}: not convert's error"
            );
            assert_eq!(names(&dir), before, "{name}, {what}: a file was left");
        }

        // diff, the damaged dump on either side: "trouble" (2), never "same" or "different",
        // and no comparison printed.
        for (what, args) in [
            ("diff left", vec!["diff", d, "--", s(&good)]),
            ("diff right", vec!["diff", s(&good), "--", d]),
            ("diff json", vec!["diff", "--format", "json", s(&good), d]),
            (
                "diff spilled",
                vec!["diff", "--memory-keys", "1", s(&good), "--", d],
            ),
        ] {
            let o = run_plain(&args);
            assert_eq!(o.status.code(), Some(2), "{name}, {what}: {o:?}");
            assert_eq!(
                error_lines(&o),
                expected,
                "{name}, {what}: not convert's error"
            );
            assert!(
                o.stdout.is_empty(),
                "{name}, {what}: a comparison was printed"
            );
            assert_eq!(names(&dir), before, "{name}, {what}: a file was left");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
