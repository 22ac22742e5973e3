//! What a seed tells: the final [`SeedReport`] and [`Progress`] snapshots.

use std::time::Duration;

use rdb_format::Version;

use crate::checkpoint::Pos;
use crate::verify::VerifyReport;

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

pub(super) const EXAMPLES: usize = 10;

pub(super) fn example(list: &mut Vec<String>, s: impl FnOnce() -> String) {
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
