//! Seeding a live server or cluster from dumps with `RESTORE ... ABSTTL`.
//!
//! One thread reads the dumps (memory-mapped) and turns records into commands: a `RESTORE`
//! whose payload is the record's own bytes when the target reads their encoding, or the value
//! re-encoded for the target's version otherwise. Commands are grouped into batches (by
//! database on a standalone server, by primary on a cluster) and handed to worker tasks, each
//! owning one connection and sending one pipeline at a time. Workers report what each command
//! did (restored, conflict, unsupported, error, redirected), and which records are settled, so
//! the [checkpoint](crate::checkpoint) can name a position before which everything is done.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdb_format::encode::{self, copyable, dump_payload, encode_value, type_byte, EncodeError};
use rdb_format::DumpFile;
use rdb_format::{Decoder, DecoderOptions, Item, Record, Scratch, Str, Type, Value, Version};
use rdb_pipeline::filter::Filter;
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;

use crate::checkpoint::{Checkpoint, CheckpointError, Pos};
use crate::partial;
use crate::slot::key_slot;
use crate::target::{redact, SlotMap, Target, TargetError};
use crate::verify::{self, Expected, Sample, VerifyReport};
use crate::{show_key, OnUnsupported};

/// How to seed.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// `redis://[user:password@]host:port` or `rediss://...` (TLS).
    pub target: String,
    /// TLS settings for a `rediss://` target.
    pub tls: crate::target::TlsOptions,
    /// Overwrite existing keys (`RESTORE ... REPLACE`); otherwise they are conflicts.
    pub replace: bool,
    /// Connections per server (per primary on a cluster).
    pub parallel: usize,
    /// Values the target cannot hold.
    pub on_unsupported: OnUnsupported,
    /// Put keys of every database into db 0 (a cluster has only db 0).
    pub flatten_dbs: bool,
    /// Which keys to seed.
    pub filter: Filter,
    /// Most commands in one pipeline.
    pub batch_keys: usize,
    /// Most payload bytes in one pipeline.
    pub batch_bytes: usize,
    /// Records larger than this are sent as a first part plus batches of commands.
    pub max_payload: u64,
    /// Size of each part of a big value.
    pub part_bytes: usize,
    /// Where progress is saved (None: not saved).
    pub checkpoint: Option<PathBuf>,
    /// Continue from the checkpoint.
    pub resume: bool,
    /// Count keys on the target at the end and compare with the dump.
    pub verify: bool,
    /// Also compare this many random keys value by value.
    pub verify_sample: usize,
    /// How dumps are read.
    pub decoder: DecoderOptions,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            target: String::new(),
            tls: crate::target::TlsOptions::default(),
            replace: false,
            parallel: 4,
            on_unsupported: OnUnsupported::Skip,
            flatten_dbs: false,
            filter: Filter::default(),
            batch_keys: 1000,
            batch_bytes: 8 << 20,
            max_payload: 256 << 20,
            part_bytes: 4 << 20,
            checkpoint: None,
            resume: false,
            verify: true,
            verify_sample: 0,
            decoder: DecoderOptions::default(),
        }
    }
}

/// Why a seed stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A dump could not be opened.
    #[error("{path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A dump could not be decoded.
    #[error("{path}: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The error.
        source: rdb_format::Error,
    },
    /// The target failed (connection lost, refused...).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A value the target cannot hold, with `OnUnsupported::Fail`.
    #[error("{path}: key {key}: {source}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Why.
        source: Box<EncodeError>,
    },
    /// Keys outside db 0 for a cluster, without `--flatten-dbs` or a db filter.
    #[error("{0}")]
    OtherDbs(String),
    /// The checkpoint could not be read, written or used.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A value could not be encoded for the target.
    #[error(transparent)]
    Encode(Box<EncodeError>),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl From<EncodeError> for SeedError {
    fn from(e: EncodeError) -> Self {
        SeedError::Encode(Box::new(e))
    }
}

/// Counts of what happened to keys, with a few examples of each problem.
#[derive(Clone, Debug, Default)]
pub struct Counts {
    /// Keys restored.
    pub seeded: u64,
    /// Of those, values sent as their own bytes.
    pub copied: u64,
    /// Of those, values re-encoded for the target.
    pub reencoded: u64,
    /// Of those, values sent in parts (then renamed into place with their TTL).
    pub big_values: u64,
    /// Keys the target already had (not overwritten without `--replace`).
    pub conflicts: u64,
    /// On resume: keys restored by the interrupted run.
    pub already_present: u64,
    /// Values the target cannot hold (skipped).
    pub unsupported: u64,
    /// Commands that failed.
    pub errors: u64,
    /// Example keys for conflicts.
    pub conflict_examples: Vec<String>,
    /// Example keys and reasons for unsupported values.
    pub unsupported_examples: Vec<String>,
    /// Example keys and errors.
    pub error_examples: Vec<String>,
}

const EXAMPLES: usize = 10;

fn example(list: &mut Vec<String>, s: impl FnOnce() -> String) {
    if list.len() < EXAMPLES {
        list.push(s());
    }
}

/// What a seed did.
#[derive(Clone, Debug, Default)]
pub struct SeedReport {
    /// The server, e.g. `redis 7.0.15`.
    pub server: String,
    /// The RDB version payloads were written for.
    pub target_version: Option<Version>,
    /// Primaries, for a cluster (0: standalone).
    pub cluster_nodes: usize,
    /// Records read from the dumps.
    pub records: u64,
    /// Records left out by the filters.
    pub filtered: u64,
    /// Keys already expired when read (not sent).
    pub skipped_expired: u64,
    /// Keys restored from their own bytes (acknowledged by the target).
    pub copied: u64,
    /// Keys restored re-encoded for the target (acknowledged).
    pub reencoded: u64,
    /// Keys sent in parts and put in place whole (acknowledged).
    pub big_values: u64,
    /// Function libraries loaded.
    pub functions: u64,
    /// Where a resumed run started (file index, offset).
    pub resumed_from: Option<Pos>,
    /// Outcomes.
    pub counts: Counts,
    /// Bytes of dumps read.
    pub bytes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// The verification, if run.
    pub verify: Option<VerifyReport>,
}

impl SeedReport {
    /// Whether the target now holds what it should: no errors, no conflicts, and the
    /// verification (if run) found no difference.
    pub fn is_clean(&self) -> bool {
        self.counts.errors == 0
            && self.counts.conflicts == 0
            && self.verify.as_ref().is_none_or(VerifyReport::is_clean)
    }
}

/// A progress snapshot, reported a few times a second.
#[derive(Clone, Copy, Debug, Default)]
pub struct Progress {
    /// Dump bytes read.
    pub bytes_done: u64,
    /// Dump bytes in all.
    pub bytes_total: u64,
    /// Keys acknowledged by the target so far.
    pub seeded: u64,
    /// Time since the start.
    pub elapsed: Duration,
}

/// How a `RESTORE` is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    /// An existing key is a conflict.
    Normal,
    /// Resuming: an existing key was restored by the interrupted run.
    Window,
}

