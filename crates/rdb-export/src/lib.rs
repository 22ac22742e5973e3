//! Dumps as data, sinks of the `rdb-pipeline` engine: NDJSON ([`json`]), Parquet tables
//! ([`parquet`]) and the export task that publishes them under a manifest ([`export`]).
//!
//! [`json::JsonWriter`] alone turns one dump into NDJSON, streaming:
//!
//! ```
//! use rdb_export::json::{JsonOptions, JsonWriter};
//! use rdb_format::Decoder;
//!
//! // A tiny RDB 11 dump holding `SET greeting hello`, with its checksum not computed.
//! let mut dump = b"REDIS0011\xfe\x00\x00\x08greeting\x05hello\xff".to_vec();
//! dump.extend_from_slice(&[0; 8]);
//!
//! let mut writer = JsonWriter::new(Vec::new(), JsonOptions::default());
//! writer.write_dump(Decoder::new(&dump)?)?;
//! let ndjson = String::from_utf8(writer.finish()?)?;
//! assert!(ndjson.starts_with(r#"{"db":0,"key":"greeting","type":"string""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

// Feature `parquet` (default): everything built on Arrow. NDJSON needs none of it.
#[cfg(feature = "parquet")]
pub mod arrow;
#[cfg(feature = "parquet")]
pub mod export;
pub mod json;
#[cfg(feature = "parquet")]
pub mod parquet;
#[cfg(feature = "parquet")]
pub mod status;
mod utf8;
