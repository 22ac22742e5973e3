//! 128-bit digests of keys and of decoded logical values.
//!
//! A value's digest depends on what Redis would return for it, not on how the dump stores
//! it: integers stored as integers hash as their decimal text, and the members of sets,
//! hashes and sorted sets are hashed one by one and summed (wrapping), so their order does
//! not count. Lists and streams are hashed in order.

use rdb_format::{Encoding, Layout, Record, Scratch, Str, Type, Value};
use xxhash_rust::xxh3::{xxh3_128, Xxh3};

/// The hash of a key in a database: what the comparison keeps instead of the key.
pub fn key_hash(db: u64, key: &[u8]) -> u128 {
    let mut h = Xxh3::new();
    h.update(&db.to_le_bytes());
    h.update(key);
    h.digest128()
}

/// Appends `s` with its length first, so that concatenations cannot collide.
fn push_str(buf: &mut Vec<u8>, s: Str<'_>) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 8]);
    s.write_to(buf);
    let len = (buf.len() - start - 8) as u64;
    buf[start..start + 8].copy_from_slice(&len.to_le_bytes());
}

/// Sums element hashes: the order of the elements does not change the result.
#[derive(Default)]
struct Unordered {
    sum: u128,
    count: u64,
    buf: Vec<u8>,
}

impl Unordered {
    fn add(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        self.buf.clear();
        fill(&mut self.buf);
        self.sum = self.sum.wrapping_add(xxh3_128(&self.buf));
        self.count += 1;
    }

    fn finish(self, tag: u8) -> u128 {
        let mut b = Vec::with_capacity(25);
        b.push(tag);
        b.extend_from_slice(&self.sum.to_le_bytes());
        b.extend_from_slice(&self.count.to_le_bytes());
        xxh3_128(&b)
    }
}

/// Compressed strings at least this long are hashed piece by piece as they are
/// decompressed, never whole.
const HUGE_STRING: u64 = 8 << 20;

/// The digest of a record's decoded value (its TTL and key are not part of it). Lists,
/// sets, sorted sets and hashes are walked with reused buffers and huge compressed strings
/// decompressed through a window, so a huge value is never decompressed whole.
pub fn value_digest(r: &Record<'_>, scratch: &Scratch) -> rdb_format::Result<u128> {
    if let Some(digest) = huge_string_digest(r, scratch)? {
        return Ok(digest);
    }
    let mut buf = Vec::new();
    Ok(match r.value(scratch)? {
        Value::String(s) => {
            buf.push(b's');
            push_str(&mut buf, s);
            xxh3_128(&buf)
        }
        Value::List(items) => {
            let mut h = Xxh3::new();
            h.update(b"l");
            items.try_for_each_element(|item| {
                buf.clear();
                push_str(&mut buf, item);
                h.update(&buf);
                Ok::<(), rdb_format::Error>(())
            })?;
            h.digest128()
        }
        Value::Set(members) => {
            let mut u = Unordered::default();
            members.try_for_each_member(|m| {
                u.add(|b| push_str(b, m));
                Ok::<(), rdb_format::Error>(())
            })?;
            u.finish(b'S')
        }
        Value::ZSet(members) => {
            let mut u = Unordered::default();
            members.try_for_each_member(|member, score| {
                u.add(|b| {
                    push_str(b, member);
                    // -0 and 0 are the same score to Redis.
                    let score = if score == 0.0 { 0.0 } else { score };
                    b.extend_from_slice(&score.to_bits().to_le_bytes());
                });
                Ok::<(), rdb_format::Error>(())
            })?;
            u.finish(b'z')
        }
        Value::Hash(fields) => {
            let mut u = Unordered::default();
            fields.try_for_each_entry(|e| {
                u.add(|b| {
                    push_str(b, e.field);
                    push_str(b, e.value);
                    if let Some(ms) = e.expire_ms {
                        b.extend_from_slice(&ms.to_le_bytes());
                    }
                });
                Ok::<(), rdb_format::Error>(())
            })?;
            u.finish(b'h')
        }
        Value::Stream(stream) => {
            let mut h = Xxh3::new();
            h.update(b"x");
            h.update(&stream.length.to_le_bytes());
            h.update(&stream.last_id.ms.to_le_bytes());
            h.update(&stream.last_id.seq.to_le_bytes());
            for entry in stream.entries() {
                let entry = entry?;
                buf.clear();
                buf.extend_from_slice(&entry.id.ms.to_le_bytes());
                buf.extend_from_slice(&entry.id.seq.to_le_bytes());
                buf.extend_from_slice(&entry.fields.len().to_le_bytes());
                for pair in entry.fields {
                    let (field, value) = pair?;
                    push_str(&mut buf, field);
                    push_str(&mut buf, value);
                }
                h.update(&buf);
            }
            for group in stream.groups() {
                let group = group?;
                buf.clear();
                push_str(&mut buf, group.name);
                buf.extend_from_slice(&group.last_delivered_id.ms.to_le_bytes());
                buf.extend_from_slice(&group.last_delivered_id.seq.to_le_bytes());
                h.update(&buf);
            }
            h.digest128()
        }
        Value::Module(module) => {
            let mut h = Xxh3::new();
            h.update(b"m");
            h.update(&module.id.0.to_le_bytes());
            h.update(module.raw);
            h.digest128()
        }
        // A value kind this build does not know: its stored bytes stand for it.
        _ => xxh3_128(r.value_raw),
    })
}

