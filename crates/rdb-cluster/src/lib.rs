//! Put a dump's keys where they belong: into a live server or cluster ([`seed`]), or into one
//! RDB file per shard ([`split`]). Built on [`rdb_format`] (reading, and writing with
//! [`rdb_format::write`]) and the shared [`Filter`]; it needs neither Arrow nor Parquet.
//!
//! [`seed::seed`] reads dumps (memory-mapped), applies the filter, and sends every key to a
//! running Redis or Valkey with `RESTORE ... ABSTTL`, pipelined over several connections. A
//! cluster is detected with `CLUSTER INFO`; keys are then routed by hash slot ([`slot`]) to
//! their primary, following `MOVED`/`ASK` redirections. Each value goes through
//! [`rdb_format::write::transcode`]: sent as its own bytes when the target reads its
//! encoding, re-encoded for the target's RDB version otherwise. Values too big for one
//! `RESTORE` are sent as a smaller part followed by `RPUSH`/`SADD`/`ZADD`/`HSET`/`APPEND`
//! batches ([`partial`]). Progress is kept in a [`checkpoint`] file so an interrupted run can
//! resume, and the result is verified against the dump ([`verify`]). [`target`] connects
//! (plain or TLS) and reads the server's version and slot map.
//!
//! [`split::split`] writes one valid RDB file per shard of a [`slot::SlotLayout`], copying
//! records byte for byte when the versions agree and transcoding them otherwise; a single
//! shard filters a dump into a smaller one.
//!
//! ```
//! use rdb_cluster::slot::{key_slot, SlotLayout};
//! use rdb_cluster::split::{split, SplitOptions};
//! use rdb_cluster::OnUnsupported;
//! use rdb_format::write::{string, RdbWriter};
//! use rdb_format::{Decoder, Flavor, Item, Str, Version};
//! use rdb_pipeline::filter::Filter;
//!
//! // Keys belong to the shard that owns their hash slot.
//! let layout = SlotLayout::even(3); // slots 0-5460, 5461-10922, 10923-16383
//! assert_eq!(key_slot(b"foo"), 12182);
//! assert_eq!(layout.shard_of(key_slot(b"foo")), Some(2));
//!
//! // A dump with three string keys...
//! let version = Version { flavor: Flavor::Redis, number: 11 };
//! let mut w = RdbWriter::new(Vec::new(), version)?;
//! w.select_db(0)?;
//! for key in [&b"foo"[..], b"bar", b"baz"] {
//!     let mut value = Vec::new();
//!     let type_byte = string(Str::Bytes(b"v"), &mut value);
//!     w.record(key, None, type_byte, &value)?;
//! }
//! let dump = w.finish()?;
//!
//! // ...split into one RDB file per shard.
//! let options = SplitOptions {
//!     filter: Filter::default(),
//!     target: None, // the input's version: records are copied byte for byte
//!     on_unsupported: OnUnsupported::Skip,
//!     validate: true,
//!     cluster: true,
//!     flatten_dbs: false,
//! };
//! let outputs = vec![Vec::new(); layout.shards()];
//! let (report, files) = split(Decoder::new(&dump)?, &layout, outputs, &options)?;
//! assert_eq!(report.keys, [2, 0, 1]); // bar and baz in shard 0, foo in shard 2
//! let records = Decoder::new(&files[2])?
//!     .filter(|item| matches!(item, Ok(Item::Record(_))))
//!     .count();
//! assert_eq!(records, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Filter`]: rdb_pipeline::filter::Filter
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod commands;
mod error;
pub mod partial;
pub mod resp;
pub mod seed;
pub mod slot;
pub mod split;
pub mod target;
pub mod verify;

/// What to do with a value the target cannot hold (a stream for RDB < 9, hash-field TTLs
/// before Redis 7.4 / Valkey 9, a module the server does not have...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnUnsupported {
    /// Skip the key, count it and name it in the report.
    #[default]
    Skip,
    /// Stop with an error naming the key.
    Fail,
}

impl std::str::FromStr for OnUnsupported {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "skip" => Ok(OnUnsupported::Skip),
            "fail" => Ok(OnUnsupported::Fail),
            _ => Err(format!("expected skip or fail, got {s:?}")),
        }
    }
}

/// A key as printable text for messages: UTF-8 with control and non-UTF-8 bytes escaped
/// (`\xNN`), cut at 200 bytes. Values are never shown anywhere.
pub fn show_key(key: &[u8]) -> String {
    let mut s = String::with_capacity(key.len().min(200) + 2);
    s.push('"');
    for chunk in key[..key.len().min(200)].utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() || c == '"' || c == '\\' {
                s.extend(c.escape_default());
            } else {
                s.push(c);
            }
        }
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push('"');
    if key.len() > 200 {
        s.push_str(&format!("... ({} bytes)", key.len()));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_shown_escaped() {
        assert_eq!(show_key(b"user:1"), "\"user:1\"");
        assert_eq!(show_key(b"a\xffb\n"), "\"a\\xffb\\n\"");
        assert!(show_key(&[b'k'; 300]).ends_with("(300 bytes)"));
    }
}
