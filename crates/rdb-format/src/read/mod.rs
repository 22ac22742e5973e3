//! The read side's grammar: primitives, skipping values, and one module per on-disk encoding.
//!
//! - [`origin`]: the parser error ([`Fail`]) and absolute offsets ([`Origin`]);
//! - [`primitive`]: fixed-width numbers, `length`, `rdb_string`, bounded counts, text scores;
//! - [`record`]: the opcodes between records and a record's prefixes (AUX, expiry, LFU...);
//! - [`skip`]: where a value ends, without decoding it;
//! - [`blob`]: one string holding a blob, runs of strings, pairs of entries;
//! - the encodings: [`listpack`], [`ziplist`], [`intset`], [`zipmap`], [`quicklist`],
//!   [`stream`], [`module`], [`lzf`], [`string`] (RDB strings and the LZF [`Scratch`]).
//!
//! Data flows one way: `primitive` ← encodings ← `blob` ← `crate::value` ← the decoder.

pub(crate) mod blob;
pub(crate) mod intset;
pub(crate) mod listpack;
pub mod lzf;
pub(crate) mod module;
pub(crate) mod origin;
pub(crate) mod primitive;
pub(crate) mod quicklist;
pub(crate) mod record;
pub(crate) mod skip;
pub(crate) mod stream;
pub(crate) mod string;
pub(crate) mod ziplist;
pub(crate) mod zipmap;

pub(crate) use self::origin::*;
pub(crate) use self::primitive::*;
