//! 128-bit digests of keys and of decoded logical values.
//!
//! A value's digest depends on what Redis would return for it, not on how the dump stores
//! it: integers stored as integers hash as their decimal text, and the members of sets,
//! hashes and sorted sets are hashed one by one and summed (wrapping), so their order does
//! not count. Lists and streams are hashed in order.

use rdb_format::{Record, Scratch, Str, Type, Value};
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

/// The digest of a record's decoded value (its TTL and key are not part of it). Lists,
/// sets, sorted sets and hashes are walked with reused buffers, so a huge one is never
/// decompressed whole.
pub fn value_digest(r: &Record<'_>, scratch: &Scratch) -> rdb_format::Result<u128> {
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
