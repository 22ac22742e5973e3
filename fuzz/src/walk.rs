//! The walks every fuzz target runs, with the properties they assert.
//!
//! Depends only on `std` and `rdb_format`, so that `crates/rdb-format/tests/fuzz_regressions.rs`
//! includes this very file with `#[path]` and replays every regression through the same code.
//!
//! Properties, checked for every input (a violation panics, which libFuzzer reports as a crash):
//! * no panic anywhere in the decoder;
//! * every error carries an offset inside the input (`offset <= input length`), and a
//!   `blob_offset` no larger than any blob that input could decompress to;
//! * bounded work: each element visited (list item, member, pair, field, stream entry, field
//!   pair, group, PEL entry, consumer, consumer PEL id) consumes at least one byte of the input
//!   or of data decompressed from it, so the count may never exceed those bytes plus a small
//!   constant; a decoder that loops without consuming input trips this long before a timeout;
//! * a decoder, and every collection iterator of a value, yields nothing after its first error;
//! * the blob decoders agree with themselves: a blob read standalone, as an RDB value, and
//!   LZF-wrapped as an RDB value yields the same elements and the same error, with the offsets
//!   shifted exactly by the wrapping;
//! * checksum on and off agree on everything but the checksum;
//! * LZF decompression agrees with a plain byte-at-a-time reading of the format.

use rdb_format::lzf::{self, LzfError};
use rdb_format::{
    Decoder, DecoderOptions, Error, Flavor, Intset, Item, Listpack, Scratch, Str, Value, Version,
    Ziplist, Zipmap,
};

/// Versions the `value` target picks from with its second byte.
pub const VERSIONS: [Version; 17] = {
    let mut v = [Version {
        flavor: Flavor::Redis,
        number: 1,
    }; 17];
    let mut i = 0;
    while i < 15 {
        v[i].number = i as u32 + 1;
        i += 1;
    }
    v[15] = Version {
        flavor: Flavor::Valkey,
        number: 80,
    };
    v[16] = Version {
        flavor: Flavor::Valkey,
        number: 81,
    };
    v
};

/// Every fuzz target's name, as used in regression file names (`<target>-<name>`).
pub const TARGETS: [&str; 10] = [
    "whole_file",
    "value",
    "listpack",
    "ziplist",
    "intset",
    "zipmap",
    "lzf",
    "stream",
    "structured",
    "roundtrip",
];

/// Asserts the error properties for an input of `input_len` bytes.
pub fn check_error(e: &Error, input_len: usize, what: &str) {
    assert!(
        e.offset <= input_len as u64,
        "{what}: error offset {} past the {input_len}-byte input: {e}",
        e.offset
    );
    if let Some(b) = e.blob_offset {
        let max = lzf::max_decompressed_len(input_len);
        assert!(
            b <= max,
            "{what}: blob offset {b} past any blob {input_len} bytes can hold ({max}): {e}"
        );
    }
    // Display must not panic either.
    let shown = e.to_string();
    assert!(!shown.is_empty());
}

/// Counts visited elements against what the bytes allow.
pub struct Budget<'s> {
    used: u64,
    base: u64,
    scratch: Option<&'s Scratch>,
    what: &'static str,
}

impl<'s> Budget<'s> {
    /// At most `bytes + 8` elements, plus whatever is decompressed into `scratch`.
    pub fn new(bytes: usize, scratch: Option<&'s Scratch>, what: &'static str) -> Self {
        Budget {
            used: 0,
            base: bytes as u64 + 8,
            scratch,
            what,
        }
    }

    /// Elements visited so far.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// One more element.
    #[inline]
    pub fn tick(&mut self) {
        self.used += 1;
        if self.used > self.base {
            let extra = self.scratch.map_or(0, |s| s.allocated_bytes() as u64);
            assert!(
                self.used <= self.base + extra,
                "{}: visited {} elements from {} bytes (+{} decompressed): unbounded work",
                self.what,
                self.used,
                self.base - 8,
                extra
            );
        }
    }
}

