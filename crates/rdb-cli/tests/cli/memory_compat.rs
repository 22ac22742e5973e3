//! `memory --compat rdbtools` against redis-rdb-tools' own `rdb -c memory` (0.1.15, installed
//! into the test venv by scripts/test-deps.sh) on an RDB 9 dump that Redis 6.2 wrote: every
//! column but `size_in_bytes` is the same, row for row, with each key escape. Also
//! `--min-memory`.

use std::path::{Path, PathBuf};
use std::process::Command;

use redis::Connection;
use regex::bytes::Regex;

use crate::common::server::{config_var, workspace_root, Kind, Server};

/// redis-rdb-tools' `rdb` script in the test venv; panics with the fix when missing.
fn rdbtools_bin() -> PathBuf {
    let deps = config_var("RDB_TEST_DEPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".test-deps"));
    let bin = deps.join("pyvenv/bin/rdb");
    assert!(
        bin.is_file(),
        "redis-rdb-tools not found at {}: run scripts/test-deps.sh (installs rdbtools==0.1.15 \
         into .test-deps/pyvenv)",
        bin.display()
    );
    bin
}

fn cmd(con: &mut Connection, args: &[&[u8]]) {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        c.arg(*a);
    }
    let _: redis::Value = c
        .query(con)
        .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(args[0])));
}

/// Every type and on-disk encoding Redis 6.2 writes (and redis-rdb-tools reads), with
/// integer-encoded elements, LZF strings, TTLs with and without milliseconds, binary keys,
/// in three databases.
fn fill(con: &mut Connection) {
    let long: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    let lzf = vec![b'z'; 300];
    let big_value = vec![b'v'; 80];
    cmd(con, &[b"SELECT", b"0"]);
    for (k, v) in [
        (&b"s:int"[..], &b"7"[..]),
        (b"s:int32", b"123456789"),
        (b"s:int64", b"12345678901234"),
        (b"s:neg", b"-5"),
        (b"s:embstr", b"hello"),
        (b"s:raw", &long),
        (b"s:lzf", &lzf),
        (b"s:empty", b""),
        (b"bin:\xff\x00,comma", b"x"),
        ("utf8:é€".as_bytes(), b"x"),
        (b"tab\tkey", b"x"),
    ] {
        cmd(con, &[b"SET", k, v]);
    }
    cmd(con, &[b"SET", b"ttl:ms", b"x", b"PX", b"86400123"]);
    cmd(con, &[b"SET", b"ttl:s", b"x"]);
    cmd(con, &[b"EXPIREAT", b"ttl:s", b"4102444800"]);

    cmd(
        con,
        &[
            b"RPUSH",
            b"list:small",
            b"a",
            b"1",
            b"bb",
            b"12345678901",
            b"-7",
        ],
    );
    for i in 0..1500u32 {
        let item = if i % 3 == 0 {
            i.to_string().into_bytes()
        } else {
            format!("item-{i}-{}", "x".repeat((i % 90) as usize)).into_bytes()
        };
        cmd(con, &[b"RPUSH", b"list:big", &item]);
    }
    cmd(con, &[b"PEXPIRE", b"list:big", b"3600777"]);

    cmd(
        con,
        &[
            b"SADD",
            b"set:int",
            b"1",
            b"2",
            b"-100000",
            b"1099511627776",
        ],
    );
    cmd(
        con,
        &[
            b"SADD",
            b"set:str",
            b"a",
            b"bb",
            b"7",
            b"12345678901234",
            &long,
        ],
    );
    for i in 0..600u32 {
        cmd(con, &[b"SADD", b"set:bigint", i.to_string().as_bytes()]);
    }

    cmd(
        con,
        &[
            b"ZADD",
            b"zset:small",
            b"1.5",
            b"m1",
            b"2",
            b"42",
            b"-3",
            b"c",
        ],
    );
    for i in 0..200u32 {
        let member = if i % 2 == 0 {
            i.to_string()
        } else {
            format!("member-{i}")
        };
        cmd(
            con,
            &[
                b"ZADD",
                b"zset:big",
                i.to_string().as_bytes(),
                member.as_bytes(),
            ],
        );
    }
    cmd(con, &[b"EXPIRE", b"zset:big", b"7200"]);

    cmd(
        con,
        &[
            b"HSET",
            b"hash:small",
            b"f",
            b"v",
            b"n",
            b"12345",
            b"123",
            &long[..40],
        ],
    );
    cmd(
        con,
        &[b"HSET", b"hash:bigvalue", b"f", &big_value, b"1", b"2"],
    );
    for i in 0..200u32 {
        let v = format!("value-{i}");
        cmd(
            con,
            &[b"HSET", b"hash:big", i.to_string().as_bytes(), v.as_bytes()],
        );
    }

    for i in 0..5u32 {
        let v = format!("v{i}");
        cmd(
            con,
            &[b"XADD", b"stream", b"*", b"field", v.as_bytes(), b"n", b"1"],
        );
    }
    cmd(con, &[b"XGROUP", b"CREATE", b"stream", b"g1", b"0"]);
    cmd(
        con,
        &[
            b"XREADGROUP",
            b"GROUP",
            b"g1",
            b"alice",
            b"COUNT",
            b"2",
            b"STREAMS",
            b"stream",
            b">",
        ],
    );

    cmd(con, &[b"SELECT", b"1"]);
    cmd(con, &[b"SET", b"db1:s", b"1"]);
    cmd(con, &[b"SADD", b"db1:set", b"x", b"y"]);
    cmd(con, &[b"PEXPIRE", b"db1:set", b"999999"]);
    cmd(con, &[b"SELECT", b"3"]);
    cmd(con, &[b"HSET", b"db3:h", b"a", b"b"]);
    cmd(con, &[b"RPUSH", b"db3:l", b"x"]);
    cmd(con, &[b"EXPIREAT", b"db3:l", b"2000000000"]);
}

