//! Fill a server with every data type in compact (listpack / ziplist /
//! intset) and native (hashtable / skiplist / quicklist) encodings, with
//! binary keys and values, integer strings of every width, expiries, several
//! databases, streams with consumer groups, functions, hash-field TTLs and
//! (Redis 7.4) a module key.
//!
//! The server is the source of truth for the comparison, so the filler does
//! not record values; it only checks (`OBJECT ENCODING`) that the keys meant
//! to exercise a given encoding really have it, so a change of server
//! defaults cannot silently shrink the coverage.

use super::bytes::{show, Rng};
use super::server::{Caps, Kind};
use redis::{Connection, ToRedisArgs, Value};
use std::time::{SystemTime, UNIX_EPOCH};

mod hashes;
mod plain;
mod streams;

/// A command under construction; `run` panics with a readable description
/// when the server rejects it.
pub struct C(redis::Cmd);

impl C {
    pub fn new(name: &str) -> C {
        C(redis::cmd(name))
    }
    pub fn a<T: ToRedisArgs>(mut self, t: T) -> C {
        self.0.arg(t);
        self
    }
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for a in self.0.args_iter() {
            if let redis::Arg::Simple(b) = a {
                parts.push(show(b));
            }
            if parts.len() >= 6 {
                parts.push("...".into());
                break;
            }
        }
        parts.join(" ")
    }
    pub fn try_run(&self, con: &mut Connection) -> redis::RedisResult<Value> {
        self.0.query::<Value>(con)
    }
    pub fn run(&self, con: &mut Connection) -> Value {
        match self.try_run(con) {
            Ok(Value::ServerError(e)) => panic!("command {} failed: {e:?}", self.describe()),
            Ok(v) => v,
            Err(e) => panic!("command {} failed: {e}", self.describe()),
        }
    }
}

/// Pipelined batch of commands whose replies are only checked for errors.
pub struct Batch {
    cmds: Vec<C>,
}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl Batch {
    pub fn new() -> Batch {
        Batch { cmds: Vec::new() }
    }
    pub fn push(&mut self, c: C) {
        self.cmds.push(c);
    }
    pub fn run(self, con: &mut Connection) {
        for chunk in self.cmds.chunks(500) {
            let mut p = redis::pipe();
            for c in chunk {
                p.add_command(c.0.clone());
            }
            let replies: Vec<Value> = p
                .query(con)
                .unwrap_or_else(|e| panic!("pipeline failed: {e}"));
            for (c, r) in chunk.iter().zip(replies) {
                if let Value::ServerError(e) = r {
                    panic!("command {} failed: {e:?}", c.describe());
                }
            }
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Integer strings covering every int encoding width of RDB strings
/// (INT8/16/32), listpack (7/13/16/24/32/64 bit), ziplist (4-bit immediate,
/// int8/16/24/32/64) and intset (16/32/64).
pub const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "12",
    "13",
    "-13",
    "63",
    "64",
    "127",
    "128",
    "-128",
    "-129",
    "255",
    "256",
    "4095",
    "4096",
    "-4096",
    "-4097",
    "32767",
    "32768",
    "-32768",
    "-32769",
    "65535",
    "65536",
    "8388607",
    "8388608",
    "-8388608",
    "-8388609",
    "16777215",
    "2147483647",
    "2147483648",
    "-2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "140737488355327",
    "9223372036854775807",
    "-9223372036854775808",
];

/// Strings that look numeric but must stay strings (not canonical, or out of
/// range).
pub const NOT_INTS: &[&str] = &[
    "007",
    "-0",
    "+5",
    "1.5",
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    " 12",
    "12 ",
    "0x10",
    "1e3",
    "99999999999",
    "-",
    "00",
];

/// Bytes that are not valid UTF-8.
pub const BIN: &[u8] = b"\xff\xfe\x00bin\x80\r\n\x01";

fn binkey(suffix: &str) -> Vec<u8> {
    let mut k = b"\xff\xfe:".to_vec();
    k.extend_from_slice(suffix.as_bytes());
    k
}

/// What `fill` did, for later tests and for reporting.
#[derive(Default, Debug)]
pub struct Filled {
    /// Library source codes loaded with FUNCTION LOAD.
    pub functions: Vec<String>,
    /// Number of keys written per db (db, count).
    pub keys_per_db: Vec<(u32, usize)>,
}

struct Filler<'a> {
    con: &'a mut Connection,
    kind: Kind,
    caps: Caps,
    rng: Rng,
    /// (db, key, allowed OBJECT ENCODING values)
    enc: Vec<(u32, Vec<u8>, &'static [&'static str])>,
    db: u32,
    /// Absolute expiry base (now + 1 h).
    exp: i64,
}

