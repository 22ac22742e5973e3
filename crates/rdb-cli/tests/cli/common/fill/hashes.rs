//! Hashes in both encodings, and hash-field TTLs (Redis 7.4+, Valkey 9).

use super::*;

impl Filler<'_> {
    pub(super) fn hashes(&mut self) {
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

    pub(super) fn hpexpireat(&mut self, key: &str, at: i64, fields: &[Vec<u8>]) {
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

    pub(super) fn hash_field_ttls(&mut self) {
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
}
