//! `rdb-convert check`: every problem of a dump listed with its offset; exit status 0 for a
//! clean dump, 1 for problems or an unreadable file, 2 for a usage error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::dumps::{self, *};

fn dir(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("check-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn check(args: &[&Path]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out, text)
}

#[test]
fn a_clean_dump_passes() {
    let d = dir("clean");
    let f = d.join("clean.rdb");
    dumps::write(
        &f,
        &[
            (0, b"s", STRING, string(b"v")),
            (0, b"h", HASH_LISTPACK, listpack(&[b"f", b"1", b"g", b"2"])),
            (0, b"i", SET_INTSET, intset16(&[-3, 7])),
            (1, b"s", STRING, string(b"same key, other db")),
        ],
        None,
    );
    let (out, text) = check(&[&f]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("OK, 4 keys, checksum OK"), "{text}");
}

#[test]
fn every_problem_is_listed_with_its_offset() {
    let d = dir("problems");
    let f = d.join("bad.rdb");
    dumps::write(
        &f,
        &[
            (0, b"dup-member", SET, {
                let mut v = vec![3];
                for m in [&b"a"[..], b"b", b"a"] {
                    v.extend(string(m));
                }
                v
            }),
            (
                0,
                b"dup-field",
                HASH_LISTPACK,
                listpack(&[b"f", b"1", b"f", b"2"]),
            ),
            (0, b"nan", ZSET_LISTPACK, listpack(&[b"m", b"nan"])),
            (0, b"unsorted", SET_INTSET, intset16(&[5, -1])),
            (0, b"empty", HASH_LISTPACK, listpack(&[])),
            (0, b"fine", STRING, string(b"v")),
            (0, b"fine", STRING, string(b"again")),
        ],
        None,
    );
    // redis-check-rdb agrees that the file is bad (it stops at the first problem).
    let theirs = Command::new("/usr/bin/redis-check-rdb")
        .arg(&f)
        .output()
        .unwrap();
    assert!(!theirs.status.success());

    let (out, text) = check(&[&f]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for want in [
        "key \"dup-member\" (db 0): set at offset ",
        "key \"dup-field\" (db 0): hash at offset ",
        "key \"nan\" (db 0): zset at offset ",
        "NaN score",
        "key \"unsorted\" (db 0): intset at offset ",
        "key \"empty\" (db 0): empty hash",
        "key \"fine\" (db 0): the key appears twice",
        "6 problem(s), 7 keys, checksum OK",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert_eq!(text.matches("record at offset ").count(), 6, "{text}");
}

#[test]
fn corrupt_and_missing_files_exit_1_and_usage_exits_2() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/redis");
    let corrupt = root.join("corrupt_ziplist.rdb");
    let missing = root.join("no-such-file.rdb");
    let (out, text) = check(&[&corrupt, &missing]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("ziplist header at offset 489"), "{text}");
    assert!(text.contains("no-such-file.rdb: cannot open"), "{text}");
    let (out, text) = check(&[]);
    assert_eq!(out.status.code(), Some(2), "{text}");
}
