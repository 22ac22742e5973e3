//! The engine: dumps ([`rdb_format::DumpFile`]) cut into chunks at record boundaries, the
//! [`filter::Filter`] applied, chunks converted in parallel by a [`pipeline::Sink`] and
//! committed in file order ([`pipeline`]).
//!
//! Sinks live in other crates: `rdb-export` (NDJSON, Parquet), `rdb-report` (info, top,
//! memory).
#![deny(missing_docs)]

pub mod filter;
pub mod pipeline;