/// How a restored value was prepared (counted once the target has acknowledged it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    Copied,
    Reencoded,
}

enum Op {
    Restore {
        key: Vec<u8>,
        ttl: i64,
        payload: Vec<u8>,
        replace: bool,
        mode: Mode,
        module: bool,
        how: How,
        at: Pos,
        bucket: u64,
    },
    /// A command building big value number `big` under its temporary key; the first one
    /// (`RESTORE tmp 0 ... REPLACE`) starts it, the others are sent only if it succeeded.
    Part {
        big: u64,
        first: bool,
        cmd: redis::Cmd,
        key: Vec<u8>,
        at: Pos,
        bucket: u64,
    },
    /// Renames big value `big` onto its key with its TTL ([`partial::PUBLISH_SCRIPT`]), or
    /// drops the temporary key when a part failed.
    Publish {
        big: u64,
        tmp: Vec<u8>,
        key: Vec<u8>,
        ttl: i64,
        replace: bool,
        mode: Mode,
        at: Pos,
        bucket: u64,
    },
    /// Drops the temporary key an interrupted run left for a value no longer sent.
    Drop { tmp: Vec<u8>, at: Pos, bucket: u64 },
}

impl Op {
    fn cmd(&self) -> redis::Cmd {
        match self {
            Op::Restore {
                key,
                ttl,
                payload,
                replace,
                ..
            } => {
                let mut c = redis::cmd("RESTORE");
                c.arg(key.as_slice()).arg(*ttl).arg(payload.as_slice());
                if *replace {
                    c.arg("REPLACE");
                }
                if *ttl > 0 {
                    c.arg("ABSTTL");
                }
                c
            }
            Op::Part { cmd, .. } => cmd.clone(),
            Op::Publish {
                tmp,
                key,
                ttl,
                replace,
                ..
            } => partial::publish_cmd(tmp, key, *replace, *ttl),
            Op::Drop { tmp, .. } => {
                let mut c = redis::cmd("DEL");
                c.arg(tmp.as_slice());
                c
            }
        }
    }

    fn key(&self) -> &[u8] {
        match self {
            Op::Restore { key, .. } | Op::Part { key, .. } | Op::Publish { key, .. } => key,
            Op::Drop { tmp, .. } => tmp,
        }
    }

    fn failed_at(&self) -> (Pos, u64) {
        match self {
            Op::Restore { at, bucket, .. }
            | Op::Part { at, bucket, .. }
            | Op::Publish { at, bucket, .. }
            | Op::Drop { at, bucket, .. } => (*at, *bucket),
        }
    }
}

struct Batch {
    db: u64,
    ops: Vec<Op>,
    bytes: usize,
    /// Positions opened in the tracker for this batch, closed when it is acknowledged.
    anchors: Vec<Pos>,
}

impl Batch {
    fn new(db: u64) -> Batch {
        Batch {
            db,
            ops: Vec::new(),
            bytes: 0,
            anchors: Vec::new(),
        }
    }
}

/// Shared between the reader and the workers.
struct Shared {
    target: Target,
    tracker: Mutex<Tracker>,
    seeded: AtomicU64,
    abort: AtomicBool,
    fatal: Mutex<Option<SeedError>>,
}

#[derive(Default)]
struct Tracker {
    open: BTreeMap<Pos, u32>,
    counts: Counts,
    failed: Vec<(Pos, u64)>,
}

impl Tracker {
    fn open(&mut self, at: Pos) {
        *self.open.entry(at).or_default() += 1;
    }

    fn close(&mut self, at: Pos) {
        if let Some(n) = self.open.get_mut(&at) {
            *n -= 1;
            if *n == 0 {
                self.open.remove(&at);
            }
        }
    }
}

