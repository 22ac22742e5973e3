//! The reports against real servers.
//!
//! - memory: fill a server with every type in small and big encodings (`common::fill`) plus
//!   an application-like keyspace (`common::keyspace`), let it reload its own dump
//!   (`DEBUG RELOAD`), and compare the model's estimate of every key with
//!   `MEMORY USAGE key SAMPLES 0`. The error per type (and per type and encoding) is printed
//!   (`cargo test -p rdb-cli --test cli reports:: -- --nocapture`); per type it must stay within 10%, in total
//!   within 5%.
//! - info: keys and keys with an expiry per database equal the server's DBSIZE and
//!   INFO keyspace for the same dump.
//! - top: the biggest keys by elements and by size, the prefixes and the TTL histogram of the
//!   generated keyspace are the ones it was built with.
//!
//! Needs the servers installed by `scripts/test-deps.sh` (a missing server fails the test).

use crate::common::keyspace;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::bytes::show;
use crate::common::fill::{fill, now_ms, C};
use crate::common::server::Options;
use crate::common::{Kind, Server};
use rdb_format::{Decoder, Item, Scratch};
use rdb_report::memory::{KeyMemory, MemoryModel, ModelOptions};
use rdb_report::{Allocator, DumpHeader};
use redis::{Connection, Value};
use serde_json::Value as J;

/// Per-type bound on the total estimate's error.
const TYPE_TOLERANCE: f64 = 0.10;
/// Bound on the error of the whole keyspace's estimate.
const TOTAL_TOLERANCE: f64 = 0.05;

fn bulk(v: &Value) -> Vec<u8> {
    match v {
        Value::BulkString(b) => b.clone(),
        Value::SimpleString(s) => s.clone().into_bytes(),
        Value::Okay => b"OK".to_vec(),
        other => panic!("expected a string reply, got {other:?}"),
    }
}

fn info_section(con: &mut Connection, section: &str) -> String {
    String::from_utf8_lossy(&bulk(&C::new("INFO").a(section).run(con))).into_owned()
}

/// INFO keyspace: db → (keys, expires).
fn keyspace_info(con: &mut Connection) -> BTreeMap<u64, (u64, u64)> {
    let mut dbs = BTreeMap::new();
    for line in info_section(con, "keyspace").lines() {
        let Some(rest) = line.strip_prefix("db") else {
            continue;
        };
        let Some((n, fields)) = rest.split_once(':') else {
            continue;
        };
        let mut keys = 0;
        let mut expires = 0;
        for kv in fields.split(',') {
            match kv.split_once('=') {
                Some(("keys", v)) => keys = v.trim().parse().unwrap(),
                Some(("expires", v)) => expires = v.trim().parse().unwrap(),
                _ => {}
            }
        }
        dbs.insert(n.parse().unwrap(), (keys, expires));
    }
    dbs
}

/// What the server says about each key: MEMORY USAGE (SAMPLES 0), TYPE, OBJECT ENCODING.
struct Actual {
    usage: u64,
    data_type: String,
    encoding: String,
}

fn server_usage(con: &mut Connection, dbs: &[u64]) -> BTreeMap<(u64, Vec<u8>), Actual> {
    let mut all = BTreeMap::new();
    for &db in dbs {
        C::new("SELECT").a(db).run(con);
        let keys = match C::new("KEYS").a("*").run(con) {
            Value::Array(k) => k.iter().map(bulk).collect::<Vec<_>>(),
            other => panic!("KEYS: {other:?}"),
        };
        for chunk in keys.chunks(500) {
            let mut p = redis::pipe();
            for k in chunk {
                p.cmd("MEMORY").arg("USAGE").arg(k).arg("SAMPLES").arg(0);
                p.cmd("TYPE").arg(k);
                p.cmd("OBJECT").arg("ENCODING").arg(k);
            }
            let replies: Vec<Value> = p.query(con).expect("MEMORY USAGE pipeline");
            for (k, r) in chunk.iter().zip(replies.chunks(3)) {
                let usage = match &r[0] {
                    Value::Int(n) => *n as u64,
                    other => panic!("MEMORY USAGE {}: {other:?}", show(k)),
                };
                all.insert(
                    (db, k.clone()),
                    Actual {
                        usage,
                        data_type: String::from_utf8_lossy(&bulk(&r[1])).into_owned(),
                        encoding: String::from_utf8_lossy(&bulk(&r[2])).into_owned(),
                    },
                );
            }
        }
    }
    C::new("SELECT").a(0).run(con);
    all
}

