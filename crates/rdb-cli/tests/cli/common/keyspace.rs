//! A generated keyspace shaped like an application's: many small keys under a few prefixes
//! (`user:`, `session:`, `cache:`, ...), expiries spread over the TTL histogram's ranges,
//! and a handful of known big keys. Used by the reports tests (memory model totals, `top`,
//! `--prefixes`, TTL histogram).

use super::bytes::Rng;
use super::fill::{Batch, C};
use redis::Connection;

/// What `generate` wrote, for the assertions.
#[derive(Debug, Default)]
pub struct Keyspace {
    /// (prefix at depth 1, number of keys) for every prefix written.
    pub prefixes: Vec<(&'static str, u64)>,
    /// Keys per TTL range, in the order of the top report's histogram: no expiry, expired,
    /// < 1h, < 1d, < 7d, later.
    pub ttl: [u64; 6],
    /// The big collections with their element counts, biggest count first.
    pub big_by_elements: Vec<(&'static str, u64)>,
    /// The key with the largest serialized size.
    pub biggest_serialized: &'static str,
    /// Total keys written (the prefixed ones and `config`).
    pub keys: u64,
}

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;

/// Writes the keyspace into the selected db. Only keys under the prefixes below and the key
/// `config` are written, so the counts stay exact next to other keys.
pub fn generate(con: &mut Connection, seed: u64) -> Keyspace {
    let mut rng = Rng::new(seed);
    let mut ks = Keyspace::default();
    let mut b = Batch::new();
    let mut ttl = [0u64; 6];

    // user:N — small hashes (listpack).
    for i in 0..300 {
        b.push(C::new("HSET").a(format!("user:{i}")).a(&[
            ("name", format!("user number {i}")),
            ("email", format!("user{i}@example.com")),
            ("age", format!("{}", 18 + i % 60)),
            ("plan", ["free", "pro", "team"][i % 3].to_string()),
        ][..]));
    }
    ttl[0] += 300;
    // session:N — 34-byte tokens expiring within the hour.
    for i in 0..400 {
        let token: String = rng
            .bytes(30)
            .iter()
            .map(|b| char::from(b'a' + b % 26))
            .collect();
        b.push(
            C::new("SET")
                .a(format!("session:{i}"))
                .a(format!("tok-{token}"))
                .a("PX")
                .a(30 * MIN + i as i64),
        );
    }
    ttl[2] += 400;
    // cache:page:N — 200 B to 2 KB pages expiring within the day.
    for i in 0..100 {
        let len = 200 + (i * 37) % 1800;
        let page = rng.bytes(len);
        b.push(
            C::new("SET")
                .a(format!("cache:page:{i}"))
                .a(page)
                .a("PX")
                .a(12 * HOUR),
        );
    }
    ttl[3] += 100;
    // rate:N — integer counters expiring within the week.
    for i in 0..200 {
        b.push(
            C::new("SET")
                .a(format!("rate:{i}"))
                .a(i * 1000 + 7)
                .a("PX")
                .a(3 * DAY),
        );
    }
    ttl[4] += 200;
    // feed:N — lists of 20 to 60 items.
    for i in 0..50 {
        let mut c = C::new("RPUSH").a(format!("feed:{i}"));
        for j in 0..(20 + i % 41) {
            c = c.a(format!("post:{}:{}", i, j * 7));
        }
        b.push(c);
    }
    ttl[0] += 50;
    // tags:N — sets; every third all-integer (intset).
    for i in 0..50 {
        let mut c = C::new("SADD").a(format!("tags:{i}"));
        for j in 0..(5 + i % 26) {
            c = if i % 3 == 0 {
                c.a(j * 31 + i)
            } else {
                c.a(format!("tag-{}", (j * 13 + i) % 97))
            };
        }
        b.push(c);
    }
    ttl[0] += 50;
    // score:N — small sorted sets.
    for i in 0..30 {
        let mut c = C::new("ZADD").a(format!("score:{i}"));
        for j in 0..(10 + i % 41) {
            c = c.a(j as f64 * 1.5 + i as f64).a(format!("player:{j}"));
        }
        b.push(c);
    }
    ttl[0] += 30;
    // events:N — streams of 50 entries.
    for i in 0..5 {
        for j in 0..50u64 {
            b.push(
                C::new("XADD")
                    .a(format!("events:{i}"))
                    .a(format!("{}-{}", 1_700_000_000_000u64 + j * 1000, j % 3))
                    .a("type")
                    .a(["click", "view", "buy"][(j % 3) as usize])
                    .a("user")
                    .a(j * 17 % 300),
            );
        }
    }
    ttl[0] += 5;
    b.push(C::new("SET").a("config").a("{\"mode\":\"production\"}"));
    ttl[0] += 1;
    b.run(con);

    // Big keys.
    let mut b = Batch::new();
    let mut c = C::new("RPUSH").a("big:list");
    for j in 0..20_000 {
        c = c.a(format!("item-{j:06}-{}", j % 97));
    }
    b.push(c);
    let mut c = C::new("HSET").a("big:hash");
    for j in 0..5_000 {
        c = c.a(format!("field:{j}")).a(format!("value number {j}"));
    }
    b.push(c);
    let mut c = C::new("SADD").a("big:set");
    for j in 0..4_000 {
        c = c.a(format!("member:{j:05}"));
    }
    b.push(c);
    let mut c = C::new("ZADD").a("big:zset");
    for j in 0..3_000 {
        c = c.a(j as f64 / 7.0).a(format!("m{j}"));
    }
    b.push(c);
    let big = rng.bytes(500_000);
    b.push(C::new("SET").a("big:string").a(big).a("PX").a(30 * DAY));
    b.run(con);
    ttl[0] += 4;
    ttl[5] += 1;

    ks.prefixes = vec![
        ("user:", 300),
        ("session:", 400),
        ("cache:", 100),
        ("rate:", 200),
        ("feed:", 50),
        ("tags:", 50),
        ("score:", 30),
        ("events:", 5),
        ("big:", 5),
    ];
    ks.ttl = ttl;
    ks.big_by_elements = vec![
        ("big:list", 20_000),
        ("big:hash", 5_000),
        ("big:set", 4_000),
        ("big:zset", 3_000),
    ];
    ks.biggest_serialized = "big:string";
    ks.keys = ks.prefixes.iter().map(|p| p.1).sum::<u64>() + 1;
    ks
}
