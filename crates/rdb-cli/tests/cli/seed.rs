//! `rdb-convert seed` against real servers: a source server is filled with every type and
//! encoding and saved; the dump is seeded into a fresh target with RESTORE; then every key,
//! value and TTL (within a second) on the target is compared with the source server.
//!
//! Also: a 3-primary Valkey cluster seeded from a standalone dump (keys on their slot's
//! owner), and a target killed mid-seed, restarted, and finished with `--resume`.

use std::time::{Duration, Instant};

use crate::common::cluster::{rdb_convert, rdb_convert_ok, Cluster, Proc};
use crate::common::server::{Kind, Options, Server};
use crate::common::servers_diff::{caps_of, diff, read_all, read_key, KeyData};
use rdb_cluster::slot::key_slot;

/// Fill a `source` server, SAVE, seed a fresh `target`, compare everything.
fn seed_and_compare(source: Kind, target: Kind, may_be_missing: fn(&KeyData) -> bool) {
    let t0 = Instant::now();
    let src = Server::start(source);
    let mut scon = src.conn();
    crate::common::fill::fill(&mut scon, source);
    let dump = src.save(&mut scon);
    let dst = Server::start_with(
        target,
        &Options {
            modules: false,
            ..Options::default()
        },
    );
    let stderr = rdb_convert_ok(&[
        "seed",
        dump.to_str().unwrap(),
        "--target",
        &dst.url(),
        "--verify-sample",
        "300",
        "--quiet",
    ]);
    eprintln!("{} -> {}:\n{stderr}", source.label(), target.label());
    assert!(
        stderr.contains(": OK"),
        "verification did not pass:\n{stderr}"
    );
    let want = read_all(&mut scon);
    let got = read_all(&mut dst.conn());
    let differences = diff(&want, &got, may_be_missing, false);
    assert!(
        differences.is_empty(),
        "{} -> {}: {} difference(s):\n{}",
        source.label(),
        target.label(),
        differences.len(),
        differences.join("\n")
    );
    let missing = want.keys().filter(|k| !got.contains_key(k)).count();
    eprintln!(
        "{} -> {}: {} keys compared, {} allowed missing (module / field TTLs), {:.1?}",
        source.label(),
        target.label(),
        want.len() - missing,
        missing,
        t0.elapsed()
    );
    assert!(want.len() - missing > 100);
}

#[test]
fn redis_7_0_dump_into_redis_7_0() {
    seed_and_compare(Kind::Redis70, Kind::Redis70, |_| false);
}

#[test]
fn redis_7_4_dump_into_valkey_9() {
    // Valkey has no RedisJSON: module values are reported unsupported. Hash-field TTLs
    // are converted to Valkey's HASH_2.
    seed_and_compare(Kind::Redis74, Kind::Valkey9, KeyData::is_module);
}

#[test]
fn redis_7_4_dump_into_redis_6_2_down_conversion() {
    // RDB 9 has no listpacks and no hash-field TTLs: values are re-encoded; hashes with
    // field TTLs and module values are reported unsupported.
    seed_and_compare(
        Kind::Redis74,
        Kind::Redis62,
        KeyData::needs_module_or_field_ttls,
    );
}

/// A standalone dump with hash-tagged and untagged keys of every basic type.
fn tagged_source() -> (Server, std::path::PathBuf) {
    let src = Server::start(Kind::Redis70);
    let mut con = src.conn();
    let mut pipe = redis::pipe();
    for i in 0..600 {
        let tag = format!("{{user{}}}", i % 40);
        pipe.cmd("SET")
            .arg(format!("{tag}:name:{i}"))
            .arg(format!("n{i}"))
            .ignore();
        pipe.cmd("SET").arg(format!("plain:{i}")).arg(i).ignore();
        pipe.cmd("RPUSH")
            .arg(format!("{tag}:list:{i}"))
            .arg(&["a", "b", "c"])
            .ignore();
        pipe.cmd("HSET")
            .arg(format!("h:{i}"))
            .arg("f")
            .arg(i)
            .ignore();
        pipe.cmd("ZADD")
            .arg(format!("{{z}}:{i}"))
            .arg(i)
            .arg("m")
            .ignore();
        pipe.cmd("SADD")
            .arg(format!("s{{}}:{i}"))
            .arg(&["x", "y"])
            .ignore();
    }
    pipe.cmd("PEXPIREAT")
        .arg("plain:1")
        .arg(4102444800000i64)
        .ignore();
    pipe.cmd("SELECT").arg(2).ignore();
    pipe.cmd("SET").arg("other:db2").arg("v").ignore();
    pipe.cmd("SELECT").arg(0).ignore();
    pipe.query::<()>(&mut con).unwrap();
    let dump = src.save(&mut con);
    (src, dump)
}