impl Filler<'_> {
    fn select(&mut self, db: u32) {
        C::new("SELECT").a(db).run(self.con);
        self.db = db;
    }
    fn expect_enc(&mut self, key: impl AsRef<[u8]>, allowed: &'static [&'static str]) {
        self.enc.push((self.db, key.as_ref().to_vec(), allowed));
    }
    fn run(&mut self, c: C) -> Value {
        c.run(self.con)
    }
    fn pexpireat(&mut self, key: impl AsRef<[u8]>, at: i64) {
        let v = C::new("PEXPIREAT").a(key.as_ref()).a(at).run(self.con);
        assert_eq!(v, Value::Int(1), "PEXPIREAT {} failed", show(key.as_ref()));
    }

    fn functions(&mut self) -> Vec<String> {
        let libs = vec![
            "#!lua name=rdbtest_lib1\nredis.register_function('rdbtest_f1', function(keys, args) return 1 end)\n"
                .to_string(),
            "#!lua name=rdbtest_lib2\n-- caf\u{e9} \u{2713}\nredis.register_function{function_name='rdbtest_f2', \
             callback=function(keys, args) return args[1] end, flags={'no-writes'}}\n\
             redis.register_function('rdbtest_f3', function(keys, args) return #keys end)\n"
                .to_string(),
        ];
        for l in &libs {
            self.run(C::new("FUNCTION").a("LOAD").a(l.as_str()));
        }
        libs
    }

    fn modules(&mut self) {
        self.run(
            C::new("JSON.SET")
                .a("module:json")
                .a("$")
                .a(r#"{"a":[1,2,3],"b":"x","c":{"d":null,"e":1.5}}"#),
        );
        self.run(
            C::new("JSON.SET")
                .a("module:json-exp")
                .a("$")
                .a(r#""just a string""#),
        );
        self.pexpireat("module:json-exp", self.exp + 6);
    }

    fn other_dbs(&mut self) {
        self.select(1);
        let mut b = Batch::new();
        b.push(C::new("SET").a("db1:str").a("in db 1"));
        b.push(
            C::new("SET")
                .a("str:hello")
                .a("same key name as in db 0, other value"),
        );
        b.push(C::new("RPUSH").a("db1:list").a("1").a("2").a("3"));
        b.push(C::new("HSET").a("db1:hash").a("k").a("v"));
        b.push(C::new("SADD").a("db1:set").a("1").a("x"));
        b.push(C::new("ZADD").a("db1:zset").a("1.25").a("a"));
        b.push(C::new("XADD").a("db1:stream").a("1-1").a("f").a("v"));
        b.run(self.con);
        self.pexpireat("db1:str", self.exp + 7);

        self.select(5);
        let mut b = Batch::new();
        b.push(C::new("SET").a(binkey("db5")).a(BIN));
        b.push(C::new("SET").a("db5:int").a("-2147483648"));
        b.push(
            C::new("ZADD")
                .a("db5:zset")
                .a("-inf")
                .a("a")
                .a("inf")
                .a("b"),
        );
        b.push(C::new("SADD").a("db5:set").a("-1").a("1"));
        b.run(self.con);
        self.pexpireat("db5:int", self.exp + 8);
        self.select(0);
    }

    fn check_encodings(&mut self) {
        let mut bad = Vec::new();
        let enc = std::mem::take(&mut self.enc);
        let mut cur = u32::MAX;
        for (db, key, allowed) in &enc {
            if *db != cur {
                self.select(*db);
                cur = *db;
            }
            let v = self.run(C::new("OBJECT").a("ENCODING").a(key.clone()));
            let got = match v {
                Value::BulkString(b) => String::from_utf8_lossy(&b).to_string(),
                Value::SimpleString(s) => s,
                other => format!("{other:?}"),
            };
            if !allowed.contains(&got.as_str()) {
                bad.push(format!(
                    "db {db} key {}: encoding {got}, wanted one of {allowed:?}",
                    show(key)
                ));
            }
        }
        self.select(0);
        assert!(
            bad.is_empty(),
            "{}: filler did not produce the intended encodings (test harness bug):\n{}",
            self.kind.label(),
            bad.join("\n")
        );
    }
}

/// Fill a freshly started, empty server. Leaves the connection on db 0.
pub fn fill(con: &mut Connection, kind: Kind) -> Filled {
    let caps = kind.caps();
    let mut f = Filler {
        con,
        kind,
        caps,
        rng: Rng::new(0x5eed_0000 + kind as u64),
        enc: Vec::new(),
        db: 0,
        exp: 0,
    };
    f.exp = now_ms() + 3_600_000;
    f.select(0);
    f.strings();
    f.lru_lfu();
    f.lists();
    f.sets();
    f.zsets();
    f.hashes();
    if caps.hfe {
        f.hash_field_ttls();
    }
    f.streams();
    let functions = if caps.functions {
        f.functions()
    } else {
        Vec::new()
    };
    if caps.modules {
        f.modules();
    }
    f.other_dbs();
    f.check_encodings();

    let mut keys_per_db = Vec::new();
    for db in [0u32, 1, 5] {
        f.select(db);
        if let Value::Int(n) = f.run(C::new("DBSIZE")) {
            keys_per_db.push((db, n as usize));
        }
    }
    f.select(0);
    Filled {
        functions,
        keys_per_db,
    }
}
