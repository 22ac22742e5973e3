//! RESP output: a dump's keys as the commands that recreate them, in the Redis protocol, for
//! `redis-cli --pipe`.
//!
//! Two modes ([`RespMode`]): `RESTORE key ttl payload [REPLACE] [ABSTTL]` per key, with the
//! payload copied or re-encoded for a target version exactly as [`seed`](crate::seed) does
//! and big values in parts by the same rules ([`commands`](crate::commands)); or plain
//! commands (`SET`, `RPUSH`, `SADD`, `ZADD`, `HSET`, `XADD`, `XGROUP`, `XSETID`, with
//! `PEXPIREAT`/`HPEXPIREAT`) for targets that refuse `RESTORE`. A `SELECT` precedes the keys
//! of each database.
//!
//! [`RespSink`] is a sink of the parallel [pipeline](rdb_pipeline::pipeline): chunks become
//! commands on worker threads and are written in file order.

mod record;
mod stream;

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rdb_format::write::EncodeError;
use rdb_format::{Item, Scratch, Version};
use rdb_pipeline::pipeline::{Chunk, FileInfo, Sink, SinkError};
use rdb_pipeline::spill::{SpillFile, SPILL_AT};

use crate::OnUnsupported;

/// How keys are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RespMode {
    /// `RESTORE` of a `DUMP` payload per key (big values in parts).
    #[default]
    Restore,
    /// Plain commands per type, for targets that refuse `RESTORE`.
    Commands,
}

/// What happens to key TTLs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// Kept as in the dump; keys already expired are left out.
    #[default]
    Keep,
    /// Dropped: every key is written without a TTL (expired ones too).
    Drop,
    /// This many milliseconds added to every key's TTL (keys without one keep none).
    Amend(i64),
}

/// How to write.
#[derive(Clone, Debug)]
pub struct RespOptions {
    /// RESTORE or plain commands.
    pub mode: RespMode,
    /// The version payloads are written for and commands are chosen for (None: each dump's
    /// own version).
    pub target: Option<Version>,
    /// Overwrite existing keys (`RESTORE ... REPLACE`). Commands mode always replaces.
    pub replace: bool,
    /// Records larger than this are written as a first part plus batches of commands.
    pub max_payload: u64,
    /// Size of each part of a big value (and of each command in commands mode).
    pub part_bytes: usize,
    /// Key TTLs.
    pub expiry: Expiry,
    /// No `SELECT`: every key goes into the connection's database.
    pub flatten_dbs: bool,
    /// Values the target cannot hold.
    pub on_unsupported: OnUnsupported,
}

impl Default for RespOptions {
    fn default() -> Self {
        RespOptions {
            mode: RespMode::Restore,
            target: None,
            replace: false,
            max_payload: 256 << 20,
            part_bytes: 4 << 20,
            expiry: Expiry::Keep,
            flatten_dbs: false,
            on_unsupported: OnUnsupported::Skip,
        }
    }
}