/// Calls `f` on every item of `it` until the first error, which it returns; an error from `it`
/// itself must end it.
fn each<T, I: Iterator<Item = Result<T, Error>>>(
    mut it: I,
    budget: &mut Budget<'_>,
    mut f: impl FnMut(T, &mut Budget<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    while let Some(item) = it.next() {
        budget.tick();
        match item {
            Ok(x) => f(x, budget)?,
            Err(e) => {
                fused_after(&mut it, &e);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// A collection iterator that returned `e` must yield nothing more: elements after an error
/// would be read from a misaligned position or skip the broken one silently.
///
/// `RDB_FUZZ_NO_FUSE_CHECK=1` turns this one check off, to keep fuzzing past a known, reported
/// case until the decoder is fixed.
fn fused_after<T>(it: &mut impl Iterator<Item = Result<T, Error>>, e: &Error) {
    static OFF: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *OFF.get_or_init(|| std::env::var_os("RDB_FUZZ_NO_FUSE_CHECK").is_some_and(|v| v == "1")) {
        return;
    }
    assert!(
        it.next().is_none(),
        "a value iterator yielded more after its error: {e}"
    );
}

fn touch(s: Str<'_>) {
    // Exercise the accessors a sink would call.
    let n = s.len();
    if let Str::Bytes(b) = s {
        assert_eq!(n, b.len());
    }
    let _ = s.as_i64();
}

/// Visits every element of a decoded value.
pub fn walk_value(v: Value<'_>, budget: &mut Budget<'_>) -> Result<(), Error> {
    match v {
        Value::String(s) => {
            budget.tick();
            touch(s);
            Ok(())
        }
        Value::Module(m) => {
            budget.tick();
            let _ = m.id.name();
            let _ = format!("{:?}", m.id);
            Ok(())
        }
        Value::List(i) => each(i, budget, |s, _| {
            touch(s);
            Ok(())
        }),
        Value::Set(i) => each(i, budget, |s, _| {
            touch(s);
            Ok(())
        }),
        Value::ZSet(i) => each(i, budget, |(m, _score), _| {
            touch(m);
            Ok(())
        }),
        Value::Hash(i) => each(i, budget, |e, _| {
            touch(e.field);
            touch(e.value);
            Ok(())
        }),
        Value::Stream(s) => {
            let _ = (
                s.length,
                s.last_id,
                s.first_id,
                s.max_deleted_id,
                s.entries_added,
            );
            each(s.entries(), budget, |e, b| {
                let _ = e.id.to_string();
                let declared = e.fields.len();
                let mut seen = 0u64;
                each(e.fields, b, |(f, v), _| {
                    seen += 1;
                    touch(f);
                    touch(v);
                    Ok(())
                })?;
                assert_eq!(
                    seen, declared,
                    "stream entry yielded a wrong number of fields"
                );
                Ok(())
            })?;
            each(s.groups(), budget, |g, b| {
                touch(g.name);
                each(g.pending, b, |_, _| Ok(()))?;
                each(g.consumers, b, |c, b| {
                    touch(c.name);
                    for _id in c.pending {
                        b.tick();
                    }
                    Ok(())
                })
            })
        }
        _ => unreachable!("a value kind the fuzz walk does not know: teach it"),
    }
}

/// What a whole-file walk saw.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Items yielded before the end or the error.
    pub items: u64,
    /// Elements visited inside values.
    pub visited: u64,
    /// Where the EOF item was, if reached.
    pub eof: Option<u64>,
    /// The first error.
    pub error: Option<Error>,
}

/// Decodes every item of `data` and visits every element of every value.
pub fn walk_file(data: &[u8], options: DecoderOptions) -> Outcome {
    let mut out = Outcome::default();
    let mut dec = match Decoder::with_options(data, options) {
        Ok(d) => d,
        Err(e) => {
            check_error(&e, data.len(), "header");
            out.error = Some(e);
            return out;
        }
    };
    let _ = dec.version().magic();
    let mut scratch = Scratch::new();
    let mut decoder_done = false;
    loop {
        let item = match dec.next() {
            None => {
                decoder_done = true;
                break;
            }
            Some(Ok(item)) => item,
            Some(Err(e)) => {
                check_error(&e, data.len(), "item");
                out.error = Some(e);
                decoder_done = true;
                break;
            }
        };
        out.items += 1;
        assert!(
            out.items <= data.len() as u64,
            "{} items from {} bytes",
            out.items,
            data.len()
        );
        assert!(dec.position() <= data.len() as u64);
        if let Err(e) = visit_item(&item, &mut scratch, &mut out) {
            check_error(&e, data.len(), "value");
            out.error = Some(e);
            break;
        }
        scratch.reset();
        if let Item::Eof(eof) = item {
            assert!(eof.offset < data.len() as u64);
            assert!(eof.trailing_bytes <= data.len() as u64 - eof.offset);
            out.eof = Some(eof.offset);
        }
    }
    // Nothing after the end or an error (a value's error does not end the decoder).
    if decoder_done || out.eof.is_some() {
        assert!(
            dec.next().is_none(),
            "the decoder yielded an item after its end or an error"
        );
    }
    out
}

fn visit_item(item: &Item<'_>, scratch: &mut Scratch, out: &mut Outcome) -> Result<(), Error> {
    match item {
        Item::Aux { key, value } => {
            touch(key.decode(scratch)?);
            touch(value.decode(scratch)?);
        }
        Item::Function { code } => touch(code.decode(scratch)?),
        Item::FunctionPreGa {
            name,
            engine,
            description,
            code,
        } => {
            touch(name.decode(scratch)?);
            touch(engine.decode(scratch)?);
            if let Some(d) = description {
                touch(d.decode(scratch)?);
            }
            touch(code.decode(scratch)?);
        }
        Item::SlotImport { job, .. } => touch(job.decode(scratch)?),
        Item::ModuleAux { id, .. } => {
            let _ = id.name();
        }
        Item::Record(r) => {
            let _ = (r.data_type().as_str(), r.encoding.as_str());
            assert_eq!(r.value_raw.len() as u64 + r.value_offset, r.offset + r.len);
            let key = r.key.decode(scratch)?;
            assert_eq!(key.len() as u64, r.key.len());
            touch(key);
            let mut budget = Budget::new(r.value_raw.len(), Some(scratch), "record");
            let v = r.value(scratch)?;
            walk_value(v, &mut budget)?;
            out.visited += budget.used();
        }
        Item::SelectDb { .. } | Item::ResizeDb { .. } | Item::SlotInfo { .. } | Item::Eof(_) => {}
        _ => unreachable!("an item kind the fuzz walk does not know: teach it"),
    }
    Ok(())
}

/// The `whole_file` target: decodes with the checksum off (future versions allowed) and on,
/// and checks that the two agree.
pub fn whole_file(data: &[u8]) {
    let loose = walk_file(
        data,
        DecoderOptions {
            verify_checksum: false,
            allow_future_versions: true,
        },
    );
    let strict = walk_file(
        data,
        DecoderOptions {
            verify_checksum: true,
            allow_future_versions: false,
        },
    );
    let future = matches!(
        &strict.error,
        Some(e) if matches!(e.kind, rdb_format::ErrorKind::UnsupportedVersion { .. })
    );
    if future {
        return;
    }
    match &strict.error {
        None => {
            assert!(loose.error.is_none(), "only the unverified walk failed");
            assert_eq!(loose.items, strict.items);
            assert_eq!(loose.visited, strict.visited);
        }
        Some(e) if matches!(e.kind, rdb_format::ErrorKind::ChecksumMismatch { .. }) => {
            assert!(
                loose.error.is_none(),
                "checksum failed but the unverified walk failed too: {:?}",
                loose.error
            );
            assert_eq!(loose.items, strict.items + 1);
            assert_eq!(Some(e.offset), loose.eof.map(|o| o + 1));
        }
        Some(e) => {
            let l = loose.error.as_ref().expect("only the verified walk failed");
            assert_eq!(
                (l.offset, l.blob_offset, l.context),
                (e.offset, e.blob_offset, e.context)
            );
            assert_eq!(loose.items, strict.items);
        }
    }
}

/// The `value` target: type byte, version selector, payload.
pub fn value(data: &[u8]) {
    let [t, v, payload @ ..] = data else { return };
    let version = VERSIONS[usize::from(*v) % VERSIONS.len()];
    decode_and_walk(*t, version, payload);
}

/// The `stream` target: layout selector, payload decoded as a stream of type 15, 19 or 21.
pub fn stream(data: &[u8]) {
    let [t, payload @ ..] = data else { return };
    let ty = [15u8, 19, 21][usize::from(*t) % 3];
    let version = Version {
        flavor: Flavor::Redis,
        number: 11,
    };
    decode_and_walk(ty, version, payload);
}

fn decode_and_walk(ty: u8, version: Version, payload: &[u8]) {
    let scratch = Scratch::new();
    let r = Value::decode(ty, version, payload, &scratch).and_then(|v| {
        let mut budget = Budget::new(payload.len(), Some(&scratch), "value");
        walk_value(v, &mut budget)
    });
    if let Err(e) = r {
        check_error(&e, payload.len(), "value");
    }
}

/// Targets the `roundtrip` target re-encodes every value for: Redis RDB 5–12 and Valkey 80.
pub fn roundtrip_targets() -> impl Iterator<Item = Version> {
    VERSIONS[4..12].iter().chain(&VERSIONS[15..16]).copied()
}

/// The `roundtrip` target: the `value` input (type byte, version selector, payload). A value
/// that decodes whole is encoded for every target of [`roundtrip_targets`]; the encoder either
/// says the target cannot hold it, or writes bytes that decode (as the type byte it returned,
/// for that target) to the same value: the same elements, in the same order where order is
/// part of the type, with integers and their decimal strings counted as equal.
pub fn roundtrip(data: &[u8]) {
    let [t, v, payload @ ..] = data else { return };
    let version = VERSIONS[usize::from(*v) % VERSIONS.len()];
    let scratch = Scratch::new();
    let Ok(value) = Value::decode(*t, version, payload, &scratch) else {
        return;
    };
    let Ok(want) = picture(value.clone()) else {
        return;
    };
    for target in roundtrip_targets() {
        let mut bytes = Vec::new();
        let ty = match rdb_format::encode::encode_value(&value, target, &mut bytes) {
            Ok(ty) => ty,
            Err(rdb_format::encode::EncodeError::Unsupported { .. }) => continue,
            Err(e) => panic!("encoding a value that decoded whole for {target} failed: {e}"),
        };
        let again = Scratch::new();
        let back = Value::decode(ty, target, &bytes, &again)
            .and_then(picture)
            .unwrap_or_else(|e| {
                panic!("the value encoded for {target} as type {ty} does not decode: {e}")
            });
        let (mut a, mut b) = (want.clone(), back);
        align_pictures(&mut a, &mut b);
        assert!(
            a == b,
            "the value encoded for {target} as type {ty} decodes differently:\n\
             source ({version}, type {t}): {a:?}\nre-encoded: {b:?}"
        );
    }
}

/// A comparable picture of a value: a kind, the elements as tokens (sorted where the type
/// has no order), and stream metadata split out so layouts that lack a field can drop it.
#[derive(Clone, Debug, PartialEq)]
struct Picture {
    kind: &'static str,
    elements: Vec<Vec<u8>>,
    /// Layout 2+ stream metadata: first id, max deleted id, entries added, and each group's
    /// entries_read.
    stream_v2: Option<Vec<String>>,
    /// Layout 3 consumer active times.
    stream_v3: Option<Vec<Option<i64>>>,
}

fn token(s: Str<'_>) -> Vec<u8> {
    match s {
        Str::Bytes(b) => b.to_vec(),
        Str::Int(i) => i.to_string().into_bytes(),
    }
}

fn picture(v: Value<'_>) -> Result<Picture, Error> {
    let mut p = Picture {
        kind: "",
        elements: Vec::new(),
        stream_v2: None,
        stream_v3: None,
    };
    let mut sort = true;
    match v {
        Value::String(s) => {
            p.kind = "string";
            p.elements.push(token(s));
        }
        Value::Module(m) => {
            p.kind = "module";
            p.elements.push(m.id.0.to_le_bytes().to_vec());
            p.elements.push(m.raw.to_vec());
        }
        Value::List(i) => {
            p.kind = "list";
            sort = false;
            for s in i {
                p.elements.push(token(s?));
            }
        }
        Value::Set(i) => {
            p.kind = "set";
            for s in i {
                p.elements.push(token(s?));
            }
        }
        Value::ZSet(i) => {
            p.kind = "zset";
            for r in i {
                let (m, score) = r?;
                // Any NaN is one NaN; otherwise bit for bit (so -0 stays -0).
                let bits = if score.is_nan() {
                    u64::MAX
                } else {
                    score.to_bits()
                };
                let mut t = token(m);
                t.extend_from_slice(b"\0score=");
                t.extend_from_slice(&bits.to_le_bytes());
                p.elements.push(t);
            }
        }
        Value::Hash(i) => {
            p.kind = "hash";
            for r in i {
                let e = r?;
                let mut t = token(e.field);
                t.push(0);
                t.extend_from_slice(&token(e.value));
                t.extend_from_slice(format!("\0ttl={:?}", e.expire_ms).as_bytes());
                p.elements.push(t);
            }
        }
        Value::Stream(s) => {
            p.kind = "stream";
            sort = false;
            p.elements
                .push(format!("length={} last={}", s.length, s.last_id).into_bytes());
            let mut v2 = vec![format!(
                "first={:?} maxdel={:?} added={:?}",
                s.first_id.map(|i| i.to_string()),
                s.max_deleted_id.map(|i| i.to_string()),
                s.entries_added
            )];
            let mut v3 = Vec::new();
            for e in s.entries() {
                let e = e?;
                let mut t = e.id.to_string().into_bytes();
                for f in e.fields {
                    let (f, v) = f?;
                    t.push(0);
                    t.extend_from_slice(&token(f));
                    t.push(0);
                    t.extend_from_slice(&token(v));
                }
                p.elements.push(t);
            }
            for g in s.groups() {
                let g = g?;
                let mut t = token(g.name);
                t.extend_from_slice(format!("\0last={}", g.last_delivered_id).as_bytes());
                v2.push(format!("entries_read={:?}", g.entries_read));
                for pe in g.pending {
                    let pe = pe?;
                    t.extend_from_slice(
                        format!(
                            "\0pel={} {} {}",
                            pe.id, pe.delivery_time_ms, pe.delivery_count
                        )
                        .as_bytes(),
                    );
                }
                for c in g.consumers {
                    let c = c?;
                    t.push(0);
                    t.extend_from_slice(&token(c.name));
                    t.extend_from_slice(format!(" seen={}", c.seen_time_ms).as_bytes());
                    v3.push(c.active_time_ms);
                    for id in c.pending {
                        t.extend_from_slice(format!(" {id}").as_bytes());
                    }
                }
                p.elements.push(t);
            }
            p.stream_v2 = Some(v2);
            p.stream_v3 = Some(v3);
        }
        _ => unreachable!("a value kind the fuzz model does not know: teach it"),
    }
    if sort {
        p.elements.sort();
    }
    Ok(p)
}

/// Drops stream metadata from both pictures where either layout lacks it (an older target
/// cannot hold it; the encoder invents nothing a reader would trust).
fn align_pictures(a: &mut Picture, b: &mut Picture) {
    let lacks_v2 = |p: &Picture| {
        p.stream_v2
            .as_ref()
            .is_some_and(|v| v.first().is_some_and(|s| s.contains("None")))
    };
    if lacks_v2(a) || lacks_v2(b) {
        a.stream_v2 = None;
        b.stream_v2 = None;
    }
    let lacks_v3 = |p: &Picture| {
        p.stream_v3
            .as_ref()
            .is_some_and(|v| v.iter().any(Option::is_none))
    };
    if lacks_v3(a) || lacks_v3(b) {
        a.stream_v3 = None;
        b.stream_v3 = None;
    }
}

/// One element of a blob: a member, or a zipmap field/value pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem<'a> {
    One(Str<'a>),
    Pair(Str<'a>, Str<'a>),
}

type Elems<'a> = Box<dyn Iterator<Item = Result<Elem<'a>, Error>> + 'a>;

/// The RDB length encoding of `n` (shortest form).
fn rdb_len(n: usize, out: &mut Vec<u8>) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
    } else if n <= u32::MAX as usize {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&(n as u64).to_be_bytes());
    }
}

/// `blob` as a raw RDB string, and the size of its length prefix.
fn as_raw_string(blob: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(blob.len() + 9);
    rdb_len(blob.len(), &mut out);
    let hdr = out.len();
    out.extend_from_slice(blob);
    (out, hdr)
}

/// `blob` as an LZF-compressed RDB string made of literal runs only.
fn as_lzf_string(blob: &[u8]) -> Vec<u8> {
    let mut compressed = Vec::with_capacity(blob.len() + blob.len() / 32 + 1);
    for chunk in blob.chunks(32) {
        compressed.push(chunk.len() as u8 - 1);
        compressed.extend_from_slice(chunk);
    }
    let mut out = vec![0xC3];
    rdb_len(compressed.len(), &mut out);
    rdb_len(blob.len(), &mut out);
    out.extend_from_slice(&compressed);
    out
}

/// Which blob decoder a standalone blob target exercises.
#[derive(Clone, Copy, Debug)]
pub enum Blob {
    /// `Listpack::parse`, and type 20 (`SET_LISTPACK`).
    Listpack,
    /// `Ziplist::parse`, and type 10 (`LIST_ZIPLIST`).
    Ziplist,
    /// `Intset::parse`, and type 11 (`SET_INTSET`).
    Intset,
    /// `Zipmap::parse`, and type 9 (`HASH_ZIPMAP`).
    Zipmap,
}

/// The blob's elements read on their own; a header error is the only item.
fn standalone(kind: Blob, blob: &[u8]) -> (Elems<'_>, Option<u64>) {
    fn boxed<'a, I: Iterator<Item = Result<Elem<'a>, Error>> + 'a>(i: I) -> Elems<'a> {
        Box::new(i)
    }
    let r = match kind {
        Blob::Listpack => Listpack::parse(blob).map(|lp| {
            let n = lp.declared_len();
            (boxed(lp.map(|r| r.map(Elem::One))), n)
        }),
        Blob::Ziplist => Ziplist::parse(blob).map(|zl| {
            let n = zl.declared_len();
            (boxed(zl.map(|r| r.map(Elem::One))), n)
        }),
        Blob::Intset => Intset::parse(blob).map(|is| {
            let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
            let n = ((blob.len() - 8) / width) as u64;
            (boxed(is.map(|r| r.map(Elem::One))), Some(n))
        }),
        Blob::Zipmap => Zipmap::parse(blob)
            .map(|zm| (boxed(zm.map(|r| r.map(|(k, v)| Elem::Pair(k, v)))), None)),
    };
    r.unwrap_or_else(|e| (boxed(std::iter::once(Err(e))), None))
}

/// The blob's elements read as an RDB value (`raw` is an RDB string holding it).
fn as_value<'a>(kind: Blob, raw: &'a [u8], scratch: &'a Scratch) -> Elems<'a> {
    let ty = match kind {
        Blob::Listpack => 20,
        Blob::Ziplist => 10,
        Blob::Intset => 11,
        Blob::Zipmap => 9,
    };
    let version = Version {
        flavor: Flavor::Redis,
        number: 11,
    };
    match Value::decode(ty, version, raw, scratch) {
        Err(e) => Box::new(std::iter::once(Err(e))),
        Ok(Value::List(i)) => Box::new(i.map(|r| r.map(Elem::One))),
        Ok(Value::Set(i)) => Box::new(i.map(|r| r.map(Elem::One))),
        Ok(Value::Hash(i)) => Box::new(i.map(|r| {
            r.map(|e| {
                assert_eq!(e.expire_ms, None);
                Elem::Pair(e.field, e.value)
            })
        })),
        Ok(other) => panic!("type {ty} decoded as {other:?}"),
    }
}

/// A standalone blob target: the blob read on its own, as a raw RDB value, and as an
/// LZF-compressed RDB value must agree exactly, element by element; an error must come at the
/// same point, with the offset shifted by the string's length prefix (raw) or moved to the
/// string's start with the blob position in `blob_offset` (LZF).
pub fn blob(kind: Blob, blob: &[u8]) {
    let (raw, hdr) = as_raw_string(blob);
    let lzf = as_lzf_string(blob);
    let (s1, s2) = (Scratch::new(), Scratch::new());
    let (mut alone, declared) = standalone(kind, blob);
    let mut in_raw = as_value(kind, &raw, &s1);
    let mut in_lzf = as_value(kind, &lzf, &s2);
    let mut budget = Budget::new(blob.len(), None, "blob");
    let mut count = 0u64;
    loop {
        budget.tick();
        let (a, b, c) = (alone.next(), in_raw.next(), in_lzf.next());
        match (a, b, c) {
            (None, None, None) => {
                if let Some(n) = declared {
                    assert_eq!(n, count, "{kind:?}: declared count not enforced");
                }
                return;
            }
            (Some(Ok(a)), Some(Ok(b)), Some(Ok(c))) => {
                let (Elem::One(s) | Elem::Pair(s, _)) = a;
                touch(s);
                assert_eq!(a, b, "{kind:?}: element {count} standalone vs raw value");
                assert_eq!(a, c, "{kind:?}: element {count} standalone vs LZF value");
                count += 1;
            }
            (Some(Err(a)), Some(Err(b)), Some(Err(c))) => {
                check_error(&a, blob.len(), "blob");
                assert_eq!(a.blob_offset, None);
                let want = (a.offset + hdr as u64, None, a.context, &a.kind);
                assert_eq!(
                    (b.offset, b.blob_offset, b.context, &b.kind),
                    want,
                    "{kind:?}: standalone and raw-value errors differ"
                );
                let want = (0, Some(a.offset), a.context, &a.kind);
                assert_eq!(
                    (c.offset, c.blob_offset, c.context, &c.kind),
                    want,
                    "{kind:?}: standalone and LZF-value errors differ"
                );
                fused_after(&mut alone, &a);
                fused_after(&mut in_raw, &b);
                fused_after(&mut in_lzf, &c);
                return;
            }
            (a, b, c) => panic!(
                "{kind:?}: element {count} differs: standalone {a:?}, raw value {b:?}, LZF value {c:?}"
            ),
        }
    }
}

/// The `lzf` target: two bytes of declared output length (little-endian), then the data.
pub fn lzf(data: &[u8]) {
    let [a, b, input @ ..] = data else { return };
    let declared = usize::from(u16::from_le_bytes([*a, *b]));
    let mut out = vec![0u8; declared];
    let r = lzf::decompress(input, &mut out);
    match r {
        Ok(()) => {
            assert!(declared as u64 <= lzf::max_decompressed_len(input.len()));
        }
        Err(LzfError::Truncated { at })
        | Err(LzfError::BadReference { at })
        | Err(LzfError::Overflow { at }) => {
            assert!(
                at < input.len(),
                "LZF error position {at} past {}",
                input.len()
            );
        }
        Err(LzfError::Short { produced, expected }) => {
            assert_eq!(expected, declared);
            assert!(produced < expected);
        }
        Err(e) => panic!("an LZF error the fuzz walk does not know: {e:?}"),
    }
    // The same as a plain, byte-at-a-time reading of the format (liblzf's `lzf_d.c`), which
    // the decoder's fast paths (over-long literal copies, 8-byte back-reference chunks) must not
    // change: same bytes out, and an error exactly when the plain reading has one.
    let plain = lzf_plain(input, declared);
    match (&r, &plain) {
        (Ok(()), Ok(bytes)) => assert!(out == *bytes, "LZF output differs from a plain reading"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "LZF decoder says {a:?}, a plain reading {:?}",
            b.as_ref().map(|_| ())
        ),
    }
    // What the input literally says must come back out of a literal-only encoding.
    let mut compressed = Vec::new();
    for chunk in input.chunks(32) {
        compressed.push(chunk.len() as u8 - 1);
        compressed.extend_from_slice(chunk);
    }
    let mut back = vec![0u8; input.len()];
    lzf::decompress(&compressed, &mut back).expect("literal-only LZF");
    assert_eq!(back, input);
}

/// LZF decompression written as plainly as the format reads: one byte at a time.
fn lzf_plain(input: &[u8], expected: usize) -> Result<Vec<u8>, LzfError> {
    let mut out: Vec<u8> = Vec::with_capacity(expected);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        let start = ip;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if ip + run > input.len() {
                return Err(LzfError::Truncated { at: start });
            }
            if out.len() + run > expected {
                return Err(LzfError::Overflow { at: start });
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or(LzfError::Truncated { at: start })?);
                ip += 1;
            }
            len += 2;
            let low = usize::from(*input.get(ip).ok_or(LzfError::Truncated { at: start })?);
            ip += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            if back > out.len() {
                return Err(LzfError::BadReference { at: start });
            }
            if out.len() + len > expected {
                return Err(LzfError::Overflow { at: start });
            }
            for _ in 0..len {
                out.push(out[out.len() - back]);
            }
        }
    }
    if out.len() != expected {
        return Err(LzfError::Short {
            produced: out.len(),
            expected,
        });
    }
    Ok(out)
}

/// Replays one regression file through the walk of the target its name starts with
/// (`<target>-<name>`). `structured` regressions are stored as the RDB file they generated and
/// replay through `whole_file`.
pub fn replay(name: &str, data: &[u8]) {
    let target = TARGETS
        .iter()
        .copied()
        .filter(|t| name.starts_with(&format!("{t}-")))
        .max_by_key(|t| t.len())
        .unwrap_or_else(|| panic!("regression file {name} does not start with a target name"));
    run(target, data);
}

/// Runs the walk of `target` on `data`.
pub fn run(target: &str, data: &[u8]) {
    match target {
        "whole_file" | "structured" => whole_file(data),
        "value" => value(data),
        "stream" => stream(data),
        "listpack" => blob(Blob::Listpack, data),
        "ziplist" => blob(Blob::Ziplist, data),
        "intset" => blob(Blob::Intset, data),
        "zipmap" => blob(Blob::Zipmap, data),
        "lzf" => lzf(data),
        "roundtrip" => roundtrip(data),
        other => panic!("unknown target {other}"),
    }
}
