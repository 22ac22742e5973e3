//! Values: a decoded [`Value`] (or a collection's items) serialized for a target version.
//! Each function appends the value's bytes (what follows the key in a record) to `out` and
//! returns the type byte to write before the key.

use crate::consts::*;
use crate::read::string::Str;
use crate::value::{HashEntry, Value};
use crate::version::Version;
use crate::write::length::length;
use crate::write::listpack::ListpackWriter;
use crate::write::rdb_string::{canonical_i64, rdb_str};
use crate::write::ziplist::ZiplistWriter;
use crate::write::{has_field_ttls, layout_version, stream::stream, EncodeError, Result};

/// Largest collection written as a listpack or ziplist (Redis's `*-max-listpack-entries`).
const COMPACT_MAX_ENTRIES: usize = 128;
/// Largest element written into a listpack or ziplist (`*-max-listpack-value`).
const COMPACT_MAX_VALUE: usize = 64;
/// Largest set written as an intset (`set-max-intset-entries`).
const INTSET_MAX_ENTRIES: usize = 512;
/// Quicklist node size (`list-max-listpack-size -2`: 8 KiB).
const QUICKLIST_NODE_BYTES: usize = 8 * 1024;
/// Elements this large get a `PLAIN` quicklist node (Redis's default packed threshold).
const QUICKLIST_PLAIN_THRESHOLD: usize = 1 << 30;

/// Encodes any value for `target`; see the module documentation for the encodings chosen.
pub fn encode_value(value: &Value<'_>, target: Version, out: &mut Vec<u8>) -> Result<u8> {
    match value {
        Value::String(s) => Ok(string(*s, out)),
        Value::List(items) => list(items.clone(), target, out),
        Value::Set(members) => set(members.clone(), target, out),
        Value::ZSet(members) => zset(members.clone(), target, out),
        Value::Hash(fields) => hash(fields.clone(), target, out),
        Value::Stream(s) => stream(s, target, out),
        Value::Module(m) => {
            if layout_version(target) < 8 {
                return Err(EncodeError::Unsupported {
                    what: "a module value",
                    target,
                    why: "module values need RDB 8 (Redis 4.0)",
                });
            }
            length(out, m.id.0);
            out.extend_from_slice(m.raw);
            Ok(RDB_TYPE_MODULE_2)
        }
    }
}

/// A string value (every version).
pub fn string(s: Str<'_>, out: &mut Vec<u8>) -> u8 {
    rdb_str(out, s);
    RDB_TYPE_STRING
}

/// A list, head to tail: `QUICKLIST_2` of listpack nodes from RDB 10, `QUICKLIST` of
/// ziplist nodes from RDB 7, a plain `LIST` before.
pub fn list<'a>(
    items: impl Iterator<Item = crate::Result<Str<'a>>>,
    target: Version,
    out: &mut Vec<u8>,
) -> Result<u8> {
    let layout = layout_version(target);
    let mut body = Vec::new();
    let mut nodes = 0u64;
    if layout >= 10 {
        let mut node = ListpackWriter::new();
        for item in items {
            let item = item?;
            if item.len() >= QUICKLIST_PLAIN_THRESHOLD {
                if !node.is_empty() {
                    packed_node(&mut body, std::mem::take(&mut node))?;
                    nodes += 1;
                }
                length(&mut body, QUICKLIST_NODE_CONTAINER_PLAIN);
                rdb_str(&mut body, item);
                nodes += 1;
                continue;
            }
            if !node.is_empty() && node.bytes() + item.len() > QUICKLIST_NODE_BYTES {
                packed_node(&mut body, std::mem::take(&mut node))?;
                nodes += 1;
            }
            node.push(item);
        }
        if !node.is_empty() {
            packed_node(&mut body, node)?;
            nodes += 1;
        }
        length(out, nodes);
        out.extend_from_slice(&body);
        Ok(RDB_TYPE_LIST_QUICKLIST_2)
    } else if layout >= 7 {
        let mut node = ZiplistWriter::new();
        for item in items {
            let item = item?;
            if !node.is_empty() && node.bytes() + item.len() > QUICKLIST_NODE_BYTES {
                let blob = std::mem::take(&mut node).finish()?;
                crate::write::rdb_string::rdb_string(&mut body, &blob);
                nodes += 1;
            }
            node.push(item);
        }
        if !node.is_empty() {
            crate::write::rdb_string::rdb_string(&mut body, &node.finish()?);
            nodes += 1;
        }
        length(out, nodes);
        out.extend_from_slice(&body);
        Ok(RDB_TYPE_LIST_QUICKLIST)
    } else {
        let mut n = 0u64;
        for item in items {
            rdb_str(&mut body, item?);
            n += 1;
        }
        length(out, n);
        out.extend_from_slice(&body);
        Ok(RDB_TYPE_LIST)
    }
}

fn packed_node(body: &mut Vec<u8>, node: ListpackWriter) -> Result<()> {
    length(body, QUICKLIST_NODE_CONTAINER_PACKED);
    blob(body, &node.finish()?);
    Ok(())
}

