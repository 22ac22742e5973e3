//! What a seed is told: [`SeedOptions`].

use std::path::PathBuf;

use rdb_format::DecoderOptions;
use rdb_pipeline::filter::Filter;

use crate::OnUnsupported;

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
