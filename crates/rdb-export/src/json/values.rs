//! One record's line: its metadata and its value, type by type.

use std::io::Write;

use rdb_format::{Idmp, Record, Scratch, Str, Stream, Value};

use super::escape::{base64_object, bytes, id, number, score_json, signed, string};
use super::{JsonError, Out};

impl<W: Write> Out<W> {
    pub(super) fn record(&mut self, r: &Record<'_>, scratch: &Scratch) -> Result<(), JsonError> {
        let b = &mut self.buf;
        b.extend_from_slice(b"{\"db\":");
        number(b, r.db);
        b.extend_from_slice(b",\"key\":");
        bytes(b, r.key.decode(scratch)?);
        b.extend_from_slice(b",\"type\":\"");
        b.extend_from_slice(r.data_type().as_str().as_bytes());
        b.extend_from_slice(b"\",\"encoding\":\"");
        b.extend_from_slice(r.encoding.as_str().as_bytes());
        b.push(b'"');
        if let Some(ms) = r.expire_ms {
            b.extend_from_slice(b",\"expire_ms\":");
            signed(b, ms);
        }
        if let Some(idle) = r.idle {
            b.extend_from_slice(b",\"idle\":");
            number(b, idle);
        }
        if let Some(freq) = r.freq {
            b.extend_from_slice(b",\"freq\":");
            number(b, u64::from(freq));
        }
        b.extend_from_slice(b",\"value\":");
        let value = r.value(scratch)?;
        match value {
            Value::String(s) => self.string_value(s)?,
            // Collections element by element: their compressed parts are decompressed into
            // reused buffers rather than the record's scratch (a huge one held its whole
            // size there, once per pass).
            Value::List(items) => self.array(|f| items.try_for_each_element(f))?,
            Value::Set(items) => self.array(|f| items.try_for_each_member(f))?,
            Value::ZSet(items) => {
                self.buf.push(b'[');
                let mut first = true;
                items.try_for_each_member(|member, score| -> Result<(), JsonError> {
                    if !std::mem::take(&mut first) {
                        self.buf.push(b',');
                    }
                    self.buf.push(b'[');
                    bytes(&mut self.buf, member);
                    self.buf.push(b',');
                    score_json(&mut self.buf, score);
                    self.buf.push(b']');
                    Ok(self.maybe_flush()?)
                })?;
                self.buf.push(b']');
            }
            Value::Hash(fields) => {
                // A repeated field name would be lost by JSON parsers (they keep one): pairs then.
                let as_object = as_object(&|f| {
                    fields.clone().try_for_each_entry(|e| {
                        f(e.field);
                        Ok(())
                    })
                })?;
                let mut has_ttl = false;
                let mut first = true;
                self.buf.push(if as_object { b'{' } else { b'[' });
                fields
                    .clone()
                    .try_for_each_entry(|e| -> Result<(), JsonError> {
                        has_ttl |= e.expire_ms.is_some();
                        self.pair(as_object, &mut first, e.field, |b| bytes(b, e.value));
                        Ok(self.maybe_flush()?)
                    })?;
                self.buf.push(if as_object { b'}' } else { b']' });
                if has_ttl {
                    self.buf.extend_from_slice(b",\"field_expire_ms\":");
                    let mut first = true;
                    self.buf.push(if as_object { b'{' } else { b'[' });
                    fields.try_for_each_entry(|e| -> Result<(), JsonError> {
                        if let Some(ms) = e.expire_ms {
                            self.pair(as_object, &mut first, e.field, |b| signed(b, ms));
                        }
                        Ok(self.maybe_flush()?)
                    })?;
                    self.buf.push(if as_object { b'}' } else { b']' });
                }
            }
            Value::Stream(s) => self.stream(&s)?,
            Value::Module(m) => {
                let b = &mut self.buf;
                b.extend_from_slice(b"{\"module\":");
                string(b, &m.id.name());
                b.extend_from_slice(b",\"version\":");
                number(b, m.id.version());
                b.extend_from_slice(b",\"raw\":");
                base64_object(b, m.raw);
                b.push(b'}');
            }
            _ => {
                return Err(rdb_format::Error::new(
                    r.value_offset,
                    "value",
                    rdb_format::ErrorKind::Invalid(
                        "a kind of value this build does not know".into(),
                    ),
                )
                .into())
            }
        }
        self.buf.extend_from_slice(b"}\n");
        Ok(())
    }

