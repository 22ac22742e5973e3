//! The reading side, on a blocking thread: walks the dumps, applies the filter, and turns
//! each record into commands (a `RESTORE` of copied or re-encoded bytes, or a big value in
//! parts), counting what the target should hold for the verification.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdb_format::write::{self, copyable, dump_payload, supports, transcode, EncodeError};
use rdb_format::DumpFile;
use rdb_format::{Decoder, Item, Record, Scratch, Type, Version};

use super::batch::{Group, Mode, Op, Workers};
use super::options::SeedOptions;
use super::report::{example, Progress};
use super::tracker::Shared;
use crate::checkpoint::{Checkpoint, Pos};
use crate::error::SeedError;
use crate::partial;
use crate::slot::key_slot;
use crate::target::SlotMap;
use crate::verify::{Expected, Sample};
use crate::{show_key, OnUnsupported};
use rdb_pipeline::now_ms;

#[derive(Default)]
pub(super) struct ReadSummary {
    pub(super) records: u64,
    pub(super) filtered: u64,
    pub(super) expired: u64,
    pub(super) unsupported: u64,
    pub(super) unsupported_examples: Vec<String>,
    pub(super) bytes: u64,
    pub(super) cursor: Pos,
    pub(super) high: Pos,
    pub(super) finished: bool,
    pub(super) functions: Vec<Vec<u8>>,
    pub(super) expected: Expected,
    pub(super) samples: Vec<Sample>,
}

/// The reading side: runs on a blocking thread.
pub(super) struct Reader {
    pub(super) files: Vec<PathBuf>,
    pub(super) inputs: Vec<(u64, PathBuf)>,
    pub(super) options: SeedOptions,
    pub(super) shared: Arc<Shared>,
    pub(super) map: Option<SlotMap>,
    pub(super) resume: Option<Checkpoint>,
    pub(super) target_name: String,
    pub(super) handle: tokio::runtime::Handle,
    pub(super) start: Instant,
}

impl Reader {
    pub(super) fn run(
        self,
        progress: &dyn Fn(&Progress),
    ) -> Result<(ReadSummary, Workers), SeedError> {
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

    pub(super) fn read_all(
        &self,
        st: &mut ReadState,
        progress: &dyn Fn(&Progress),
    ) -> Result<(), SeedError> {
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
                if st.summary.records.is_multiple_of(64) {
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

    pub(super) fn record(
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

        // Too big for one `RESTORE`: sent in parts.
        let big = r.len > opts.max_payload
            && matches!(
                r.data_type(),
                Type::String | Type::List | Type::Set | Type::ZSet | Type::Hash
            );
        // A big value is encoded in parts (see `big_value`) and a settled one is not sent:
        // for those, only check that the target would accept the whole.
        let decode_err = |source| SeedError::Decode {
            path: cx.path.clone(),
            source,
        };
        let mut encoded = Vec::new();
        let ready = if big || cx.settled {
            if big || !copyable(r.encoding, cx.source, cx.target_version) {
                let decoded = r.value(scratch).map_err(decode_err)?;
                supports(cx.target_version, &decoded).map(|()| None)
            } else {
                Ok(None)
            }
        } else {
            transcode(r, scratch, cx.source, cx.target_version, &mut encoded).map(Some)
        };
        // The payload: the record's own bytes, or the value re-encoded.
        let restore = match ready {
            Ok(t) => t.map(|t| {
                let payload = dump_payload(t.type_byte, t.bytes, cx.target_version);
                (payload, t.conversion)
            }),
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
            Err(EncodeError::Decode(source)) => return Err(decode_err(source)),
            Err(e) => return Err(SeedError::Other(format!("{}: {e}", show_key(&key)))),
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
        // Records without a payload (big or settled) have returned above.
        let Some((payload, conversion)) = restore else {
            return Ok(());
        };
        let op = Op::Restore {
            key,
            ttl,
            payload,
            replace: opts.replace,
            mode: cx.mode,
            module,
            conversion,
            at: cx.at,
            bucket,
        };
        self.push(st, group, db, op, cx.at)
    }

    pub(super) fn maybe_sample(
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
            type_byte: write::type_byte(r.encoding),
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

    /// Queues a `DEL` of the temporary key of the value of `key` recorded at `at`.
    pub(super) fn drop_temp(
        &self,
        st: &mut ReadState,
        key: &[u8],
        db: u64,
        at: Pos,
    ) -> Result<(), SeedError> {
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
}

pub(super) struct ReadState {
    pub(super) groups: HashMap<usize, Group>,
    /// The `high` the checkpoint file holds.
    pub(super) leased: Pos,
    pub(super) workers: Workers,
    pub(super) summary: ReadSummary,
    pub(super) next_big: u64,
    pub(super) rng: u64,
    pub(super) seen_for_sample: u64,
}

pub(super) struct RecordCtx<'a> {
    pub(super) at: Pos,
    pub(super) path: &'a PathBuf,
    pub(super) source: Version,
    pub(super) target_version: Version,
    pub(super) now: i64,
    /// Acknowledged in an earlier run: count it, do not send it.
    pub(super) settled: bool,
    pub(super) mode: Mode,
}
