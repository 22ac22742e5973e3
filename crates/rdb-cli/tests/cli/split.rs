//! `rdb-convert split` and `rdb-convert filter` against real servers: every written file
//! passes the server's own `redis-check-rdb`, loads into a real server, and round-trips
//! through our decoder; the union of the shards is the source, each key in the shard that
//! owns its slot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::cluster::rdb_convert_ok;
use crate::common::server::{server_binary, Kind, Options, Server};
use crate::common::servers_diff::{diff, read_all};
use rdb_cluster::slot::{key_slot, SlotLayout};

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
    BTreeMap<(u64, Vec<u8>), crate::common::servers_diff::KeyData>,
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
    crate::common::fill::fill(&mut con, source);
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
    let mut want = read_all(&mut con);
    // Cluster nodes have only db 0.
    want.retain(|(db, _), _| *db == 0);

    let dir = out_dir(&format!("{}-{shards}", source.label()));
    let prefix = dir.join("shard");
    let mut args = vec![
        "split",
        dump.to_str().unwrap(),
        "--shards",
        &*Box::leak(shards.to_string().into_boxed_str()),
        "--output-prefix",
        prefix.to_str().unwrap(),
        "--db",
        "0",
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
        assert_eq!(json_union, json_lines(&dump, &["--db", "0"]));
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
    crate::common::fill::fill(&mut con, Kind::Redis70);
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
    let cluster = crate::common::cluster::Cluster::start(3);
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

/// Runs rdb-convert, expecting exit status 1; returns stderr.
fn rdb_convert_fails(args: &[&str]) -> String {
    let out = crate::common::cluster::rdb_convert(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "rdb-convert {}:\n{stderr}",
        args.join(" ")
    );
    stderr
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn filter_and_split_refuse_corrupt_values() {
    use crate::common::dumps::*;
    let dir = out_dir("corrupt");
    // A corpus dump that convert rejects, and a hand-made one with a duplicate hash field
    // in a listpack (fresh checksum: only deep validation sees it).
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus/redis/corrupt_ziplist.rdb")
        .canonicalize()
        .unwrap();
    let dup = dir.join("dup.rdb");
    write(
        &dup,
        &[
            (0, b"a", STRING, string(b"1")),
            (0, b"h", HASH_LISTPACK, listpack(&[b"f", b"1", b"f", b"2"])),
        ],
        None,
    );
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let small = out.join("small.rdb");
    let prefix = out.join("shard");
    for (input, want) in [
        (corpus.as_path(), "ziplist header at offset 489"),
        (
            dup.as_path(),
            "key \"h\": corrupt value: hash at offset 37: field 2 is a duplicate",
        ),
    ] {
        let name = input.to_str().unwrap();
        let e = rdb_convert_fails(&["filter", name, "--output", small.to_str().unwrap()]);
        assert!(e.contains(name) && e.contains(want), "{e}");
        assert!(e.contains("rdb-convert check"), "{e}");
        let e = rdb_convert_fails(&[
            "split",
            name,
            "--shards",
            "2",
            "--db",
            "0",
            "--output-prefix",
            prefix.to_str().unwrap(),
        ]);
        assert!(e.contains(name) && e.contains(want), "{e}");
        assert!(files_in(&out).is_empty(), "{:?}", files_in(&out));
    }
    // --no-validate copies unchecked (the old behaviour, for speed on trusted input).
    rdb_convert_ok(&[
        "filter",
        dup.to_str().unwrap(),
        "--output",
        small.to_str().unwrap(),
        "--no-validate",
    ]);
    assert!(small.exists());
}

#[test]
fn filter_refuses_a_key_twice_in_one_db() {
    use crate::common::dumps::*;
    let dir = out_dir("dupkey");
    let input = dir.join("in.rdb");
    write(
        &input,
        &[
            (0, b"k", STRING, string(b"1")),
            (0, b"k", STRING, string(b"2")),
        ],
        None,
    );
    let out = dir.join("out.rdb");
    let e = rdb_convert_fails(&[
        "filter",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert!(
        e.contains("key \"k\" (record at offset 34) appears twice in db 0"),
        "{e}"
    );
    assert!(!out.exists());
}

#[test]
fn split_refuses_keys_outside_db_0_unless_told() {
    use crate::common::dumps::*;
    let dir = out_dir("dbs");
    let input = dir.join("in.rdb");
    write(
        &input,
        &[
            (0, b"a", STRING, string(b"0")),
            (0, b"b", STRING, string(b"0")),
            (3, b"c", STRING, string(b"3")),
        ],
        None,
    );
    let name = input.to_str().unwrap();
    let prefix = dir.join("shard");
    let prefix = prefix.to_str().unwrap();
    let e = rdb_convert_fails(&["split", name, "--shards", "2", "--output-prefix", prefix]);
    assert!(
        e.contains("key \"c\" is in db 3") && e.contains("--flatten-dbs"),
        "{e}"
    );
    assert_eq!(files_in(&dir), ["in.rdb"]);

    rdb_convert_ok(&[
        "split",
        name,
        "--shards",
        "2",
        "--output-prefix",
        prefix,
        "--db",
        "0",
    ]);
    let mut keys = 0;
    for i in 1..=2 {
        let f = dir.join(format!("shard-{i:04}.rdb"));
        check_rdb(Kind::Redis70, &f);
        keys += json_lines(&f, &[]).len();
    }
    assert_eq!(keys, 2);

    rdb_convert_ok(&[
        "split",
        name,
        "--shards",
        "2",
        "--output-prefix",
        prefix,
        "--flatten-dbs",
    ]);
    let mut lines = Vec::new();
    for i in 1..=2 {
        let f = dir.join(format!("shard-{i:04}.rdb"));
        check_rdb(Kind::Redis70, &f);
        lines.extend(json_lines(&f, &[]));
    }
    assert_eq!(lines.len(), 3);
    assert!(
        lines.iter().all(|l| l.starts_with("{\"db\":0,")),
        "{lines:?}"
    );
}

#[test]
fn filter_does_not_copy_the_inputs_resizedb_hint() {
    use crate::common::dumps::*;
    use rdb_format::{Decoder, Item};
    let dir = out_dir("resize");
    let input = dir.join("in.rdb");
    let records: Vec<Rec> = (0..20)
        .map(|i| {
            (
                0,
                &*Box::leak(format!("k{i}").into_bytes().into_boxed_slice()),
                STRING,
                string(b"v"),
            )
        })
        .collect();
    write(&input, &records, Some((20, 0)));
    let out = dir.join("out.rdb");
    rdb_convert_ok(&[
        "filter",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--key",
        "k1",
    ]);
    check_rdb(Kind::Redis70, &out);
    let data = std::fs::read(&out).unwrap();
    let mut kept = 0;
    for item in Decoder::new(&data).unwrap() {
        match item.unwrap() {
            Item::ResizeDb { db_size, .. } => assert_eq!(db_size, 1, "stale RESIZEDB hint"),
            Item::Record(_) => kept += 1,
            _ => {}
        }
    }
    assert_eq!(kept, 1);
}

#[test]
fn rdb_9_output_warns_when_stream_metadata_is_dropped() {
    let src = Server::start(Kind::Redis70);
    let mut con = src.conn();
    for id in ["1-1", "2-1", "3-1"] {
        redis::cmd("XADD")
            .arg("s")
            .arg(id)
            .arg("f")
            .arg("v")
            .query::<()>(&mut con)
            .unwrap();
    }
    // A deleted entry: max deleted id 2-1 and entries added 3 (length 2) exist only in RDB 10+.
    redis::cmd("XDEL")
        .arg("s")
        .arg("2-1")
        .query::<()>(&mut con)
        .unwrap();
    redis::cmd("SET")
        .arg("plain")
        .arg("x")
        .query::<()>(&mut con)
        .unwrap();
    let dump = src.save(&mut con);
    let dir = out_dir("stream9");
    let out = dir.join("v9.rdb");
    let e = rdb_convert_ok(&[
        "filter",
        dump.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--rdb-version",
        "9",
    ]);
    assert!(
        e.contains("1 stream(s) lost metadata") && e.contains("\"s\": stream metadata"),
        "{e}"
    );
    check_rdb(Kind::Redis70, &out);
    // A stream without deletions or groups loses nothing: no warning.
    redis::cmd("DEL").arg("s").query::<()>(&mut con).unwrap();
    redis::cmd("XADD")
        .arg("s")
        .arg("1-1")
        .arg("f")
        .arg("v")
        .query::<()>(&mut con)
        .unwrap();
    let dump = src.save(&mut con);
    let e = rdb_convert_ok(&[
        "filter",
        dump.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--rdb-version",
        "9",
    ]);
    assert!(!e.contains("warning"), "{e}");
}
