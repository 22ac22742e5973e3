#!/usr/bin/env python3
"""Writes the Redis commands (RESP) that build one benchmark keyspace.

The output is fed to a real redis-server with `redis-cli --pipe`, then the server SAVEs: the
dump is written by Redis itself, never by us. Everything is drawn from a seeded PRNG, so the
same (kind, size, seed) always produces the same commands and therefore the same keyspace
(the dump's bytes still differ run to run: aux fields, hash-table iteration order).

    gen_dataset.py --kind cache --size 50M --seed 1 > cmds.resp
    gen_dataset.py --kind bigkeys --seed 3 > cmds.resp

Kinds:
  cache    a cache-like keyspace: many small strings (ints, tokens, JSON, text and binary
           blobs), small hashes/zsets/lists (listpack), small int sets (intset) and tag sets,
           streams with consumer groups, a heavy tail of big natively encoded hashes, zsets,
           sets and lists; expiries on ~30 % of keys; two databases.
  bigkeys  a few huge values: a 160 MB list, a 128 MB hash, a 100 MB incompressible binary
           string, a 128 MB compressible text string, plus a big zset, set and stream.

A summary (key counts, estimated payload, largest value) goes to stderr as JSON.
"""

import argparse
import bisect
import json
import random
import sys

# Bump when the generated keyspace changes: the dataset cache is keyed by it.
GEN_VERSION = 2

# Expiries are absolute and far in the future (2035-01-01 + up to 30 days), so cached dumps
# stay loadable for years and nothing expires while a server loads them.
EXPIRE_BASE_MS = 2051222400000
# Stream IDs start here (2026-01-01) and grow.
STREAM_BASE_MS = 1767225600000

# payload bytes -> dump bytes. The generator counts the bytes of keys and elements plus a
# small per-element overhead; the dump is smaller (LZF on text, int encodings). Calibrated
# on Redis 7.0 dumps so that --size is close to the resulting file size.
CACHE_CALIBRATION = 1.24


def parse_size(s):
    s = s.strip().upper()
    mult = 1
    for suffix, m in (("K", 1e3), ("M", 1e6), ("G", 1e9)):
        if s.endswith(suffix):
            s, mult = s[:-1], m
            break
    return int(float(s) * mult)


class Out:
    """Buffers RESP-encoded commands and writes them in large chunks."""

    def __init__(self, f):
        self.f = f
        self.buf = []
        self.size = 0
        self.commands = 0

    def cmd(self, *args):
        self.cmdv(args)

    def cmdv(self, args):
        enc = b"*%d\r\n" % len(args) + b"".join(
            [b"$%d\r\n%b\r\n" % (len(a), a) for a in args]
        )
        self.buf.append(enc)
        self.size += len(enc)
        self.commands += 1
        if self.size >= 1 << 22:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf = []
        self.size = 0


SYLLABLES = [
    b"ka", b"lo", b"mi", b"ne", b"ru", b"sa", b"ti", b"vo", b"xe", b"po", b"da", b"fen",
    b"gor", b"hal", b"jin", b"kel", b"mor", b"nix", b"pra", b"quo", b"ril", b"sto", b"tur",
    b"vex", b"wal", b"yen", b"zor", b"an", b"el", b"is", b"on", b"um", b"ber", b"cal",
]


class Text:
    """Pseudo-natural text: words from a fixed vocabulary, cut at random offsets.

    Compresses about as well as real text (LZF finds repeated words), unlike random bytes.
    """

    def __init__(self, rng):
        self.rng = rng
        words = set()
        while len(words) < 3000:
            n = rng.choice((1, 2, 2, 3, 3, 4))
            words.add(b"".join(rng.choice(SYLLABLES) for _ in range(n)))
        self.words = sorted(words)
        # Zipf-ish: a few words are very common.
        weights = [1.0 / (i + 1) ** 0.8 for i in range(len(self.words))]
        picked = rng.choices(self.words, weights=weights, k=400_000)
        self.corpus = b" ".join(picked)
        self.n = len(self.corpus)

    def take(self, length):
        o = self.rng.randrange(self.n - length - 1)
        return self.corpus[o : o + length]

    def word(self):
        return self.words[self.rng.randrange(len(self.words))]