fn rdb9_dump(dir: &Path) -> PathBuf {
    let server = Server::start(Kind::Redis62);
    let mut con = server.conn();
    fill(&mut con);
    let saved = server.save(&mut con);
    let dump = dir.join("dump.rdb");
    std::fs::copy(&saved, &dump).unwrap();
    let head = std::fs::read(&dump).unwrap();
    assert_eq!(&head[..9], b"REDIS0009", "Redis 6.2 writes RDB 9");
    dump
}

/// One CSV row split into (database, type, key, size, encoding, num_elements,
/// len_largest_element, expiry). Keys are unquoted in redis-rdb-tools' CSV, so a row is
/// matched by the shape of the columns around the key.
type Row = [Vec<u8>; 8];

fn rows(csv: &[u8]) -> Vec<Row> {
    let header =
        b"database,type,key,size_in_bytes,encoding,num_elements,len_largest_element,expiry\n";
    assert!(
        csv.starts_with(header),
        "header: {:?}",
        String::from_utf8_lossy(csv)
    );
    let row = Regex::new(
        r"(?s-u)\A(\d+),([a-z]+),(.*?),(\d+),([A-Za-z0-9_-]+),(\d+),(\d+),([0-9T:.Z-]*)\n",
    )
    .unwrap();
    let mut rest = &csv[header.len()..];
    let mut out = Vec::new();
    while !rest.is_empty() {
        let c = row
            .captures(rest)
            .unwrap_or_else(|| panic!("not a row: {:?}", String::from_utf8_lossy(rest)));
        out.push(std::array::from_fn(|i| c[i + 1].to_vec()));
        rest = &rest[c[0].len()..];
    }
    out
}

fn show(r: &Row) -> String {
    r.iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect::<Vec<_>>()
        .join(",")
}

fn run(program: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn ours(args: &[&str]) -> Vec<u8> {
    run(Path::new(env!("CARGO_BIN_EXE_rdb-convert")), args)
}

#[test]
fn rdbtools_compat_csv_equals_rdbtools_but_sizes() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("memory-compat-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dump = rdb9_dump(&dir);
    let dump_arg = dump.to_str().unwrap();
    let rdbtools = rdbtools_bin();

    for escape in ["raw", "print", "base64"] {
        let theirs = rows(&run(&rdbtools, &["-c", "memory", "-e", escape, dump_arg]));
        let ours = rows(&ours(&[
            "memory", "--compat", "rdbtools", "--escape", escape, dump_arg,
        ]));
        assert_eq!(theirs.len(), 28, "{escape}: rows of redis-rdb-tools");
        assert_eq!(ours.len(), theirs.len(), "{escape}: row count");
        for (o, t) in ours.iter().zip(&theirs) {
            let strip = |r: &Row| {
                let mut r = r.clone();
                r[3].clear();
                r
            };
            assert_eq!(
                strip(o),
                strip(t),
                "--escape {escape}: ours\n  {}\nredis-rdb-tools\n  {}",
                show(o),
                show(t)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn min_memory_keeps_keys_at_or_above_the_threshold() {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("memory-min-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dump = rdb9_dump(&dir);
    let dump_arg = dump.to_str().unwrap();

    let all = rows(&ours(&["memory", dump_arg]));
    let size = |r: &Row| -> u64 { std::str::from_utf8(&r[3]).unwrap().parse().unwrap() };
    let mut sizes: Vec<u64> = all.iter().map(size).collect();
    sizes.sort_unstable();
    let threshold = sizes[sizes.len() / 2];
    let expected: Vec<Row> = all
        .iter()
        .filter(|r| size(r) >= threshold)
        .cloned()
        .collect();
    assert!(expected.len() < all.len() && !expected.is_empty());

    let t = threshold.to_string();
    assert_eq!(
        rows(&ours(&["memory", "--min-memory", &t, dump_arg])),
        expected
    );
    // The same keys in the rdbtools vocabulary.
    let compat = rows(&ours(&[
        "memory",
        "--compat",
        "rdbtools",
        "--min-memory",
        &t,
        dump_arg,
    ]));
    let keys = |rows: &[Row]| rows.iter().map(|r| r[2].clone()).collect::<Vec<_>>();
    assert_eq!(keys(&compat), keys(&expected));

    // --escape works on our CSV too: escaped, then quoted as any key with a comma.
    let printed = rows(&ours(&["memory", "--escape", "print", dump_arg]));
    let printed_keys = keys(&printed);
    assert!(printed_keys.contains(&br#""bin:\xFF\x00,comma""#.to_vec()));
    assert!(printed_keys.contains(&br"tab\x09key".to_vec()));
    assert!(printed_keys.contains(&b"s:int".to_vec()));
    assert_eq!(printed.len(), all.len());

    // Parquet keeps the same keys (read back with DuckDB, installed by scripts/test-deps.sh).
    let parquet = dir.join("min.parquet");
    ours(&[
        "memory",
        "--format",
        "parquet",
        "--min-memory",
        &t,
        "-o",
        parquet.to_str().unwrap(),
        dump_arg,
    ]);
    let query = format!(
        "import duckdb; print(duckdb.sql(\"select count(*), min(size_in_bytes) from '{}'\").fetchall()[0])",
        parquet.display()
    );
    let out = Command::new("python3")
        .args(["-c", &query])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!(
            "({}, {})",
            expected.len(),
            expected.iter().map(size).min().unwrap()
        )
    );
    let _ = std::fs::remove_dir_all(&dir);
}
