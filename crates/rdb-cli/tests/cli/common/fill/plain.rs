//! Strings (every integer width, binary values), LRU/LFU metadata, lists, sets and sorted
//! sets, each in its compact and native encodings.

use super::*;

impl Filler<'_> {
    pub(super) fn strings(&mut self) {
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

    /// Keys with a large idle time (LRU policies) or specific LFU counters
    /// (LFU policies), set through RESTORE ... IDLETIME / FREQ.
    pub(super) fn lru_lfu(&mut self) {
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

    pub(super) fn lists(&mut self) {
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

    pub(super) fn sets(&mut self) {
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

    pub(super) fn zsets(&mut self) {
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
}
