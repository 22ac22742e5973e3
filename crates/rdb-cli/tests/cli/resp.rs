//! `convert --format resp` replayed with `redis-cli --pipe` into fresh real servers: a source
//! server is filled with every type and encoding and saved; the RESP written for its version
//! is piped into a fresh server of the same kind. Restore mode must give the same
//! `DEBUG DIGEST`; commands mode the same keys, values and TTLs (within a second), except
//! what the README lists (module values, stream pending entries).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::common::cluster::{rdb_convert, rdb_convert_ok};
use crate::common::dumps::{self, HASH_LISTPACK, STRING};
use crate::common::server::{Kind, Server};
use crate::common::servers_diff::{diff, read_all, KeyData, Val};

fn scratch(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("resp-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The `--rdb-version` of each kind's server.
fn version_arg(kind: Kind) -> &'static str {
    match kind {
        Kind::Redis62 => "9",
        Kind::Redis70 => "10",
        Kind::Redis74 => "12",
        Kind::Valkey9 => "VALKEY080",
    }
}

fn digest(con: &mut redis::Connection) -> String {
    redis::cmd("DEBUG").arg("DIGEST").query(con).unwrap()
}

/// `redis-cli -p PORT --pipe < resp`; panics unless every reply was a success.
fn pipe_into(server: &Server, resp: &Path) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &server.port.to_string(), "--pipe"])
        .stdin(Stdio::from(std::fs::File::open(resp).unwrap()))
        .output()
        .expect("run redis-cli (the Debian package redis-tools)");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("errors: 0"),
        "redis-cli --pipe into {}:\n{text}",
        server.kind.label()
    );
    text
}

/// Streams compared without their pending entries (commands mode does not make them).
fn without_pending(
    keys: &std::collections::BTreeMap<(u64, Vec<u8>), KeyData>,
) -> std::collections::BTreeMap<(u64, Vec<u8>), KeyData> {
    let mut keys = keys.clone();
    for data in keys.values_mut() {
        if let Val::Stream(_, groups) = &mut data.val {
            for g in groups.iter_mut() {
                g.1 = 0;
            }
        }
    }
    keys
}

