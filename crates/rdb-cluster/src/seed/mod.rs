//! Seeding a live server or cluster from dumps with `RESTORE ... ABSTTL`.
//!
//! One thread reads the dumps (memory-mapped) and turns records into commands: a `RESTORE`
//! whose payload is the record's own bytes when the target reads their encoding, or the value
//! re-encoded for the target's version otherwise. Commands are grouped into batches (by
//! database on a standalone server, by primary on a cluster) and handed to worker tasks, each
//! owning one connection and sending one pipeline at a time. Workers report what each command
//! did (restored, conflict, unsupported, error, redirected), and which records are settled, so
//! the [checkpoint](crate::checkpoint) can name a position before which everything is done.
//!
//! The files follow the flow: [`options`](SeedOptions) in, the reader (dumps to commands,
//! big values in parts), batching, async workers (one connection each), checkpoint
//! tracking, and the [report](SeedReport) out.

mod batch;
mod big;
mod options;
mod reader;
mod report;
mod tracker;
mod worker;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rdb_format::DumpFile;
use rdb_format::{Decoder, Item, Scratch};

pub use self::options::SeedOptions;
pub use self::report::{Counts, Progress, SeedReport};
pub use crate::error::SeedError;

use self::reader::{ReadSummary, Reader};
use self::report::example;
use self::tracker::{Shared, Tracker};
use crate::checkpoint::{Checkpoint, Pos};
use crate::show_key;
use crate::target::{redact, Target};
use crate::verify::{self, Sample};

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
        for item in file.items(dec) {
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