impl Shared {
    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        match self.tracker.lock() {
            Ok(t) => t,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn fail(&self, e: SeedError) {
        self.abort.store(true, Ordering::SeqCst);
        let mut f = match self.fatal.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        if f.is_none() {
            *f = Some(e);
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Seeds `options.target` from `files`, calling `progress` a few times a second.
pub async fn seed(
    files: &[PathBuf],
    options: &SeedOptions,
    progress: impl Fn(&Progress) + Send + Sync + 'static,
) -> Result<SeedReport, SeedError> {
    let start = Instant::now();
    let target = Target::connect(&options.target, &options.tls).await?;
    let map = target.slot_map();
    let mut report = SeedReport {
        server: target.server.clone(),
        target_version: Some(target.version),
        cluster_nodes: map.as_ref().map_or(0, |m| m.nodes.len()),
        ..SeedReport::default()
    };

    // Inputs, and the checkpoint to resume from.
    let mut inputs = Vec::new();
    for path in files {
        let size = std::fs::metadata(path)
            .map_err(|source| SeedError::Open {
                path: path.clone(),
                source,
            })?
            .len();
        let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        inputs.push((size, abs));
    }
    let target_name = redact(&options.target);
    let resume = match (&options.checkpoint, options.resume) {
        (Some(path), true) => {
            let c = Checkpoint::load(path)?;
            c.check_matches(&inputs, &target_name, path)?;
            if c.complete {
                return Err(SeedError::Other(format!(
                    "checkpoint {} says this seed already finished; run without --resume to seed again",
                    path.display()
                )));
            }
            Some(c)
        }
        (None, true) => {
            return Err(SeedError::Other(
                "--resume needs a checkpoint file (--checkpoint PATH)".into(),
            ))
        }
        _ => None,
    };
    report.resumed_from = resume.as_ref().map(|c| c.done);

    if map.is_some() && !options.flatten_dbs {
        check_only_db0(files, options)?;
    }

    let shared = Arc::new(Shared {
        target: target.clone(),
        tracker: Mutex::new(Tracker::default()),
        seeded: AtomicU64::new(0),
        abort: AtomicBool::new(false),
        fatal: Mutex::new(None),
    });
    if let Some(c) = &resume {
        shared.tracker().failed = c.failed.clone();
    }

    let reader = Reader {
        files: files.to_vec(),
        inputs: inputs.clone(),
        options: options.clone(),
        shared: shared.clone(),
        map,
        resume: resume.clone(),
        target_name,
        handle: tokio::runtime::Handle::current(),
        start,
    };
    let progress = Arc::new(progress);
    let read = tokio::task::spawn_blocking(move || reader.run(&*progress))
        .await
        .map_err(|e| SeedError::Other(format!("reader thread: {e}")))?;
    let (summary, workers) = match read {
        Ok(x) => x,
        Err(e) => {
            shared.fail(e);
            (ReadSummary::default(), Vec::new())
        }
    };
    for w in workers {
        let _ = w.await;
    }
    let fatal = match shared.fatal.lock() {
        Ok(mut f) => f.take(),
        Err(p) => p.into_inner().take(),
    };
    // Final checkpoint: complete, or the position to resume from.
    let (counts, failed, open_first) = {
        let t = shared.tracker();
        (
            t.counts.clone(),
            t.failed.clone(),
            t.open.keys().next().copied(),
        )
    };
    if let Some(path) = &options.checkpoint {
        let done = match open_first {
            Some(p) => p.min(summary.cursor),
            None => summary.cursor,
        }
        .max(resume.as_ref().map_or((0, 0), |c| c.done));
        let seeded_before = resume.as_ref().map_or(0, |c| c.seeded);
        let c = Checkpoint {
            target: redact(&options.target),
            files: inputs.clone(),
            done,
            high: summary.high.max(resume.as_ref().map_or((0, 0), |c| c.high)),
            complete: fatal.is_none() && summary.finished,
            seeded: seeded_before + counts.seeded,
            failed: failed.iter().copied().filter(|(p, _)| *p < done).collect(),
        };
        c.save(path)?;
    }
    if let Some(e) = fatal {
        return Err(e);
    }

    // Function libraries (Redis 7+, Valkey): loaded on every primary.
    let has_functions = target.version.is_valkey() || target.version.number >= 10;
    if !has_functions && !summary.functions.is_empty() {
        report.counts.unsupported += summary.functions.len() as u64;
        example(&mut report.counts.unsupported_examples, || {
            format!(
                "{} function librar{}: {} has no functions (Redis 7.0+)",
                summary.functions.len(),
                if summary.functions.len() == 1 {
                    "y"
                } else {
                    "ies"
                },
                target.server
            )
        });
    }
    for code in summary.functions.iter().filter(|_| has_functions) {
        let nodes = match target.slot_map() {
            Some(m) => m.nodes,
            None => vec![target.addr()],
        };
        for addr in nodes {
            let mut con = target.connection(&addr).await?;
            let mut c = redis::cmd("FUNCTION");
            c.arg("LOAD");
            if options.replace {
                c.arg("REPLACE");
            }
            c.arg(code.as_slice());
            let r: redis::RedisResult<redis::Value> = c.query_async(&mut con).await;
            match r {
                Ok(_) => report.functions += 1,
                // Loaded by the interrupted run.
                Err(e) if options.resume && e.to_string().contains("already exists") => {
                    report.counts.already_present += 1;
                }
                Err(e) if e.to_string().contains("already exists") => {
                    report.counts.conflicts += 1;
                    example(&mut report.counts.conflict_examples, || {
                        format!("function library on {addr}: {e}")
                    });
                }
                Err(e) => {
                    report.counts.errors += 1;
                    example(&mut report.counts.error_examples, || {
                        format!("function library on {addr}: {e}")
                    });
                }
            }
        }
    }

    // Worker outcomes first, then what the function loading added.
    let extra = std::mem::replace(&mut report.counts, counts);
    let c = &mut report.counts;
    c.conflicts += extra.conflicts;
    c.already_present += extra.already_present;
    c.errors += extra.errors;
    c.unsupported += extra.unsupported;
    for (list, add) in [
        (&mut c.conflict_examples, extra.conflict_examples),
        (&mut c.error_examples, extra.error_examples),
        (&mut c.unsupported_examples, extra.unsupported_examples),
    ] {
        for e in add {
            example(list, || e);
        }
    }
    report.records = summary.records;
    report.filtered = summary.filtered;
    report.skipped_expired = summary.expired;
    report.copied = report.counts.copied;
    report.reencoded = report.counts.reencoded;
    report.big_values = report.counts.big_values;
    report.bytes = summary.bytes;
    report.counts.unsupported += summary.unsupported;
    for e in summary.unsupported_examples {
        example(&mut report.counts.unsupported_examples, || e);
    }

    if options.verify {
        let mut expected = summary.expected;
        for (_, bucket) in &failed {
            if let Some(n) = expected.counts.get_mut(bucket) {
                *n = n.saturating_sub(1);
            }
        }
        let mut v = verify::count_keys(&target, &expected).await?;
        if options.verify_sample > 0 {
            // Keys the target refused are reported already; compare the others.
            let refused: std::collections::HashSet<Pos> = failed.iter().map(|(p, _)| *p).collect();
            let samples: Vec<Sample> = summary
                .samples
                .into_iter()
                .filter(|s| !refused.contains(&s.record))
                .collect();
            verify::compare_samples(&target, files, &samples, options.decoder, &mut v).await?;
        }
        report.verify = Some(v);
    }
    report.elapsed = start.elapsed();
    Ok(report)
}

/// Fails when a cluster target would get keys of databases other than 0.
fn check_only_db0(files: &[PathBuf], options: &SeedOptions) -> Result<(), SeedError> {
    let mut others: BTreeMap<u64, (u64, Vec<String>)> = BTreeMap::new();
    for path in files {
        let file = DumpFile::open(path).map_err(|source| SeedError::Open {
            path: path.clone(),
            source,
        })?;
        let dec = Decoder::with_options(file.data(), options.decoder).map_err(|source| {
            SeedError::Decode {
                path: path.clone(),
                source,
            }
        })?;
        let mut scratch = Scratch::new();
        for item in dec {
            let item = item.map_err(|source| SeedError::Decode {
                path: path.clone(),
                source,
            })?;
            let Item::Record(r) = item else { continue };
            if r.db == 0 || !options.filter.matches_metadata(&r) {
                continue;
            }
            let key = r
                .key
                .decode(&scratch)
                .map_err(|source| SeedError::Decode {
                    path: path.clone(),
                    source,
                })?
                .to_vec();
            if options.filter.matches_key(&key) {
                let e = others.entry(r.db).or_default();
                e.0 += 1;
                if e.1.len() < 3 {
                    e.1.push(show_key(&key));
                }
            }
            scratch.reset();
        }
    }
    if others.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = others
        .iter()
        .map(|(db, (n, keys))| format!("db {db}: {n} key(s), e.g. {}", keys.join(", ")))
        .collect();
    Err(SeedError::OtherDbs(format!(
        "the target is a cluster, which has only db 0, but the dump has keys in other databases ({}); \
         select db 0 with --db 0, or merge them into db 0 with --flatten-dbs",
        list.join("; ")
    )))
}

#[derive(Default)]
struct ReadSummary {
    records: u64,
    filtered: u64,
    expired: u64,
    unsupported: u64,
    unsupported_examples: Vec<String>,
    bytes: u64,
    cursor: Pos,
    high: Pos,
    finished: bool,
    functions: Vec<Vec<u8>>,
    expected: Expected,
    samples: Vec<Sample>,
}

/// The reading side: runs on a blocking thread.
struct Reader {
    files: Vec<PathBuf>,
    inputs: Vec<(u64, PathBuf)>,
    options: SeedOptions,
    shared: Arc<Shared>,
    map: Option<SlotMap>,
    resume: Option<Checkpoint>,
    target_name: String,
    handle: tokio::runtime::Handle,
    start: Instant,
}

/// Workers for one destination (the server, or one primary), used round-robin.
struct Group {
    senders: Vec<mpsc::Sender<Batch>>,
    next: usize,
    open: Option<Batch>,
}

type Workers = Vec<tokio::task::JoinHandle<()>>;

impl Reader {
    fn run(self, progress: &dyn Fn(&Progress)) -> Result<(ReadSummary, Workers), SeedError> {
        let mut state = ReadState {
            groups: HashMap::new(),
            workers: Vec::new(),
            summary: ReadSummary {
                expected: Expected {
                    by_slot: self.map.is_some(),
                    ..Expected::default()
                },
                ..ReadSummary::default()
            },
            leased: self.resume.as_ref().map_or((0, 0), |c| c.high),
            next_big: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            seen_for_sample: 0,
        };
        // A checkpoint from the start: a run killed at once can be resumed.
        let mut r = self
            .save_checkpoint(&state, self.resume.as_ref().map(|c| c.high))
            .and_then(|()| self.read_all(&mut state, progress));
        // Hand over the last batches, then close the channels so the workers finish.
        if r.is_ok() {
            let keys: Vec<usize> = state.groups.keys().copied().collect();
            for g in keys {
                if let Err(e) = self.dispatch(&mut state, g) {
                    r = Err(e);
                    break;
                }
            }
        }
        state.groups.clear();
        match r {
            Ok(()) => {
                state.summary.finished = !self.shared.abort.load(Ordering::SeqCst);
                Ok((state.summary, state.workers))
            }
            Err(e) => {
                self.shared.fail(e);
                Ok((state.summary, state.workers))
            }
        }
    }

    fn read_all(&self, st: &mut ReadState, progress: &dyn Fn(&Progress)) -> Result<(), SeedError> {
        let target_version = self.shared.target.version;
        let bytes_total: u64 = self.inputs.iter().map(|(s, _)| s).sum();
        let mut bytes_before = 0u64;
        let resume_done = self.resume.as_ref().map(|c| c.done);
        let resume_high = self.resume.as_ref().map(|c| c.high);
        let mut last_report = Instant::now();
        let mut last_checkpoint = Instant::now();
        for (fi, path) in self.files.iter().enumerate() {
            let fi = fi as u32;
            let file = DumpFile::open(path).map_err(|source| SeedError::Open {
                path: path.clone(),
                source,
            })?;
            // A dump cut or rewritten while mapped reads as zeros past its new end: say so
            // rather than report (or send) what the zeros decode to.
            let changed = || {
                file.verify().err().map(|source| SeedError::Open {
                    path: path.clone(),
                    source,
                })
            };
            let decode_err = |source| {
                changed().unwrap_or_else(|| SeedError::Decode {
                    path: path.clone(),
                    source,
                })
            };
            let data = file.data();
            let decoder = Decoder::with_options(data, self.options.decoder).map_err(decode_err)?;
            let source = decoder.version();
            let mut scratch = Scratch::new();
            let mut now = now_ms();
            for item in decoder {
                if self.shared.abort.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let item = item.map_err(decode_err)?;
                if file.was_cut() {
                    return Err(changed().unwrap_or_else(|| SeedError::Open {
                        path: path.clone(),
                        source: std::io::Error::other("was truncated while being read"),
                    }));
                }
                let record = match item {
                    Item::Record(r) => r,
                    Item::Function { code } => {
                        if fi == 0 || !st.summary.functions.is_empty() {
                            let code = code.decode(&scratch).map_err(decode_err)?.to_vec();
                            if !st.summary.functions.contains(&code) {
                                st.summary.functions.push(code);
                            }
                        }
                        continue;
                    }
                    _ => continue,
                };
                st.summary.records += 1;
                let at: Pos = (fi, record.offset);
                st.summary.cursor = at;
                if st.summary.records % 64 == 0 {
                    now = now_ms();
                    if last_report.elapsed() >= Duration::from_millis(200) {
                        last_report = Instant::now();
                        progress(&Progress {
                            bytes_done: bytes_before + record.offset,
                            bytes_total,
                            seeded: self.shared.seeded.load(Ordering::Relaxed),
                            elapsed: self.start.elapsed(),
                        });
                    }
                    if last_checkpoint.elapsed() >= Duration::from_secs(1) {
                        last_checkpoint = Instant::now();
                        self.save_checkpoint(st, resume_high)?;
                    }
                }
                let settled = resume_done.is_some_and(|d| at < d);
                let mode = if resume_high.is_some_and(|h| at <= h) {
                    Mode::Window
                } else {
                    Mode::Normal
                };
                self.record(
                    st,
                    &record,
                    RecordCtx {
                        at,
                        path,
                        source,
                        target_version,
                        now,
                        settled,
                        mode,
                    },
                    &mut scratch,
                )?;
                scratch.reset();
                st.summary.cursor = (fi, record.offset + record.len);
            }
            if let Some(e) = changed() {
                return Err(e);
            }
            bytes_before += data.len() as u64;
            st.summary.bytes = bytes_before;
            st.summary.cursor = (fi + 1, 0);
        }
        progress(&Progress {
            bytes_done: bytes_total,
            bytes_total,
            seeded: self.shared.seeded.load(Ordering::Relaxed),
            elapsed: self.start.elapsed(),
        });
        Ok(())
    }

    fn save_checkpoint(&self, st: &ReadState, resume_high: Option<Pos>) -> Result<(), SeedError> {
        let Some(path) = &self.options.checkpoint else {
            return Ok(());
        };
        let (done, seeded, failed) = {
            let t = self.shared.tracker();
            // Records before the resumed checkpoint's `done` are settled, not sent again.
            let done = match t.open.keys().next() {
                Some(p) => (*p).min(st.summary.cursor),
                None => st.summary.cursor,
            }
            .max(self.resume.as_ref().map_or((0, 0), |c| c.done));
            let failed = t
                .failed
                .iter()
                .copied()
                .filter(|(p, _)| *p < done)
                .collect();
            (done, t.counts.seeded, failed)
        };
        let c = Checkpoint {
            target: self.target_name.clone(),
            files: self.inputs.clone(),
            done,
            high: st.summary.high.max(resume_high.unwrap_or((0, 0))),
            complete: false,
            seeded: self.resume.as_ref().map_or(0, |c| c.seeded) + seeded,
            failed,
        };
        c.save(path)?;
        Ok(())
    }

    fn record(
        &self,
        st: &mut ReadState,
        r: &Record<'_>,
        cx: RecordCtx<'_>,
        scratch: &mut Scratch,
    ) -> Result<(), SeedError> {
        let opts = &self.options;
        if !opts.filter.matches_metadata(r) {
            st.summary.filtered += 1;
            return Ok(());
        }
        let key = r
            .key
            .decode(scratch)
            .map_err(|source| SeedError::Decode {
                path: cx.path.clone(),
                source,
            })?
            .to_vec();
        if !opts.filter.matches_key(&key) {
            st.summary.filtered += 1;
            return Ok(());
        }
        if r.expire_ms.is_some_and(|e| e <= cx.now) {
            st.summary.expired += 1;
            if cx.mode == Mode::Window && !cx.settled && r.len > opts.max_payload {
                // The interrupted run may have left this value half built: drop it.
                self.drop_temp(st, &key, r.db, cx.at)?;
            }
            return Ok(());
        }
        let db = if self.map.is_some() || opts.flatten_dbs {
            0
        } else {
            r.db
        };
        let slot = key_slot(&key);
        let bucket = if self.map.is_some() {
            u64::from(slot)
        } else {
            db
        };

        // The payload: the record's own bytes, or the value re-encoded.
        let big = r.len > opts.max_payload
            && matches!(
                r.data_type(),
                Type::String | Type::List | Type::Set | Type::ZSet | Type::Hash
            );
        let mut value = Vec::new();
        let mut how = How::Reencoded;
        let type_byte = if copyable(r.encoding, cx.source, cx.target_version) && !big {
            if !cx.settled {
                value.extend_from_slice(r.value_raw);
                how = How::Copied;
            }
            type_byte(r.encoding)
        } else {
            // Values the target's version cannot hold are found by encoding them; a big value
            // is encoded in parts below, so only check that the whole would be accepted.
            let decoded = r.value(scratch).map_err(|source| SeedError::Decode {
                path: cx.path.clone(),
                source,
            })?;
            let check_only = big || cx.settled;
            match encode_value_checked(&decoded, cx.target_version, &mut value, check_only) {
                Ok(t) => t,
                Err(e @ EncodeError::Unsupported { .. }) => {
                    return match opts.on_unsupported {
                        OnUnsupported::Fail => Err(SeedError::Unsupported {
                            path: cx.path.clone(),
                            key: show_key(&key),
                            source: Box::new(e),
                        }),
                        OnUnsupported::Skip => {
                            st.summary.unsupported += 1;
                            example(&mut st.summary.unsupported_examples, || {
                                format!("{}: {e}", show_key(&key))
                            });
                            Ok(())
                        }
                    };
                }
                Err(EncodeError::Decode(source)) => {
                    return Err(SeedError::Decode {
                        path: cx.path.clone(),
                        source,
                    })
                }
                Err(e) => return Err(SeedError::Other(format!("{}: {e}", show_key(&key)))),
            }
        };
        st.summary.expected.add(bucket, r.expire_ms, cx.now);
        if cx.settled {
            return Ok(());
        }
        st.summary.high = st.summary.high.max(cx.at);
        self.maybe_sample(st, r, &cx, &key, db);

        let group = match &self.map {
            None => 0,
            Some(m) => {
                // A MOVED seen by a worker updates the shared map.
                let shared_map = self.shared.target.cluster.as_ref();
                let node = shared_map
                    .and_then(|m| m.read().ok().and_then(|m| m.node_of(slot)))
                    .or_else(|| m.node_of(slot));
                node.ok_or_else(|| {
                    SeedError::Other(format!(
                        "key {} is in slot {slot}, which no primary of the cluster serves",
                        show_key(&key)
                    ))
                })?
            }
        };
        let ttl = r.expire_ms.unwrap_or(0);
        let module = r.data_type() == Type::Module;
        if big {
            return self.big_value(st, r, &cx, key, ttl, db, bucket, group, scratch);
        }
        let payload = dump_payload(type_byte, &value, cx.target_version);
        let op = Op::Restore {
            key,
            ttl,
            payload,
            replace: opts.replace,
            mode: cx.mode,
            module,
            how,
            at: cx.at,
            bucket,
        };
        self.push(st, group, db, op, cx.at)
    }

    fn maybe_sample(
        &self,
        st: &mut ReadState,
        r: &Record<'_>,
        cx: &RecordCtx<'_>,
        key: &[u8],
        db: u64,
    ) {
        let n = self.options.verify_sample;
        if n == 0 {
            return;
        }
        st.seen_for_sample += 1;
        let sample = || Sample {
            file: cx.at.0 as usize,
            value_offset: r.value_offset,
            value_len: r.value_raw.len() as u64,
            type_byte: encode::type_byte(r.encoding),
            version: cx.source,
            key: key.to_vec(),
            db,
            expire_ms: r.expire_ms,
            record: cx.at,
        };
        if st.summary.samples.len() < n {
            st.summary.samples.push(sample());
        } else {
            // Reservoir sampling: keep each record with probability n / seen.
            st.rng ^= st.rng << 13;
            st.rng ^= st.rng >> 7;
            st.rng ^= st.rng << 17;
            let j = st.rng % st.seen_for_sample;
            if (j as usize) < n {
                st.summary.samples[j as usize] = sample();
            }
        }
    }

    /// A value too big for one `RESTORE`: a first part, then batches of commands, all on
    /// one connection, sent only if the first part was restored.
    #[allow(clippy::too_many_arguments)]
    fn big_value(
        &self,
        st: &mut ReadState,
        r: &Record<'_>,
        cx: &RecordCtx<'_>,
        key: Vec<u8>,
        ttl: i64,
        db: u64,
        bucket: u64,
        group: usize,
        scratch: &Scratch,
    ) -> Result<(), SeedError> {
        let decode_err = |source| SeedError::Decode {
            path: cx.path.clone(),
            source,
        };
        let part = self.options.part_bytes.max(1);
        let big = st.next_big;
        st.next_big += 1;
        // Everything queued before goes first; then this value's batches go to one worker.
        self.dispatch(st, group)?;
        let worker = self.pick_worker(st, group, db);
        self.shared.tracker().open(cx.at); // guard until every part is handed over
        let value = r.value(scratch).map_err(decode_err)?;
        let target = cx.target_version;
        let mut first = Vec::new();
        let mut parts: Vec<redis::Cmd> = Vec::new();
        let tmp = partial::temp_key(&key, cx.at);
        let cmd_for = |name: &str| {
            let mut c = redis::cmd(name);
            c.arg(tmp.as_slice());
            c
        };
        let type_byte = match value {
            Value::String(s) => {
                let bytes = s.to_vec();
                let (head, tail) = bytes.split_at(part.min(bytes.len()));
                for chunk in tail.chunks(part) {
                    let mut c = cmd_for("APPEND");
                    c.arg(chunk);
                    parts.push(c);
                }
                encode::string(Str::Bytes(head), &mut first)
            }
            Value::List(mut items) => {
                let head = take_part(&mut items, part, |s| s.len()).map_err(decode_err)?;
                let t = encode::list(head.into_iter().map(Ok), target, &mut first)?;
                chunked(
                    &mut items,
                    part,
                    |s: &Str<'_>| s.len(),
                    |chunk| {
                        let mut c = cmd_for("RPUSH");
                        for s in chunk {
                            c.arg(s.to_vec());
                        }
                        parts.push(c);
                    },
                )
                .map_err(decode_err)?;
                t
            }
            Value::Set(mut members) => {
                let head = take_part(&mut members, part, |s| s.len()).map_err(decode_err)?;
                let t = encode::set(head.into_iter().map(Ok), target, &mut first)?;
                chunked(
                    &mut members,
                    part,
                    |s: &Str<'_>| s.len(),
                    |chunk| {
                        let mut c = cmd_for("SADD");
                        for s in chunk {
                            c.arg(s.to_vec());
                        }
                        parts.push(c);
                    },
                )
                .map_err(decode_err)?;
                t
            }
            Value::ZSet(mut members) => {
                let size = |(m, _): &(Str<'_>, f64)| m.len() + 8;
                let head = take_part(&mut members, part, size).map_err(decode_err)?;
                let t = encode::zset(head.into_iter().map(Ok), target, &mut first)?;
                chunked(&mut members, part, size, |chunk| {
                    let mut c = cmd_for("ZADD");
                    for (m, s) in chunk {
                        c.arg(score_arg(*s)).arg(m.to_vec());
                    }
                    parts.push(c);
                })
                .map_err(decode_err)?;
                t
            }
            Value::Hash(mut fields) => {
                let size = |e: &rdb_format::HashEntry<'_>| e.field.len() + e.value.len();
                let head = take_part(&mut fields, part, size).map_err(decode_err)?;
                let t = encode::hash(head.into_iter().map(Ok), target, &mut first)?;
                chunked(&mut fields, part, size, |chunk| {
                    let mut c = cmd_for("HSET");
                    for e in chunk {
                        c.arg(e.field.to_vec()).arg(e.value.to_vec());
                    }
                    parts.push(c);
                    for e in chunk {
                        if let Some(ms) = e.expire_ms {
                            let mut c = cmd_for("HPEXPIREAT");
                            c.arg(ms).arg("FIELDS").arg(1).arg(e.field.to_vec());
                            parts.push(c);
                        }
                    }
                })
                .map_err(decode_err)?;
                t
            }
            _ => return Err(SeedError::Other("not a splittable type".into())),
        };
        let payload = dump_payload(type_byte, &first, target);
        let mut b = Batch::new(db);
        b.bytes = payload.len();
        // Built under the temporary key without a TTL (REPLACE: a resumed run starts it
        // again), renamed into place with its TTL at the end.
        let mut restore = redis::cmd("RESTORE");
        restore
            .arg(tmp.as_slice())
            .arg(0)
            .arg(payload)
            .arg("REPLACE");
        b.ops.push(Op::Part {
            big,
            first: true,
            cmd: restore,
            key: key.clone(),
            at: cx.at,
            bucket,
        });
        self.send(st, group, worker, b, cx.at)?;
        let mut b = Batch::new(db);
        for cmd in parts {
            let size = cmd.args_iter().count() * 16 + part / 64;
            if !b.ops.is_empty() && (b.bytes + size > part || b.ops.len() >= 64) {
                self.send(
                    st,
                    group,
                    worker,
                    std::mem::replace(&mut b, Batch::new(db)),
                    cx.at,
                )?;
            }
            b.bytes += size;
            b.ops.push(Op::Part {
                big,
                first: false,
                cmd,
                key: key.clone(),
                at: cx.at,
                bucket,
            });
        }
        if !b.ops.is_empty() {
            self.send(st, group, worker, b, cx.at)?;
        }
        let mut b = Batch::new(db);
        b.ops.push(Op::Publish {
            big,
            tmp,
            key,
            ttl,
            replace: self.options.replace,
            mode: cx.mode,
            at: cx.at,
            bucket,
        });
        self.send(st, group, worker, b, cx.at)?;
        self.shared.tracker().close(cx.at);
        Ok(())
    }

    /// Queues a `DEL` of the temporary key of the value of `key` recorded at `at`.
    fn drop_temp(&self, st: &mut ReadState, key: &[u8], db: u64, at: Pos) -> Result<(), SeedError> {
        let db = if self.map.is_some() || self.options.flatten_dbs {
            0
        } else {
            db
        };
        let slot = key_slot(key);
        let group = match &self.map {
            None => 0,
            Some(m) => match m.node_of(slot) {
                Some(g) => g,
                None => return Ok(()),
            },
        };
        let tmp = partial::temp_key(key, at);
        let bucket = if self.map.is_some() {
            u64::from(slot)
        } else {
            db
        };
        self.push(st, group, db, Op::Drop { tmp, at, bucket }, at)
    }

    fn group<'s>(&self, st: &'s mut ReadState, g: usize) -> &'s mut Group {
        if !st.groups.contains_key(&g) {
            let addr = match &self.map {
                None => self.shared.target.addr(),
                Some(_) => self
                    .shared
                    .target
                    .slot_map()
                    .and_then(|m| m.nodes.get(g).cloned())
                    .unwrap_or_else(|| self.shared.target.addr()),
            };
            let mut senders = Vec::new();
            for _ in 0..self.options.parallel.max(1) {
                let (tx, rx) = mpsc::channel::<Batch>(2);
                let w = Worker {
                    shared: self.shared.clone(),
                    addr: addr.clone(),
                    standalone: self.map.is_none(),
                    big: None,
                };
                st.workers.push(self.handle.spawn(w.run(rx)));
                senders.push(tx);
            }
            st.groups.insert(
                g,
                Group {
                    senders,
                    next: 0,
                    open: None,
                },
            );
        }
        match st.groups.get_mut(&g) {
            Some(group) => group,
            None => unreachable!("inserted above"),
        }
    }

    fn pick_worker(&self, st: &mut ReadState, g: usize, _db: u64) -> usize {
        let group = self.group(st, g);
        let w = group.next % group.senders.len();
        group.next = group.next.wrapping_add(1);
        w
    }

    /// Adds a command to the open batch of group `g`, sending the batch when full.
    fn push(
        &self,
        st: &mut ReadState,
        g: usize,
        db: u64,
        op: Op,
        at: Pos,
    ) -> Result<(), SeedError> {
        let (max_keys, max_bytes) = (self.options.batch_keys.max(1), self.options.batch_bytes);
        let group = self.group(st, g);
        if group.open.as_ref().is_some_and(|b| b.db != db) {
            self.dispatch(st, g)?;
        }
        let group = self.group(st, g);
        let batch = group.open.get_or_insert_with(|| Batch::new(db));
        if batch.anchors.is_empty() {
            batch.anchors.push(at);
            self.shared.tracker().open(at);
        }
        if let Op::Restore { payload, .. } = &op {
            batch.bytes += payload.len() + op.key().len();
        }
        batch.ops.push(op);
        if batch.ops.len() >= max_keys || batch.bytes >= max_bytes {
            self.dispatch(st, g)?;
        }
        Ok(())
    }

    /// Sends the open batch of group `g` to its next worker.
    fn dispatch(&self, st: &mut ReadState, g: usize) -> Result<(), SeedError> {
        let has_ops = st
            .groups
            .get(&g)
            .and_then(|group| group.open.as_ref())
            .is_some_and(|b| !b.ops.is_empty());
        if !has_ops {
            return Ok(());
        }
        self.lease(st)?;
        let Some(group) = st.groups.get_mut(&g) else {
            return Ok(());
        };
        let Some(batch) = group.open.take() else {
            return Ok(());
        };
        let w = group.next % group.senders.len();
        group.next = group.next.wrapping_add(1);
        if group.senders[w].blocking_send(batch).is_err() {
            self.shared.abort.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Before anything past the checkpoint's `high` is sent, the checkpoint says so: after a
    /// kill, a resumed run then knows every key the target may have from us (no false
    /// conflicts), and none it cannot have (real conflicts stay conflicts).
    fn lease(&self, st: &mut ReadState) -> Result<(), SeedError> {
        if self.options.checkpoint.is_some() && st.summary.high > st.leased {
            self.save_checkpoint(st, self.resume.as_ref().map(|c| c.high))?;
            st.leased = st.summary.high;
        }
        Ok(())
    }

    /// Sends a batch of a big value to a given worker; its anchor is opened here.
    fn send(
        &self,
        st: &mut ReadState,
        g: usize,
        w: usize,
        mut batch: Batch,
        at: Pos,
    ) -> Result<(), SeedError> {
        self.lease(st)?;
        batch.anchors.push(at);
        self.shared.tracker().open(at);
        let group = self.group(st, g);
        if let Some(tx) = group.senders.get(w) {
            if tx.blocking_send(batch).is_err() {
                self.shared.abort.store(true, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

struct ReadState {
    groups: HashMap<usize, Group>,
    /// The `high` the checkpoint file holds.
    leased: Pos,
    workers: Workers,
    summary: ReadSummary,
    next_big: u64,
    rng: u64,
    seen_for_sample: u64,
}

struct RecordCtx<'a> {
    at: Pos,
    path: &'a PathBuf,
    source: Version,
    target_version: Version,
    now: i64,
    /// Acknowledged in an earlier run: count it, do not send it.
    settled: bool,
    mode: Mode,
}

/// Encodes a value, or only checks that it can be encoded (for a big value, or one settled
/// by an earlier run): a hash's field TTLs are the only content-dependent limit.
fn encode_value_checked(
    v: &Value<'_>,
    target: Version,
    out: &mut Vec<u8>,
    check_only: bool,
) -> Result<u8, EncodeError> {
    if !check_only {
        return encode_value(v, target, out);
    }
    match v {
        Value::Hash(fields) => {
            let mut any_ttl = false;
            for f in fields.clone() {
                any_ttl |= f?.expire_ms.is_some();
            }
            if any_ttl {
                let one = rdb_format::HashEntry {
                    field: Str::Bytes(b"f"),
                    value: Str::Bytes(b"v"),
                    expire_ms: Some(1),
                };
                encode::hash(std::iter::once(Ok(one)), target, out)
            } else {
                encode::hash(std::iter::empty(), target, out)
            }
        }
        Value::Stream(_) | Value::Module(_) => encode_value(v, target, out),
        Value::String(_) => Ok(encode::string(Str::Bytes(b""), out)),
        Value::List(_) => encode::list(std::iter::empty(), target, out),
        Value::Set(_) => encode::set(std::iter::empty(), target, out),
        Value::ZSet(_) => encode::zset(std::iter::empty(), target, out),
        _ => encode_value(v, target, out),
    }
}

/// The first items of a collection, up to about `limit` bytes (at least one).
fn take_part<T>(
    items: &mut impl Iterator<Item = rdb_format::Result<T>>,
    limit: usize,
    size: impl Fn(&T) -> usize,
) -> rdb_format::Result<Vec<T>> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for item in items.by_ref() {
        let item = item?;
        bytes += size(&item) + 8;
        out.push(item);
        if bytes >= limit {
            break;
        }
    }
    Ok(out)
}

/// The rest of a collection in chunks of about `limit` bytes (and at most 1000 items).
fn chunked<T>(
    items: &mut impl Iterator<Item = rdb_format::Result<T>>,
    limit: usize,
    size: impl Fn(&T) -> usize,
    mut each: impl FnMut(&[T]),
) -> rdb_format::Result<()> {
    loop {
        let mut chunk = Vec::new();
        let mut bytes = 0;
        for item in items.by_ref() {
            let item = item?;
            bytes += size(&item) + 8;
            chunk.push(item);
            if bytes >= limit || chunk.len() >= 1000 {
                break;
            }
        }
        if chunk.is_empty() {
            return Ok(());
        }
        each(&chunk);
    }
}

/// A score as `ZADD` reads it back exactly.
fn score_arg(s: f64) -> String {
    if s == f64::INFINITY {
        "+inf".into()
    } else if s == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        format!("{s:e}")
    }
}

/// One connection, sending the batches it is given, one pipeline at a time.
struct Worker {
    shared: Arc<Shared>,
    addr: String,
    standalone: bool,
    /// The last big value started here, and whether its first part was restored.
    big: Option<(u64, bool)>,
}

impl Worker {
    async fn run(mut self, mut rx: mpsc::Receiver<Batch>) {
        let mut con = match self.shared.target.new_connection(&self.addr).await {
            Ok(c) => c,
            Err(e) => {
                self.shared.fail(e.into());
                return;
            }
        };
        let mut db: Option<u64> = None;
        while let Some(batch) = rx.recv().await {
            if self.shared.abort.load(Ordering::Relaxed) {
                break;
            }
            if let Err(e) = self.batch(&mut con, &mut db, batch).await {
                self.shared.fail(e);
                break;
            }
        }
        // Drain so the reader is never blocked on a full channel.
        rx.close();
        while rx.recv().await.is_some() {}
    }

    async fn batch(
        &mut self,
        con: &mut MultiplexedConnection,
        db: &mut Option<u64>,
        batch: Batch,
    ) -> Result<(), SeedError> {
        let mut outcome = Outcome::default();
        if self.standalone && *db != Some(batch.db) {
            let r: redis::RedisResult<redis::Value> =
                redis::cmd("SELECT").arg(batch.db).query_async(con).await;
            match r {
                Ok(_) => *db = Some(batch.db),
                Err(e) if is_connection_error(&e) => {
                    return Err(self.lost(e));
                }
                Err(e) => {
                    let msg = format!(
                        "SELECT {}: {e} (the target has fewer databases: merge them into db 0 \
                         with --flatten-dbs, or leave some out with --db)",
                        batch.db
                    );
                    for op in &batch.ops {
                        outcome.error(op, &msg);
                    }
                    self.finish(batch, outcome);
                    return Ok(());
                }
            }
        }
        // Parts of a big value whose first part failed are not sent; its temporary key is
        // dropped instead of renamed.
        // (A Publish comes in a batch of its own, after every part was acknowledged.)
        let mut sendable: Vec<(&Op, bool)> = Vec::new();
        let mut cmds: Vec<redis::Cmd> = Vec::new();
        for op in &batch.ops {
            match op {
                Op::Part {
                    big, first: false, ..
                } if self.big != Some((*big, true)) => continue,
                Op::Publish { big, tmp, .. } if self.big != Some((*big, true)) => {
                    let mut c = redis::cmd("DEL");
                    c.arg(tmp.as_slice());
                    cmds.push(c);
                    sendable.push((op, false));
                }
                _ => {
                    cmds.push(op.cmd());
                    sendable.push((op, true));
                }
            }
        }
        if !sendable.is_empty() {
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            for c in cmds {
                pipe.add_command(c);
            }
            let results: Vec<redis::RedisResult<redis::Value>> = match pipe.query_async(con).await {
                Ok(r) => r,
                Err(e) => return Err(self.lost(e)),
            };
            for (&(op, counted), result) in sendable.iter().zip(results) {
                if !counted {
                    continue; // a Publish turned into a DEL: the failure is counted already
                }
                let result = match result {
                    Err(e) if e.redirect_node().is_some() => self.redirect(op, e).await?,
                    other => other,
                };
                self.settle(op, result, &mut outcome);
            }
        }
        self.finish(batch, outcome);
        Ok(())
    }

    fn lost(&self, e: redis::RedisError) -> SeedError {
        SeedError::Target(TargetError::Redis {
            context: format!("sending to {}", self.addr),
            source: e,
        })
    }

    /// Follows `MOVED`/`ASK` (a few hops at most).
    async fn redirect(
        &self,
        op: &Op,
        mut err: redis::RedisError,
    ) -> Result<redis::RedisResult<redis::Value>, SeedError> {
        for _ in 0..5 {
            let Some((addr, slot)) = err.redirect_node() else {
                return Ok(Err(err));
            };
            let addr = addr.to_string();
            let ask = err.code() == Some("ASK");
            if !ask {
                if let Some(map) = &self.shared.target.cluster {
                    if let Ok(mut m) = map.write() {
                        m.set_owner(slot, &addr);
                    }
                }
            }
            let mut con = self.shared.target.connection(&addr).await?;
            let mut pipe = redis::pipe();
            pipe.ignore_errors();
            if ask {
                pipe.cmd("ASKING").ignore();
            }
            pipe.add_command(op.cmd());
            let mut results: Vec<redis::RedisResult<redis::Value>> =
                pipe.query_async(&mut con).await.map_err(|e| {
                    SeedError::Target(TargetError::Redis {
                        context: format!("sending to {addr}"),
                        source: e,
                    })
                })?;
            let r = results.pop().unwrap_or_else(|| Ok(redis::Value::Nil));
            match r {
                Err(e) if e.redirect_node().is_some() => err = e,
                other => return Ok(other),
            }
        }
        Ok(Err(err))
    }

    fn settle(&mut self, op: &Op, result: redis::RedisResult<redis::Value>, out: &mut Outcome) {
        match op {
            Op::Restore {
                mode, module, how, ..
            } => match &result {
                Ok(_) => {
                    out.seeded += 1;
                    match how {
                        How::Copied => out.copied += 1,
                        How::Reencoded => out.reencoded += 1,
                    }
                }
                Err(e) if e.code() == Some("BUSYKEY") => {
                    if *mode == Mode::Window {
                        out.already_present += 1;
                    } else {
                        out.conflicts += 1;
                        example(&mut out.conflict_examples, || show_key(op.key()));
                    }
                }
                Err(e) if *module && e.to_string().contains("Bad data format") => {
                    out.unsupported += 1;
                    out.failed.push(op.failed_at());
                    example(&mut out.unsupported_examples, || {
                        format!(
                            "{}: the server does not have this value's module",
                            show_key(op.key())
                        )
                    });
                }
                Err(e) => out.error(op, &e.to_string()),
            },
            Op::Part { big, first, .. } => match result {
                Ok(_) if *first => self.big = Some((*big, true)),
                Ok(_) => {}
                Err(e) => {
                    // The value will not be put in place: one error, one missing key.
                    if *first || self.big == Some((*big, true)) {
                        out.error(op, &e.to_string());
                        out.failed.push(op.failed_at());
                    }
                    self.big = Some((*big, false));
                }
            },
            Op::Publish { mode, .. } => match result {
                Ok(redis::Value::Int(1)) => {
                    out.seeded += 1;
                    out.big_values += 1;
                }
                Ok(redis::Value::Int(0)) => {
                    if *mode == Mode::Window {
                        out.already_present += 1;
                    } else {
                        out.conflicts += 1;
                        example(&mut out.conflict_examples, || show_key(op.key()));
                    }
                }
                Ok(other) => {
                    let msg = format!(
                        "the value sent in parts was not put in place (temporary key gone: {other:?})"
                    );
                    out.error(op, &msg);
                    out.failed.push(op.failed_at());
                }
                Err(e) => {
                    out.error(
                        op,
                        &format!("putting the value sent in parts in place: {e}"),
                    );
                    out.failed.push(op.failed_at());
                }
            },
            Op::Drop { .. } => {
                if let Err(e) = result {
                    out.error(
                        op,
                        &format!("dropping a temporary key of an interrupted run: {e}"),
                    );
                }
            }
        }
    }

    fn finish(&self, batch: Batch, out: Outcome) {
        self.shared.seeded.fetch_add(out.seeded, Ordering::Relaxed);
        let mut t = self.shared.tracker();
        for a in &batch.anchors {
            t.close(*a);
        }
        let c = &mut t.counts;
        c.seeded += out.seeded;
        c.copied += out.copied;
        c.reencoded += out.reencoded;
        c.big_values += out.big_values;
        c.conflicts += out.conflicts;
        c.already_present += out.already_present;
        c.unsupported += out.unsupported;
        c.errors += out.errors;
        for (list, add) in [
            (&mut c.conflict_examples, out.conflict_examples),
            (&mut c.unsupported_examples, out.unsupported_examples),
            (&mut c.error_examples, out.error_examples),
        ] {
            for e in add {
                example(list, || e);
            }
        }
        t.failed.extend(out.failed);
    }
}

fn is_connection_error(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

#[derive(Default)]
struct Outcome {
    seeded: u64,
    copied: u64,
    reencoded: u64,
    big_values: u64,
    conflicts: u64,
    already_present: u64,
    unsupported: u64,
    errors: u64,
    conflict_examples: Vec<String>,
    unsupported_examples: Vec<String>,
    error_examples: Vec<String>,
    failed: Vec<(Pos, u64)>,
}

impl Outcome {
    fn error(&mut self, op: &Op, msg: &str) {
        self.errors += 1;
        // A key whose RESTORE failed is missing (for a value sent in parts, the caller says).
        if let Op::Restore { .. } = op {
            self.failed.push(op.failed_at());
        }
        example(&mut self.error_examples, || {
            format!("{}: {msg}", show_key(op.key()))
        });
    }
}

/// [`seed`] on a runtime of its own, for callers that are not async.
pub fn seed_blocking(
    files: &[PathBuf],
    options: &SeedOptions,
    progress: impl Fn(&Progress) + Send + Sync + 'static,
) -> Result<SeedReport, SeedError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| SeedError::Other(format!("starting the async runtime: {e}")))?;
    rt.block_on(seed(files, options, progress))
}
