//! `rdb-convert split` and `rdb-convert filter` against real servers: every written file
//! passes the server's own `redis-check-rdb`, loads into a real server, and round-trips
//! through our decoder; the union of the shards is the source, each key in the shard that
//! owns its slot.

mod common {
    #![allow(dead_code)]
    #[path = "bytes.rs"]
    pub mod bytes;
    #[path = "cluster.rs"]
    pub mod cluster;
    #[path = "fill.rs"]
    pub mod fill;
    #[path = "server.rs"]
    pub mod server;
    #[path = "servers_diff.rs"]
    pub mod servers_diff;
}

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::cluster::rdb_convert_ok;
use common::server::{server_binary, Kind, Options, Server};
use common::servers_diff::{diff, read_all};
use rdb_seed::slot::{key_slot, SlotLayout};

fn out_dir(name: &str) -> PathBuf {
    let d =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("split-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `redis-check-rdb` of the server that reads `kind`'s files.
fn check_rdb(kind: Kind, file: &Path) {
    let (bin, ld) = match kind {
        Kind::Redis74 => {
            let (server, ld) = server_binary(Kind::Redis74);
            (server.with_file_name("redis-check-rdb"), ld)
        }
        _ => (PathBuf::from("/usr/bin/redis-check-rdb"), None),
    };
    let mut cmd = Command::new(&bin);
    cmd.arg(file);
    if let Some(ld) = ld {
        cmd.env("LD_LIBRARY_PATH", ld);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("Checksum OK") && text.contains("RDB looks OK"),
        "redis-check-rdb {}:\n{text}",
        file.display()
    );
}

/// NDJSON lines of a dump (our decoder).
fn json_lines(file: &Path, extra: &[&str]) -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .arg(file)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Starts `kind` on a copy of `file` and reads its whole keyspace.
fn load(
    kind: Kind,
    file: &Path,
) -> (
    Server,
    BTreeMap<(u64, Vec<u8>), common::servers_diff::KeyData>,
) {
    let dir = file.parent().unwrap().join(format!(
        "load-{}",
        file.file_stem().unwrap().to_string_lossy()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(file, dir.join("load.rdb")).unwrap();
    let server = Server::start_with(
        kind,
        &Options {
            extra: vec![
                "--dir".into(),
                dir.to_str().unwrap().into(),
                "--dbfilename".into(),
                "load.rdb".into(),
            ],
            ..Options::default()
        },
    );
    let keys = read_all(&mut server.conn());
    (server, keys)
}

fn split_and_check(source: Kind, load_into: Kind, shards: usize, extra: &[&str]) {
    let t0 = std::time::Instant::now();
    let src = Server::start(source);
    let mut con = src.conn();
    common::fill::fill(&mut con, source);
    // Hash-tagged keys too.
    let mut pipe = redis::pipe();
    for i in 0..300 {
        pipe.cmd("SET")
            .arg(format!("{{tag{}}}:k{i}", i % 7))
            .arg(i)
            .ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    let dump = src.save(&mut con);
    let want = read_all(&mut con);

    let dir = out_dir(&format!("{}-{shards}", source.label()));
    let prefix = dir.join("shard");
    let mut args = vec![
        "split",
        dump.to_str().unwrap(),
        "--shards",
        &*Box::leak(shards.to_string().into_boxed_str()),
        "--output-prefix",
        prefix.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    rdb_convert_ok(&args);

    let layout = SlotLayout::even(shards);
    let mut union = BTreeMap::new();
    let mut json_union = Vec::new();
    for i in 0..shards {
        let file = dir.join(format!("shard-{:04}.rdb", i + 1));
        let checker = if extra.is_empty() { source } else { load_into };
        check_rdb(checker, &file);
        json_union.extend(json_lines(&file, &[]));
        let (_server, keys) = load(load_into, &file);
        for ((db, key), data) in keys {
            assert_eq!(
                layout.shard_of(key_slot(&key)),
                Some(i),
                "{:?} is in shard {}",
                String::from_utf8_lossy(&key),
                i + 1
            );
            assert!(union.insert((db, key), data).is_none());
        }
    }
    // The shards together hold the source's keys, values and TTLs. Written for an older
    // version, what it cannot hold is left out (and reported).
    let older = !extra.is_empty();
    let differences = diff(
        &want,
        &union,
        |k| older && k.needs_module_or_field_ttls(),
        older,
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    if !older {
        // Records are copied byte for byte: our decoder sees exactly the source's records.
        json_union.sort();
        assert_eq!(json_union, json_lines(&dump, &[]));
    }
    eprintln!(
        "{} split in {shards}{}: {} keys checked, {:.1?}",
        source.label(),
        if older { " (down-converted)" } else { "" },
        union.len(),
        t0.elapsed()
    );
}

#[test]
fn redis_7_0_dump_split_in_3() {
    split_and_check(Kind::Redis70, Kind::Redis70, 3, &[]);
}

#[test]
fn redis_7_4_dump_split_in_4() {
    split_and_check(Kind::Redis74, Kind::Redis74, 4, &[]);
}

#[test]
fn redis_7_4_dump_split_in_2_for_redis_6_2() {
    // Module values would need the module in the loading server: left out here.
    split_and_check(
        Kind::Redis74,
        Kind::Redis62,
        2,
        &[
            "--rdb-version",
            "9",
            "--type",
            "string",
            "--type",
            "list",
            "--type",
            "set",
            "--type",
            "zset",
            "--type",
            "hash",
            "--type",
            "stream",
        ],
    );
}

#[test]
fn filter_writes_a_smaller_valid_dump() {
    let src = Server::start(Kind::Redis70);
    let mut con = src.conn();
    common::fill::fill(&mut con, Kind::Redis70);
    let dump = src.save(&mut con);
    let dir = out_dir("filter");
    let out = dir.join("small.rdb");
    let filters = ["--db", "0", "--type", "hash", "--expiry", "none"];
    let mut args = vec![
        "filter",
        dump.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(&filters);
    rdb_convert_ok(&args);
    check_rdb(Kind::Redis70, &out);
    let kept = json_lines(&out, &[]);
    assert!(!kept.is_empty());
    assert_eq!(kept, json_lines(&dump, &filters));
    let (_server, keys) = load(Kind::Redis70, &out);
    assert_eq!(keys.len(), kept.len());
}

#[test]
fn split_by_a_live_clusters_slot_map() {
    let src = Server::start(Kind::Redis70);
    let mut con = src.conn();
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET").arg(format!("k:{i}")).arg(i).ignore();
    }
    pipe.query::<()>(&mut con).unwrap();
    let dump = src.save(&mut con);
    let cluster = common::cluster::Cluster::start(3);
    let dir = out_dir("slots-from");
    let prefix = dir.join("node");
    let stderr = rdb_convert_ok(&[
        "split",
        dump.to_str().unwrap(),
        "--slots-from",
        &cluster.nodes[0].url(),
        "--output-prefix",
        prefix.to_str().unwrap(),
    ]);
    // Shards are the primaries in slot order; each file holds its primary's slots.
    let mut ranges = cluster.ranges();
    ranges.sort_by_key(|(_, r)| r[0].0);
    let mut total = 0;
    for (i, (port, owned)) in ranges.iter().enumerate() {
        assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
        let file = dir.join(format!("node-{:04}.rdb", i + 1));
        check_rdb(Kind::Redis70, &file);
        let (_server, keys) = load(Kind::Redis70, &file);
        for (_, key) in keys.keys() {
            let slot = key_slot(key);
            assert!(owned.iter().any(|&(a, b)| (a..=b).contains(&slot)));
        }
        total += keys.len();
    }
    assert_eq!(total, 500);
}
