//! NDJSON output: one JSON object per key, in file order.
//!
//! ```text
//! {"db":0,"key":K,"type":T,"encoding":E,"expire_ms":MS,"idle":N,"freq":N,"value":V}
//! ```
//! Byte strings are JSON strings when valid UTF-8, else `{"base64":"..."}`. See the README for
//! each type's value.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rdb_pipeline::pipeline::{Chunk, PipelineError, Result as PipelineResult, Sink};

use rdb_format::{
    Checksum, Decoder, Eof, HashEntry, Idmp, Item, Record, Scratch, Str, Stream, StreamId, Value,
};

/// Errors of the JSON writer.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The dump could not be decoded.
    #[error(transparent)]
    Decode(#[from] rdb_format::Error),
    /// The output could not be written.
    #[error("writing output: {0}")]
    Io(#[from] io::Error),
}

/// What to write besides the keys.
#[derive(Clone, Debug, Default)]
pub struct JsonOptions {
    /// Also write aux fields, functions and module aux data as their own lines.
    pub with_meta: bool,
}

/// Flush the line buffer to the output past this size, so huge values stream.
const FLUSH_AT: usize = 1 << 16;

/// A worker's chunk output past this size goes to a temporary file instead of memory, so a
/// huge value costs its decoded bytes only, not its JSON as well.
const SPILL_AT: usize = 16 << 20;

/// Huge strings are escaped and written in slices of this many bytes (a multiple of 3, so
/// base64 slices join without padding).
const STRING_SLICE: usize = 3 << 16;

/// Writes a dump's items as NDJSON into `W`.
pub struct JsonWriter<W: Write> {
    out: Out<W>,
    scratch: Scratch,
    options: JsonOptions,
}

/// The output and the line being built.
struct Out<W: Write> {
    out: W,
    buf: Vec<u8>,
    /// Flush `buf` into `out` when it reaches this size.
    flush_at: usize,
}

impl<W: Write> JsonWriter<W> {
    /// A writer into `out` (wrap files in a `BufWriter`).
    pub fn new(out: W, options: JsonOptions) -> Self {
        JsonWriter {
            out: Out {
                out,
                buf: Vec::with_capacity(FLUSH_AT * 2),
                flush_at: FLUSH_AT,
            },
            scratch: Scratch::new(),
            options,
        }
    }

    /// Writes every item of `decoder`, returning the end-of-file information.
    pub fn write_dump(&mut self, decoder: Decoder<'_>) -> Result<Eof, JsonError> {
        for item in decoder {
            if let Some(eof) = self.write_item(&item?)? {
                return Ok(eof);
            }
        }
        // The decoder always ends with Eof or an error.
        Err(JsonError::Io(io::Error::other("decoder ended without EOF")))
    }

    /// Writes one item; returns the end-of-file information for `Item::Eof`.
    pub fn write_item(&mut self, item: &Item<'_>) -> Result<Option<Eof>, JsonError> {
        self.scratch.reset();
        let eof = self.out.item(item, &self.scratch, self.options.with_meta)?;
        self.out.flush_buf()?;
        Ok(eof)
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush_buf()?;
        self.out.out.flush()?;
        Ok(self.out.out)
    }
}

impl<W: Write> Out<W> {
    /// Appends one item's line (if it has one).
    fn item(
        &mut self,
        item: &Item<'_>,
        scratch: &Scratch,
        with_meta: bool,
    ) -> Result<Option<Eof>, JsonError> {
        match item {
            Item::Record(r) => self.record(r, scratch)?,
            Item::Eof(e) => return Ok(Some(*e)),
            _ if !with_meta => {}
            Item::Aux { key, value } => {
                self.buf.extend_from_slice(b"{\"aux\":{\"key\":");
                bytes(&mut self.buf, key.decode(scratch)?);
                self.buf.extend_from_slice(b",\"value\":");
                bytes(&mut self.buf, value.decode(scratch)?);
                self.buf.extend_from_slice(b"}}\n");
            }
            Item::Function { code } => {
                self.buf.extend_from_slice(b"{\"function\":");
                bytes(&mut self.buf, code.decode(scratch)?);
                self.buf.extend_from_slice(b"}\n");
            }
            Item::FunctionPreGa {
                name,
                engine,
                description,
                code,
            } => {
                self.buf.extend_from_slice(b"{\"function\":");
                bytes(&mut self.buf, code.decode(scratch)?);
                self.buf.extend_from_slice(b",\"name\":");
                bytes(&mut self.buf, name.decode(scratch)?);
                self.buf.extend_from_slice(b",\"engine\":");
                bytes(&mut self.buf, engine.decode(scratch)?);
                if let Some(d) = description {
                    self.buf.extend_from_slice(b",\"description\":");
                    bytes(&mut self.buf, d.decode(scratch)?);
                }
                self.buf.extend_from_slice(b"}\n");
            }
            Item::ModuleAux { id, when, raw } => {
                self.buf.extend_from_slice(b"{\"module_aux\":{\"module\":");
                string(&mut self.buf, &id.name());
                self.buf.extend_from_slice(b",\"version\":");
                number(&mut self.buf, id.version());
                self.buf.extend_from_slice(b",\"when\":");
                number(&mut self.buf, *when);
                self.buf.extend_from_slice(b",\"raw\":");
                base64_object(&mut self.buf, raw);
                self.buf.extend_from_slice(b"}}\n");
            }
            Item::SelectDb { .. }
            | Item::ResizeDb { .. }
            | Item::SlotInfo { .. }
            | Item::SlotImport { .. } => {}
            // Items added to the format later carry no key: nothing to write.
            _ => {}
        }
        Ok(None)
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    /// A string value; a huge one is written in slices with flushes between, so it streams.
    fn string_value(&mut self, s: Str<'_>) -> io::Result<()> {
        let raw = match s {
            Str::Bytes(raw) if raw.len() > STRING_SLICE => raw,
            _ => {
                bytes(&mut self.buf, s);
                return Ok(());
            }
        };
        if std::str::from_utf8(raw).is_ok() {
            // Escaping touches ASCII bytes only, so slices may split a multi-byte character.
            self.buf.push(b'"');
            for slice in raw.chunks(STRING_SLICE) {
                escaped(&mut self.buf, slice);
                self.maybe_flush()?;
            }
            self.buf.push(b'"');
        } else {
            self.buf.extend_from_slice(b"{\"base64\":\"");
            for slice in raw.chunks(STRING_SLICE) {
                base64(&mut self.buf, slice);
                self.maybe_flush()?;
            }
            self.buf.extend_from_slice(b"\"}");
        }
        Ok(())
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.buf.len() >= self.flush_at {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn record(&mut self, r: &Record<'_>, scratch: &Scratch) -> Result<(), JsonError> {
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
            Value::List(items) => self.array(items)?,
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

/// The NDJSON sink of the parallel pipeline: chunks become lines on worker threads and are
/// written to `W` in file order.
pub struct JsonSink<W: Write + Send> {
    out: Mutex<W>,
    options: JsonOptions,
    spill_at: usize,
}

impl<W: Write + Send> JsonSink<W> {
    /// A sink writing into `out`.
    pub fn new(out: W, options: JsonOptions) -> Self {
        JsonSink {
            out: Mutex::new(out),
            options,
            spill_at: SPILL_AT,
        }
    }

    /// Moves a chunk's output from memory to a temporary file (in `TMPDIR`) once it reaches
    /// `bytes` (default 16 MiB), so a huge value's JSON is not held in memory.
    pub fn with_spill_threshold(mut self, bytes: usize) -> Self {
        self.spill_at = bytes.max(1);
        self
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.out.into_inner().unwrap_or_else(|p| p.into_inner());
        out.flush()?;
        Ok(out)
    }
}

/// A chunk's lines: in memory, or in an unlinked temporary file when they grew past
/// [`SPILL_AT`].
pub struct JsonPart {
    buf: Vec<u8>,
    spill: Option<File>,
}

/// The temporary file a chunk's output spills into: created on the first write, removed
/// from the directory at once (the open handle keeps it), so nothing is left behind whatever
/// happens to the process.
#[derive(Default)]
struct Spill(Option<File>);

impl Spill {
    fn create() -> io::Result<File> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".rdb-convert-spill-{}-{n}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let _ = fs::remove_file(&path);
        Ok(file)
    }
}

impl Write for Spill {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.0.is_none() {
            self.0 = Some(Spill::create()?);
        }
        self.0.as_mut().map_or(Ok(0), |f| f.write(data))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write + Send> Sink for JsonSink<W> {
    type Part = JsonPart;

    fn process<'a>(
        &self,
        chunk: &Chunk,
        items: &mut dyn Iterator<Item = PipelineResult<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> PipelineResult<JsonPart> {
        let mut out = Out {
            out: Spill::default(),
            buf: Vec::new(),
            flush_at: self.spill_at,
        };
        for item in items {
            out.item(&item?, scratch, self.options.with_meta)
                .map_err(|e| match e {
                    JsonError::Decode(error) => PipelineError::Decode {
                        path: chunk.file.path.clone(),
                        error,
                    },
                    JsonError::Io(e) => PipelineError::Sink(e.to_string()),
                })?;
            scratch.reset();
        }
        if out.out.0.is_some() {
            out.flush_buf()
                .map_err(|e| PipelineError::Sink(format!("spilling output: {e}")))?;
        }
        Ok(JsonPart {
            buf: out.buf,
            spill: out.out.0,
        })
    }

    fn commit(&self, _chunk: &Chunk, part: JsonPart) -> PipelineResult<()> {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let write_err = |e: io::Error| PipelineError::Sink(format!("writing output: {e}"));
        if let Some(mut spill) = part.spill {
            spill.seek(SeekFrom::Start(0)).map_err(write_err)?;
            let mut slice = vec![0u8; 1 << 20];
            loop {
                let n = spill.read(&mut slice).map_err(write_err)?;
                if n == 0 {
                    break;
                }
                out.write_all(&slice[..n]).map_err(write_err)?;
            }
        }
        out.write_all(&part.buf).map_err(write_err)
    }
}

fn all_utf8<'b>(
    mut keys: impl Iterator<Item = rdb_format::Result<Str<'b>>>,
) -> rdb_format::Result<bool> {
    keys.try_fold(true, |ok, k| {
        Ok(ok
            && match k? {
                Str::Int(_) => true,
                Str::Bytes(b) => std::str::from_utf8(b).is_ok(),
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

/// Checks a dump's checksum state and describes it for warnings.
pub fn checksum_warning(eof: &Eof) -> Option<&'static str> {
    match eof.checksum {
        Checksum::NotComputed => Some("checksum not computed (the server ran with rdbchecksum no)"),
        Checksum::NotVerified(_) => Some("checksum not verified"),
        Checksum::Verified(_) | Checksum::Absent => None,
        _ => Some("checksum state unknown"),
    }
}

fn number(b: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut pos = buf.len();
    let mut n = n;
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    b.extend_from_slice(&buf[pos..]);
}

fn signed(b: &mut Vec<u8>, n: i64) {
    if n < 0 {
        b.push(b'-');
    }
    number(b, n.unsigned_abs());
}

fn id(b: &mut Vec<u8>, id: StreamId) {
    b.push(b'"');
    number(b, id.ms);
    b.push(b'-');
    number(b, id.seq);
    b.push(b'"');
}

/// A zset score: a JSON number, or `"inf"`, `"-inf"`, `"nan"`.
fn score_json(b: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        b.extend_from_slice(b"\"nan\"");
    } else if x.is_infinite() {
        b.extend_from_slice(if x > 0.0 { b"\"inf\"" } else { b"\"-inf\"" });
    } else if x == 0.0 && x.is_sign_negative() {
        b.extend_from_slice(b"-0.0");
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        signed(b, x as i64);
    } else {
        let mut r = ryu::Buffer::new();
        b.extend_from_slice(r.format_finite(x).as_bytes());
    }
}

/// A byte string: JSON string when UTF-8, else `{"base64":...}`.
fn bytes(b: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Int(i) => {
            b.push(b'"');
            signed(b, i);
            b.push(b'"');
        }
        Str::Bytes(raw) => {
            // One pass for the common case: printable ASCII is valid UTF-8 and needs no
            // escaping. Only the rest, from the first other byte, is validated and escaped.
            let plain = plain_prefix(raw);
            if plain == raw.len() {
                b.reserve(raw.len() + 2);
                b.push(b'"');
                b.extend_from_slice(raw);
                b.push(b'"');
                return;
            }
            match std::str::from_utf8(&raw[plain..]) {
                Ok(_) => {
                    b.reserve(raw.len() + 2);
                    b.push(b'"');
                    b.extend_from_slice(&raw[..plain]);
                    escaped(b, &raw[plain..]);
                    b.push(b'"');
                }
                Err(_) => base64_object(b, raw),
            }
        }
    }
}

/// Length of the longest prefix of `raw` made of bytes a JSON string holds as they are:
/// printable ASCII but `"` and `\\`. Eight bytes at a time.
fn plain_prefix(raw: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // High bit set in each byte of `v` that is zero (exact when no byte has its high bit
    // set, which is checked first).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut i = 0;
    let mut words = raw.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let special = (w & HIGH)
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
            | zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')));
        if special != 0 {
            break;
        }
        i += 8;
    }
    i + raw[i..]
        .iter()
        .take_while(|&&c| c < 0x80 && ESCAPE[c as usize] == 0)
        .count()
}

const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0C] = b'f';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// A JSON string, escaped in runs between the bytes that need it.
fn string(b: &mut Vec<u8>, s: &str) {
    b.reserve(s.len() + 2);
    b.push(b'"');
    escaped(b, s.as_bytes());
    b.push(b'"');
}

/// The inside of a JSON string: UTF-8 bytes with quotes, backslashes and control characters
/// escaped.
fn escaped(b: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let esc = ESCAPE[c as usize];
        if esc == 0 {
            continue;
        }
        b.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            b.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 15) as usize],
            ]);
        } else {
            b.extend_from_slice(&[b'\\', esc]);
        }
        start = i + 1;
    }
    b.extend_from_slice(&bytes[start..]);
}

