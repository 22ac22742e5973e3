//! Sources and sinks on top of [`rdb_format`]: memory-mapped dump files ([`source`]) and the
//! NDJSON writer ([`json`]).
//!
//! A [`source::DumpFile`] maps a dump; [`json::JsonWriter`] turns the decoder's items into one
//! JSON object per line, streaming, with memory bounded by the largest single value.
#![deny(missing_docs)]

pub mod export;
pub mod filter;
pub mod json;
pub mod parquet;
pub mod pipeline;
pub mod report;
mod sigbus;
pub mod source;
