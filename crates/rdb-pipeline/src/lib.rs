//! The engine: dumps ([`rdb_format::DumpFile`]) cut into chunks at record boundaries, the
//! [`filter::Filter`] applied, chunks converted in parallel by a [`pipeline::Sink`] and
//! committed in file order ([`pipeline`]).
//!
//! Sinks live in other crates: `rdb-export` (NDJSON, Parquet), `rdb-report` (info, top,
//! memory). A walk that needs no per-chunk state is one closure ([`pipeline::FnSink`]):
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use rdb_pipeline::filter::Filter;
//! use rdb_pipeline::pipeline::{run, FnSink, PipelineOptions, Progress};
//!
//! let dump = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/sample.rdb");
//! let users = AtomicU64::new(0);
//! let sink = FnSink::new(|_record, _key: &[u8], _scratch| {
//!     users.fetch_add(1, Ordering::Relaxed);
//!     Ok::<(), std::convert::Infallible>(())
//! });
//! let options = PipelineOptions {
//!     filter: Filter { key_glob: Some(b"user:*".to_vec()), ..Filter::default() },
//!     ..PipelineOptions::default()
//! };
//! let progress = Progress::default();
//! run(&[dump.into()], &options, &sink, &progress)?;
//! assert!(users.load(Ordering::Relaxed) > 0);
//! # Ok::<(), rdb_pipeline::pipeline::PipelineError>(())
//! ```
#![deny(missing_docs)]
#![deny(unsafe_code)]

pub mod filter;
pub mod pipeline;
pub mod spill;
pub mod write_behind;

/// The current time in unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
