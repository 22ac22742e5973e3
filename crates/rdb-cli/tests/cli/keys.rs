//! `convert --format keys|keys-csv` on a dump written by a real Redis 7.4: one line per key
//! with its metadata, element counts from container headers, filters applied.

use std::collections::BTreeMap;

use crate::common::cluster::rdb_convert;
use crate::common::server::{Kind, Server};

/// `rdb-convert ARGS...`'s stdout, panicking with its stderr unless it succeeds.
pub fn stdout_of(args: &[&str]) -> String {
    let out = rdb_convert(args);
    assert!(
        out.status.success(),
        "rdb-convert {} failed ({}):\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const EXPIRE_AT: i64 = 4_102_444_800_000; // 2100-01-01

#[test]
fn keys_listing_of_a_real_dump() {
    let server = Server::start(Kind::Redis74);
    let mut con = server.conn();
    let q = |con: &mut redis::Connection, args: &[&[u8]]| {
        let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
        for a in &args[1..] {
            c.arg(*a);
        }
        c.query::<redis::Value>(con).unwrap();
    };
    q(&mut con, &[b"SET", b"s", b"value"]);
    q(
        &mut con,
        &[b"PEXPIREAT", b"s", EXPIRE_AT.to_string().as_bytes()],
    );
    q(
        &mut con,
        &[b"HSET", b"h", b"a", b"1", b"b", b"2", b"c", b"3"],
    );
    q(&mut con, &[b"SADD", b"si", b"1", b"2", b"3", b"4"]);
    q(&mut con, &[b"SADD", b"sl", b"x", b"y"]);
    q(&mut con, &[b"RPUSH", b"l", b"1", b"2", b"3", b"4", b"5"]);
    q(&mut con, &[b"ZADD", b"z", b"1", b"a", b"2", b"b"]);
    q(&mut con, &[b"SET", b"a,\"b\"", b"quoted in CSV"]);
    q(&mut con, &[b"SET", b"bin\xff", b"binary key"]);
    // Values longer than a listpack holds: a hashtable, counted only by a walk.
    let mut big: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"big".to_vec()];
    for i in 0..3 {
        big.push(format!("f{i}").into_bytes());
        big.push(vec![b'v'; 100]);
    }
    q(
        &mut con,
        &big.iter().map(|v| v.as_slice()).collect::<Vec<_>>(),
    );
    q(&mut con, &[b"SELECT", b"2"]);
    q(&mut con, &[b"SET", b"other", b"db"]);
    let dump = server.save(&mut con);
    let dump = dump.to_str().unwrap();

    let t0 = std::time::Instant::now();
    let out = stdout_of(&[dump, "--format", "keys"]);
    let mut lines = BTreeMap::new();
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        lines.insert(v["key"].to_string(), v);
    }
    assert_eq!(lines.len(), 10, "{out}");
    let get = |k: &str| &lines[&format!("\"{k}\"")];
    assert_eq!(get("s")["type"], "string");
    assert_eq!(get("s")["expire_ms"], EXPIRE_AT);
    assert_eq!(get("s")["expire"], "2100-01-01T00:00:00.000Z");
    assert!(get("s").get("elements").is_none());
    for (key, encoding, elements) in [
        ("h", "hash_listpack", 3),
        ("si", "set_intset", 4),
        ("sl", "set_listpack", 2),
        ("l", "list_quicklist_2", 5),
        ("z", "zset_listpack", 2),
    ] {
        let v = get(key);
        assert_eq!(v["encoding"], encoding, "{v}");
        assert_eq!(v["elements"], elements, "{v}");
        assert!(v["size"].as_u64().unwrap() > 0);
        assert!(v.get("expire_ms").is_none());
    }
    assert_eq!(get("big")["encoding"], "hash");
    assert!(get("big").get("elements").is_none());
    assert_eq!(get("other")["db"], 2);
    assert_eq!(lines["{\"base64\":\"Ymlu/w==\"}"]["type"], "string");

    let csv = stdout_of(&[dump, "--format", "keys-csv", "--db", "0", "--type", "hash"]);
    let mut rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows.remove(0),
        "db,key,type,encoding,expire_ms,expire,size,elements"
    );
    rows.sort();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(rows[0].starts_with("0,big,hash,hash,,,"), "{csv}");
    assert!(rows[0].ends_with(','), "{csv}");
    assert!(rows[1].starts_with("0,h,hash,hash_listpack,,,"), "{csv}");
    assert!(rows[1].ends_with(",3"), "{csv}");

    let csv = stdout_of(&[dump, "--format", "keys-csv", "--key", "a,*"]);
    assert!(
        csv.contains("\n0,\"a,\"\"b\"\"\",string,string,,,"),
        "{csv}"
    );

    // -o: written whole, or not at all when the dump is cut short.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_path = dir.join("keys.csv");
    let out_str = out_path.to_str().unwrap();
    stdout_of(&[dump, "--format", "keys-csv", "-o", out_str]);
    // The binary key's raw bytes make the CSV not UTF-8: count lines as bytes.
    let written = std::fs::read(&out_path).unwrap();
    assert_eq!(written.iter().filter(|&&b| b == b'\n').count(), 11);
    std::fs::remove_file(&out_path).unwrap();
    let bytes = std::fs::read(dump).unwrap();
    let bad = dir.join("cut.rdb");
    std::fs::write(&bad, &bytes[..bytes.len() - 40]).unwrap();
    let out = rdb_convert(&[bad.to_str().unwrap(), "--format", "keys", "-o", out_str]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!out_path.exists());
    eprintln!("keys: listings in {:?}", t0.elapsed());
}