fn base64_object(b: &mut Vec<u8>, raw: &[u8]) {
    b.extend_from_slice(b"{\"base64\":\"");
    base64(b, raw);
    b.extend_from_slice(b"\"}");
}

/// Standard base64 with padding.
pub fn base64(out: &mut Vec<u8>, raw: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(raw.len().div_ceil(3) * 4);
    let mut chunks = raw.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend_from_slice(&[
            ALPHABET[(n >> 18) as usize & 63],
            ALPHABET[(n >> 12) as usize & 63],
            ALPHABET[(n >> 6) as usize & 63],
            ALPHABET[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[
                ALPHABET[(n >> 18) as usize & 63],
                ALPHABET[(n >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, c] => {
            let n = (u32::from(a) << 16) | (u32::from(c) << 8);
            out.extend_from_slice(&[
                ALPHABET[(n >> 18) as usize & 63],
                ALPHABET[(n >> 12) as usize & 63],
                ALPHABET[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump with huge strings (UTF-8 with escapes and multi-byte characters across slice
    /// boundaries, and binary) and collections.
    fn big_values_dump() -> Vec<u8> {
        use rdb_format::encode::{encode_value, RdbWriter};
        use rdb_format::{Flavor, Value, Version};
        let target = Version {
            flavor: Flavor::Redis,
            number: 10,
        };
        let mut w = RdbWriter::new(Vec::new(), target).unwrap();
        w.select_db(0).unwrap();
        let text: String = (0..40_000).map(|i| format!("é\"{i}\n€\u{1}")).collect();
        let binary: Vec<u8> = (0..700_001u32).map(|i| (i * 7 + i / 251) as u8).collect();
        let small = b"small".to_vec();
        for (key, bytes) in [
            (&b"text"[..], text.as_bytes()),
            (b"bin", &binary),
            (b"s", &small),
        ] {
            let mut v = Vec::new();
            let t = encode_value(&Value::String(Str::Bytes(bytes)), target, &mut v).unwrap();
            w.record(key, None, t, &v).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn huge_values_stream_and_spill_to_the_same_bytes() {
        let data = big_values_dump();
        let dir = std::env::temp_dir().join(format!("rdb-json-spill-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.rdb");
        fs::write(&path, &data).unwrap();

        let mut sequential = JsonWriter::new(Vec::new(), JsonOptions::default());
        for item in rdb_format::Decoder::new(&data).unwrap() {
            sequential.write_item(&item.unwrap()).unwrap();
        }
        let sequential = sequential.finish().unwrap();

        let options = rdb_pipeline::pipeline::PipelineOptions {
            chunk_bytes: 1,
            ..Default::default()
        };
        let progress = rdb_pipeline::pipeline::Progress::default();
        for spill_at in [SPILL_AT, 4096, 1] {
            let sink =
                JsonSink::new(Vec::new(), JsonOptions::default()).with_spill_threshold(spill_at);
            rdb_pipeline::pipeline::run(std::slice::from_ref(&path), &options, &sink, &progress)
                .unwrap();
            let out = sink.finish().unwrap();
            assert!(out == sequential, "spill at {spill_at}: output differs");
        }
        let lines: Vec<serde_json::Value> = sequential
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        let text: String = (0..40_000).map(|i| format!("é\"{i}\n€\u{1}")).collect();
        assert_eq!(lines[0]["value"].as_str().unwrap(), text);
        let mut want = Vec::new();
        let binary: Vec<u8> = (0..700_001u32).map(|i| (i * 7 + i / 251) as u8).collect();
        base64(&mut want, &binary);
        assert_eq!(
            lines[1]["value"]["base64"].as_str().unwrap().as_bytes(),
            want
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn plain_prefix_stops_at_the_first_byte_json_or_utf8_cares_about() {
        for special in [0u8, 0x1f, b'"', b'\\', 0x80, 0xc3, 0xff, b'\n'] {
            for at in 0..40 {
                let mut raw = vec![b'a'; 40];
                for (i, c) in raw.iter_mut().enumerate() {
                    *c = b" ~!#[]{}azAZ09\x7f"[i % 15];
                }
                raw[at] = special;
                assert_eq!(plain_prefix(&raw), at, "byte {special:#x} at {at}");
            }
        }
        assert_eq!(plain_prefix(b""), 0);
        assert_eq!(plain_prefix(&[b'x'; 17]), 17);
        // Same output as the two-pass path for every byte value.
        for c in 0..=255u8 {
            let raw = [b'a', b'b', c, b'c'];
            let mut fast = Vec::new();
            bytes(&mut fast, Str::Bytes(&raw));
            let mut slow = Vec::new();
            match std::str::from_utf8(&raw) {
                Ok(t) => string(&mut slow, t),
                Err(_) => base64_object(&mut slow, &raw),
            }
            assert_eq!(fast, slow, "byte {c:#x}");
        }
    }

    #[test]
    fn escapes_and_base64() {
        let mut b = Vec::new();
        string(&mut b, "a\"b\\c\n\u{1}é");
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            r#""a\"b\\c\n\u0001é""#
        );
        let parsed: String = serde_json::from_slice(&b).unwrap();
        assert_eq!(parsed, "a\"b\\c\n\u{1}é");
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"\xff\xfe", "//4="),
        ] {
            let mut o = Vec::new();
            base64(&mut o, raw);
            assert_eq!(o, enc.as_bytes());
        }
    }

    #[test]
    fn scores() {
        for (x, s) in [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "\"inf\""),
            (f64::NEG_INFINITY, "\"-inf\""),
            (0.1, "0.1"),
            (1e300, "1e300"),
        ] {
            let mut b = Vec::new();
            score_json(&mut b, x);
            assert_eq!(String::from_utf8(b).unwrap(), s);
        }
    }
}
