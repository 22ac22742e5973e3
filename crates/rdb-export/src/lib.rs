//! Dumps as data, sinks of the `rdb-pipeline` engine: NDJSON ([`json`]), Parquet tables
//! ([`parquet`]) and the export task that publishes them under a manifest ([`export`]).
#![deny(missing_docs)]

pub mod export;
pub mod json;
pub mod parquet;
