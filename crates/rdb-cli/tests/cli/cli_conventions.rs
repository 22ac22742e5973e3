//! The conventions of a tool people script (issue 15): usage errors exit 2 and name the flag;
//! a subcommand typo says which command was meant; errors say what to do next; the
//! exclusion and time filters work on every command; `-` reads standard input; gzip, zstd
//! and lz4 dumps are read as the plain dump.
//!
//! One real dump, written by Redis 7.0 (`SAVE`), with keys in three databases, every type
//! and expiries on either side of 2150. The compressed copies are made with the system's
//! gzip, zstd, lz4 and xz tools (installed by `scripts/test-deps.sh`; a missing tool or
//! server fails the test).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::common::server::Options;
use crate::common::{Kind, Server};

/// 2100-01-01T00:00:00Z and 2200-01-01T00:00:00Z in unix ms: the two expiries in the dump.
const EXPIRES_2100: i64 = 4_102_444_800_000;
const EXPIRES_2200: i64 = 7_258_118_400_000;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run rdb-convert")
}

/// Runs with `input` on standard input.
fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rdb-convert");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    // Written from another thread: the child may fill its stdout pipe before reading all.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "failed: {}", stderr(&o));
    o
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-conventions-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

/// The real dump, written once per test run.
fn real_dump() -> &'static Path {
    static DUMP: OnceLock<PathBuf> = OnceLock::new();
    DUMP.get_or_init(|| {
        let server = Server::start_with(
            Kind::Redis70,
            &Options {
                modules: false,
                ..Options::default()
            },
        );
        let mut con = server.conn();
        let q = |con: &mut redis::Connection, args: &[&str]| {
            let mut c = redis::cmd(args[0]);
            for a in &args[1..] {
                c.arg(*a);
            }
            let _: redis::Value = c.query(con).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        };
        let (t2100, t2200) = (EXPIRES_2100.to_string(), EXPIRES_2200.to_string());
        for cmd in [
            vec!["SELECT", "0"],
            vec!["HSET", "user:1", "name", "Ada"],
            vec!["HSET", "user:admin", "name", "root"],
            vec!["SET", "tmp:1", "AAAAAAAAAAAAAAAA"],
            vec!["SET", "tmp:2", "soon"],
            vec!["PEXPIREAT", "tmp:2", &t2100],
            vec!["SET", "lock:a", "later"],
            vec!["PEXPIREAT", "lock:a", &t2200],
            vec!["ZADD", "board", "1", "a", "2", "b"],
            vec!["XADD", "events", "1-1", "f", "v"],
            vec!["RPUSH", "queue", "x", "y"],
            vec!["SADD", "tags", "p", "q"],
            vec!["SELECT", "1"],
            vec!["SET", "other:1", "v"],
            vec!["HSET", "other:2", "f", "v"],
            vec!["SELECT", "3"],
            vec!["SET", "cache:x", "v"],
        ] {
            q(&mut con, &cmd);
        }
        let saved = server.save(&mut con);
        let d = dir("dump");
        let dest = d.join("real.rdb");
        fs::copy(saved, &dest).unwrap();
        dest
    })
}

/// Every (db, key) of the dump.
const ALL: [(u64, &str); 12] = [
    (0, "board"),
    (0, "events"),
    (0, "lock:a"),
    (0, "queue"),
    (0, "tags"),
    (0, "tmp:1"),
    (0, "tmp:2"),
    (0, "user:1"),
    (0, "user:admin"),
    (1, "other:1"),
    (1, "other:2"),
    (3, "cache:x"),
];

fn all_but(drop: &[&str]) -> BTreeSet<(u64, String)> {
    ALL.iter()
        .filter(|(_, k)| !drop.contains(k))
        .map(|&(db, k)| (db, k.to_string()))
        .collect()
}

fn only(keep: &[&str]) -> BTreeSet<(u64, String)> {
    ALL.iter()
        .filter(|(_, k)| keep.contains(k))
        .map(|&(db, k)| (db, k.to_string()))
        .collect()
}

