//! `rdb-convert diff` on dumps written by real Redis 7.4 servers: known differences found
//! exactly (extra key, changed value, changed TTL, type change), the same data in other
//! encodings and member orders equal, shards of one dump equal to the merged dump, and the
//! on-disk partition path (a low --memory-keys) giving the same answers and leaving no
//! temporary files, even when a dump is bad or a signal ends the run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::server::{Kind, Options, Server};
use crate::common::{files_under, signal};

const EXPIRE_AT: i64 = 4_102_444_800_000; // 2100-01-01

fn scratch(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("diff-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("tmp")).unwrap();
    d
}

/// `rdb-convert diff ARGS` with TMPDIR set to `tmp`.
fn diff(tmp: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .arg("diff")
        .args(args)
        .env("TMPDIR", tmp)
        .output()
        .expect("run rdb-convert")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn cmd(con: &mut redis::Connection, args: &[&str]) {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query::<redis::Value>(con)
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
}

/// Key `i` of a fixed keyspace of every type, members in forward or reverse order.
fn fill_key(con: &mut redis::Connection, i: usize, reverse: bool) {
    let mut members: Vec<String> = (0..6).map(|m| format!("m{m}")).collect();
    if reverse {
        members.reverse();
    }
    let key = format!("k{i}");
    match i % 6 {
        0 => cmd(con, &["SET", &key, &format!("value {i}")]),
        1 => {
            let mut a = vec!["HSET", key.as_str()];
            for m in &members {
                a.push(m);
                a.push(m);
            }
            cmd(con, &a);
        }
        2 => {
            let mut a = vec!["SADD", key.as_str()];
            a.extend(members.iter().map(|m| m.as_str()));
            cmd(con, &a);
        }
        3 => {
            let scored: Vec<(String, &String)> =
                members.iter().map(|m| (m[1..].to_string(), m)).collect();
            let mut a = vec!["ZADD", key.as_str()];
            for (s, m) in &scored {
                a.push(s);
                a.push(m);
            }
            cmd(con, &a);
        }
        4 => cmd(con, &["RPUSH", &key, "a", "b", "c"]),
        _ => cmd(con, &["SADD", &key, "1", "2", "3"]),
    }
    if i.is_multiple_of(4) {
        cmd(con, &["PEXPIREAT", &key, &EXPIRE_AT.to_string()]);
    }
}

const KEYS: usize = 60;

fn save_as(server: &Server, con: &mut redis::Connection, to: &Path) -> String {
    let dump = server.save(con);
    std::fs::copy(dump, to).unwrap();
    to.to_str().unwrap().to_string()
}

fn assert_clean(tmp: &Path) {
    let left: Vec<_> = std::fs::read_dir(tmp).unwrap().collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn diff_finds_exactly_the_changes_and_ignores_encodings() {
    let t0 = std::time::Instant::now();
    let dir = scratch("changes");
    let tmp = dir.join("tmp");
    let server = Server::start(Kind::Redis74);
    let mut con = server.conn();
    for i in 0..KEYS {
        fill_key(&mut con, i, false);
    }
    let before = save_as(&server, &mut con, &dir.join("before.rdb"));
    cmd(&mut con, &["SET", "extra", "new"]); // only right
    cmd(&mut con, &["SET", "k6", "changed"]); // value
    cmd(
        &mut con,
        &["PEXPIREAT", "k12", &(EXPIRE_AT + 1).to_string()],
    ); // ttl
    cmd(&mut con, &["DEL", "k7"]);
    cmd(&mut con, &["SET", "k7", "was a hash"]); // type
    cmd(&mut con, &["SELECT", "3"]);
    cmd(&mut con, &["SET", "k0", "other db"]); // only right, in db 3
    let after = save_as(&server, &mut con, &dir.join("after.rdb"));

    for memory in ["4000000", "5"] {
        let out = diff(
            &tmp,
            &[&before, &after, "--format", "json", "--memory-keys", memory],
        );
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let v = json(&out);
        assert_eq!(v["differing"], 5, "{v}");
        let total = &v["total"];
        assert_eq!(
            (
                &total["only_left"],
                &total["only_right"],
                &total["type"],
                &total["value"],
                &total["ttl"],
                &total["same"]
            ),
            (
                &0.into(),
                &2.into(),
                &1.into(),
                &1.into(),
                &1.into(),
                &((KEYS - 3) as u64).into()
            ),
            "{v}"
        );
        let mut found: Vec<String> = v["differences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| format!("{}:{}:{}", d["db"], d["key"], d["kinds"]))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "0:\"extra\":[\"only-right\"]",
                "0:\"k12\":[\"ttl\"]",
                "0:\"k6\":[\"value\"]",
                "0:\"k7\":[\"type\"]",
                "3:\"k0\":[\"only-right\"]",
            ],
            "{v}"
        );
        assert_eq!(v["dbs"].as_array().unwrap().len(), 2, "{v}");
        assert_clean(&tmp);
    }
    // The listing is capped, the totals are not; text output.
    let out = diff(&tmp, &[&before, &after, "--limit", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("5 keys differ (the first 2 listed)"),
        "{text}"
    );
    // Same dump on both sides.
    let out = diff(&tmp, &[&before, &before]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // The same data in other encodings (hashtables, plain sets and skiplists, one element
    // per list node) and member orders: equal.
    let plain = Server::start_with(
        Kind::Redis74,
        &Options {
            modules: false,
            extra: [
                "--hash-max-listpack-entries",
                "0",
                "--set-max-intset-entries",
                "0",
                "--set-max-listpack-entries",
                "0",
                "--zset-max-listpack-entries",
                "0",
                "--list-max-listpack-size",
                "1",
            ]
            .map(String::from)
            .to_vec(),
            ..Options::default()
        },
    );
    let mut pcon = plain.conn();
    for i in (0..KEYS).rev() {
        fill_key(&mut pcon, i, true);
    }
    let other = save_as(&plain, &mut pcon, &dir.join("plain.rdb"));
    let keys = rdb_convert_keys(&other);
    assert!(keys.contains("\"encoding\":\"hash\""), "{keys}");
    assert!(keys.contains("\"encoding\":\"zset_2\""), "{keys}");
    for memory in ["4000000", "7"] {
        let out = diff(&tmp, &[&before, &other, "--memory-keys", memory]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_clean(&tmp);
    }

    // A bad dump on one side: exit 2, temporary files removed.
    let bad = dir.join("bad.rdb");
    let mut bytes = std::fs::read(&after).unwrap();
    let n = bytes.len();
    bytes.truncate(n * 2 / 3);
    std::fs::write(&bad, bytes).unwrap();
    let out = diff(
        &tmp,
        &[&before, bad.to_str().unwrap(), "--memory-keys", "3"],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty());
    assert_clean(&tmp);
    // Usage: one side only.
    let out = diff(&tmp, &[&before]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    eprintln!("diff: changes test in {:?}", t0.elapsed());
}

fn rdb_convert_keys(dump: &str) -> String {
    crate::keys::stdout_of(&[dump, "--format", "keys"])
}

#[test]
fn shards_equal_the_merged_dump() {
    let t0 = std::time::Instant::now();
    let dir = scratch("shards");
    let tmp = dir.join("tmp");
    let server = Server::start(Kind::Redis74);
    let mut con = server.conn();
    let mut shards = Vec::new();
    for shard in 0..3 {
        cmd(&mut con, &["FLUSHALL"]);
        for i in (shard..KEYS).step_by(3) {
            fill_key(&mut con, i, false);
        }
        shards.push(save_as(
            &server,
            &mut con,
            &dir.join(format!("shard-{shard}.rdb")),
        ));
    }
    cmd(&mut con, &["FLUSHALL"]);
    for i in 0..KEYS {
        fill_key(&mut con, i, false);
    }
    let merged = save_as(&server, &mut con, &dir.join("merged.rdb"));
    for memory in ["4000000", "4"] {
        let mut args = vec!["--format", "json", "--memory-keys", memory];
        args.extend(shards.iter().map(|s| s.as_str()));
        args.extend(["--", merged.as_str()]);
        let out = diff(&tmp, &args);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let v = json(&out);
        assert_eq!(v["same"], true);
        assert_eq!(v["total"]["left"], KEYS as u64);
        assert_eq!(v["total"]["same"], KEYS as u64);
        assert_clean(&tmp);
    }
    // Two shards only: the third shard's keys are only on the right.
    let out = diff(
        &tmp,
        &["--format", "json", &shards[0], &shards[1], "--", &merged],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["total"]["only_right"], (KEYS / 3) as u64);
    eprintln!("diff: shards test in {:?}", t0.elapsed());
}

/// SIGTERM while the right side is still being read leaves no spilled partition files:
/// they were removed only on the way out, which a signal skipped.
#[test]
fn signal_during_diff_leaves_no_spill() {
    let dir = scratch("signal");
    let tmp = dir.join("tmp");
    let sample = crate::common::server::workspace_root().join("testdata/sample.rdb");
    // The right side is standard input, held open: the left side is spilled by then.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args(["diff", sample.to_str().unwrap(), "-", "--memory-keys", "1"])
        .env("TMPDIR", &tmp)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let left_spilled = || {
        files_under(&tmp).iter().any(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("rdb-diff-left-"))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !left_spilled() {
        assert!(Instant::now() < deadline, "the left side never spilled");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "-TERM");
    let status = child.wait().unwrap();
    assert!(!status.success());
    let left = files_under(&tmp);
    assert!(left.is_empty(), "left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
