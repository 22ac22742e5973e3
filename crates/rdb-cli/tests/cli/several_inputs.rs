//! `split` and `filter` of several dumps: real servers filled with different keys are
//! saved, their dumps split (N shards into M) or filtered (N dumps into one) together, and
//! the outputs, loaded into fresh real servers, hold exactly the union of the sources. A key
//! found in two dumps is refused, naming its dump and offset, and nothing is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::cluster::{rdb_convert, rdb_convert_ok};
use crate::common::server::{Kind, Options, Server};
use crate::common::servers_diff::{diff, read_all, KeyData};
use rdb_cluster::slot::{key_slot, SlotLayout};

type Keyspace = BTreeMap<(u64, Vec<u8>), KeyData>;

fn out_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("several-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Keys of every common type, named after `server` so that no two servers share a key;
/// some with a TTL, some in db `db`.
fn fill_distinct(con: &mut redis::Connection, server: usize, db: u64) {
    redis::cmd("SELECT").arg(db).query::<()>(con).unwrap();
    let mut pipe = redis::pipe();
    for i in 0..200 {
        let k = |t: &str| format!("s{server}:{t}:{i}");
        pipe.cmd("SET").arg(k("str")).arg(format!("v{i}")).ignore();
        pipe.cmd("SET").arg(k("int")).arg(i * 7).ignore();
        pipe.cmd("RPUSH")
            .arg(k("list"))
            .arg(&["a", "b", "c"])
            .ignore();
        pipe.cmd("HSET")
            .arg(k("hash"))
            .arg(&["f1", "x", "f2", "y"])
            .ignore();
        pipe.cmd("SADD").arg(k("set")).arg(&[1, 2, 3]).ignore();
        pipe.cmd("ZADD")
            .arg(k("zset"))
            .arg(&["1.5", "m1", "2", "m2"])
            .ignore();
        if i % 10 == 0 {
            pipe.cmd("PEXPIRE").arg(k("str")).arg(3_600_000).ignore();
            pipe.cmd("SET")
                .arg(format!("{{tag{i}}}:s{server}"))
                .arg(i)
                .ignore();
        }
    }
    pipe.query::<()>(con).unwrap();
    redis::cmd("SELECT").arg(0).query::<()>(con).unwrap();
}

/// `servers` servers of `kind` with distinct keys (db 0, and db 1 with `other_db`), saved:
/// the dumps and the union of the keyspaces. The servers are kept alive with the dumps.
fn saved_servers(
    kind: Kind,
    servers: usize,
    other_db: bool,
) -> (Vec<Server>, Vec<PathBuf>, Keyspace) {
    let mut kept = Vec::new();
    let mut dumps = Vec::new();
    let mut union = Keyspace::new();
    for s in 0..servers {
        let server = Server::start(kind);
        let mut con = server.conn();
        fill_distinct(&mut con, s, 0);
        if other_db {
            fill_distinct(&mut con, s + 100, 1);
        }
        dumps.push(server.save(&mut con));
        for (k, v) in read_all(&mut con) {
            assert!(union.insert(k, v).is_none(), "a key on two servers");
        }
        kept.push(server);
    }
    (kept, dumps, union)
}

/// A fresh `kind` server started on a copy of `file`, and its keyspace.
fn load(kind: Kind, file: &Path) -> (Server, Keyspace) {
    let dir = file.with_extension("load");
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

fn assert_same(want: &Keyspace, got: &Keyspace) {
    let missing = diff(want, got, |_| false, false);
    assert!(missing.is_empty(), "{}", missing.join("\n"));
    let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(extra.is_empty(), "keys not in any source: {extra:?}");
}

/// Three shards' dumps into two shards: each key in the shard owning its slot, the shards
/// together exactly the three sources.
fn three_into_two(kind: Kind) {
    let t0 = std::time::Instant::now();
    let (_servers, dumps, want) = saved_servers(kind, 3, false);
    let dir = out_dir(&format!("split-{}", kind.label()));
    let prefix = dir.join("new");
    let mut args: Vec<&str> = vec!["split"];
    args.extend(dumps.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--shards", "2", "--output-prefix", prefix.to_str().unwrap()]);
    let stderr = rdb_convert_ok(&args);
    let layout = SlotLayout::even(2);
    let mut got = Keyspace::new();
    for i in 0..2 {
        let file = dir.join(format!("new-{:04}.rdb", i + 1));
        assert!(stderr.contains(&file.display().to_string()), "{stderr}");
        let (_server, keys) = load(kind, &file);
        for ((db, key), data) in keys {
            assert_eq!(layout.shard_of(key_slot(&key)), Some(i));
            assert!(got.insert((db, key), data).is_none());
        }
    }
    assert_same(&want, &got);
    eprintln!(
        "{}: 3 dumps split in 2, {} keys, {:.1?}",
        kind.label(),
        got.len(),
        t0.elapsed()
    );
}

#[test]
fn redis_7_0_three_shards_split_into_two() {
    three_into_two(Kind::Redis70);
}

#[test]
fn valkey_9_three_shards_split_into_two() {
    three_into_two(Kind::Valkey9);
}

/// Two dumps with keys in db 0 and db 1 filtered into one: the kept keys of both, in
/// their own databases.
fn two_into_one(kind: Kind) {
    let (_servers, dumps, mut want) = saved_servers(kind, 2, true);
    let dir = out_dir(&format!("filter-{}", kind.label()));
    let out = dir.join("one.rdb");
    let mut args: Vec<&str> = vec!["filter"];
    args.extend(dumps.iter().map(|d| d.to_str().unwrap()));
    args.extend([
        "-o",
        out.to_str().unwrap(),
        "--type",
        "hash",
        "--type",
        "string",
    ]);
    let stderr = rdb_convert_ok(&args);
    assert!(stderr.contains("keys kept"), "{stderr}");
    want.retain(|(_, k), _| {
        let k = String::from_utf8_lossy(k);
        k.contains(":str:") || k.contains(":int:") || k.contains(":hash:") || k.starts_with('{')
    });
    assert!(want.keys().any(|(db, _)| *db == 1));
    let (_server, got) = load(kind, &out);
    assert_same(&want, &got);
}

#[test]
fn redis_7_0_two_dumps_filtered_into_one() {
    two_into_one(Kind::Redis70);
}

#[test]
fn valkey_9_two_dumps_filtered_into_one() {
    two_into_one(Kind::Valkey9);
}

/// The same key in two dumps: refused, naming the second dump and the record's offset;
/// no output appears. With --no-validate it is written twice, as documented.
#[test]
fn a_key_in_two_dumps_is_refused_and_nothing_is_written() {
    let dir = out_dir("duplicate");
    let mut dumps = Vec::new();
    let mut servers = Vec::new();
    for s in 0..2 {
        let server = Server::start(Kind::Redis70);
        let mut con = server.conn();
        redis::cmd("SET")
            .arg(format!("only{s}"))
            .arg(1)
            .query::<()>(&mut con)
            .unwrap();
        redis::cmd("SET")
            .arg("shared")
            .arg(s)
            .query::<()>(&mut con)
            .unwrap();
        let dump = dir.join(format!("d{s}.rdb"));
        std::fs::copy(server.save(&mut con), &dump).unwrap();
        dumps.push(dump);
        servers.push(server);
    }
    let (a, b) = (dumps[0].to_str().unwrap(), dumps[1].to_str().unwrap());
    let out = dir.join("one.rdb");
    let prefix = dir.join("shard");
    for args in [
        vec!["filter", a, b, "-o", out.to_str().unwrap()],
        vec![
            "split",
            a,
            b,
            "--shards",
            "3",
            "--output-prefix",
            prefix.to_str().unwrap(),
        ],
    ] {
        let run = rdb_convert(&args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!("{b}: key \"shared\" (record at offset "))
                && stderr.contains("appears twice in db 0")
                && stderr.contains("nothing was written"),
            "{stderr}"
        );
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("d"))
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?}");
    }
    // Without the check both copies are written (the help says so).
    rdb_convert_ok(&["filter", a, b, "-o", out.to_str().unwrap(), "--no-validate"]);
    let run = rdb_convert(&["check", out.to_str().unwrap()]);
    assert!(!run.status.success());
}