/// The (db, key) pairs of NDJSON output.
fn keys_of(ndjson: &[u8]) -> BTreeSet<(u64, String)> {
    String::from_utf8_lossy(ndjson)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["db"].as_u64().unwrap(),
                v["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The keys `rdb-convert DUMP ARGS` writes.
fn converted(dump: &Path, args: &[&str]) -> BTreeSet<(u64, String)> {
    let mut all = vec![s(dump)];
    all.extend_from_slice(args);
    keys_of(&ok(run(&all)).stdout)
}

// ---------------------------------------------------------------------------------------
// Usage errors: exit 2, and the message names the flag.

#[test]
fn bad_values_exit_2_naming_the_flag() {
    let dump = real_dump();
    let d = dir("usage");
    let out = d.join("out.rdb");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![s(dump), "--key-regex", "("], "--key-regex"),
        (vec![s(dump), "--not-key-regex", "("], "--not-key-regex"),
        (
            vec!["memory", s(dump), "--not-key-regex", "("],
            "--not-key-regex",
        ),
        (vec!["info", s(dump), "--key-regex", "("], "--key-regex"),
        (
            vec!["top", s(dump), "--not-key-regex", "["],
            "--not-key-regex",
        ),
        (
            vec!["filter", s(dump), "-o", s(&out), "--not-key-regex", "("],
            "--not-key-regex",
        ),
        (vec!["split", s(dump), "--shards", "0"], "--shards"),
        (vec!["split", s(dump), "--shards", "16385"], "--shards"),
        (
            vec![
                "seed",
                s(dump),
                "--target",
                "redis://127.0.0.1:1",
                "--key-regex",
                "(",
            ],
            "--key-regex",
        ),
        (vec![s(dump), "--expiry", "live-at:soon"], "--expiry"),
        (
            vec![s(dump), "--expiry", "live-at:2026-11-28T10:00:00"],
            "time zone",
        ),
        (vec![s(dump), "--expiry", "later"], "--expiry"),
        (vec![s(dump), "--not-type", "bogus"], "--not-type"),
        (vec![s(dump), "--not-db", "x"], "--not-db"),
        (vec!["-", "-"], "standard input"),
    ];
    for (args, flag) in cases {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?} does not name {flag}: {err}");
    }
    assert!(!out.exists());
}

#[test]
fn a_subcommand_typo_says_which_was_meant() {
    let dump = real_dump();
    let o = run(&["memroy", s(dump)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("unknown command 'memroy' (did you mean 'memory'?)"),
        "{err}"
    );
    assert!(!err.contains("No such file"), "{err}");
    // A dump that happens to have such a name is read.
    let d = dir("typo");
    fs::copy(dump, d.join("memroy")).unwrap();
    let o = bin().current_dir(&d).arg("memroy").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(keys_of(&o.stdout), all_but(&[]));
    // A missing file with no command near its name is still a missing file.
    let o = run(&["backup"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("No such file"), "{}", stderr(&o));
}

// ---------------------------------------------------------------------------------------
// Messages that say what to do next.

fn copy_with(d: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = fs::read(real_dump()).unwrap();
    edit(&mut bytes);
    let p = d.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn errors_say_what_to_do_next() {
    let d = dir("hints");
    let future = copy_with(&d, "future.rdb", |b| b[5..9].copy_from_slice(b"0099"));
    let damaged = copy_with(&d, "damaged.rdb", |b| {
        let at = b
            .windows(16)
            .position(|w| w == b"AAAAAAAAAAAAAAAA")
            .expect("the tmp:1 value");
        b[at] = b'B';
    });
    let truncated = copy_with(&d, "truncated.rdb", |b| b.truncate(b.len() * 2 / 3));
    let out = d.join("out.rdb");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![s(&future)], "--allow-future-versions"),
        (vec!["memory", s(&future)], "--allow-future-versions"),
        (vec![s(&damaged)], "--no-verify-checksum"),
        (vec!["info", s(&damaged)], "--no-verify-checksum"),
        (
            vec!["filter", s(&damaged), "-o", s(&out)],
            "--no-verify-checksum",
        ),
        (vec![s(&truncated)], "looks truncated (incomplete copy?)"),
        (
            vec!["top", s(&truncated)],
            "looks truncated (incomplete copy?)",
        ),
        (
            vec![
                "split",
                s(&truncated),
                "--shards",
                "2",
                "--output-prefix",
                s(&out),
            ],
            "looks truncated (incomplete copy?)",
        ),
    ];
    for (args, hint) in cases {
        let o = run(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(hint), "{args:?}: no {hint:?} in {err}");
    }
    // The flags the hints name do what they say.
    // (The edited magic no longer matches the checksum, which covers it.)
    ok(run(&[
        s(&future),
        "--allow-future-versions",
        "--no-verify-checksum",
    ]));
    assert_eq!(converted(&damaged, &["--no-verify-checksum"]), all_but(&[]));

    let o = run(&[s(&d)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "is a directory (give the .rdb files inside, e.g. {}/*.rdb)",
            d.display()
        )),
        "{err}"
    );
}