/// Errors of [`RespSink`] (the dump's decoding errors are the engine's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RespError {
    /// A value the target cannot hold, with [`OnUnsupported::Fail`].
    #[error("key {key}: {source}")]
    Unsupported {
        /// The key, shown escaped.
        key: String,
        /// Why.
        source: Box<EncodeError>,
    },
    /// A value could not be encoded for the target.
    #[error("key {key}: {source}")]
    Encode {
        /// The key, shown escaped.
        key: String,
        /// Why.
        source: Box<EncodeError>,
    },
    /// The output could not be written.
    #[error("writing output")]
    Write(#[source] io::Error),
    /// A chunk's output could not be moved to its temporary file.
    #[error("spilling output to a temporary file")]
    Spill(#[source] io::Error),
}

/// What was written and left out.
#[derive(Clone, Debug, Default)]
pub struct RespReport {
    /// Keys written.
    pub keys: u64,
    /// Keys written as a first part plus commands.
    pub big_values: u64,
    /// Keys left out because they had expired.
    pub expired: u64,
    /// Keys and function libraries left out because the target cannot hold them.
    pub unsupported: u64,
    /// A few of them, with the reason.
    pub unsupported_examples: Vec<String>,
    /// Function libraries written (`FUNCTION LOAD`).
    pub functions: u64,
}

/// Counters shared by the worker threads.
#[derive(Default)]
struct Counts {
    keys: AtomicU64,
    big_values: AtomicU64,
    expired: AtomicU64,
    unsupported: AtomicU64,
    functions: AtomicU64,
    examples: Mutex<Vec<String>>,
    /// Function libraries already written (the shards of one backup repeat them).
    functions_seen: Mutex<Vec<Vec<u8>>>,
}

/// The RESP sink of the parallel pipeline.
pub struct RespSink<W: Write + Send> {
    out: Mutex<Committed<W>>,
    options: RespOptions,
    counts: Counts,
    spill_at: usize,
}

struct Committed<W> {
    out: W,
    /// The database the output has selected last.
    db: Option<u64>,
}

/// A chunk's commands, and the databases of its first and last key. Past the spill
/// threshold (a huge value's commands) they move from memory to a temporary file.
pub struct RespPart {
    spill: SpillFile,
    buf: Vec<u8>,
    first_db: Option<u64>,
    last_db: Option<u64>,
}

impl RespPart {
    /// Bytes written so far (spilled and in memory): a mark to [`Self::rewind`] to.
    fn position(&self) -> u64 {
        self.spill.len() + self.buf.len() as u64
    }

    /// Drops what was written past `mark` (a key that failed half-way).
    fn rewind(&mut self, mark: u64) -> io::Result<()> {
        match mark.checked_sub(self.spill.len()) {
            Some(in_buf) => self.buf.truncate(in_buf as usize),
            None => {
                self.spill.truncate(mark)?;
                self.buf.clear();
            }
        }
        Ok(())
    }
}

/// Moves `buf` to `spill` once it holds `spill_at` bytes; the first error is kept in `failed`
/// (the commands are written from callbacks that cannot return one).
pub(super) fn spill_past(
    buf: &mut Vec<u8>,
    spill: &mut SpillFile,
    spill_at: usize,
    failed: &mut Option<io::Error>,
) {
    if buf.len() >= spill_at && failed.is_none() {
        match spill.write_all(buf) {
            Ok(()) => buf.clear(),
            Err(e) => *failed = Some(e),
        }
    }
}

impl<W: Write + Send> RespSink<W> {
    /// A sink writing into `out`.
    pub fn new(out: W, options: RespOptions) -> Self {
        RespSink {
            out: Mutex::new(Committed { out, db: None }),
            options,
            counts: Counts::default(),
            spill_at: SPILL_AT,
        }
    }

    /// Moves a chunk's commands from memory to a temporary file (in `TMPDIR`) once they
    /// reach `bytes` (default 16 MiB), so a huge value's commands are not held in memory.
    pub fn with_spill_threshold(mut self, bytes: usize) -> Self {
        self.spill_at = bytes.max(1);
        self
    }

    /// What was written so far.
    pub fn report(&self) -> RespReport {
        let c = &self.counts;
        RespReport {
            keys: c.keys.load(Ordering::Relaxed),
            big_values: c.big_values.load(Ordering::Relaxed),
            expired: c.expired.load(Ordering::Relaxed),
            unsupported: c.unsupported.load(Ordering::Relaxed),
            unsupported_examples: lock(&c.examples).clone(),
            functions: c.functions.load(Ordering::Relaxed),
        }
    }

    /// Flushes and returns the output.
    pub fn finish(self) -> io::Result<W> {
        let mut out = self.out.into_inner().unwrap_or_else(|p| p.into_inner()).out;
        out.flush()?;
        Ok(out)
    }

    /// Counts a value left out, or fails, as `on_unsupported` says.
    fn unsupported(&self, key: &[u8], e: EncodeError) -> Result<(), RespError> {
        match self.options.on_unsupported {
            OnUnsupported::Fail => Err(RespError::Unsupported {
                key: crate::show_key(key),
                source: Box::new(e),
            }),
            OnUnsupported::Skip => {
                self.counts.unsupported.fetch_add(1, Ordering::Relaxed);
                let mut examples = lock(&self.counts.examples);
                if examples.len() < 5 {
                    examples.push(format!("{}: {e}", crate::show_key(key)));
                }
                Ok(())
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Appends one command in RESP: `*N` then `$len` and the bytes of each argument.
pub fn write_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, args: &[A]) {
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(a.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// A dump being written: its version, and the version its values are written for.
pub struct RespFile {
    source: Version,
    target: Version,
    index: u32,
}

impl<W: Write + Send> Sink for RespSink<W> {
    type File = RespFile;
    type Part = RespPart;
    type Error = RespError;

    fn begin_file(&self, file: &FileInfo, _data: &[u8]) -> Result<RespFile, SinkError<RespError>> {
        Ok(RespFile {
            source: file.version,
            target: self.options.target.unwrap_or(file.version),
            index: u32::try_from(file.index).unwrap_or(u32::MAX),
        })
    }

    fn process<'a>(
        &self,
        file: &RespFile,
        _chunk: &Chunk,
        items: &mut dyn Iterator<Item = rdb_format::Result<Item<'a>>>,
        scratch: &mut Scratch,
    ) -> Result<RespPart, SinkError<RespError>> {
        let mut part = RespPart {
            spill: SpillFile::default(),
            buf: Vec::new(),
            first_db: None,
            last_db: None,
        };
        let now = rdb_pipeline::now_ms();
        let mut key = Vec::new();
        for item in items {
            scratch.reset();
            match item? {
                Item::Record(r) => {
                    key.clear();
                    r.key.decode(scratch)?.write_to(&mut key);
                    self.record(file, &r, &key, scratch, now, &mut part)?;
                    let mut failed = None;
                    spill_past(&mut part.buf, &mut part.spill, self.spill_at, &mut failed);
                    if let Some(e) = failed {
                        return Err(SinkError::Sink(RespError::Spill(e)));
                    }
                }
                Item::Function { code } => {
                    let code = code.decode(scratch)?.to_vec();
                    self.function(file, code, &mut part.buf)
                        .map_err(SinkError::Sink)?;
                }
                _ => {}
            }
        }
        Ok(part)
    }

    fn commit(&self, _file: &RespFile, _chunk: &Chunk, part: RespPart) -> Result<(), RespError> {
        let mut out = lock(&self.out);
        if let Some(db) = part.first_db {
            if out.db != Some(db) {
                let mut select = Vec::new();
                write_command(
                    &mut select,
                    &[b"SELECT".as_slice(), db.to_string().as_bytes()],
                );
                out.out.write_all(&select).map_err(RespError::Write)?;
            }
        }
        part.spill.copy_to(&mut out.out).map_err(RespError::Write)?;
        out.out.write_all(&part.buf).map_err(RespError::Write)?;
        if part.last_db.is_some() {
            out.db = part.last_db;
        }
        Ok(())
    }
}

impl<W: Write + Send> RespSink<W> {
    /// `FUNCTION LOAD` of a library, once per run, for targets that have functions.
    fn function(&self, file: &RespFile, code: Vec<u8>, out: &mut Vec<u8>) -> Result<(), RespError> {
        if !(file.target.is_valkey() || file.target.number >= 10) {
            return self.unsupported(
                b"(function library)",
                EncodeError::Unsupported {
                    what: "a function library",
                    target: file.target,
                    why: "functions exist from Redis 7.0 (RDB 10) on",
                },
            );
        }
        {
            let mut seen = lock(&self.counts.functions_seen);
            if seen.contains(&code) {
                return Ok(());
            }
            seen.push(code.clone());
        }
        let mut args = vec![b"FUNCTION".to_vec(), b"LOAD".to_vec()];
        if self.options.replace {
            args.push(b"REPLACE".to_vec());
        }
        args.push(code);
        write_command(out, &args);
        self.counts.functions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dump with a big list (5 MB, 60,000 elements), a big string and small keys in two
    /// databases.
    fn big_values_dump() -> Vec<u8> {
        use rdb_format::write::{self, RdbWriter};
        use rdb_format::{Flavor, Str};
        let target = Version {
            flavor: Flavor::Redis,
            number: 10,
        };
        let mut w = RdbWriter::new(Vec::new(), target).unwrap();
        w.select_db(0).unwrap();
        let items: Vec<Vec<u8>> = (0..60_000)
            .map(|i| format!("element {i} of a list big enough to be sent in parts").into_bytes())
            .collect();
        let mut v = Vec::new();
        let t = write::list(items.iter().map(|e| Ok(Str::Bytes(e))), target, &mut v).unwrap();
        w.record(b"list", None, t, &v).unwrap();
        let text: Vec<u8> = (0..3_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut v = Vec::new();
        let t = write::string(Str::Bytes(&text), &mut v);
        w.record(b"text", Some(4_102_444_800_000), t, &v).unwrap();
        w.select_db(3).unwrap();
        let mut v = Vec::new();
        let t = write::string(Str::Bytes(b"small"), &mut v);
        w.record(b"s", None, t, &v).unwrap();
        w.finish().unwrap()
    }

    /// Commands spilled to the temporary file, at any threshold, come out as those kept in
    /// memory: both modes, big values in parts, databases selected.
    #[test]
    fn spilled_commands_are_the_same_bytes() {
        let data = big_values_dump();
        let dir = std::env::temp_dir().join(format!("rdb-resp-spill-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("big.rdb");
        std::fs::write(&path, &data).unwrap();
        let pipeline = rdb_pipeline::pipeline::PipelineOptions {
            chunk_bytes: 1,
            ..Default::default()
        };
        let progress = rdb_pipeline::pipeline::Progress::default();
        for mode in [RespMode::Restore, RespMode::Commands] {
            let options = RespOptions {
                mode,
                max_payload: 1 << 20,
                part_bytes: 64 << 10,
                ..RespOptions::default()
            };
            let mut outputs = Vec::new();
            for spill_at in [SPILL_AT, 4096, 1] {
                let sink =
                    RespSink::new(Vec::new(), options.clone()).with_spill_threshold(spill_at);
                rdb_pipeline::pipeline::run(
                    std::slice::from_ref(&path),
                    &pipeline,
                    &sink,
                    &progress,
                )
                .unwrap();
                assert_eq!(sink.report().keys, 3);
                outputs.push(sink.finish().unwrap());
            }
            assert!(
                outputs[0].len() > 5_000_000,
                "{mode:?}: {}",
                outputs[0].len()
            );
            assert!(
                outputs[1] == outputs[0],
                "{mode:?}: spilled at 4096, output differs"
            );
            assert!(
                outputs[2] == outputs[0],
                "{mode:?}: spilled at 1, output differs"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A key that fails half-way is taken back whole, from the spill file too.
    #[test]
    fn a_rewind_reaches_into_the_spill_file() {
        let mut part = RespPart {
            spill: SpillFile::default(),
            buf: b"kept;".to_vec(),
            first_db: None,
            last_db: None,
        };
        let mark = part.position();
        part.buf.extend_from_slice(b"half a key");
        let mut failed = None;
        spill_past(&mut part.buf, &mut part.spill, 1, &mut failed);
        assert!(failed.is_none() && part.buf.is_empty());
        part.buf.extend_from_slice(b" and more");
        part.rewind(mark).unwrap();
        part.buf.extend_from_slice(b"next;");
        let mut out = Vec::new();
        part.spill.copy_to(&mut out).unwrap();
        out.extend_from_slice(&part.buf);
        assert_eq!(out, b"kept;next;");
    }

    #[test]
    fn commands_are_resp_arrays() {
        let mut out = Vec::new();
        write_command(&mut out, &[&b"SET"[..], b"k", b"a\r\nb"]);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n");
    }
}
