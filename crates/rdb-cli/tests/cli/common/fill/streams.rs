//! Streams with consumer groups, pending entries and deleted messages.

use super::*;

impl Filler<'_> {
    pub(super) fn xreadgroup(
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

    pub(super) fn streams(&mut self) {
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
}