// ---------------------------------------------------------------------------------------
// Filters.

#[test]
fn exclusions_drop_what_they_match() {
    let dump = real_dump();
    assert_eq!(converted(dump, &[]), all_but(&[]));
    assert_eq!(
        converted(dump, &["--not-key", "tmp:*"]),
        all_but(&["tmp:1", "tmp:2"])
    );
    assert_eq!(
        converted(dump, &["--not-key", "tmp:*", "--not-key", "user:*"]),
        all_but(&["tmp:1", "tmp:2", "user:1", "user:admin"])
    );
    assert_eq!(
        converted(dump, &["--key", "user:*", "--not-key", "user:admin"]),
        only(&["user:1"])
    );
    assert_eq!(
        converted(dump, &["--not-key-regex", "^(lock|tmp):"]),
        all_but(&["lock:a", "tmp:1", "tmp:2"])
    );
    assert_eq!(
        converted(
            dump,
            &["--not-key-regex", "^tmp", "--not-key-regex", "[0-9]$"]
        ),
        all_but(&["tmp:1", "tmp:2", "user:1", "other:1", "other:2"])
    );
    assert_eq!(
        converted(dump, &["--not-type", "hash", "--not-type", "stream"]),
        all_but(&["user:1", "user:admin", "other:2", "events"])
    );
    assert_eq!(
        converted(dump, &["--not-db", "1", "--not-db", "3"]),
        all_but(&["other:1", "other:2", "cache:x"])
    );
    assert_eq!(
        converted(dump, &["--db", "1", "--not-type", "string"]),
        only(&["other:2"])
    );
}

#[test]
fn sortedset_is_zset() {
    let dump = real_dump();
    assert_eq!(converted(dump, &["--type", "sortedset"]), only(&["board"]));
    assert_eq!(converted(dump, &["--type", "zset"]), only(&["board"]));
    assert_eq!(
        converted(dump, &["--not-type", "sortedset"]),
        all_but(&["board"])
    );
}

#[test]
fn expiry_at_a_time() {
    let dump = real_dump();
    let every = all_but(&[]);
    for t in [
        "2150-01-01T00:00:00Z",
        "2150-01-01",
        "2150-01-01T02:00:00+02:00",
        "5680281600000",
    ] {
        let live = format!("live-at:{t}");
        let gone = format!("expired-at-or-before:{t}");
        assert_eq!(
            converted(dump, &["--expiry", &live]),
            all_but(&["tmp:2"]),
            "{t}"
        );
        assert_eq!(
            converted(dump, &["--expiry", &gone]),
            only(&["tmp:2"]),
            "{t}"
        );
    }
    // At the expiry itself the key is expired: the two forms split the keys exactly.
    let at = format!("live-at:{EXPIRES_2100}");
    let before = format!("live-at:{}", EXPIRES_2100 - 1);
    assert_eq!(converted(dump, &["--expiry", &at]), all_but(&["tmp:2"]));
    assert_eq!(converted(dump, &["--expiry", &before]), every);
    let gone = format!("expired-at-or-before:{EXPIRES_2200}");
    assert_eq!(
        converted(dump, &["--expiry", &gone]),
        only(&["tmp:2", "lock:a"])
    );
    // Every expiry in the dump is after now.
    assert_eq!(converted(dump, &["--expiry", "live-at:now"]), every);
    assert!(converted(dump, &["--expiry", "expired-at-or-before:now"]).is_empty());
}

