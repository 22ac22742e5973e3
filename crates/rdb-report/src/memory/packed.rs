//! Packed-size arithmetic: the bytes of listpack and ziplist entries, containers and
//! quicklist nodes as the server builds them, and the integer rules they follow.

use super::*;

/// The entries of a ziplist or listpack blob.
pub(super) enum Entries<'b> {
    Ziplist(Ziplist<'b>),
    Listpack(Listpack<'b>),
}

impl<'b> Entries<'b> {
    /// The entries of `blob`, a ziplist for `*_ZIPLIST` encodings, else a listpack.
    pub(super) fn parse(encoding: Encoding, blob: &'b [u8]) -> Result<Self, ReportError> {
        Ok(match encoding {
            Encoding::ZSetZiplist | Encoding::HashZiplist | Encoding::ListZiplist => {
                Entries::Ziplist(Ziplist::parse(blob)?)
            }
            _ => Entries::Listpack(Listpack::parse(blob)?),
        })
    }
}

impl<'b> Iterator for Entries<'b> {
    type Item = rdb_format::Result<Str<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Entries::Ziplist(z) => z.next(),
            Entries::Listpack(l) => l.next(),
        }
    }
}

/// A listpack or ziplist being sized entry by entry.
pub(super) trait Packed {
    fn push(&mut self, s: Str<'_>);
    fn bytes(&self) -> u64;
}

/// Listpack size: 6-byte header, entries, end byte.
#[derive(Default)]
pub(super) struct LpSize(u64);

impl Packed for LpSize {
    fn push(&mut self, s: Str<'_>) {
        self.0 += lp_entry(s);
    }
    fn bytes(&self) -> u64 {
        6 + self.0 + 1
    }
}

/// Ziplist size: 10-byte header, entries (each with its previous entry's length), end byte.
#[derive(Default)]
pub(super) struct ZlSize {
    entries: u64,
    prev: u64,
}

impl Packed for ZlSize {
    fn push(&mut self, s: Str<'_>) {
        let prevlen = if self.prev < 254 { 1 } else { 5 };
        self.prev = prevlen + zl_entry_body(s);
        self.entries += self.prev;
    }
    fn bytes(&self) -> u64 {
        10 + self.entries + 1
    }
}

/// Bytes of a listpack holding the given groups of strings.
pub(super) fn lp_bytes<'s, const N: usize>(
    items: impl Iterator<Item = rdb_format::Result<[Str<'s>; N]>>,
) -> Result<u64, ReportError> {
    packed_bytes(items, LpSize::default())
}

/// Bytes of a ziplist holding the given groups of strings.
pub(super) fn zl_bytes<'s, const N: usize>(
    items: impl Iterator<Item = rdb_format::Result<[Str<'s>; N]>>,
) -> Result<u64, ReportError> {
    packed_bytes(items, ZlSize::default())
}

pub(super) fn packed_bytes<'s, const N: usize>(
    items: impl Iterator<Item = rdb_format::Result<[Str<'s>; N]>>,
    mut p: impl Packed,
) -> Result<u64, ReportError> {
    for group in items {
        for s in group? {
            p.push(s);
        }
    }
    Ok(p.bytes())
}

/// A sorted set packed as member, score, member, score, ... (scores as `d2string` text).
pub(super) fn zset_packed_bytes(
    members: rdb_format::ZSet<'_>,
    p: &mut dyn Packed,
) -> Result<u64, ReportError> {
    for m in members {
        let (member, score) = m?;
        p.push(member);
        let text = score_text(score);
        p.push(Str::Bytes(text.as_bytes()));
    }
    Ok(p.bytes())
}

/// A score as `d2string` writes it (integers without a fraction).
pub(super) fn score_text(score: f64) -> String {
    if score.is_finite() && score == score.trunc() && score.abs() < 1e17 {
        format!("{}", score as i64)
    } else if score.is_nan() {
        "nan".into()
    } else if score.is_infinite() {
        if score > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{score}")
    }
}

/// The integer a string holds when the server would store it as one: decimal, canonical
/// (no sign but `-`, no leading zero, not `-0`), in `i64` range.
pub(super) fn canonical_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || neg) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v <= i64::MAX as u64 + 1 {
            Some((v as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Length of a string (of an integer's decimal text) without formatting it.
pub(super) fn slen(s: Str<'_>) -> u64 {
    match s {
        Str::Bytes(b) => b.len() as u64,
        Str::Int(i) => int_len(i),
    }
}

/// Length of the decimal text of `i`.
pub(super) fn int_len(i: i64) -> u64 {
    let sign = u64::from(i < 0);
    let mut n = i.unsigned_abs();
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    sign + digits
}

pub(super) fn as_int(s: Str<'_>) -> Option<i64> {
    match s {
        Str::Int(i) => Some(i),
        Str::Bytes(b) => canonical_int(b),
    }
}

/// Bytes of one listpack entry holding `s`: encoding, data and back-length.
pub(super) fn lp_entry(s: Str<'_>) -> u64 {
    let body = match as_int(s) {
        Some(i) if (0..=127).contains(&i) => 1,
        Some(i) if (-4096..=4095).contains(&i) => 2,
        Some(i) if i16::try_from(i).is_ok() => 3,
        Some(i) if (-(1 << 23)..(1 << 23)).contains(&i) => 4,
        Some(i) if i32::try_from(i).is_ok() => 5,
        Some(_) => 9,
        None => {
            let len = slen(s);
            len + match len {
                0..=63 => 1,
                64..=4095 => 2,
                _ => 5,
            }
        }
    };
    body + match body {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes of one ziplist entry holding `s`, without its previous-length field.
pub(super) fn zl_entry_body(s: Str<'_>) -> u64 {
    match as_int(s) {
        Some(i) if (0..=12).contains(&i) => 1,
        Some(i) if i8::try_from(i).is_ok() => 2,
        Some(i) if i16::try_from(i).is_ok() => 3,
        Some(i) if (-(1 << 23)..(1 << 23)).contains(&i) => 4,
        Some(i) if i32::try_from(i).is_ok() => 5,
        Some(_) => 9,
        None => {
            let len = slen(s);
            len + match len {
                0..=63 => 1,
                64..=16383 => 2,
                _ => 5,
            }
        }
    }
}

/// Packs list elements into quicklist nodes as the server does when it builds a list element
/// by element (plain lists and ziplists of old dumps).
pub(super) struct Packer {
    /// Ziplist nodes (6.2) rather than listpack nodes.
    ziplist: bool,
    nodes: Vec<Node>,
    cur: Option<Node>,
}

impl Packer {
    pub(super) fn new(packing: &Packing) -> Self {
        Packer {
            ziplist: *packing == Packing::Ziplist,
            nodes: Vec::new(),
            cur: None,
        }
    }

    pub(super) fn push(&mut self, s: Str<'_>) {
        let len = slen(s);
        let (entry, empty) = if self.ziplist {
            // Ziplist nodes: the previous-length byte is almost always one byte.
            (1 + zl_entry_body(s), 11)
        } else {
            (lp_entry(s), 7)
        };
        let fits = self
            .cur
            .as_ref()
            .is_some_and(|n| n.bytes + len + 8 <= LIST_NODE_MAX_BYTES);
        if !fits {
            if let Some(n) = self.cur.take() {
                self.nodes.push(n);
            }
            self.cur = Some(Node {
                bytes: empty,
                lzf: None,
                plain: false,
            });
        }
        if let Some(n) = self.cur.as_mut() {
            n.bytes += entry;
        }
    }

    pub(super) fn finish(mut self) -> Vec<Node> {
        if let Some(n) = self.cur.take() {
            self.nodes.push(n);
        }
        self.nodes
    }
}

/// A quicklist node as loaded: its blob size, its LZF-compressed size in the dump (if it
/// was compressed there), and whether it holds one plain element.
#[derive(Clone, Copy, Debug)]
pub(super) struct Node {
    pub bytes: u64,
    pub lzf: Option<u64>,
    pub plain: bool,
}

/// The nodes of a `LIST_QUICKLIST` (ziplist nodes) or `LIST_QUICKLIST_2` value as stored.
pub(super) fn quicklist_nodes(r: &Record<'_>, scratch: &Scratch) -> Result<Vec<Node>, ReportError> {
    let Layout::Quicklist(nodes) = r.layout(scratch)? else {
        return Err(layout_mismatch(r));
    };
    Ok(nodes
        .iter()
        .map(|n| Node {
            bytes: n.len(),
            lzf: n.compressed_len(),
            plain: n.is_plain(),
        })
        .collect())
}

/// `LIST_QUICKLIST` (ziplist nodes) as Redis 7+ loads it: each ziplist converted to a
/// listpack of the same elements.
pub(super) fn ziplist_nodes_as_listpacks(
    r: &Record<'_>,
    scratch: &Scratch,
    elements: &mut u64,
    largest: &mut u64,
) -> Result<Vec<Node>, ReportError> {
    let Layout::Quicklist(nodes) = r.layout(scratch)? else {
        return Err(layout_mismatch(r));
    };
    let mut loaded = Vec::with_capacity(nodes.len());
    // Each node decompressed into one reused buffer: a huge list is never whole in memory.
    let mut buf = Vec::new();
    for node in &nodes {
        let blob = decoded_blob_bytes(
            node,
            node.data.decode_into(&mut buf)?,
            "quicklist node",
            "expected a ziplist blob",
        )?;
        let mut lp = LpSize::default();
        for e in Ziplist::parse(blob)? {
            let e = e?;
            *elements += 1;
            *largest = (*largest).max(slen(e));
            lp.push(e);
        }
        // The listpack compresses about as well as the ziplist did in the dump.
        let lzf = match node.data {
            RdbString::Lzf {
                compressed, len, ..
            } if len > 0 => Some(lp.bytes() * compressed.len() as u64 / len),
            _ => None,
        };
        loaded.push(Node {
            bytes: lp.bytes(),
            lzf,
            plain: false,
        });
    }
    Ok(loaded)
}