/// A blob as an RDB string (never integer-encoded: blobs are bytes).
fn blob(out: &mut Vec<u8>, b: &[u8]) {
    length(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn as_int(s: &Str<'_>) -> Option<i64> {
    match *s {
        Str::Int(i) => Some(i),
        Str::Bytes(b) => canonical_i64(b),
    }
}

fn small(items: &[Str<'_>]) -> bool {
    items.len() <= COMPACT_MAX_ENTRIES && items.iter().all(|s| s.len() <= COMPACT_MAX_VALUE)
}

/// A set: an intset when every member is an integer (up to 512), a listpack from RDB 11
/// when small, a plain `SET` otherwise.
pub fn set<'a>(
    members: impl Iterator<Item = crate::Result<Str<'a>>>,
    target: Version,
    out: &mut Vec<u8>,
) -> Result<u8> {
    let members: Vec<Str<'a>> = members.collect::<crate::Result<_>>()?;
    if members.len() <= INTSET_MAX_ENTRIES && layout_version(target) >= 2 {
        let ints: Option<Vec<i64>> = members.iter().map(as_int).collect();
        if let Some(mut ints) = ints {
            ints.sort_unstable();
            let width: usize = if ints.iter().all(|&i| i16::try_from(i).is_ok()) {
                2
            } else if ints.iter().all(|&i| i32::try_from(i).is_ok()) {
                4
            } else {
                8
            };
            let mut b = Vec::with_capacity(8 + width * ints.len());
            b.extend_from_slice(&(width as u32).to_le_bytes());
            b.extend_from_slice(&(ints.len() as u32).to_le_bytes());
            for i in ints {
                b.extend_from_slice(&i.to_le_bytes()[..width]);
            }
            blob(out, &b);
            return Ok(RDB_TYPE_SET_INTSET);
        }
    }
    if layout_version(target) >= 11 && small(&members) {
        let mut lp = ListpackWriter::new();
        for m in &members {
            lp.push(*m);
        }
        blob(out, &lp.finish()?);
        return Ok(RDB_TYPE_SET_LISTPACK);
    }
    length(out, members.len() as u64);
    for m in members {
        rdb_str(out, m);
    }
    Ok(RDB_TYPE_SET)
}

/// A sorted set: a listpack (RDB 10+) or ziplist (RDB 6+) sorted by score then member when
/// small, `ZSET_2` (binary scores, RDB 8+) or `ZSET` (text scores) otherwise.
pub fn zset<'a>(
    members: impl Iterator<Item = crate::Result<(Str<'a>, f64)>>,
    target: Version,
    out: &mut Vec<u8>,
) -> Result<u8> {
    let mut members: Vec<(Str<'a>, f64)> = members.collect::<crate::Result<_>>()?;
    let layout = layout_version(target);
    let is_small = members.len() <= COMPACT_MAX_ENTRIES
        && members.iter().all(|(m, _)| m.len() <= COMPACT_MAX_VALUE)
        && members.iter().all(|(_, s)| !s.is_nan());
    if is_small && layout >= 6 {
        // Compact zsets are kept in (score, member) order; the loader trusts it.
        members.sort_by(|(ma, sa), (mb, sb)| {
            sa.total_cmp(sb).then_with(|| ma.to_vec().cmp(&mb.to_vec()))
        });
        let mut text = Vec::new();
        if layout >= 10 {
            let mut lp = ListpackWriter::new();
            for (m, s) in &members {
                lp.push(*m);
                push_score(&mut lp, &mut text, *s);
            }
            blob(out, &lp.finish()?);
            return Ok(RDB_TYPE_ZSET_LISTPACK);
        }
        let mut zl = ZiplistWriter::new();
        for (m, s) in &members {
            zl.push(*m);
            push_score(&mut zl, &mut text, *s);
        }
        blob(out, &zl.finish()?);
        return Ok(RDB_TYPE_ZSET_ZIPLIST);
    }
    length(out, members.len() as u64);
    if layout >= 8 {
        for (m, s) in members {
            rdb_str(out, m);
            out.extend_from_slice(&s.to_le_bytes());
        }
        Ok(RDB_TYPE_ZSET_2)
    } else {
        let mut text = Vec::new();
        for (m, s) in members {
            rdb_str(out, m);
            string_double(out, s, &mut text);
        }
        Ok(RDB_TYPE_ZSET)
    }
}

/// A score inside a listpack/ziplist: an integer when it is one exactly, else text that
/// `strtod` reads back to the same double.
fn push_score(w: &mut impl Compact, text: &mut Vec<u8>, s: f64) {
    if s.fract() == 0.0 && s.abs() < (1u64 << 53) as f64 && !(s == 0.0 && s.is_sign_negative()) {
        w.int(s as i64);
    } else {
        score_text(text, s);
        w.bytes(text);
    }
}

/// The two compact blob writers, for code shared between listpacks and ziplists.
trait Compact {
    fn bytes(&mut self, b: &[u8]);
    fn int(&mut self, i: i64);
}

impl Compact for ListpackWriter {
    fn bytes(&mut self, b: &[u8]) {
        self.push_bytes(b)
    }
    fn int(&mut self, i: i64) {
        self.push_int(i)
    }
}

impl Compact for ZiplistWriter {
    fn bytes(&mut self, b: &[u8]) {
        self.push_bytes(b)
    }
    fn int(&mut self, i: i64) {
        self.push_int(i)
    }
}

fn score_text(text: &mut Vec<u8>, s: f64) {
    text.clear();
    if s == f64::INFINITY {
        text.extend_from_slice(b"inf");
    } else if s == f64::NEG_INFINITY {
        text.extend_from_slice(b"-inf");
    } else {
        // Shortest digits that read back to the same double.
        use std::io::Write;
        let _ = write!(text, "{s:e}");
    }
}

/// `rdbSaveDoubleValue`: a length byte then text, or 253/254/255 for nan/+inf/-inf.
fn string_double(out: &mut Vec<u8>, s: f64, text: &mut Vec<u8>) {
    if s.is_nan() {
        out.push(253);
    } else if s == f64::INFINITY {
        out.push(254);
    } else if s == f64::NEG_INFINITY {
        out.push(255);
    } else {
        score_text(text, s);
        out.push(text.len() as u8);
        out.extend_from_slice(text);
    }
}

/// `Ok` when `target` has hash-field TTLs, else why not (one message for [`hash`] and
/// [`supports`](crate::write::supports)).
pub(crate) fn field_ttls_supported(target: Version) -> Result<()> {
    if has_field_ttls(target) {
        Ok(())
    } else {
        Err(EncodeError::Unsupported {
            what: "a hash with field TTLs",
            target,
            why: "hash-field TTLs need Redis 7.4 (RDB 12) or Valkey 9",
        })
    }
}

/// A hash. With field TTLs: `HASH_METADATA` (Redis RDB 12+) or Valkey's `HASH_2`; a target
/// without field TTLs gets [`EncodeError::Unsupported`]. Without: a listpack (RDB 10+) or
/// ziplist (RDB 6+) when small, a plain `HASH` otherwise.
pub fn hash<'a>(
    fields: impl Iterator<Item = crate::Result<HashEntry<'a>>>,
    target: Version,
    out: &mut Vec<u8>,
) -> Result<u8> {
    let fields: Vec<HashEntry<'a>> = fields.collect::<crate::Result<_>>()?;
    let min_expire = fields.iter().filter_map(|f| f.expire_ms).min();
    if let Some(min_expire) = min_expire {
        field_ttls_supported(target)?;
        if target.is_valkey() {
            // Valkey writes -1 for "no TTL"; a negative TTL (only a corrupt or hand-made
            // source has one) would come back as none, or as a time Valkey never writes.
            if min_expire < 0 {
                return Err(EncodeError::Unsupported {
                    what: "a negative hash field TTL",
                    target,
                    why: "Valkey stores -1 for a field without TTL",
                });
            }
            length(out, fields.len() as u64);
            for f in &fields {
                rdb_str(out, f.field);
                rdb_str(out, f.value);
                out.extend_from_slice(&f.expire_ms.unwrap_or(-1).to_le_bytes());
            }
            return Ok(VALKEY_RDB_TYPE_HASH_2);
        }
        const EB_EXPIRE_TIME_MAX: i64 = (1 << 48) - 1;
        if min_expire < 0
            || fields
                .iter()
                .any(|f| f.expire_ms > Some(EB_EXPIRE_TIME_MAX))
        {
            return Err(EncodeError::Unsupported {
                what: "a hash field TTL",
                target,
                why: "Redis keeps field TTLs between 0 and 2^48-1 ms",
            });
        }
        out.extend_from_slice(&(min_expire as u64).to_le_bytes());
        length(out, fields.len() as u64);
        for f in &fields {
            // Relative to the minimum, plus one: 0 means no TTL.
            length(out, f.expire_ms.map_or(0, |e| (e - min_expire) as u64 + 1));
            rdb_str(out, f.field);
            rdb_str(out, f.value);
        }
        return Ok(RDB_TYPE_HASH_METADATA);
    }
    let layout = layout_version(target);
    let is_small = fields.len() <= COMPACT_MAX_ENTRIES
        && fields
            .iter()
            .all(|f| f.field.len() <= COMPACT_MAX_VALUE && f.value.len() <= COMPACT_MAX_VALUE);
    if is_small && layout >= 10 {
        let mut lp = ListpackWriter::new();
        for f in &fields {
            lp.push(f.field);
            lp.push(f.value);
        }
        blob(out, &lp.finish()?);
        return Ok(RDB_TYPE_HASH_LISTPACK);
    }
    if is_small && layout >= 6 {
        let mut zl = ZiplistWriter::new();
        for f in &fields {
            zl.push(f.field);
            zl.push(f.value);
        }
        blob(out, &zl.finish()?);
        return Ok(RDB_TYPE_HASH_ZIPLIST);
    }
    length(out, fields.len() as u64);
    for f in &fields {
        rdb_str(out, f.field);
        rdb_str(out, f.value);
    }
    Ok(RDB_TYPE_HASH)
}
