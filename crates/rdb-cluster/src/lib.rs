//! Put a dump's keys where they belong: into a live server or cluster ([`seed`]), or into one
//! RDB file per shard ([`split`]).
//!
//! [`seed::seed`] reads dumps (memory-mapped), applies the shared [`Filter`], and sends every
//! key to a running Redis or Valkey with `RESTORE ... ABSTTL`, pipelined over several
//! connections. A cluster is detected with `CLUSTER INFO`; keys are then routed by hash slot
//! ([`slot`]) to their primary, following `MOVED`/`ASK` redirections. Values whose encoding
//! the target reads are sent as copied bytes; others are re-encoded for the target's RDB
//! version with [`rdb_format::encode`]. Values too big for one `RESTORE` are sent as a
//! smaller part followed by `RPUSH`/`SADD`/`ZADD`/`HSET`/`APPEND` batches. Progress is kept
//! in a [`checkpoint`] file so an interrupted run can resume, and the result is verified
//! against the dump ([`verify`]).
//!
//! [`split::split`] writes one valid RDB file per shard of a [`slot::SlotLayout`], copying
//! records byte for byte when the versions agree.
//!
//! [`Filter`]: rdb_pipeline::filter::Filter
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod checkpoint;
mod error;
pub mod partial;
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
