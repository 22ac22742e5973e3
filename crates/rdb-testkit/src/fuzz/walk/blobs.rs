//! The standalone blob targets: `listpack`, `ziplist`, `intset` and `zipmap`.

use rdb_format::{Error, Flavor, Intset, Listpack, Scratch, Str, Value, Version, Ziplist, Zipmap};

use super::{check_error, fused_after, touch, Budget};

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
#[non_exhaustive]
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