fn replay(kind: Kind) {
    let t0 = Instant::now();
    let dir = scratch(kind.label());
    let src = Server::start(kind);
    let mut scon = src.conn();
    crate::common::fill::fill(&mut scon, kind);
    let dump = src.save(&mut scon);
    let want_digest = digest(&mut scon);
    let want = read_all(&mut scon);
    for mode in ["restore", "commands"] {
        let resp = dir.join(format!("{mode}.resp"));
        let stderr = rdb_convert_ok(&[
            dump.to_str().unwrap(),
            "--format",
            "resp",
            "--resp-mode",
            mode,
            "--rdb-version",
            version_arg(kind),
            "-o",
            resp.to_str().unwrap(),
        ]);
        let dst = Server::start(kind);
        pipe_into(&dst, &resp);
        let mut dcon = dst.conn();
        if mode == "restore" {
            assert!(stderr.is_empty(), "{}: {stderr}", kind.label());
            assert_eq!(
                digest(&mut dcon),
                want_digest,
                "{}: DEBUG DIGEST differs after replaying restore mode",
                kind.label()
            );
        }
        let got = read_all(&mut dcon);
        let differences = diff(
            &without_pending(&want),
            &without_pending(&got),
            |k| mode == "commands" && k.is_module(),
            false,
        );
        assert!(
            differences.is_empty(),
            "{} {mode}: {} difference(s):\n{}",
            kind.label(),
            differences.len(),
            differences.join("\n")
        );
        assert!(
            got.len() > 100,
            "{} {mode}: {} keys",
            kind.label(),
            got.len()
        );
    }
    eprintln!(
        "{}: {} keys replayed in both modes, {:.1?}",
        kind.label(),
        want.len(),
        t0.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn redis_6_2() {
    replay(Kind::Redis62);
}

#[test]
fn redis_7_0() {
    replay(Kind::Redis70);
}

#[test]
fn redis_7_4() {
    replay(Kind::Redis74);
}

#[test]
fn valkey_9() {
    replay(Kind::Valkey9);
}

#[test]
fn big_values_go_in_parts_and_ttls_can_change() {
    let dir = scratch("big");
    let src = Server::start(Kind::Redis70);
    let mut con = src.conn();
    let items: Vec<String> = (0..3000).map(|i| format!("item-{i}")).collect();
    let mut pipe = redis::pipe();
    pipe.cmd("RPUSH").arg("big:list").arg(&items).ignore();
    let mut h = redis::cmd("HSET");
    h.arg("big:hash");
    for m in &items {
        h.arg(m).arg(m.len());
    }
    pipe.add_command(h).ignore();
    pipe.cmd("PEXPIREAT")
        .arg("big:list")
        .arg(4102444800000i64)
        .ignore();
    pipe.cmd("SET").arg("small").arg("s").ignore();
    pipe.cmd("SELECT").arg(3).ignore();
    pipe.cmd("SET").arg("in-db-3").arg("x").ignore();
    pipe.query::<()>(&mut con).unwrap();
    let dump = src.save(&mut con);
    let dump = dump.to_str().unwrap();

    // Parts, as seed sends them: the same digest.
    let resp = dir.join("big.resp");
    let args = [dump, "--format", "resp", "--max-payload", "4096"];
    rdb_convert_ok(
        &[
            &args[..],
            &["--part-bytes", "2048", "-o", resp.to_str().unwrap()],
        ]
        .concat(),
    );
    let text = std::fs::read(&resp).unwrap();
    assert!(text.windows(5).any(|w| w == b"RPUSH"), "no RPUSH parts");
    let dst = Server::start(Kind::Redis70);
    pipe_into(&dst, &resp);
    let mut dcon = dst.conn();
    assert_eq!(digest(&mut dcon), digest(&mut con));

    // --amend-expire moves TTLs; --no-expire drops them.
    let amended = dir.join("amended.resp");
    rdb_convert_ok(&[
        dump,
        "--format",
        "resp",
        "--amend-expire",
        "-1000",
        "-o",
        amended.to_str().unwrap(),
    ]);
    let dst = Server::start(Kind::Redis70);
    pipe_into(&dst, &amended);
    let at: i64 = redis::cmd("PEXPIRETIME")
        .arg("big:list")
        .query(&mut dst.conn())
        .unwrap();
    assert_eq!(at, 4102444800000 - 1000);
    let no_ttl = dir.join("no-ttl.resp");
    rdb_convert_ok(&[
        dump,
        "--format",
        "resp",
        "--resp-mode",
        "commands",
        "--no-expire",
        "-o",
        no_ttl.to_str().unwrap(),
    ]);
    let dst = Server::start(Kind::Redis70);
    pipe_into(&dst, &no_ttl);
    let mut dcon = dst.conn();
    let ttl: i64 = redis::cmd("PTTL").arg("big:list").query(&mut dcon).unwrap();
    assert_eq!(ttl, -1);
    let n: i64 = redis::cmd("LLEN").arg("big:list").query(&mut dcon).unwrap();
    assert_eq!(n, 3000);

    // Filters apply: --db 3 keeps one key, selected.
    let out = rdb_convert(&[dump, "--format", "resp", "--db", "3"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n"),
        "{text}"
    );
    assert_eq!(text.matches("RESTORE").count(), 1, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_corrupt_dump_gives_convert_s_error_and_no_output() {
    let dir = scratch("corrupt");
    let mut hash = dumps::listpack(&[b"a", b"1", b"b", b"2"]);
    // The listpack's total-bytes header (after the one-byte string length) made wrong.
    hash[1] = hash[1].wrapping_add(7);
    let dump = dir.join("corrupt.rdb");
    dumps::write(
        &dump,
        &[
            (0, b"ok", STRING, dumps::string(b"fine")),
            (0, b"h", HASH_LISTPACK, hash),
        ],
        None,
    );
    let dump = dump.to_str().unwrap();
    let json_out = dir.join("out.json");
    let json = rdb_convert(&[dump, "-o", json_out.to_str().unwrap()]);
    assert_eq!(json.status.code(), Some(1));
    for mode in ["restore", "commands"] {
        let out_path = dir.join("out.resp");
        let resp = rdb_convert(&[
            dump,
            "--format",
            "resp",
            "--resp-mode",
            mode,
            "-o",
            out_path.to_str().unwrap(),
        ]);
        assert_eq!(resp.status.code(), Some(1), "{mode}");
        assert_eq!(
            String::from_utf8_lossy(&resp.stderr),
            String::from_utf8_lossy(&json.stderr),
            "{mode}"
        );
        assert!(!out_path.exists(), "{mode}: a partial output was left");
    }
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
