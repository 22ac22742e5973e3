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

    // ------------------------------------------------------------ strings
    fn strings(&mut self) {
        let mut b = Batch::new();
        let mut set = |k: &[u8], v: &[u8]| b.push(C::new("SET").a(k).a(v));
        set(b"str:empty", b"");
        set(b"", b"value of the empty key");
        set(b"str:hello", b"hello world");
        set(
            b"str:utf8",
            "h\u{e9}llo \u{2713} \u{65e5}\u{672c} \u{1f600}".as_bytes(),
        );
        set(b"str:bin", BIN);
        set(
            b"str:json-special",
            b"quote\" backslash\\ nl\n tab\t nul\x00 del\x7f ctl\x1f",
        );
        set(b"str:lzf", &[b'a'; 1000]);
        set(b"str:lzf-pattern", "abcdefgh-".repeat(300).as_bytes());
        let mut almost = "x".repeat(40).into_bytes();
        almost.extend_from_slice(BIN);
        set(b"str:lzf-bin", &almost.repeat(20));
        let rnd = self.rng.bytes(3000);
        set(b"str:random", &rnd);
        set(b"str:21", b"aaaaaaaaaaaaaaaaaaaaa"); // 21 bytes: shortest LZF candidate
        set(b"str:float", b"3.14159");
        set(b"str:big", "0123456789".repeat(10_000).as_bytes());
        set(&binkey("str"), b"\x80\x81\x82");
        set(&binkey("utf8-value"), b"plain value");
        set(b"str:newline\nkey\"", b"v");
        for v in INTS.iter().chain(NOT_INTS) {
            set(format!("int:{v}").as_bytes(), v.as_bytes());
            // Integer-looking key names are int-encoded in the file too.
            set(v.as_bytes(), format!("key-is-{v}").as_bytes());
        }
        // Integers set via INCRBY are stored as int objects in memory.
        b.push(C::new("INCRBY").a("str:incr").a(i64::MAX - 1));
        b.push(C::new("INCRBY").a("str:decr").a(-1_000_000_007i64));
        b.push(C::new("SET").a("str:hot").a("lfu/lru"));
        for _ in 0..300 {
            b.push(C::new("GET").a("str:hot"));
        }
        b.run(self.con);

        // Expiries (absolute ms).
        self.run(C::new("SET").a("str:exp").a("expires in an hour"));
        self.pexpireat("str:exp", self.exp + 123);
        self.run(C::new("SET").a("str:exp-far").a("2100"));
        self.pexpireat("str:exp-far", 4_102_444_800_123);
        self.run(C::new("SET").a("str:exp-int").a(32767));
        self.pexpireat("str:exp-int", self.exp + 1);
        self.run(C::new("SET").a(binkey("str-exp")).a(BIN));
        self.pexpireat(binkey("str-exp"), self.exp + 999);
    }

    // ------------------------------------------------------------ LRU / LFU
    /// Keys with a large idle time (LRU policies) or specific LFU counters
    /// (LFU policies), set through RESTORE ... IDLETIME / FREQ.
    fn lru_lfu(&mut self) {
        let policy = match self.run(C::new("CONFIG").a("GET").a("maxmemory-policy")) {
            Value::Array(a) if a.len() == 2 => match &a[1] {
                Value::BulkString(b) => String::from_utf8_lossy(b).to_string(),
                other => panic!("CONFIG GET maxmemory-policy: {other:?}"),
            },
            other => panic!("CONFIG GET maxmemory-policy: {other:?}"),
        };
        let payload = match self.run(C::new("DUMP").a("str:hello")) {
            Value::BulkString(b) => b,
            other => panic!("DUMP: {other:?}"),
        };
        let restore = |key: &str, opt: &str, n: i64| {
            C::new("RESTORE").a(key).a(0).a(payload.clone()).a(opt).a(n)
        };
        if policy.contains("lru") {
            self.run(restore("lru:idle-1d", "IDLETIME", 86_400));
            self.run(restore("lru:idle-100d", "IDLETIME", 8_640_000));
        } else if policy.contains("lfu") {
            self.run(restore("lfu:freq-0", "FREQ", 0));
            self.run(restore("lfu:freq-200", "FREQ", 200));
            self.run(restore("lfu:freq-255", "FREQ", 255));
        }
    }

    // ------------------------------------------------------------ lists
    fn lists(&mut self) {
        const SMALL_LIST: &[&str] = &["quicklist", "listpack", "ziplist"];
        const BIG_LIST: &[&str] = &["quicklist"];
        let mut b = Batch::new();
        b.push(
            C::new("RPUSH")
                .a("list:small")
                .a("a")
                .a("b")
                .a("")
                .a(BIN)
                .a("c"),
        );
        let mut c = C::new("RPUSH").a("list:ints");
        for v in INTS.iter().chain(NOT_INTS) {
            c = c.a(*v);
        }
        b.push(c);
        // Many quicklist nodes (8 KB each), the inner ones LZF-compressed
        // (list-compress-depth 1).
        let mut c = C::new("RPUSH").a("list:big");
        for i in 0..3000 {
            if i % 7 == 0 {
                c = c.a(INTS[i % INTS.len()]);
            } else {
                c = c.a(format!("element-{i:05}"));
            }
        }
        b.push(c);
        let mut c = C::new("RPUSH").a("list:bigvals");
        for i in 0..200 {
            let mut v = self.rng.bytes(40);
            v.extend_from_slice(format!("{i}").repeat(30).as_bytes());
            c = c.a(v);
        }
        b.push(c);
        b.push(
            C::new("LPUSH")
                .a(binkey("list"))
                .a(BIN)
                .a("x")
                .a(&[0u8, 1, 2][..]),
        );
        b.push(C::new("RPUSH").a("list:exp").a("1").a("2"));
        b.run(self.con);
        self.pexpireat("list:exp", self.exp + 2);
        self.expect_enc("list:small", SMALL_LIST);
        self.expect_enc("list:ints", SMALL_LIST);
        self.expect_enc("list:big", BIG_LIST);
        self.expect_enc("list:bigvals", BIG_LIST);

        if self.caps.plain_nodes {
            // Elements >= the packed threshold go to quicklist PLAIN nodes.
            self.run(C::new("DEBUG").a("QUICKLIST-PACKED-THRESHOLD").a(8192));
            let mut b = Batch::new();
            let rnd = self.rng.bytes(9000);
            b.push(
                C::new("RPUSH")
                    .a("list:plain")
                    .a("head")
                    .a(vec![b'x'; 10_000])
                    .a("middle")
                    .a(rnd.clone())
                    .a("7")
                    .a(vec![b'y'; 8192])
                    .a("tail"),
            );
            // Plain node in the middle of a long (compressed) list.
            let mut c = C::new("RPUSH").a("list:plain-big");
            for i in 0..2000 {
                if i == 1000 {
                    c = c.a(rnd.repeat(2));
                } else {
                    c = c.a(format!("item-{i}"));
                }
            }
            b.push(c);
            b.run(self.con);
            self.run(C::new("DEBUG").a("QUICKLIST-PACKED-THRESHOLD").a(0));
            self.expect_enc("list:plain", BIG_LIST);
        }
    }

    // ------------------------------------------------------------ sets
    fn sets(&mut self) {
        const INTSET: &[&str] = &["intset"];
        const HT: &[&str] = &["hashtable"];
        let small_strs: &'static [&'static str] = if self.caps.set_listpack {
            &["listpack"]
        } else {
            &["hashtable"]
        };
        let mut b = Batch::new();
        b.push(
            C::new("SADD")
                .a("set:int16")
                .a(&["0", "1", "-1", "12", "-32768", "32767", "255"][..]),
        );
        b.push(C::new("SADD").a("set:int32").a(&[
            "1",
            "2147483647",
            "-2147483648",
            "65536",
            "-32769",
        ][..]));
        b.push(C::new("SADD").a("set:int64").a(&[
            "1",
            "9223372036854775807",
            "-9223372036854775808",
            "4294967296",
        ][..]));
        let ints: Vec<String> = (0..400)
            .map(|i| (i * 7919 - 1_000_000).to_string())
            .collect();
        b.push(C::new("SADD").a("set:intset-big").a(&ints));
        b.push(
            C::new("SADD")
                .a("set:small")
                .a("a")
                .a("b")
                .a("")
                .a("c")
                .a("12"),
        );
        b.push(
            C::new("SADD")
                .a("set:mixed")
                .a(&["1", "2", "x", "-5", "65536", "007"][..]),
        );
        let strs: Vec<String> = (0..300).map(|i| format!("member:{i}")).collect();
        b.push(C::new("SADD").a("set:big").a(&strs));
        let ints: Vec<String> = (0..600)
            .map(|i| (i as i64 * 1_000_003 - 300_000_000).to_string())
            .collect();
        b.push(C::new("SADD").a("set:big-ints").a(&ints));
        b.push(
            C::new("SADD")
                .a("set:long-member")
                .a("a")
                .a("z".repeat(100)),
        );
        b.push(
            C::new("SADD")
                .a(binkey("set"))
                .a(BIN)
                .a(&b"\xc3\x28"[..])
                .a("ok"),
        );
        let mut c = C::new("SADD").a("set:big-bin");
        for i in 0..200u32 {
            let mut m = BIN.to_vec();
            m.extend_from_slice(&i.to_le_bytes());
            c = c.a(m);
        }
        b.push(c);
        b.push(C::new("SADD").a("set:exp").a("only"));
        b.run(self.con);
        self.pexpireat("set:exp", self.exp + 3);
        self.expect_enc("set:int16", INTSET);
        self.expect_enc("set:int32", INTSET);
        self.expect_enc("set:int64", INTSET);
        self.expect_enc("set:intset-big", INTSET);
        self.expect_enc("set:small", small_strs);
        self.expect_enc("set:mixed", small_strs);
        self.expect_enc("set:big", HT);
        self.expect_enc("set:big-ints", HT);
        self.expect_enc("set:long-member", HT);
        self.expect_enc("set:big-bin", HT);
    }

    // ------------------------------------------------------------ zsets
    fn zsets(&mut self) {
        const SMALL: &[&str] = &["listpack", "ziplist"];
        const BIG: &[&str] = &["skiplist"];
        let scores: Vec<(&str, Vec<u8>)> = vec![
            ("0", b"zero".to_vec()),
            ("1.5", b"one and a half".to_vec()),
            ("-2.25", b"neg".to_vec()),
            ("inf", b"pinf".to_vec()),
            ("-inf", b"ninf".to_vec()),
            ("3.141592653589793", b"pi".to_vec()),
            ("0.1", b"tenth".to_vec()),
            ("1e300", b"huge".to_vec()),
            ("1e-300", b"tiny".to_vec()),
            ("5e-324", b"subnormal".to_vec()),
            ("-0", b"negzero".to_vec()),
            ("123456789012345", b"intlike".to_vec()),
            ("9007199254740993", b"2^53+1".to_vec()),
            ("7", b"".to_vec()),
            ("42", BIN.to_vec()),
            ("1", b"12".to_vec()),
            ("2", b"-32768".to_vec()),
            ("3", b"9223372036854775807".to_vec()),
        ];
        let mut b = Batch::new();
        let mut c = C::new("ZADD").a("zset:small");
        for (s, m) in &scores {
            c = c.a(*s).a(m.clone());
        }
        b.push(c);
        let mut c = C::new("ZADD").a("zset:int-members");
        for (i, v) in INTS.iter().enumerate() {
            c = c.a(i as i64 - 10).a(*v);
        }
        b.push(c);
        let mut c = C::new("ZADD").a("zset:big");
        for i in 0..300i64 {
            let score = format!("{}", (i as f64) * 0.37 - 50.0);
            c = c.a(score).a(format!("m{i}"));
        }
        for (s, m) in &scores {
            c = c.a(*s).a(m.clone());
        }
        b.push(c);
        b.push(
            C::new("ZADD")
                .a("zset:long-member")
                .a("inf")
                .a("l".repeat(100))
                .a("-inf")
                .a("s")
                .a("0.5")
                .a(BIN),
        );
        b.push(C::new("ZADD").a(binkey("zset")).a("1").a(BIN).a("2").a("x"));
        b.push(C::new("ZADD").a("zset:exp").a("1").a("a"));
        b.run(self.con);
        self.pexpireat("zset:exp", self.exp + 4);
        self.expect_enc("zset:small", SMALL);
        self.expect_enc("zset:int-members", SMALL);
        self.expect_enc("zset:big", BIG);
        self.expect_enc("zset:long-member", BIG);
    }

    // ------------------------------------------------------------ hashes
    fn hashes(&mut self) {
        const SMALL: &[&str] = &["listpack", "ziplist"];
        const HT: &[&str] = &["hashtable"];
        let mut b = Batch::new();
        b.push(C::new("HSET").a("hash:small").a(&[
            ("f1", "v1"),
            ("empty", ""),
            ("", "empty field"),
            ("num", "12"),
        ][..]));
        let mut c = C::new("HSET").a("hash:ints");
        for (i, v) in INTS.iter().enumerate() {
            // numeric fields and values of every width
            c = c.a(*v).a(INTS[(i + 5) % INTS.len()]);
        }
        for v in NOT_INTS {
            c = c.a(format!("s{v}")).a(*v);
        }
        b.push(c);
        b.push(
            C::new("HSET")
                .a("hash:bin-field")
                .a(BIN)
                .a(BIN)
                .a("ok")
                .a("fine")
                .a(&b"\xc3\x28"[..])
                .a("invalid utf8 field"),
        );
        b.push(
            C::new("HSET")
                .a("hash:bin-value")
                .a("a")
                .a(BIN)
                .a("b")
                .a("x"),
        );
        // hash-max-listpack-entries defaults to 512.
        let mut c = C::new("HSET").a("hash:big");
        for i in 0..600 {
            c = c.a(format!("field:{i}")).a(if i % 3 == 0 {
                INTS[i % INTS.len()].to_string()
            } else {
                format!("value {i}")
            });
        }
        b.push(c);
        let mut c = C::new("HSET").a("hash:big-bin");
        for i in 0..550u32 {
            let mut f = BIN.to_vec();
            f.extend_from_slice(&i.to_be_bytes());
            c = c.a(f).a(self.rng.bytes(10));
        }
        b.push(c);
        b.push(
            C::new("HSET")
                .a("hash:long-value")
                .a("short")
                .a("1")
                .a("long")
                .a("v".repeat(100)),
        );
        b.push(C::new("HSET").a(binkey("hash")).a("f").a("v"));
        b.push(C::new("HSET").a("hash:exp").a("f").a("v"));
        b.run(self.con);
        self.pexpireat("hash:exp", self.exp + 5);
        self.expect_enc("hash:small", SMALL);
        self.expect_enc("hash:ints", SMALL);
        self.expect_enc("hash:bin-field", SMALL);
        self.expect_enc("hash:big", HT);
        self.expect_enc("hash:big-bin", HT);
        self.expect_enc("hash:long-value", HT);
    }

    fn hpexpireat(&mut self, key: &str, at: i64, fields: &[Vec<u8>]) {
        let mut c = C::new("HPEXPIREAT")
            .a(key)
            .a(at)
            .a("FIELDS")
            .a(fields.len());
        for f in fields {
            c = c.a(f.clone());
        }
        let v = self.run(c);
        match v {
            Value::Array(items) => {
                for it in items {
                    assert_eq!(
                        it,
                        Value::Int(1),
                        "HPEXPIREAT {key} did not set every field"
                    );
                }
            }
            other => panic!("HPEXPIREAT {key}: unexpected reply {other:?}"),
        }
    }

    // ------------------------------------------------------------ hash-field TTLs
    fn hash_field_ttls(&mut self) {
        let small: &'static [&'static str] = if self.kind.is_valkey() {
            &["hashtable", "listpack"]
        } else {
            &["listpackex"]
        };
        const HT: &[&str] = &["hashtable"];
        let e = self.exp;
        self.run(C::new("HSET").a("hfe:small").a(&[
            ("a", "1"),
            ("b", "2"),
            ("c", "three"),
            ("d", ""),
        ][..]));
        self.hpexpireat("hfe:small", e + 10, &[b"a".to_vec()]);
        self.hpexpireat("hfe:small", e + 11, &[b"c".to_vec()]);
        self.run(
            C::new("HSET")
                .a("hfe:small-bin")
                .a(BIN)
                .a("v")
                .a("ok")
                .a(BIN),
        );
        self.hpexpireat("hfe:small-bin", e + 12, &[BIN.to_vec()]);
        self.run(C::new("HSET").a("hfe:all").a(&[("x", "1"), ("y", "2")][..]));
        self.hpexpireat("hfe:all", e + 13, &[b"x".to_vec(), b"y".to_vec()]);
        self.pexpireat("hfe:all", e + 14);
        let mut c = C::new("HSET").a("hfe:big");
        for i in 0..600 {
            c = c.a(format!("field:{i}")).a(format!("value:{i}"));
        }
        self.run(c);
        for i in (0..600).step_by(4) {
            self.hpexpireat(
                "hfe:big",
                e + 1000 + i as i64,
                &[format!("field:{i}").into_bytes()],
            );
        }
        self.pexpireat("hfe:big", 4_102_444_800_000);
        let mut c = C::new("HSET").a("hfe:big-bin");
        let mut bin_fields = Vec::new();
        for i in 0..550u32 {
            let mut f = BIN.to_vec();
            f.extend_from_slice(&i.to_be_bytes());
            if i % 50 == 0 {
                bin_fields.push(f.clone());
            }
            c = c.a(f).a(i);
        }
        self.run(c);
        self.hpexpireat("hfe:big-bin", e + 77, &bin_fields);
        // Few fields, but one value > 64 bytes: hashtable.
        self.run(
            C::new("HSET")
                .a("hfe:long-value")
                .a("long")
                .a("L".repeat(100))
                .a("n")
                .a("5"),
        );
        self.hpexpireat("hfe:long-value", e + 15, &[b"long".to_vec()]);
        self.expect_enc("hfe:small", small);
        self.expect_enc("hfe:small-bin", small);
        self.expect_enc("hfe:all", small);
        self.expect_enc("hfe:big", HT);
        self.expect_enc("hfe:big-bin", HT);
        self.expect_enc("hfe:long-value", HT);
    }

    // ------------------------------------------------------------ streams
    fn xreadgroup(
        &mut self,
        key: &str,
        group: &[u8],
        consumer: &str,
        count: usize,
    ) -> Vec<Vec<u8>> {
        let v = self.run(
            C::new("XREADGROUP")
                .a("GROUP")
                .a(group)
                .a(consumer)
                .a("COUNT")
                .a(count)
                .a("STREAMS")
                .a(key)
                .a(">"),
        );
        // [[key, [[id, [f, v...]], ...]]]
        let mut ids = Vec::new();
        if let Value::Array(streams) = v {
            for s in streams {
                if let Value::Array(kv) = s {
                    if let Some(Value::Array(entries)) = kv.get(1) {
                        for e in entries {
                            if let Value::Array(parts) = e {
                                if let Some(Value::BulkString(id)) = parts.first() {
                                    ids.push(id.clone());
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(
            ids.len(),
            count,
            "XREADGROUP {key} {consumer} returned {} ids",
            ids.len()
        );
        ids
    }

    fn streams(&mut self) {
        // Small stream, explicit ids, mixed field sets.
        let mut b = Batch::new();
        b.push(
            C::new("XADD")
                .a("stream:small")
                .a("1-1")
                .a("name")
                .a("alpha")
                .a("n")
                .a("12"),
        );
        b.push(
            C::new("XADD")
                .a("stream:small")
                .a("1-2")
                .a("name")
                .a("beta")
                .a("n")
                .a("-32768"),
        );
        b.push(
            C::new("XADD")
                .a("stream:small")
                .a("2-0")
                .a("other")
                .a(BIN)
                .a("n")
                .a("9223372036854775807"),
        );
        b.push(
            C::new("XADD")
                .a("stream:small")
                .a("1000000000000-0")
                .a("name")
                .a("")
                .a("n")
                .a(""),
        );
        b.push(
            C::new("XADD")
                .a("stream:small")
                .a("1000000000000-1")
                .a("single")
                .a("v".repeat(100)),
        );

        // Big stream: several listpack nodes (stream-node-max-entries 100).
        for i in 0..250u64 {
            let id = format!("{}-{}", 1_700_000_000_000u64 + (i / 3) * 1000, i % 3);
            let mut c = C::new("XADD").a("stream:big").a(id);
            if i % 5 == 0 {
                c = c
                    .a("different")
                    .a(format!("fields {i}"))
                    .a("int")
                    .a(INTS[(i as usize) % INTS.len()]);
            } else {
                c = c
                    .a("name")
                    .a(format!("entry-{i}"))
                    .a("value")
                    .a(INTS[(i as usize) % INTS.len()])
                    .a("n")
                    .a(i);
            }
            b.push(c);
        }
        b.push(
            C::new("XADD")
                .a("stream:bin-field")
                .a("5-5")
                .a(BIN)
                .a("v")
                .a("ok")
                .a(BIN),
        );
        b.push(
            C::new("XADD")
                .a("stream:all-deleted")
                .a("10-1")
                .a("a")
                .a("1"),
        );
        b.push(
            C::new("XADD")
                .a("stream:all-deleted")
                .a("10-2")
                .a("a")
                .a("2"),
        );
        b.push(C::new("XDEL").a("stream:all-deleted").a("10-1").a("10-2"));
        b.push(
            C::new("XGROUP")
                .a("CREATE")
                .a("stream:empty")
                .a("g")
                .a("$")
                .a("MKSTREAM"),
        );
        b.push(C::new("XADD").a(binkey("stream")).a("*").a("f").a(BIN));
        b.run(self.con);

        // Consumer groups, PEL, consumers.
        let key = "stream:big";
        self.run(C::new("XGROUP").a("CREATE").a(key).a("g1").a("0"));
        self.run(C::new("XGROUP").a("CREATE").a(key).a("g2").a("$"));
        self.run(
            C::new("XGROUP")
                .a("CREATE")
                .a(key)
                .a(&b"g\xff\xfe"[..])
                .a("1700000000000-0"),
        );
        let alice = self.xreadgroup(key, b"g1", "alice", 10);
        self.xreadgroup(key, b"g1", "bob", 5);
        let _ = self.xreadgroup(key, b"g\xff\xfe", "\u{e9}ve", 3);
        self.run(
            C::new("XACK")
                .a(key)
                .a("g1")
                .a(alice[0].clone())
                .a(alice[1].clone()),
        );
        // Claim one of alice's entries: moves to bob, delivery count 2.
        self.run(
            C::new("XCLAIM")
                .a(key)
                .a("g1")
                .a("bob")
                .a(0)
                .a(alice[5].clone()),
        );
        self.run(
            C::new("XGROUP")
                .a("CREATECONSUMER")
                .a(key)
                .a("g1")
                .a("carol"),
        );
        // Deleted entries: the first one, one still pending, some in the middle.
        self.run(
            C::new("XDEL")
                .a(key)
                .a("1700000000000-0")
                .a(alice[7].clone())
                .a("1700000040000-1")
                .a("1700000050000-2"),
        );

        self.run(
            C::new("XGROUP")
                .a("CREATE")
                .a("stream:small")
                .a("grp")
                .a("0"),
        );
        let _ = self.xreadgroup("stream:small", b"grp", "c1", 2);
        self.run(
            C::new("XGROUP")
                .a("CREATE")
                .a("stream:bin-field")
                .a("grp")
                .a("$"),
        );
        self.run(
            C::new("XGROUP")
                .a("CREATECONSUMER")
                .a("stream:bin-field")
                .a("grp")
                .a(&b"cons\xff"[..]),
        );
        self.run(
            C::new("XGROUP")
                .a("CREATE")
                .a("stream:all-deleted")
                .a("grp")
                .a("0"),
        );
    }

    // ------------------------------------------------------------ functions
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

    // ------------------------------------------------------------ modules
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
