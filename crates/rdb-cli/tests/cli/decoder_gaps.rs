//! Decoder gaps seen through the real binary: KeyDB's per-key AUX fields, Redis 8.6 streams
//! with idempotent-producer state (JSON and Parquet), hashes that repeat a field, database
//! ids past what a server accepts, and the memory a huge stream PEL costs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rdb_format::write::{length, rdb_string, ListpackWriter, RdbWriter};
use rdb_format::{Flavor, Version};
use serde_json::{json, Value as J};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_rdb-convert")
}

fn scratch(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("decoder-gaps-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn redis(number: u32) -> Version {
    Version {
        flavor: Flavor::Redis,
        number,
    }
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(bin()).args(args).output().unwrap()
}

/// NDJSON lines of a successful conversion.
fn json_lines(dump: &Path, extra: &[&str]) -> Vec<J> {
    let mut args: Vec<&std::ffi::OsStr> = vec![dump.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    let out = run(&args);
    assert!(
        out.status.success(),
        "rdb-convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

fn aux(out: &mut Vec<u8>, key: &[u8], value: &[u8]) {
    out.push(250);
    rdb_string(out, key);
    rdb_string(out, value);
}

/// KeyDB active replicas write `AUX mvcc-tstamp` between each key's expiry and its type.
/// Every key keeps its expiry, whatever the chunking, and the AUX fields are kept too.
#[test]
fn keydb_dump_converts_with_every_expiry() {
    let dir = scratch("keydb");
    let mut w = RdbWriter::new(Vec::new(), redis(9)).unwrap();
    w.aux(b"redis-ver", b"6.3.4").unwrap();
    w.select_db(0).unwrap();
    let mut body = Vec::new();
    for i in 0..200u64 {
        body.push(252);
        body.extend_from_slice(&(4_102_444_800_000 + i as i64).to_le_bytes());
        aux(
            &mut body,
            b"mvcc-tstamp",
            format!("{}", 1_700_000_000_000_000 + i).as_bytes(),
        );
        body.push(0);
        rdb_string(&mut body, format!("key:{i}").as_bytes());
        rdb_string(&mut body, b"value");
    }
    w.raw(&body).unwrap();
    let dump = dir.join("keydb.rdb");
    std::fs::write(&dump, w.finish().unwrap()).unwrap();

    let whole = json_lines(&dump, &["--with-meta"]);
    for chunk in ["64", "1000"] {
        assert_eq!(
            json_lines(&dump, &["--with-meta", "--chunk-bytes", chunk]),
            whole,
            "chunk bytes {chunk}"
        );
    }
    let keys: Vec<&J> = whole.iter().filter(|l| l.get("key").is_some()).collect();
    assert_eq!(keys.len(), 200);
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(k["key"], json!(format!("key:{i}")));
        assert_eq!(
            k["expire_ms"],
            json!(4_102_444_800_000i64 + i as i64),
            "{k}"
        );
    }
    let stamps = whole
        .iter()
        .filter(|l| l["aux"]["key"] == json!("mvcc-tstamp"))
        .count();
    assert_eq!(stamps, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

fn raw_id(out: &mut Vec<u8>, ms: u64, seq: u64) {
    out.extend_from_slice(&ms.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
}

fn id_pair(out: &mut Vec<u8>, ms: u64, seq: u64) {
    length(out, ms);
    length(out, seq);
}

const MS: u64 = 1_771_945_454_291;

/// A Redis 8.6 stream (type 26): one entry, one group, two IDMP producers.
fn idmp_stream() -> Vec<u8> {
    let mut v = Vec::new();
    length(&mut v, 1);
    let mut key = Vec::new();
    raw_id(&mut key, MS, 0);
    rdb_string(&mut v, &key);
    let mut lp = ListpackWriter::new();
    for x in [1, 0, 1] {
        lp.push_int(x);
    }
    lp.push_bytes(b"f");
    lp.push_int(0);
    for x in [2, 0, 0] {
        lp.push_int(x);
    }
    lp.push_bytes(b"v");
    lp.push_int(4);
    rdb_string(&mut v, &lp.finish().unwrap());
    length(&mut v, 1);
    id_pair(&mut v, MS, 0);
    id_pair(&mut v, MS, 0);
    id_pair(&mut v, 0, 0);
    length(&mut v, 1);
    length(&mut v, 1);
    rdb_string(&mut v, b"g");
    id_pair(&mut v, MS, 0);
    length(&mut v, 1);
    length(&mut v, 1);
    raw_id(&mut v, MS, 0);
    v.extend_from_slice(&(MS as i64).to_le_bytes());
    length(&mut v, 1);
    length(&mut v, 1);
    rdb_string(&mut v, b"c");
    v.extend_from_slice(&(MS as i64).to_le_bytes());
    v.extend_from_slice(&(MS as i64).to_le_bytes());
    length(&mut v, 1);
    raw_id(&mut v, MS, 0);
    length(&mut v, 100);
    length(&mut v, 50);
    length(&mut v, 2);
    for (pid, iid) in [(&b"p1"[..], &b"i1"[..]), (b"p2", b"i2")] {
        rdb_string(&mut v, pid);
        length(&mut v, 1);
        rdb_string(&mut v, iid);
        id_pair(&mut v, MS, 0);
    }
    length(&mut v, 2);
    length(&mut v, 1);
    v
}

/// Two Redis 8.6 streams, as a real 8.6 dump with two streams holds them: both convert,
/// with their IDMP state in JSON and in Parquet.
#[test]
fn redis_86_streams_convert_with_their_idmp_state() {
    let dir = scratch("idmp");
    let mut w = RdbWriter::new(Vec::new(), redis(13)).unwrap();
    w.aux(b"redis-ver", b"8.6.0").unwrap();
    w.select_db(0).unwrap();
    w.record(b"s1", None, 26, &idmp_stream()).unwrap();
    w.record(b"s2", None, 26, &idmp_stream()).unwrap();
    let dump = dir.join("r86.rdb");
    std::fs::write(&dump, w.finish().unwrap()).unwrap();

    let lines = json_lines(&dump, &[]);
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert_eq!(l["encoding"], json!("stream_listpacks_4"));
        assert_eq!(
            l["value"]["entries"],
            json!([{"id": format!("{MS}-0"), "fields": {"f": "v"}}])
        );
        assert_eq!(
            l["value"]["groups"][0]["pending"][0]["consumer"],
            json!("c")
        );
        assert_eq!(
            l["value"]["idmp"],
            json!({"duration": 100, "max_entries": 50, "iids_added": 2, "iids_duplicates": 1,
                   "producers": [{"pid": "p1", "entries": [{"iid": "i1", "id": format!("{MS}-0")}]},
                                 {"pid": "p2", "entries": [{"iid": "i2", "id": format!("{MS}-0")}]}]})
        );
    }

    let pq = dir.join("pq");
    let out = run(&[
        dump.as_os_str(),
        "--format".as_ref(),
        "parquet".as_ref(),
        "-o".as_ref(),
        pq.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let q = |sql: &str| {
        let script = "import duckdb, json, sys\n\
                      r = duckdb.connect().execute(sys.argv[1].replace('ROOT', sys.argv[2])).fetchall()\n\
                      print(json.dumps([list(x) for x in r]))";
        let out = Command::new("python3")
            .args(["-c", script, sql])
            .arg(&pq)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "DuckDB (scripts/test-deps.sh installs it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<J>(&out.stdout).unwrap()
    };
    assert_eq!(
        q("select key, producer, iid, id_ms, id_seq from read_parquet('ROOT/stream_idmp/**/*.parquet') order by key, producer"),
        json!([["s1", "p1", "i1", MS, 0], ["s1", "p2", "i2", MS, 0],
               ["s2", "p1", "i1", MS, 0], ["s2", "p2", "i2", MS, 0]])
    );
    assert_eq!(
        q("select key, idmp_duration, idmp_max_entries, iids_added, iids_duplicates from read_parquet('ROOT/stream_meta/**/*.parquet') order by key"),
        json!([["s1", 100, 50, 2, 1], ["s2", 100, 50, 2, 1]])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A hash that repeats a field (a corrupt or tool-written dump) must not become an object
/// with a repeated key, of which JSON parsers keep one: pairs keep both.
#[test]
fn a_hash_repeating_a_field_is_written_as_pairs() {
    let dir = scratch("dup-hash");
    let mut w = RdbWriter::new(Vec::new(), redis(11)).unwrap();
    w.select_db(0).unwrap();
    let mut plain = Vec::new();
    length(&mut plain, 3);
    for (f, v) in [(&b"f"[..], &b"1"[..]), (b"g", b"2"), (b"f", b"3")] {
        rdb_string(&mut plain, f);
        rdb_string(&mut plain, v);
    }
    w.record(b"plain", None, 4, &plain).unwrap();
    let mut lp = ListpackWriter::new();
    for s in [&b"a"[..], b"x", b"7", b"y", b"a", b"z"] {
        lp.push_bytes(s);
    }
    lp.push_int(7);
    lp.push_bytes(b"w");
    let mut packed = Vec::new();
    rdb_string(&mut packed, &lp.finish().unwrap());
    w.record(b"packed", None, 16, &packed).unwrap();
    let mut unique = Vec::new();
    length(&mut unique, 2);
    for s in [&b"f"[..], b"1", b"g", b"2"] {
        rdb_string(&mut unique, s);
    }
    w.record(b"unique", None, 4, &unique).unwrap();
    let dump = dir.join("dup.rdb");
    std::fs::write(&dump, w.finish().unwrap()).unwrap();

    let lines = json_lines(&dump, &[]);
    assert_eq!(
        lines[0]["value"],
        json!([["f", "1"], ["g", "2"], ["f", "3"]])
    );
    // "7" as bytes and 7 as a listpack integer are the same field.
    assert_eq!(
        lines[1]["value"],
        json!([["a", "x"], ["7", "y"], ["a", "z"], ["7", "w"]])
    );
    assert_eq!(lines[2]["value"], json!({"f": "1", "g": "2"}));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_id_no_server_accepts_is_an_error_naming_the_file_and_offset() {
    let dir = scratch("db");
    let mut w = RdbWriter::new(Vec::new(), redis(11)).unwrap();
    w.select_db(1 << 60).unwrap();
    w.record(b"k", None, 0, b"\x01v").unwrap();
    let dump = dir.join("bigdb.rdb");
    std::fs::write(&dump, w.finish().unwrap()).unwrap();
    let out = run(&[dump.as_os_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bigdb.rdb") && err.contains("offset 10") && err.contains("corrupt"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stream whose one group has `n` pending entries, alternately owned by two consumers.
fn big_pel_dump(n: u64) -> Vec<u8> {
    let mut v = Vec::new();
    length(&mut v, 0);
    length(&mut v, 0);
    id_pair(&mut v, n + 1, 0);
    id_pair(&mut v, 1, 0);
    id_pair(&mut v, 0, 0);
    length(&mut v, n);
    length(&mut v, 1);
    rdb_string(&mut v, b"group");
    id_pair(&mut v, n + 1, 0);
    length(&mut v, n);
    length(&mut v, n);
    for i in 0..n {
        raw_id(&mut v, 1 + i, 0);
        v.extend_from_slice(&(MS as i64).to_le_bytes());
        length(&mut v, 1);
    }
    length(&mut v, 2);
    for c in 0..2 {
        rdb_string(&mut v, format!("consumer-{c}").as_bytes());
        v.extend_from_slice(&(MS as i64).to_le_bytes());
        v.extend_from_slice(&(MS as i64).to_le_bytes());
        length(&mut v, n / 2);
        for i in (c..n).step_by(2) {
            raw_id(&mut v, 1 + i, 0);
        }
    }
    let mut w = RdbWriter::new(Vec::new(), redis(11)).unwrap();
    w.select_db(0).unwrap();
    w.record(b"pel", None, 21, &v).unwrap();
    w.finish().unwrap()
}

/// Peak resident memory (KiB) of `rdb-convert args`, its output discarded, as the kernel
/// counts it for a finished child (`getrusage`).
fn peak_rss_kib(args: &[&std::ffi::OsStr]) -> u64 {
    let script = "import resource, subprocess, sys\n\
                  subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n\
                  print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)";
    let out = Command::new("python3")
        .args(["-c", script, bin()])
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The JSON of a stream with a huge PEL streams out: no map of every PEL entry to its owner,
/// no whole group held in memory. 600 000 pending entries once cost some 150 MB above the
/// mapped dump; the bound here leaves room for the dump's pages and the output buffer.
#[test]
fn a_huge_stream_pel_converts_in_bounded_memory() {
    let dir = scratch("pel");
    let n = 600_000;
    let data = big_pel_dump(n);
    let dump = dir.join("pel.rdb");
    std::fs::write(&dump, &data).unwrap();
    let dump_kib = data.len() as u64 / 1024;

    // Correct owners, first and last.
    let lines = json_lines(&dump, &[]);
    let pending = lines[0]["value"]["groups"][0]["pending"]
        .as_array()
        .unwrap();
    assert_eq!(pending.len(), n as usize);
    assert_eq!(pending[0]["consumer"], json!("consumer-0"));
    assert_eq!(pending[n as usize - 1]["consumer"], json!("consumer-1"));
    drop(lines);

    let out = dir.join("out.ndjson");
    let peak = peak_rss_kib(&[dump.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    let tiny = dir.join("tiny.rdb");
    std::fs::write(&tiny, big_pel_dump(2)).unwrap();
    let base = peak_rss_kib(&[tiny.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    let extra = peak.saturating_sub(base + dump_kib);
    assert!(
        extra < 64 * 1024,
        "peak {peak} KiB: {extra} KiB above the {base} KiB of a tiny dump and the {dump_kib} KiB dump"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