/// The model's estimate of every key of the dump at `path`.
fn estimates(path: &Path, options: &ModelOptions) -> (String, BTreeMap<(u64, Vec<u8>), KeyMemory>) {
    let data = std::fs::read(path).unwrap();
    let header = DumpHeader::read(&data, Default::default()).unwrap();
    let model = MemoryModel::for_dump(&header, options);
    let mut scratch = Scratch::new();
    let mut out = BTreeMap::new();
    for item in Decoder::new(&data).unwrap() {
        if let Item::Record(r) = item.unwrap() {
            scratch.reset();
            let key = r.key.decode(&scratch).unwrap().to_vec();
            let m = model
                .estimate(&r, &scratch)
                .unwrap_or_else(|e| panic!("estimate {}: {e}", show(&key)));
            out.insert((r.db, key), m);
        }
    }
    (format!("{} {}", model.server(), model.allocator()), out)
}

fn run_cli(args: &[&str]) -> Vec<u8> {
    let bin = env!("CARGO_BIN_EXE_rdb-convert");
    let out = Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    assert!(
        out.status.success(),
        "rdb-convert {} failed with {}: {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[derive(Default)]
struct Sum {
    keys: u64,
    actual: u64,
    estimate: u64,
    abs_key_err: f64,
    worst: (f64, String),
}

impl Sum {
    fn add(&mut self, key: &str, actual: u64, estimate: u64) {
        self.keys += 1;
        self.actual += actual;
        self.estimate += estimate;
        let e = (estimate as f64 - actual as f64) / actual.max(1) as f64;
        self.abs_key_err += e.abs();
        if e.abs() > self.worst.0.abs() || self.worst.1.is_empty() {
            self.worst = (e, format!("{key} ({estimate} vs {actual})"));
        }
    }

    fn error(&self) -> f64 {
        (self.estimate as f64 - self.actual as f64) / self.actual.max(1) as f64
    }

    fn line(&self, name: &str) -> String {
        format!(
            "{name:<22} {:>6} {:>11} {:>11} {:>+7.2}% {:>7.2}%  {:+.1}% {}",
            self.keys,
            self.actual,
            self.estimate,
            self.error() * 100.0,
            self.abs_key_err / self.keys.max(1) as f64 * 100.0,
            self.worst.0 * 100.0,
            self.worst.1
        )
    }
}

/// What a comparison found: the failures, the estimates, their total.
struct Compared {
    bad: Vec<String>,
    estimates: BTreeMap<(u64, Vec<u8>), KeyMemory>,
    total: u64,
}

fn is_module(data_type: &str) -> bool {
    !["string", "list", "set", "zset", "hash", "stream"].contains(&data_type)
}

/// Compares the model's estimates for the dump at `path` with MEMORY USAGE on `con` (a
/// server that loaded it): prints the error per type and per type and encoding, and lists
/// what is off: an in-memory encoding the model got wrong, a type's total off by more than
/// 10% (module types excepted: modules report their own figure), the total off by more
/// than 5%.
fn compare_memory(
    label: &str,
    con: &mut Connection,
    path: &Path,
    options: &ModelOptions,
) -> Compared {
    let dbs: Vec<u64> = keyspace_info(con).keys().copied().collect();
    let actual = server_usage(con, &dbs);
    let (model, estimates) = estimates(path, options);
    assert_eq!(
        actual.len(),
        estimates.len(),
        "{label}: the dump and the server hold different keys"
    );
    let mut by_type: BTreeMap<String, Sum> = BTreeMap::new();
    let mut by_encoding: BTreeMap<String, Sum> = BTreeMap::new();
    let mut total = Sum::default();
    let mut bad = Vec::new();
    for ((db, key), a) in &actual {
        let m = estimates
            .get(&(*db, key.clone()))
            .unwrap_or_else(|| panic!("{label}: no estimate for {}", show(key)));
        let name = show(key);
        by_type
            .entry(a.data_type.clone())
            .or_default()
            .add(&name, a.usage, m.bytes);
        by_encoding
            .entry(format!("{}/{}", a.data_type, a.encoding))
            .or_default()
            .add(&name, a.usage, m.bytes);
        total.add(&name, a.usage, m.bytes);
        if std::env::var_os("RDB_DEBUG_KEYS").is_some() && a.usage != m.bytes {
            println!(
                "  key {name} db {db} {}/{} server {} model {} ({})",
                a.data_type, a.encoding, a.usage, m.bytes, m.encoding
            );
        }
        if !is_module(&a.data_type) && a.encoding != m.encoding {
            bad.push(format!(
                "{name}: encoding: server {}, model {}",
                a.encoding, m.encoding
            ));
        }
    }
    let head = format!(
        "{:<22} {:>6} {:>11} {:>11} {:>8} {:>8}  worst key",
        "type", "keys", "server", "estimate", "error", "|key|"
    );
    println!("\n{label} (model {model}): estimate vs MEMORY USAGE key SAMPLES 0\n{head}");
    for (t, s) in &by_type {
        println!("{}", s.line(t));
        if !is_module(t) && s.error().abs() > TYPE_TOLERANCE {
            bad.push(s.line(t));
        }
    }
    println!("{}", total.line("TOTAL"));
    if total.error().abs() > TOTAL_TOLERANCE {
        bad.push(total.line("TOTAL"));
    }
    println!("{head}");
    for (t, s) in &by_encoding {
        println!("{}", s.line(t));
    }
    Compared {
        bad,
        estimates,
        total: total.estimate,
    }
}

/// A Redis 6.2 dump (RDB 9: ziplists, ziplist quicklist nodes) loaded by Redis 7.0, which
/// converts every ziplist to a listpack: the model, told the 7.0 server, sizes the converted
/// encodings.
#[test]
fn memory_rdb9_dump_loaded_by_redis_7_0() {
    let old = Server::start(Kind::Redis62);
    let mut con = old.conn();
    fill(&mut con, Kind::Redis62);
    keyspace::generate(&mut con, 0x39);
    let dump = old.save(&mut con);
    let new = Server::start_with(
        Kind::Redis70,
        &Options {
            policy: Some("noeviction".into()),
            ..Options::default()
        },
    );
    std::fs::copy(&dump, new.rdb_path()).unwrap();
    let mut con = new.conn();
    C::new("DEBUG").a("RELOAD").a("NOSAVE").run(&mut con);
    let options = ModelOptions {
        server: Some("7.0".parse().unwrap()),
        allocator: None,
        list_compress_depth: 1,
    };
    let bad = compare_memory("RDB 9 on redis-7.0", &mut con, &dump, &options).bad;
    assert!(
        bad.is_empty(),
        "RDB 9 dump on Redis 7.0:\n{}",
        bad.join("\n")
    );
}

/// Fills a server, reloads it from its dump, compares the model with MEMORY USAGE for every
/// key, and checks `info` against DBSIZE / INFO keyspace.
fn memory_and_info(kind: Kind) {
    let server = Server::start_with(
        kind,
        &Options {
            // LFU/LRU policies would keep integers out of the shared pool; irrelevant here.
            policy: Some("noeviction".into()),
            ..Options::default()
        },
    );
    let mut con = server.conn();
    fill(&mut con, kind);
    keyspace::generate(&mut con, 0x6b65_7973);
    // For the record: what the server said before reloading (allocation slack of a live
    // server that no dump can show: stream nodes allocated ahead, grown strings, ...).
    let before: Vec<u64> = keyspace_info(&mut con).keys().copied().collect();
    let live = server_usage(&mut con, &before);
    // The server now holds exactly what its dump holds, freshly loaded.
    C::new("DEBUG").a("RELOAD").run(&mut con);
    let path = server.rdb_path();
    let allocator = if info_section(&mut con, "memory").contains("mem_allocator:libc") {
        Some(Allocator::Libc)
    } else {
        None
    };
    let options = ModelOptions {
        server: None,
        allocator,
        list_compress_depth: 1,
    };

    // ---- info vs DBSIZE / INFO keyspace
    let ks = keyspace_info(&mut con);
    let info: J = serde_json::from_slice(&run_cli(&["info", "--json", path.to_str().unwrap()]))
        .expect("info JSON");
    let file = &info["files"][0];
    assert_eq!(file["checksum"]["status"], "ok", "{}", kind.label());
    let mut got = BTreeMap::new();
    for db in file["dbs"].as_array().unwrap() {
        let n = db["db"].as_u64().unwrap();
        got.insert(
            n,
            (
                db["keys"].as_u64().unwrap(),
                db["expires"].as_u64().unwrap(),
            ),
        );
        let mut dbsize_con = server.conn();
        C::new("SELECT").a(n).run(&mut dbsize_con);
        let dbsize = match C::new("DBSIZE").run(&mut dbsize_con) {
            Value::Int(n) => n as u64,
            other => panic!("DBSIZE: {other:?}"),
        };
        assert_eq!(
            db["keys"].as_u64().unwrap(),
            dbsize,
            "{} db {n}: DBSIZE",
            kind.label()
        );
    }
    assert_eq!(got, ks, "{}: info per db vs INFO keyspace", kind.label());
    // Everything expires before the year 2200.
    let future: J = serde_json::from_slice(&run_cli(&[
        "info",
        "--json",
        "--now",
        "7258118400000",
        path.to_str().unwrap(),
    ]))
    .unwrap();
    assert_eq!(
        future["files"][0]["expired"],
        future["files"][0]["expires"],
        "{}: --now in the future expires every key with a TTL",
        kind.label()
    );

    // ---- memory model vs MEMORY USAGE
    let c = compare_memory(kind.label(), &mut con, &path, &options);
    let mut live_by_type: BTreeMap<String, Sum> = BTreeMap::new();
    let mut live_total = Sum::default();
    for ((db, key), a) in &live {
        if let Some(m) = c.estimates.get(&(*db, key.clone())) {
            live_by_type
                .entry(a.data_type.clone())
                .or_default()
                .add(&show(key), a.usage, m.bytes);
            live_total.add(&show(key), a.usage, m.bytes);
        }
    }
    println!(
        "same estimates vs MEMORY USAGE on the live server, before DEBUG RELOAD (not asserted):"
    );
    for (t, s) in &live_by_type {
        println!("{}", s.line(t));
    }
    println!("{}", live_total.line("TOTAL"));
    assert!(
        c.bad.is_empty(),
        "{}: estimates off by more than {}% per type / {}% in total, or wrong encodings:\n{}",
        kind.label(),
        TYPE_TOLERANCE * 100.0,
        TOTAL_TOLERANCE * 100.0,
        c.bad.join("\n")
    );

    // ---- the CLI's CSV carries the same figures
    let mut args = vec![
        "memory",
        path.to_str().unwrap(),
        "--list-compress-depth",
        "1",
    ];
    if allocator == Some(Allocator::Libc) {
        args.extend(["--allocator", "libc"]);
    }
    let csv = run_cli(&args);
    let text = String::from_utf8_lossy(&csv);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry")
    );
    let sum_csv: u64 = lines
        .filter_map(|l| {
            // size_in_bytes is the 5th field from the end (keys may hold commas).
            let f: Vec<&str> = l.rsplitn(6, ',').collect();
            f.get(4)?.parse::<u64>().ok()
        })
        .sum();
    assert_eq!(sum_csv, c.total, "{}: CSV total", kind.label());

    // ---- and the Parquet report the same rows
    let dir = std::env::temp_dir().join(format!(
        "rdb-memory-parquet-{}-{}",
        kind.label(),
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let csv_path = dir.join("memory.csv");
    std::fs::write(&csv_path, &csv).unwrap();
    let parquet_path = dir.join("memory.parquet");
    args.extend(["--format", "parquet", "-o", parquet_path.to_str().unwrap()]);
    run_cli(&args);
    let rows = parquet_matches_csv(&csv_path, &parquet_path);
    assert!(rows > 1000, "{}: only {rows} rows", kind.label());
    let _ = std::fs::remove_dir_all(&dir);
}

/// DuckDB reads the Parquet report back with exactly the CSV report's rows; returns how many.
fn parquet_matches_csv(csv: &Path, parquet: &Path) -> usize {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/memory_parquet_vs_csv.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(csv)
        .arg(parquet)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "Parquet memory report differs from the CSV one (or DuckDB is missing: scripts/test-deps.sh installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The Parquet memory report over several corpus dumps in one run (binary keys, expiries,
/// streams, many chunks) has the CSV report's rows, in order, for 1 and 2 threads alike.
#[test]
fn memory_parquet_matches_csv_on_corpus_dumps() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let files: Vec<String> = [
        "sample.rdb",
        "corpus/HDT3213-rdb/example.rdb",
        "corpus/librdb/misc_with_stream.rdb",
        "corpus/librdb/script_legacy.rdb",
        "corpus/librdb/set_not_expired_v11.rdb",
        "corpus/rdb-rs/hash_list_pack.rdb",
    ]
    .iter()
    .map(|f| root.join(f).to_str().unwrap().to_owned())
    .collect();
    let dir =
        std::env::temp_dir().join(format!("rdb-memory-parquet-corpus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut args: Vec<&str> = vec!["memory"];
    args.extend(files.iter().map(String::as_str));
    let csv = run_cli(&args);
    let csv_path = dir.join("memory.csv");
    std::fs::write(&csv_path, &csv).unwrap();
    let p1 = dir.join("one.parquet");
    let p2 = dir.join("two.parquet");
    let mut a1 = args.clone();
    a1.extend([
        "--format",
        "parquet",
        "-o",
        p1.to_str().unwrap(),
        "--chunk-bytes",
        "256",
    ]);
    let mut a2 = a1.clone();
    let at = a2.len() - 3;
    a2[at] = p2.to_str().unwrap();
    let one = Command::new(env!("CARGO_BIN_EXE_rdb-convert"))
        .args(&a1)
        .env("RAYON_NUM_THREADS", "1")
        .status()
        .unwrap();
    assert!(one.success());
    run_cli(&a2);
    let rows = parquet_matches_csv(&csv_path, &p1);
    assert!(rows > 20, "only {rows} keys");
    assert_eq!(parquet_matches_csv(&csv_path, &p2), rows);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn memory_and_info_redis_7_0() {
    memory_and_info(Kind::Redis70);
}

#[test]
fn memory_and_info_redis_7_4() {
    memory_and_info(Kind::Redis74);
}

#[test]
fn memory_and_info_redis_6_2() {
    memory_and_info(Kind::Redis62);
}

#[test]
fn memory_and_info_valkey_9() {
    memory_and_info(Kind::Valkey9);
}

/// `top` and `--prefixes` on the generated keyspace alone.
#[test]
fn top_prefixes_and_ttls() {
    let kind = Kind::Redis74;
    let server = Server::start_with(
        kind,
        &Options {
            modules: false,
            ..Options::default()
        },
    );
    let mut con = server.conn();
    let ks = keyspace::generate(&mut con, 7);
    let path = server.save(&mut con);
    let now = now_ms().to_string();
    let p = path.to_str().unwrap();

    // By elements: the big collections, in order.
    let top: J = serde_json::from_slice(&run_cli(&[
        "top", p, "--by", "elements", "-n", "4", "--json", "--now", &now,
    ]))
    .unwrap();
    let keys: Vec<(String, u64)> = top["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["key"].as_str().unwrap().to_string(),
                k["elements"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = ks
        .big_by_elements
        .iter()
        .map(|(k, n)| (k.to_string(), *n))
        .collect();
    assert_eq!(keys, want, "top --by elements");
    assert_eq!(top["total"]["keys"].as_u64(), Some(ks.keys));

    // By size: the 500 KB string.
    let top: J =
        serde_json::from_slice(&run_cli(&["top", p, "--by", "size", "-n", "1", "--json"])).unwrap();
    assert_eq!(top["keys"][0]["key"], ks.biggest_serialized);

    // By memory: the same five biggest keys as MEMORY USAGE says, in its order.
    // (The test servers run with list-compress-depth 1.)
    let top: J = serde_json::from_slice(&run_cli(&[
        "top",
        p,
        "-n",
        "5",
        "--json",
        "--list-compress-depth",
        "1",
    ]))
    .unwrap();
    let ours: Vec<String> = top["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["key"].as_str().unwrap().to_string())
        .collect();
    let mut usage: Vec<(u64, String)> = server_usage(&mut con, &[0])
        .into_iter()
        .map(|((_, k), a)| (a.usage, String::from_utf8(k).unwrap()))
        .collect();
    usage.sort_by(|a, b| b.cmp(a));
    let theirs: Vec<String> = usage.iter().take(5).map(|u| u.1.clone()).collect();
    assert_eq!(ours, theirs, "top 5 by memory vs MEMORY USAGE");

    // Prefixes at depth 1 (and the one key without a separator).
    let top: J = serde_json::from_slice(&run_cli(&[
        "top",
        p,
        "--prefixes",
        "-n",
        "100",
        "--json",
        "--now",
        &now,
    ]))
    .unwrap();
    let mut prefixes: BTreeMap<String, u64> = top["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["prefix"].as_str().unwrap().to_string(),
                x["keys"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(prefixes.remove(""), Some(1), "keys without a prefix");
    let want: BTreeMap<String, u64> = ks
        .prefixes
        .iter()
        .map(|(p, n)| (p.to_string(), *n))
        .collect();
    assert_eq!(prefixes, want, "prefix counts");
    let mem_sum: u64 = top["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["memory"].as_u64().unwrap())
        .sum();
    assert_eq!(mem_sum, top["total"]["memory"].as_u64().unwrap());

    // TTL histogram: no expiry, expired, < 1h, < 1d, < 7d, later.
    let ttl: Vec<u64> = top["ttl"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["keys"].as_u64().unwrap())
        .collect();
    assert_eq!(ttl, ks.ttl.to_vec(), "TTL histogram");

    // Depth 2 splits cache:page: off cache:, other prefixes keep their depth-1 group.
    let top: J = serde_json::from_slice(&run_cli(&[
        "top",
        p,
        "--prefixes",
        "--depth",
        "2",
        "-n",
        "1000",
        "--json",
    ]))
    .unwrap();
    let cache = top["prefixes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["prefix"] == "cache:page:")
        .expect("cache:page: at depth 2");
    assert_eq!(cache["keys"].as_u64(), Some(100));

    // The text tables render.
    let text = String::from_utf8(run_cli(&["top", p, "--prefixes", "-n", "3"])).unwrap();
    assert!(text.contains("Biggest keys by memory"), "{text}");
    assert!(text.contains("big:string"), "{text}");
    assert!(text.contains("cache:"), "{text}");
    assert!(text.contains("< 1h"), "{text}");
}
