//! The format's raw numbers (type bytes, opcodes, length and string encodings, version
//! bounds), named as in Redis's `rdb.h`, for writers of tools that read or write bytes
//! themselves.
//!
//! They are not needed to decode or encode a dump ([`Decoder`](crate::Decoder),
//! [`Encoding`](crate::Encoding), [`encode`](crate::write)); new Redis or Valkey versions
//! add to them, and their names follow the servers' sources, not this crate's API.

pub use crate::consts::*;