def hexid(rng, nbytes=8):
    return b"%0*x" % (nbytes * 2, rng.getrandbits(nbytes * 8))


def fmt_score(rng):
    r = rng.random()
    if r < 0.5:
        return b"%d" % rng.randrange(0, 1_000_000)
    if r < 0.9:
        return b"%.17g" % (rng.random() * 10_000)
    return b"%d" % rng.randrange(-(2**40), 2**40)


HASH_FIELDS = [
    b"name", b"email", b"age", b"country", b"city", b"plan", b"created_at", b"last_login",
    b"login_count", b"locale", b"tz", b"avatar", b"status", b"score", b"referrer",
    b"device", b"os", b"version", b"theme", b"flags",
]


class Cache:
    """The cache-like keyspace."""

    def __init__(self, out, rng, budget):
        self.out = out
        self.rng = rng
        self.text = Text(rng)
        self.budget = budget
        self.payload = 0
        self.keys = 0
        self.kinds = {}
        self.largest = 0
        self.ms = STREAM_BASE_MS
        kinds = [
            ("str_counter", 0.12),
            ("str_token", 0.20),
            ("str_json", 0.16),
            ("str_text", 0.01),
            ("str_binary", 0.02),
            ("hash_small", 0.15),
            ("set_int", 0.05),
            ("set_tags", 0.03),
            ("zset_small", 0.07),
            ("list_small", 0.08),
            ("stream", 0.004),
            ("hash_big", 0.0002),
            ("zset_big", 0.0002),
            ("set_big", 0.0002),
            ("list_big", 0.0002),
        ]
        total = sum(w for _, w in kinds)
        acc = 0.0
        self.cum = []
        self.fns = []
        for name, w in kinds:
            acc += w / total
            self.cum.append(acc)
            self.fns.append((name, getattr(self, "gen_" + name)))

    # -- helpers -------------------------------------------------------------------------

    def expire(self, key, p):
        if self.rng.random() < p:
            at = EXPIRE_BASE_MS + self.rng.randrange(30 * 86400 * 1000)
            self.out.cmd(b"PEXPIREAT", key, b"%d" % at)
            self.payload += 9

    def count(self, name, nbytes):
        self.payload += nbytes
        self.keys += 1
        self.kinds[name] = self.kinds.get(name, 0) + 1
        if nbytes > self.largest:
            self.largest = nbytes

    def json_doc(self, n_fields):
        rng = self.rng
        parts = []
        for _ in range(n_fields):
            k = rng.choice(HASH_FIELDS)
            r = rng.random()
            if r < 0.4:
                v = b"%d" % rng.randrange(100000)
            elif r < 0.5:
                v = rng.choice((b"true", b"false", b"null"))
            else:
                v = b'"' + self.text.take(rng.randrange(4, 40)) + b'"'
            parts.append(b'"' + k + b'":' + v)
        return b"{" + b",".join(parts) + b"}"

    # -- strings ------------------------------------------------------------------------

    def set_string(self, name, key, value, p_expire=0.4):
        if self.rng.random() < p_expire:
            at = EXPIRE_BASE_MS + self.rng.randrange(30 * 86400 * 1000)
            self.out.cmd(b"SET", key, value, b"PXAT", b"%d" % at)
            self.payload += 9
        else:
            self.out.cmd(b"SET", key, value)
        self.count(name, len(key) + len(value) + 4)

    def gen_str_counter(self, i):
        rng = self.rng
        key = b"counter:%s:%d" % (rng.choice((b"views", b"likes", b"hits", b"rate")), i)
        r = rng.random()
        v = rng.randrange(100) if r < 0.5 else rng.randrange(1 << 31) if r < 0.9 else rng.randrange(1 << 62)
        self.set_string("str_counter", key, b"%d" % v, 0.5)

    def gen_str_token(self, i):
        rng = self.rng
        key = b"session:%s" % hexid(rng, 12)
        r = rng.random()
        if r < 0.5:
            v = hexid(rng, 16)
        elif r < 0.8:
            v = b"user:%d" % rng.randrange(10_000_000)
        else:
            v = self.text.take(rng.randrange(10, 60))
        self.set_string("str_token", key, v, 0.7)

    def gen_str_json(self, i):
        rng = self.rng
        key = b"cache:api:%s:%d" % (rng.choice((b"user", b"item", b"order", b"feed")), i)
        v = self.json_doc(rng.randrange(3, 12))
        self.set_string("str_json", key, v, 0.5)

    def gen_str_text(self, i):
        rng = self.rng
        key = b"cache:page:%s" % hexid(rng, 10)
        v = b"<div>" + self.text.take(rng.randrange(300, 4000)) + b"</div>"
        self.set_string("str_text", key, v, 0.5)

    def gen_str_binary(self, i):
        rng = self.rng
        key = b"blob:%d" % i
        v = rng.randbytes(rng.randrange(16, 512))
        self.set_string("str_binary", key, v, 0.2)

    # -- collections --------------------------------------------------------------------

    def gen_hash_small(self, i):
        rng = self.rng
        key = b"user:%d:profile" % i
        n = rng.randrange(3, 12)
        fields = rng.sample(HASH_FIELDS, n)
        args = [b"HSET", key]
        size = len(key)
        for f in fields:
            r = rng.random()
            v = b"%d" % rng.randrange(1 << 40) if r < 0.4 else self.text.take(rng.randrange(2, 50))
            args += (f, v)
            size += len(f) + len(v) + 4
        self.out.cmdv(args)
        self.count("hash_small", size)
        self.expire(key, 0.15)

    def gen_set_int(self, i):
        rng = self.rng
        key = b"followers:%d" % i
        n = rng.randrange(5, 60)
        width = rng.choice((1 << 15, 1 << 31, 1 << 50))
        members = [b"%d" % rng.randrange(width) for _ in range(n)]
        self.out.cmdv([b"SADD", key] + members)
        self.count("set_int", len(key) + n * (4 if width < (1 << 32) else 8))
        self.expire(key, 0.15)

    def gen_set_tags(self, i):
        rng = self.rng
        key = b"tags:item:%d" % i
        n = rng.randrange(2, 30)
        members = [self.text.word() for _ in range(n)]
        self.out.cmdv([b"SADD", key] + members)
        self.count("set_tags", len(key) + sum(len(m) + 2 for m in set(members)))
        self.expire(key, 0.15)

    def gen_zset_small(self, i):
        rng = self.rng
        key = b"leaderboard:%d" % i
        n = rng.randrange(5, 40)
        args = [b"ZADD", key]
        size = len(key)
        for j in range(n):
            s = fmt_score(rng)
            m = b"player:%d" % rng.randrange(1_000_000)
            args += (s, m)
            size += len(s) + len(m) + 4
        self.out.cmdv(args)
        self.count("zset_small", size)
        self.expire(key, 0.15)

    def gen_list_small(self, i):
        rng = self.rng
        key = b"queue:%d" % i
        n = rng.randrange(3, 30)
        if rng.random() < 0.5:
            items = [b"%d" % rng.randrange(1 << 32) for _ in range(n)]
        else:
            items = [self.text.take(rng.randrange(10, 80)) for _ in range(n)]
        self.out.cmdv([b"RPUSH", key] + items)
        self.count("list_small", len(key) + sum(len(x) + 2 for x in items))
        self.expire(key, 0.15)

    def gen_stream(self, i):
        rng = self.rng
        key = b"events:%d" % i
        n = rng.randrange(10, 100)
        size = len(key)
        for j in range(n):
            self.ms += rng.randrange(1, 50)
            ev = rng.choice((b"click", b"view", b"purchase", b"login", b"logout"))
            fields = [b"type", ev, b"user", b"%d" % rng.randrange(1_000_000)]
            if rng.random() < 0.5:
                fields += [b"payload", self.text.take(rng.randrange(10, 100))]
            self.out.cmdv([b"XADD", key, b"%d-%d" % (self.ms, j % 3)] + fields)
            size += sum(len(x) for x in fields) + 6
        if rng.random() < 0.3:
            self.out.cmd(b"XGROUP", b"CREATE", key, b"workers", b"0")
            for c in range(rng.randrange(1, 4)):
                self.out.cmd(
                    b"XREADGROUP", b"GROUP", b"workers", b"c%d" % c, b"COUNT",
                    b"%d" % rng.randrange(1, 20), b"STREAMS", key, b">",
                )
            size += 60
        if rng.random() < 0.1:
            self.out.cmd(b"XDEL", key, b"%d-0" % self.ms)
        self.count("stream", size)
        self.expire(key, 0.05)

    def gen_hash_big(self, i):
        rng = self.rng
        key = b"catalog:%d" % i
        n = rng.randrange(200, 5000)
        args = [b"HSET", key]
        size = len(key)
        for j in range(n):
            f = b"sku:%d" % j
            v = self.json_doc(rng.randrange(2, 6)) if rng.random() < 0.5 else b"%d" % rng.randrange(1 << 30)
            args += (f, v)
            size += len(f) + len(v) + 2
        self.out.cmdv(args)
        self.count("hash_big", size)

    def gen_zset_big(self, i):
        rng = self.rng
        key = b"ranking:%d" % i
        n = rng.randrange(200, 5000)
        args = [b"ZADD", key]
        size = len(key)
        for j in range(n):
            s = fmt_score(rng)
            m = b"member:%d:%s" % (j, hexid(rng, 4))
            args += (s, m)
            size += len(m) + 9
        self.out.cmdv(args)
        self.count("zset_big", size)

    def gen_set_big(self, i):
        rng = self.rng
        key = b"visitors:%d" % i
        n = rng.randrange(600, 5000)
        members = [b"%s" % hexid(rng, 8) for _ in range(n)]
        self.out.cmdv([b"SADD", key] + members)
        self.count("set_big", len(key) + n * 17)

    def gen_list_big(self, i):
        rng = self.rng
        key = b"log:%d" % i
        n = rng.randrange(1000, 10000)
        items = [self.text.take(rng.randrange(20, 120)) for _ in range(n)]
        self.out.cmdv([b"RPUSH", key] + items)
        self.count("list_big", len(key) + sum(len(x) + 2 for x in items))

    # -- driver -------------------------------------------------------------------------

    def run(self):
        db = 0
        target = self.budget * CACHE_CALIBRATION
        i = 0
        while self.payload < target:
            if db == 0 and self.payload > 0.9 * target:
                db = 1
                self.out.cmd(b"SELECT", b"1")
            r = self.rng.random()
            name, fn = self.fns[bisect.bisect_left(self.cum, r)]
            fn(i)
            i += 1