    /// `[e, ...]` of the byte strings `walk` gives, one call each.
    fn array(
        &mut self,
        walk: impl FnOnce(&mut dyn FnMut(Str<'_>) -> Result<(), JsonError>) -> Result<(), JsonError>,
    ) -> Result<(), JsonError> {
        self.buf.push(b'[');
        let mut first = true;
        walk(&mut |s| {
            if !std::mem::take(&mut first) {
                self.buf.push(b',');
            }
            bytes(&mut self.buf, s);
            Ok(self.maybe_flush()?)
        })?;
        self.buf.push(b']');
        Ok(())
    }

    /// One entry of a map: `k: v` in an object, `[k, v]` in pairs; a comma before all but
    /// the first.
    fn pair(
        &mut self,
        as_object: bool,
        first: &mut bool,
        k: Str<'_>,
        value: impl FnOnce(&mut Vec<u8>),
    ) {
        if !std::mem::take(first) {
            self.buf.push(b',');
        }
        if as_object {
            bytes(&mut self.buf, k);
            self.buf.push(b':');
            value(&mut self.buf);
        } else {
            self.buf.push(b'[');
            bytes(&mut self.buf, k);
            self.buf.push(b',');
            value(&mut self.buf);
            self.buf.push(b']');
        }
    }

    fn stream(&mut self, s: &Stream<'_>) -> Result<(), JsonError> {
        self.buf.extend_from_slice(b"{\"entries\":[");
        for (i, e) in s.entries().enumerate() {
            let e = e?;
            if i > 0 {
                self.buf.push(b',');
            }
            self.buf.extend_from_slice(b"{\"id\":");
            id(&mut self.buf, e.id);
            self.buf.extend_from_slice(b",\"fields\":");
            // XADD allows a field twice; an object would lose one, so pairs then.
            let as_object =
                as_object(&|f| e.fields.clone().try_for_each(|p| p.map(|(k, _)| f(k))))?;
            let mut first = true;
            self.buf.push(if as_object { b'{' } else { b'[' });
            for p in e.fields {
                let (k, v) = p?;
                self.pair(as_object, &mut first, k, |b| bytes(b, v));
                self.maybe_flush()?;
            }
            self.buf.push(if as_object { b'}' } else { b']' });
            self.buf.push(b'}');
        }
        let b = &mut self.buf;
        b.extend_from_slice(b"],\"length\":");
        number(b, s.length);
        b.extend_from_slice(b",\"last_id\":");
        id(b, s.last_id);
        if let Some(first) = s.first_id {
            b.extend_from_slice(b",\"first_id\":");
            id(b, first);
        }
        if let Some(max) = s.max_deleted_id {
            b.extend_from_slice(b",\"max_deleted_id\":");
            id(b, max);
        }
        if let Some(n) = s.entries_added {
            b.extend_from_slice(b",\"entries_added\":");
            number(b, n);
        }
        b.extend_from_slice(b",\"groups\":[");
        for (gi, g) in s.groups().enumerate() {
            let g = g?;
            let b = &mut self.buf;
            if gi > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"name\":");
            bytes(b, g.name);
            b.extend_from_slice(b",\"last_delivered_id\":");
            id(b, g.last_delivered_id);
            match g.entries_read {
                // Redis stores "unknown" as -1 in an unsigned length.
                Some(u64::MAX) => b.extend_from_slice(b",\"entries_read\":null"),
                Some(n) => {
                    b.extend_from_slice(b",\"entries_read\":");
                    number(b, n);
                }
                None => {}
            }
            // The group PEL names no consumer; each consumer lists the ids it owns. Matched in
            // windows, so a huge PEL streams in bounded memory.
            b.extend_from_slice(b",\"pending\":[");
            for (i, p) in g.pending_with_owners().enumerate() {
                let (p, owner) = p?;
                let b = &mut self.buf;
                if i > 0 {
                    b.push(b',');
                }
                b.extend_from_slice(b"{\"id\":");
                id(b, p.id);
                b.extend_from_slice(b",\"consumer\":");
                match owner {
                    Some(name) => bytes(b, name),
                    None => b.extend_from_slice(b"null"),
                }
                b.extend_from_slice(b",\"delivery_time_ms\":");
                signed(b, p.delivery_time_ms);
                b.extend_from_slice(b",\"delivery_count\":");
                number(b, p.delivery_count);
                b.push(b'}');
                self.maybe_flush()?;
            }
            self.buf.extend_from_slice(b"],\"consumers\":[");
            for (i, c) in g.consumers.enumerate() {
                let c = c?;
                let b = &mut self.buf;
                if i > 0 {
                    b.push(b',');
                }
                b.extend_from_slice(b"{\"name\":");
                bytes(b, c.name);
                b.extend_from_slice(b",\"seen_time_ms\":");
                signed(b, c.seen_time_ms);
                b.extend_from_slice(b",\"active_time_ms\":");
                signed(b, c.active_time_ms.unwrap_or(c.seen_time_ms));
                b.extend_from_slice(b",\"pending\":[");
                for (j, pid) in c.pending.enumerate() {
                    if j > 0 {
                        self.buf.push(b',');
                    }
                    id(&mut self.buf, pid);
                    if j % 1024 == 1023 {
                        self.maybe_flush()?;
                    }
                }
                self.buf.extend_from_slice(b"]}");
                self.maybe_flush()?;
            }
            self.buf.extend_from_slice(b"]}");
            self.maybe_flush()?;
        }
        self.buf.push(b']');
        if let Some(idmp) = &s.idmp {
            self.idmp(idmp)?;
        }
        self.buf.push(b'}');
        Ok(())
    }

    /// A stream's idempotent-producer state (Redis 8.6+).
    fn idmp(&mut self, idmp: &Idmp<'_>) -> Result<(), JsonError> {
        let b = &mut self.buf;
        b.extend_from_slice(b",\"idmp\":{\"duration\":");
        number(b, idmp.duration);
        b.extend_from_slice(b",\"max_entries\":");
        number(b, idmp.max_entries);
        b.extend_from_slice(b",\"iids_added\":");
        number(b, idmp.iids_added);
        b.extend_from_slice(b",\"iids_duplicates\":");
        number(b, idmp.iids_duplicates);
        b.extend_from_slice(b",\"producers\":[");
        for (i, p) in idmp.producers().enumerate() {
            let p = p?;
            let b = &mut self.buf;
            if i > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"pid\":");
            bytes(b, p.pid);
            b.extend_from_slice(b",\"entries\":[");
            for (j, e) in p.entries.enumerate() {
                let e = e?;
                let b = &mut self.buf;
                if j > 0 {
                    b.push(b',');
                }
                b.extend_from_slice(b"{\"iid\":");
                bytes(b, e.iid);
                b.extend_from_slice(b",\"id\":");
                id(b, e.id);
                b.push(b'}');
                self.maybe_flush()?;
            }
            self.buf.extend_from_slice(b"]}");
        }
        self.buf.extend_from_slice(b"]}");
        Ok(())
    }
}

