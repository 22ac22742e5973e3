//! The engine: dumps ([`rdb_format::DumpFile`]) cut into chunks at record boundaries, the
//! [`filter::Filter`] applied, chunks converted in parallel by a [`pipeline::Sink`] and
//! committed in file order ([`pipeline`]).
//!
//! Sinks live in other crates: `rdb-export` (NDJSON, Parquet), `rdb-report` (info, top,
//! memory).
#![deny(missing_docs)]

pub mod filter;
pub mod pipeline;

/// The current time in unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