class BigKeys:
    """A few very large values."""

    def __init__(self, out, rng):
        self.out = out
        self.rng = rng
        self.text = Text(rng)
        self.payload = 0
        self.keys = 0
        self.kinds = {}
        self.values = {}
        self.ms = STREAM_BASE_MS

    def done(self, name, key, size):
        self.payload += size
        self.keys += 1
        self.kinds[name] = self.kinds.get(name, 0) + 1
        self.values[key.decode()] = size

    def run(self):
        rng, out, text = self.rng, self.out, self.text
        MB = 1_000_000

        # A 160 MB list of log lines, pushed in batches.
        key, size = b"big:list:log", 0
        while size < 160 * MB:
            items = [text.take(rng.randrange(60, 240)) for _ in range(5000)]
            out.cmdv([b"RPUSH", key] + items)
            size += sum(len(x) for x in items)
        self.done("list", key, size)

        # A 128 MB hash (hashtable encoding: values longer than 64 bytes).
        key, size, j = b"big:hash:docs", 0, 0
        while size < 128 * MB:
            args = [b"HSET", key]
            for _ in range(5000):
                f = b"doc:%08d" % j
                v = text.take(rng.randrange(60, 200))
                args += (f, v)
                size += len(f) + len(v)
                j += 1
            out.cmdv(args)
        self.done("hash", key, size)

        # A 100 MB incompressible binary string, appended in 8 MB chunks.
        key, size = b"big:string:blob", 0
        while size < 100 * MB:
            chunk = rng.randbytes(8 << 20)
            out.cmd(b"APPEND", key, chunk)
            size += len(chunk)
        self.done("string", key, size)

        # A 128 MB compressible text string (LZF-compressed in the dump).
        key, size = b"big:string:text", 0
        while size < 128 * MB:
            chunk = b" ".join(text.take(rng.randrange(200, 2000)) for _ in range(8000))
            out.cmd(b"APPEND", key, chunk)
            size += len(chunk)
        self.done("string", key, size)

        # A 1.5M-member zset (skiplist).
        key, size = b"big:zset:scores", 0
        for b in range(300):
            args = [b"ZADD", key]
            for j in range(5000):
                s = fmt_score(rng)
                m = b"player:%d:%d" % (b, j)
                args += (s, m)
                size += len(m) + 8
            out.cmdv(args)
        self.done("zset", key, size)

        # A 1M-member set (hashtable).
        key, size = b"big:set:ids", 0
        for b in range(200):
            members = [hexid(rng, 8) for _ in range(5000)]
            out.cmdv([b"SADD", key] + members)
            size += 16 * 5000
        self.done("set", key, size)

        # A 400k-entry stream with a consumer group and pending entries.
        key, size = b"big:stream:events", 0
        for j in range(400_000):
            self.ms += rng.randrange(1, 20)
            fields = [b"type", rng.choice((b"click", b"view", b"buy")),
                      b"user", b"%d" % rng.randrange(1_000_000),
                      b"payload", text.take(rng.randrange(20, 120))]
            out.cmdv([b"XADD", key, b"%d-0" % self.ms] + fields)
            size += sum(len(x) for x in fields) + 8
        out.cmd(b"XGROUP", b"CREATE", key, b"workers", b"0")
        for c in range(4):
            out.cmd(b"XREADGROUP", b"GROUP", b"workers", b"c%d" % c, b"COUNT", b"5000",
                    b"STREAMS", key, b">")
        self.done("stream", key, size)

        # And some ordinary small keys beside them.
        for i in range(20_000):
            k = b"small:%d" % i
            v = text.take(rng.randrange(10, 100))
            out.cmd(b"SET", k, v)
            self.payload += len(k) + len(v)
            self.keys += 1
            self.kinds["small_string"] = self.kinds.get("small_string", 0) + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", choices=("cache", "bigkeys"))
    ap.add_argument("--size", default="50M", help="target dump size for --kind cache (e.g. 50M, 1G)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--version", action="store_true", help="print the generator version and exit")
    args = ap.parse_args()
    if args.version:
        print(GEN_VERSION)
        return
    if args.kind is None:
        ap.error("--kind is required")

    rng = random.Random(args.seed)
    out = Out(sys.stdout.buffer)
    if args.kind == "cache":
        gen = Cache(out, rng, parse_size(args.size))
    else:
        gen = BigKeys(out, rng)
    gen.run()
    out.flush()
    sys.stdout.buffer.flush()
    summary = {
        "generator_version": GEN_VERSION,
        "kind": args.kind,
        "seed": args.seed,
        "keys": gen.keys,
        "commands": out.commands,
        "payload_bytes": gen.payload,
        "kinds": gen.kinds,
    }
    if args.kind == "bigkeys":
        summary["values"] = gen.values
    else:
        summary["largest_value_bytes"] = gen.largest
    print(json.dumps(summary), file=sys.stderr)


if __name__ == "__main__":
    main()
