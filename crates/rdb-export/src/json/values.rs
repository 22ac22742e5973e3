//! One record's line: its metadata and its value, type by type.

use std::io::Write;

use rdb_format::{HashEntry, Idmp, Record, Scratch, Str, Stream, Value};

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
            Value::List(items) => {
                // Element by element, so the list's nodes are decompressed into one reused
                // buffer rather than the record's scratch.
                self.buf.push(b'[');
                let mut first = true;
                items.try_for_each_element(|s| -> Result<(), JsonError> {
                    if !first {
                        self.buf.push(b',');
                    }
                    first = false;
                    bytes(&mut self.buf, s);
                    Ok(self.maybe_flush()?)
                })?;
                self.buf.push(b']');
            }
            Value::Set(items) => self.array(items)?,
            Value::ZSet(items) => {
                self.buf.push(b'[');
                for (i, m) in items.enumerate() {
                    let (member, score) = m?;
                    if i > 0 {
                        self.buf.push(b',');
                    }
                    self.buf.push(b'[');
                    bytes(&mut self.buf, member);
                    self.buf.push(b',');
                    score_json(&mut self.buf, score);
                    self.buf.push(b']');
                    self.maybe_flush()?;
                }
                self.buf.push(b']');
            }
            Value::Hash(fields) => {
                // A repeated field name would be lost by JSON parsers (they keep one): pairs then.
                let names = || fields.clone().map(|e| e.map(|e| e.field));
                let as_object = all_utf8(names())? && !has_duplicate(names)?;
                let mut has_ttl = false;
                self.map(
                    as_object,
                    fields.clone().map(|e| {
                        e.map(|e: HashEntry<'_>| {
                            has_ttl |= e.expire_ms.is_some();
                            (e.field, e.value)
                        })
                    }),
                    |b, v| bytes(b, v),
                )?;
                if has_ttl {
                    self.buf.extend_from_slice(b",\"field_expire_ms\":");
                    let with_ttl = fields.filter_map(|e| match e {
                        Ok(HashEntry {
                            field,
                            expire_ms: Some(ms),
                            ..
                        }) => Some(Ok((field, ms))),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    });
                    self.map(as_object, with_ttl, signed)?;
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

    fn array<'b>(
        &mut self,
        items: impl Iterator<Item = rdb_format::Result<Str<'b>>>,
    ) -> Result<(), JsonError> {
        self.buf.push(b'[');
        for (i, s) in items.enumerate() {
            if i > 0 {
                self.buf.push(b',');
            }
            bytes(&mut self.buf, s?);
            self.maybe_flush()?;
        }
        self.buf.push(b']');
        Ok(())
    }

    /// An object `{k: v}` when every key is UTF-8, else `[[k, v], ...]`.
    fn map<'b, V>(
        &mut self,
        as_object: bool,
        pairs: impl Iterator<Item = rdb_format::Result<(Str<'b>, V)>>,
        mut value: impl FnMut(&mut Vec<u8>, V),
    ) -> Result<(), JsonError> {
        self.buf.push(if as_object { b'{' } else { b'[' });
        for (i, p) in pairs.enumerate() {
            let (k, v) = p?;
            if i > 0 {
                self.buf.push(b',');
            }
            if as_object {
                bytes(&mut self.buf, k);
                self.buf.push(b':');
                value(&mut self.buf, v);
            } else {
                self.buf.push(b'[');
                bytes(&mut self.buf, k);
                self.buf.push(b',');
                value(&mut self.buf, v);
                self.buf.push(b']');
            }
            self.maybe_flush()?;
        }
        self.buf.push(if as_object { b'}' } else { b']' });
        Ok(())
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
            let names = || e.fields.clone().map(|f| f.map(|(k, _)| k));
            let as_object = all_utf8(names())? && !has_duplicate(names)?;
            self.map(as_object, e.fields, bytes)?;
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

fn all_utf8<'b>(
    mut keys: impl Iterator<Item = rdb_format::Result<Str<'b>>>,
) -> rdb_format::Result<bool> {
    keys.try_fold(true, |ok, k| {
        Ok(ok
            && match k? {
                Str::Int(_) => true,
                Str::Bytes(b) => crate::utf8::is_utf8(b),
            })
    })
}

/// Whether two of the names repeat (an integer counts as its decimal text). `names` gives the
/// names again for a second pass. Exact, at 8 bytes per name: 64-bit hashes are sorted, and
/// only the names whose hashes collide are compared.
fn has_duplicate<'b, I>(names: impl Fn() -> I) -> rdb_format::Result<bool>
where
    I: Iterator<Item = rdb_format::Result<Str<'b>>>,
{
    let mut hashes = names()
        .map(|n| n.map(name_hash))
        .collect::<rdb_format::Result<Vec<u64>>>()?;
    hashes.sort_unstable();
    let mut collided: Vec<u64> = hashes
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    if collided.is_empty() {
        return Ok(false);
    }
    collided.dedup();
    drop(hashes);
    let mut seen = std::collections::HashSet::new();
    for n in names() {
        let n = n?;
        if collided.binary_search(&name_hash(n)).is_ok() && !seen.insert(n.to_vec()) {
            return Ok(true);
        }
    }
    Ok(false)
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
