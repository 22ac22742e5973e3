//! `rdb-convert seed` never leaves a partial value, never reports false success or false
//! conflicts: a value sent in parts appears whole with its TTL or not at all, `--resume`
//! after `kill -9` ends with the target equal to the source (DEBUG DIGEST) for any dump size,
//! counts are of what the target took, and connection mistakes give one clear message.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::common::cluster::{rdb_convert, rdb_convert_ok};
use crate::common::server::{Kind, Options, Server};

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn digest(con: &mut redis::Connection) -> String {
    redis::cmd("DEBUG").arg("DIGEST").query(con).unwrap()
}

fn spawn_seed(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .arg("seed")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn temp_keys(con: &mut redis::Connection) -> Vec<String> {
    redis::cmd("KEYS")
        .arg("*rdb-seed-partial*")
        .query(con)
        .unwrap()
}

/// Issue #12 item 2: a big list whose TTL passes while its parts are sent (the target is
/// paused meanwhile) must not reappear without its TTL, partial.
#[test]
fn big_value_expiring_mid_transfer_is_never_partial() {
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    let items: Vec<String> = (0..300_000).map(|i| format!("item-{i}")).collect();
    for chunk in items.chunks(50_000) {
        redis::cmd("RPUSH")
            .arg("big:list")
            .arg(chunk)
            .query::<()>(&mut scon)
            .unwrap();
    }
    redis::cmd("SET")
        .arg("small")
        .arg("s")
        .query::<()>(&mut scon)
        .unwrap();
    let expiry = now_ms() + 2500;
    redis::cmd("PEXPIREAT")
        .arg("big:list")
        .arg(expiry)
        .query::<()>(&mut scon)
        .unwrap();
    let dump = src.save(&mut scon);
    let dst = Server::start(Kind::Redis70);
    let url = dst.url();
    let child = spawn_seed(&[
        dump.to_str().unwrap(),
        "--target",
        &url,
        "--max-payload",
        "8192",
        "--part-bytes",
        "1024",
        "--parallel",
        "1",
        "--verify-sample",
        "5",
        "--quiet",
    ]);
    // Once the first part is in, hold every write until the TTL has passed.
    let mut con = dst.conn();
    let deadline = Instant::now() + Duration::from_secs(30);
    while redis::cmd("DBSIZE").query::<u64>(&mut con).unwrap() == 0 {
        assert!(Instant::now() < deadline, "seed did not start");
        std::thread::sleep(Duration::from_millis(1));
    }
    let pause = (expiry + 500 - now_ms()).max(1);
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(pause)
        .arg("WRITE")
        .query::<()>(&mut con)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    let len: u64 = redis::cmd("LLEN").arg("big:list").query(&mut con).unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg("big:list").query(&mut con).unwrap();
    assert!(
        len == 0 || (len == 300_000 && pttl > 0),
        "big:list has {len} of 300000 items, PTTL {pttl}"
    );
    assert!(temp_keys(&mut con).is_empty(), "temporary keys left");
    assert!(out.status.success(), "{stderr}");
}

/// Issue #12 item 3: `seed --resume` after the seed itself was killed (SIGKILL) while a value
/// was half sent in parts: the resumed run reports no conflict, leaves no partial value, and
/// the target equals the source.
#[test]
fn resume_after_kill_9_mid_big_value_equals_the_source() {
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(30_000)
        .arg("key")
        .arg(16)
        .query::<()>(&mut scon)
        .unwrap();
    let mut h = redis::cmd("HSET");
    h.arg("big:hash");
    for i in 0..50_000 {
        h.arg(format!("field-{i}")).arg(i);
    }
    h.query::<()>(&mut scon).unwrap();
    redis::cmd("PEXPIREAT")
        .arg("big:hash")
        .arg(4102444800000i64)
        .query::<()>(&mut scon)
        .unwrap();
    redis::cmd("PEXPIREAT")
        .arg("key:7")
        .arg(4102444800000i64)
        .query::<()>(&mut scon)
        .unwrap();
    let dump = src.save(&mut scon);
    let dump = dump.to_str().unwrap();
    let dst = Server::start(Kind::Redis70);
    let url = dst.url();
    let ckpt = dst.dir.join("seed.checkpoint");
    let ckpt = ckpt.to_str().unwrap();
    let args = [
        dump,
        "--target",
        &url,
        "--checkpoint",
        ckpt,
        "--max-payload",
        "8192",
        "--part-bytes",
        "1024",
        "--parallel",
        "2",
        "--batch-keys",
        "100",
        "--quiet",
    ];
    let mut child = spawn_seed(&args);
    // Kill the seed while the big hash is half built (or, with the old code, half visible).
    let mut con = dst.conn();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let partial: u64 = redis::cmd("HLEN").arg("big:hash").query(&mut con).unwrap();
        if !temp_keys(&mut con).is_empty() || (partial > 0 && partial < 50_000) {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("seed ended ({status}) before it could be killed mid-value");
        }
        assert!(Instant::now() < deadline, "seed did not progress");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();
    let mut resume: Vec<&str> = args.to_vec();
    resume.extend(["--resume", "--verify-sample", "200"]);
    let stderr = rdb_convert_ok(&[&["seed"], &resume[..]].concat());
    eprintln!("resume:\n{stderr}");
    assert!(stderr.contains("conflicts: 0"), "{stderr}");
    assert!(stderr.contains(": OK"), "{stderr}");
    assert!(temp_keys(&mut con).is_empty(), "temporary keys left");
    assert_eq!(
        digest(&mut scon),
        digest(&mut con),
        "target differs from source"
    );
}

/// Issue #12 item 3: a dump of a few keys, the seed killed before it wrote anything: the
/// checkpoint exists from the start, and `--resume` completes the seed.
#[test]
fn resume_of_a_tiny_dump_killed_at_once() {
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(100)
        .query::<()>(&mut scon)
        .unwrap();
    let dump = src.save(&mut scon);
    let dump = dump.to_str().unwrap();
    let dst = Server::start(Kind::Redis70);
    let url = dst.url();
    let ckpt = dst.dir.join("tiny.checkpoint");
    let ckpt = ckpt.to_str().unwrap();
    let mut con = dst.conn();
    // Writes wait, so the seed is surely killed before it finishes.
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(20_000)
        .arg("WRITE")
        .query::<()>(&mut con)
        .unwrap();
    let args = [dump, "--target", &url, "--checkpoint", ckpt, "--quiet"];
    let mut child = spawn_seed(&args);
    let deadline = Instant::now() + Duration::from_secs(3);
    while !Path::new(ckpt).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    let _ = child.wait();
    redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query::<()>(&mut con)
        .unwrap();
    let mut resume: Vec<&str> = args.to_vec();
    resume.push("--resume");
    let stderr = rdb_convert_ok(&[&["seed"], &resume[..]].concat());
    assert!(stderr.contains(": OK"), "{stderr}");
    assert_eq!(digest(&mut scon), digest(&mut con));
}

/// Issue #12 item 19: keys of a database the target does not have are errors, and are not
/// counted as "copied as is".
#[test]
fn counts_are_of_what_the_target_took() {
    let src = Server::start_with(
        Kind::Redis70,
        &Options {
            extra: vec!["--databases".into(), "64".into()],
            ..Options::default()
        },
    );
    let mut scon = src.conn();
    let mut pipe = redis::pipe();
    for i in 0..10 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    pipe.cmd("SELECT").arg(40).ignore();
    for i in 0..5 {
        pipe.cmd("SET").arg(format!("far{i}")).arg(i).ignore();
    }
    pipe.cmd("SELECT").arg(0).ignore();
    pipe.query::<()>(&mut scon).unwrap();
    let dump = src.save(&mut scon);
    let dst = Server::start(Kind::Redis70); // 16 databases
    let out = rdb_convert(&[
        "seed",
        dump.to_str().unwrap(),
        "--target",
        &dst.url(),
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(!out.status.success());
    assert!(stderr.contains("seeded 10 keys"), "{stderr}");
    assert!(stderr.contains("copied as is 10,"), "{stderr}");
    assert!(stderr.contains("errors: 5"), "{stderr}");
    assert!(stderr.contains("--flatten-dbs"), "{stderr}");
}

/// A tiny HTTP server on a loopback port: answers every connection with a 400.
fn http_responder() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().take(20) {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request",
            );
        }
    });
    port
}