#[test]
fn standalone_dump_into_a_3_primary_valkey_cluster() {
    let t0 = Instant::now();
    let (src, dump) = tagged_source();
    let cluster = Cluster::start(3);
    let url = cluster.nodes[0].url();
    let dump = dump.to_str().unwrap();

    // A cluster has only db 0: the key in db 2 is an error naming it.
    let out = rdb_convert(&["seed", dump, "--target", &url, "--quiet"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("db 2") && stderr.contains("other:db2") && stderr.contains("--flatten-dbs"),
        "{stderr}"
    );

    let stderr = rdb_convert_ok(&[
        "seed",
        dump,
        "--target",
        &url,
        "--flatten-dbs",
        "--parallel",
        "2",
        "--verify-sample",
        "200",
        "--quiet",
    ]);
    eprintln!("{stderr}");
    assert!(stderr.contains("cluster of 3 primaries"), "{stderr}");
    assert!(stderr.contains(": OK"), "{stderr}");

    // Every key is on the primary that owns its slot, and has the source's value.
    let mut scon = src.conn();
    let want = read_all(&mut scon);
    let mut total = 0;
    for (port, ranges) in cluster.ranges() {
        let node = cluster.nodes.iter().find(|n| n.port == port).unwrap();
        let mut con = node.conn();
        let caps = caps_of(&mut con);
        for key in crate::common::servers_diff::keys(&mut con, 0) {
            let slot = key_slot(&key);
            assert!(
                ranges.iter().any(|&(a, b)| (a..=b).contains(&slot)),
                "key {:?} (slot {slot}) is on node {port}, which owns {ranges:?}",
                String::from_utf8_lossy(&key)
            );
            let got = read_key(&mut con, caps, &key).unwrap();
            let db = if key == b"other:db2" { 2 } else { 0 };
            let source = want.get(&(db, key.clone())).unwrap_or_else(|| {
                panic!("{:?} is not in the source", String::from_utf8_lossy(&key))
            });
            assert_eq!(got.val, source.val, "{}", String::from_utf8_lossy(&key));
            assert_eq!(got.expire_ms.is_some(), source.expire_ms.is_some());
            total += 1;
        }
    }
    assert_eq!(total, want.len(), "keys on the cluster vs the source");
    eprintln!(
        "cluster: {total} keys checked on their slot owners, {:.1?}",
        t0.elapsed()
    );
}

#[test]
fn target_killed_mid_seed_then_resumed() {
    let t0 = Instant::now();
    // Source: many small keys, so the seed takes long enough to be interrupted.
    let src = Server::start(Kind::Redis70);
    let mut scon = src.conn();
    redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(150_000)
        .arg("key")
        .arg(16)
        .query::<()>(&mut scon)
        .unwrap();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("HSET")
            .arg(format!("hash:{i}"))
            .arg("a")
            .arg(i)
            .arg("b")
            .arg("x")
            .ignore();
        pipe.cmd("RPUSH")
            .arg(format!("list:{i}"))
            .arg(&["1", "2", "3"])
            .ignore();
    }
    pipe.cmd("PEXPIREAT")
        .arg("key:7")
        .arg(4102444800000i64)
        .ignore();
    pipe.query::<()>(&mut scon).unwrap();
    let dump = src.save(&mut scon);
    let dump = dump.to_str().unwrap().to_string();

    // Target: every acknowledged write is on disk (AOF fsync always), so a SIGKILL loses
    // nothing that was acknowledged.
    let mut dst = Proc::start(
        Kind::Redis70,
        &["--appendonly", "yes", "--appendfsync", "always"],
    );
    let checkpoint = dst.dir.join("seed.checkpoint");
    let ckpt = checkpoint.to_str().unwrap().to_string();
    let url = dst.url();
    let bin = env!("CARGO_BIN_EXE_rdb-convert");
    let child = std::process::Command::new(bin)
        .args([
            "seed",
            &dump,
            "--target",
            &url,
            "--checkpoint",
            &ckpt,
            "--parallel",
            "2",
            "--batch-keys",
            "200",
            "--quiet",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the target once part of the keys are in.
    let mut con = dst.conn();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let n: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap_or(0);
        if n > 20_000 {
            break;
        }
        assert!(Instant::now() < deadline, "seed did not progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    dst.kill();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "seed should fail when the target dies:\n{stderr}"
    );
    let text = std::fs::read_to_string(&checkpoint).expect("checkpoint written");
    assert!(text.contains("complete 0"), "{text}");

    dst.restart();
    let before: u64 = redis::cmd("DBSIZE").query(&mut dst.conn()).unwrap();
    assert!(
        before > 0 && before < 154_000,
        "{before} keys after restart"
    );
    let stderr = rdb_convert_ok(&[
        "seed",
        &dump,
        "--target",
        &url,
        "--checkpoint",
        &ckpt,
        "--resume",
        "--verify-sample",
        "500",
        "--quiet",
    ]);
    eprintln!("resume:\n{stderr}");
    assert!(stderr.contains("resumed at"), "{stderr}");
    assert!(stderr.contains(": OK"), "{stderr}");
    assert!(stderr.contains("conflicts: 0"), "{stderr}");
    let text = std::fs::read_to_string(&checkpoint).unwrap();
    assert!(text.contains("complete 1"), "{text}");

    let want = read_all(&mut scon);
    let got = read_all(&mut dst.conn());
    let differences = diff(&want, &got, |_| false, false);
    assert!(
        differences.is_empty(),
        "{} difference(s):\n{}",
        differences.len(),
        differences
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!(
        "resume: {} keys identical ({before} were there after the restart), {:.1?}",
        want.len(),
        t0.elapsed()
    );
}

#[test]
fn big_values_are_sent_in_parts() {
    let src = Server::start(Kind::Redis70);
    let mut con = src.conn();
    let mut pipe = redis::pipe();
    let items: Vec<String> = (0..5000).map(|i| format!("item-{i}")).collect();
    pipe.cmd("RPUSH").arg("big:list").arg(&items).ignore();
    pipe.cmd("SADD").arg("big:set").arg(&items).ignore();
    let mut z = redis::cmd("ZADD");
    z.arg("big:zset");
    for (i, m) in items.iter().enumerate() {
        z.arg(i as f64 / 3.0).arg(m);
    }
    pipe.add_command(z).ignore();
    let mut h = redis::cmd("HSET");
    h.arg("big:hash");
    for m in &items {
        h.arg(m).arg(m.len());
    }
    pipe.add_command(h).ignore();
    // Not compressible, so its record stays big.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let text: String = (0..200_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'a' + (x % 26) as u8)
        })
        .collect();
    pipe.cmd("SET").arg("big:string").arg(&text).ignore();
    pipe.cmd("PEXPIREAT")
        .arg("big:list")
        .arg(4102444800000i64)
        .ignore();
    pipe.cmd("SET").arg("small").arg("s").ignore();
    pipe.query::<()>(&mut con).unwrap();
    let dump = src.save(&mut con);
    let dst = Server::start(Kind::Redis62);
    let stderr = rdb_convert_ok(&[
        "seed",
        dump.to_str().unwrap(),
        "--target",
        &dst.url(),
        "--max-payload",
        "8192",
        "--part-bytes",
        "4096",
        "--verify-sample",
        "10",
        "--quiet",
    ]);
    assert!(stderr.contains("sent in parts 5"), "{stderr}");
    let differences = diff(
        &read_all(&mut con),
        &read_all(&mut dst.conn()),
        |_| false,
        false,
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