/// The digest of a compressed string of [`HUGE_STRING`] bytes or more, the one
/// [`value_digest`] gives any string (`s`, its length, its bytes), fed piece by piece.
fn huge_string_digest(r: &Record<'_>, scratch: &Scratch) -> rdb_format::Result<Option<u128>> {
    if r.encoding != Encoding::String {
        return Ok(None);
    }
    let Layout::String(s) = r.layout(scratch)? else {
        return Ok(None);
    };
    if !s.is_compressed() || s.len() < HUGE_STRING {
        return Ok(None);
    }
    let mut h = Xxh3::new();
    h.update(b"s");
    h.update(&s.len().to_le_bytes());
    s.try_for_each_piece(1 << 20, &mut |piece| {
        h.update(piece);
        Ok::<(), rdb_format::Error>(())
    })?;
    Ok(Some(h.digest128()))
}

/// The types a comparison entry can name, by index.
pub(super) const TYPES: [Type; 7] = [
    Type::String,
    Type::List,
    Type::Set,
    Type::ZSet,
    Type::Hash,
    Type::Stream,
    Type::Module,
];

/// The index of `t` in [`TYPES`] (`u8::MAX` for a type this build does not list).
pub(super) fn type_index(t: Type) -> u8 {
    TYPES
        .iter()
        .position(|&x| x == t)
        .map_or(u8::MAX, |i| i as u8)
}

/// The name of a type index.
pub(super) fn type_name(i: u8) -> &'static str {
    TYPES.get(usize::from(i)).map_or("unknown", |t| t.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdb_format::{Decoder, Item};

    /// A dump holding one string key `k`, its value stored `value` (type byte 0).
    fn dump(value: &[u8]) -> Vec<u8> {
        let mut d = b"REDIS0011\x00\x01k".to_vec();
        d.extend_from_slice(value);
        d.push(0xff);
        d.extend_from_slice(&[0; 8]);
        d
    }

    fn len32(n: usize) -> Vec<u8> {
        let mut b = vec![0x80];
        b.extend_from_slice(&(n as u32).to_be_bytes());
        b
    }

    fn digest(dump: &[u8]) -> u128 {
        let scratch = Scratch::new();
        for item in Decoder::new(dump).unwrap() {
            if let Item::Record(r) = item.unwrap() {
                return value_digest(&r, &scratch).unwrap();
            }
        }
        panic!("no record")
    }

    /// A huge compressed string, hashed through the window, has the digest of the same
    /// bytes stored raw (hashed whole), and a short compressed one too.
    #[test]
    fn huge_compressed_strings_digest_like_raw_ones() {
        for n in [100usize, HUGE_STRING as usize + 12_345] {
            let text: Vec<u8> = (0..n).map(|i| b'a' + (i * 7 % 26) as u8).collect();
            let mut raw = len32(n);
            raw.extend_from_slice(&text);
            // Literal-only LZF: valid, if larger than the text.
            let mut lzf = Vec::new();
            for chunk in text.chunks(32) {
                lzf.push(chunk.len() as u8 - 1);
                lzf.extend_from_slice(chunk);
            }
            let mut compressed = vec![0xC3];
            compressed.extend_from_slice(&len32(lzf.len()));
            compressed.extend_from_slice(&len32(n));
            compressed.extend_from_slice(&lzf);
            assert_eq!(digest(&dump(&raw)), digest(&dump(&compressed)), "{n} bytes");
        }
    }
}