/// The key column of the memory CSV.
fn memory_keys(csv: &[u8]) -> BTreeSet<(u64, String)> {
    String::from_utf8_lossy(csv)
        .lines()
        .skip(1)
        .map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols[0].parse().unwrap(), cols[2].to_string())
        })
        .collect()
}

#[test]
fn filters_apply_to_every_command() {
    let dump = real_dump();
    let d = dir("every");
    let filters = [
        "--not-type",
        "hash",
        "--not-key",
        "tmp:*",
        "--not-db",
        "3",
        "--expiry",
        "live-at:2150-01-01T00:00:00Z",
    ];
    let expected = all_but(&[
        "user:1",
        "user:admin",
        "other:2",
        "tmp:1",
        "tmp:2",
        "cache:x",
    ]);
    assert_eq!(converted(dump, &filters), expected);

    let mut args = vec!["memory", s(dump)];
    args.extend(filters);
    assert_eq!(memory_keys(&ok(run(&args)).stdout), expected);

    let mut args = vec!["info", s(dump), "--json"];
    args.extend(filters);
    let info: serde_json::Value = serde_json::from_slice(&ok(run(&args)).stdout).unwrap();
    let text = info.to_string();
    assert_eq!(
        count_keys(&info),
        expected.len() as u64,
        "info --json: {text}"
    );

    let mut args = vec!["top", s(dump), "--by", "size"];
    args.extend(filters);
    let top = String::from_utf8(ok(run(&args)).stdout).unwrap();
    for (_, k) in &expected {
        assert!(top.contains(k.as_str()), "top lacks {k}: {top}");
    }
    for gone in [
        "user:1",
        "user:admin",
        "tmp:1",
        "tmp:2",
        "cache:x",
        "other:2",
    ] {
        assert!(!top.contains(gone), "top lists {gone}: {top}");
    }

    let out = d.join("small.rdb");
    let mut args = vec!["filter", s(dump), "-o", s(&out)];
    args.extend(filters);
    ok(run(&args));
    assert_eq!(converted(&out, &[]), expected);

    // Split into db 0 shards needs every kept key in db 0.
    let prefix = d.join("shard");
    let mut args = vec![
        "split",
        s(dump),
        "--shards",
        "2",
        "--output-prefix",
        s(&prefix),
    ];
    args.extend(filters);
    args.extend(["--not-db", "1"]);
    ok(run(&args));
    let mut split_keys = BTreeSet::new();
    for i in 1..=2 {
        split_keys.extend(converted(&d.join(format!("shard-000{i}.rdb")), &[]));
    }
    assert_eq!(
        split_keys,
        all_but(&[
            "user:1",
            "user:admin",
            "other:2",
            "tmp:1",
            "tmp:2",
            "cache:x",
            "other:1"
        ])
    );
}