/// Walks names, calling its argument with each; it may be called more than once.
type Names<'w> = dyn Fn(&mut dyn FnMut(Str<'_>)) -> rdb_format::Result<()> + 'w;

/// Whether names can be the keys of a JSON object: all UTF-8 (an integer is its decimal
/// text) and none repeated. Exact, at 8 bytes per name: 64-bit hashes are sorted, and only
/// the names whose hashes collide are compared, in a second walk.
fn as_object(names: &Names<'_>) -> rdb_format::Result<bool> {
    let mut text = true;
    let mut hashes = Vec::new();
    names(&mut |n| {
        text &= match n {
            Str::Int(_) => true,
            Str::Bytes(b) => crate::utf8::is_utf8(b),
        };
        hashes.push(name_hash(n));
    })?;
    if !text {
        return Ok(false);
    }
    hashes.sort_unstable();
    let mut collided: Vec<u64> = hashes
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    if collided.is_empty() {
        return Ok(true);
    }
    collided.dedup();
    drop(hashes);
    let mut seen = std::collections::HashSet::new();
    let mut repeated = false;
    names(&mut |n| {
        repeated |= collided.binary_search(&name_hash(n)).is_ok() && !seen.insert(n.to_vec());
    })?;
    Ok(!repeated)
}

/// A 64-bit hash of a name's text (FNV-1a over 8-byte words).
fn name_hash(n: Str<'_>) -> u64 {
    let mut digits = Vec::new();
    let text: &[u8] = match n {
        Str::Bytes(b) => b,
        Str::Int(_) => {
            n.write_to(&mut digits);
            &digits
        }
    };
    let mut h = 0xcbf2_9ce4_8422_2325u64 ^ text.len() as u64;
    for word in text.chunks(8) {
        let mut w = [0u8; 8];
        w[..word.len()].copy_from_slice(word);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(0x0000_0100_0000_01b3);
        h ^= h >> 32;
    }
    h
}