/// Issue #12 item 18: connection mistakes give one clear line each.
#[test]
fn connection_errors_are_clear() {
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    redis::cmd("SET")
        .arg("a")
        .arg("1")
        .query::<()>(&mut scon)
        .unwrap();
    let dump = src.save(&mut scon);
    let dump = dump.to_str().unwrap();

    // An HTTP server on the port.
    let port = http_responder();
    let out = rdb_convert(&[
        "seed",
        dump,
        "--target",
        &format!("redis://127.0.0.1:{port}"),
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is not a Redis server"), "{stderr}");

    // Nothing listening: the cause once, not two or three times.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = rdb_convert(&[
        "seed",
        dump,
        "--target",
        &format!("redis://127.0.0.1:{closed}"),
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("refused").count(), 1, "{stderr}");

    // A password with reserved characters: percent-encoded it works; raw, the message says
    // how to write it.
    let dst = Server::start(Kind::Redis70);
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("requirepass")
        .arg("p@ss:w/rd")
        .query::<()>(&mut dst.conn())
        .unwrap();
    let encoded = format!("redis://:p%40ss%3Aw%2Frd@127.0.0.1:{}", dst.port);
    let stderr = rdb_convert_ok(&["seed", dump, "--target", &encoded, "--quiet"]);
    assert!(stderr.contains(": OK"), "{stderr}");
    let raw = format!("redis://:p@ss:w/rd@127.0.0.1:{}", dst.port);
    let out = rdb_convert(&["seed", dump, "--target", &raw, "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("percent-encoded"), "{stderr}");
    assert!(!stderr.contains("p@ss"), "password shown: {stderr}");
}

/// Issue #12 item 6 for `seed`: a dump truncated while it is being read ends the seed with a
/// clear error (exit 1), and nothing the zeros past the new end decode to (empty keys) is
/// sent to the target.
#[test]
fn a_dump_truncated_while_seeding_is_an_error_and_sends_no_garbage() {
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(500_000)
        .arg("key")
        .arg(100)
        .query::<()>(&mut scon)
        .unwrap();
    let saved = src.save(&mut scon);
    let dst = Server::start(Kind::Redis70);
    let dump = dst.dir.join("in.rdb");
    std::fs::copy(&saved, &dump).unwrap();
    let mut con = dst.conn();
    // The target holds writes, so the seed has mapped the dump but not read it all yet.
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(20_000)
        .arg("WRITE")
        .query::<()>(&mut con)
        .unwrap();
    let url = dst.url();
    let child = spawn_seed(&[dump.to_str().unwrap(), "--target", &url, "--quiet"]);
    let maps = format!("/proc/{}/maps", child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&maps)
        .unwrap_or_default()
        .contains("in.rdb")
    {
        assert!(Instant::now() < deadline, "the seed never mapped the dump");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&dump)
        .unwrap()
        .set_len(2 << 20)
        .unwrap();
    redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query::<()>(&mut con)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("in.rdb") && err.contains("truncated"), "{err}");
    let empty: i64 = redis::cmd("EXISTS").arg("").query(&mut con).unwrap();
    assert_eq!(empty, 0, "a key decoded from zeros reached the target");
}