/// Keys over every database of `info --json`.
fn count_keys(info: &serde_json::Value) -> u64 {
    let file = &info["files"][0];
    file["databases"]
        .as_array()
        .or_else(|| file["dbs"].as_array())
        .map(|dbs| dbs.iter().map(|d| d["keys"].as_u64().unwrap_or(0)).sum())
        .unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------------------
// Inputs: standard input and compressed dumps.

/// `tool -c FILE > FILE.ext` with the system's tool.
fn compress(tool: &str, ext: &str, src: &Path, d: &Path) -> PathBuf {
    let out = d.join(format!("real.rdb.{ext}"));
    let o = Command::new(tool)
        .args(["-c", s(src)])
        .output()
        .unwrap_or_else(|e| panic!("{tool} (installed by scripts/test-deps.sh): {e}"));
    assert!(o.status.success(), "{tool}: {}", stderr(&o));
    fs::write(&out, o.stdout).unwrap();
    out
}

#[test]
fn stdin_and_compressed_dumps_read_as_the_plain_one() {
    let dump = real_dump();
    let d = dir("inputs");
    let plain = ok(run(&[s(dump), "--with-meta"])).stdout;
    let bytes = fs::read(dump).unwrap();
    let o = ok(run_with_stdin(&["-", "--with-meta"], &bytes));
    assert_eq!(o.stdout, plain, "stdin");

    let plain_memory = ok(run(&["memory", s(dump)])).stdout;
    let plain_info = ok(run(&["info", s(dump), "--json"])).stdout;
    for (tool, ext) in [("gzip", "gz"), ("zstd", "zst"), ("lz4", "lz4")] {
        let packed = compress(tool, ext, dump, &d);
        let o = ok(run(&[s(&packed), "--with-meta"]));
        assert_eq!(o.stdout, plain, "{tool}");
        let o = ok(run_with_stdin(
            &["-", "--with-meta"],
            &fs::read(&packed).unwrap(),
        ));
        assert_eq!(o.stdout, plain, "{tool} on stdin");
        assert_eq!(
            ok(run(&["memory", s(&packed)])).stdout,
            plain_memory,
            "{tool}"
        );
        // info names the file; the rest is the same.
        let info = String::from_utf8(ok(run(&["info", s(&packed), "--json"])).stdout).unwrap();
        assert_eq!(
            info.replace(s(&packed), s(dump)),
            String::from_utf8_lossy(&plain_info),
            "{tool}"
        );
        let out = d.join(format!("from-{ext}.rdb"));
        ok(run(&["filter", s(&packed), "-o", s(&out), "--not-db", "1"]));
        assert_eq!(converted(&out, &[]), all_but(&["other:1", "other:2"]));
        ok(run(&["top", s(&packed)]));
    }
    // Several inputs, mixed.
    let gz = d.join("real.rdb.gz");
    let o = ok(run_with_stdin(&[s(dump), "-", s(&gz)], &bytes));
    assert_eq!(o.stdout.len(), 3 * ok(run(&[s(dump)])).stdout.len());
    // filter and split from standard input.
    let out = d.join("from-stdin.rdb");
    ok(run_with_stdin(
        &["filter", "-", "-o", s(&out), "--db", "0"],
        &bytes,
    ));
    assert_eq!(converted(&out, &["--not-db", "0"]), BTreeSet::new());
    assert_eq!(converted(&out, &[]).len(), 9);
}

#[test]
fn bad_compressed_inputs_fail_cleanly() {
    let dump = real_dump();
    let d = dir("bad-packed");
    let gz = compress("gzip", "gz", dump, &d);
    let mut bytes = fs::read(&gz).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0x5a;
    }
    let corrupt = d.join("corrupt.rdb.gz");
    fs::write(&corrupt, &bytes).unwrap();
    let cut = d.join("cut.rdb.gz");
    fs::write(&cut, &fs::read(&gz).unwrap()[..middle]).unwrap();
    for bad in [&corrupt, &cut] {
        for sub in [None, Some("memory"), Some("info")] {
            let mut args: Vec<&str> = sub.into_iter().collect();
            args.push(s(bad));
            let o = run(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(
                err.contains(s(bad)),
                "{args:?}: the file is not named: {err}"
            );
            assert!(err.contains("gzip"), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
    let xz = compress("xz", "xz", dump, &d);
    let o = run(&[s(&xz)]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("is xz-compressed, not an RDB file"), "{err}");
    assert!(err.contains("xz -dk"), "{err}");
}

#[test]
fn spooled_copies_leave_nothing_behind() {
    let dump = real_dump();
    let d = dir("spool");
    let tmp = d.join("tmp");
    fs::create_dir_all(&tmp).unwrap();
    let gz = compress("gzip", "gz", dump, &d);
    let o = bin().env("TMPDIR", &tmp).arg(&gz).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // Killed while copying standard input: the copy had no name to leave behind.
    let mut child = bin()
        .env("TMPDIR", &tmp)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&fs::read(dump).unwrap()[..100]).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stdin);
    let left: Vec<_> = fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
}
