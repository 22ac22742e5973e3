//! A zero-copy decoder for Redis and Valkey RDB dumps.
//!
//! A [`Decoder`] walks a dump held in memory (a `&[u8]`, typically a memory-mapped file) and
//! yields [`Item`]s in file order: auxiliary fields, functions, module data, database switches
//! and key [`Record`]s. A record carries its database, key, expiry, LRU/LFU data, on-disk
//! [`Encoding`], and the byte range of its value. The value is decoded only when asked for,
//! with [`Record::value`], into a [`Value`] whose collections are lazy iterators over the
//! dump's own bytes (ziplists, listpacks, intsets, zipmaps, quicklists, stream nodes). The
//! only copies are LZF-compressed strings and blobs, decompressed into a reusable [`Scratch`].
//!
//! Every RDB version from 1 to 12 is read, Valkey's `VALKEY080`/`VALKEY081`, and what Redis
//! 8.6+ writes (13–15) as far as its layout is known; the rest gives an [`Error`] naming the
//! version, the byte and its offset. The CRC64 at the end is verified (see [`crc64`]).
//!
//! [`Records`] is the usual way in: records only (the other items kept on the side), a
//! [`RecordFilter`] applied before values are touched, each key decoded once, the [`Scratch`]
//! owned, and an error ending the walk:
//!
//! ```
//! use rdb_format::{Decoder, Records, Value};
//!
//! // A tiny RDB 11 dump holding `SET greeting hello`, with its checksum not computed.
//! let mut dump = b"REDIS0011\xfe\x00\x00\x08greeting\x05hello\xff".to_vec();
//! dump.extend_from_slice(&[0; 8]);
//!
//! let mut records = Records::new(Decoder::new(&dump)?).with_filter(|key: &[u8]| key.starts_with(b"greet"));
//! while let Some(kept) = records.next_record()? {
//!     if let Value::String(s) = kept.value()? {
//!         assert_eq!((kept.key, s.to_vec().as_slice()), (&b"greeting"[..], &b"hello"[..]));
//!     }
//! }
//! # Ok::<(), rdb_format::Error>(())
//! ```
//!
//! Beneath it: [`Decoder`] yields every [`Item`]; [`Record::layout`] gives container and node
//! sizes without decoding elements; [`write`](mod@write) produces RDB files and `DUMP` payloads for a
//! target version; the `owned` feature gives owned copies of values; the `mmap` feature maps
//! files (`DumpFile`).
#![deny(missing_docs)]
// Only the `mmap` feature's module maps files and handles SIGBUS; the decoder is safe code.
#![deny(unsafe_code)]

mod consts;
mod crc;
mod decoder;
mod encoding;
mod error;
mod layout;
#[cfg(feature = "mmap")]
mod mmap;
#[cfg(feature = "owned")]
pub mod owned;
pub mod raw;
mod read;
mod records;
pub mod validate;
mod value;
mod version;
pub mod write;

pub use crate::read::lzf;

pub use crate::crc::{crc64, crc64_combine, stored_checksum};
pub use crate::decoder::Resume;
pub use crate::decoder::{Checksum, Decoder, DecoderOptions, Eof, Item, Record};
pub use crate::error::{Error, ErrorKind, Result};
pub use crate::layout::{Blob, Container, Layout, QuicklistNode, StreamNode};
#[cfg(feature = "mmap")]
pub use crate::mmap::DumpFile;
pub use crate::read::intset::Intset;
pub use crate::read::listpack::Listpack;
pub use crate::read::module::{Module, ModuleId};
pub use crate::read::quicklist::Quicklist;
pub use crate::read::stream::{
    Consumer, ConsumerGroup, ConsumerGroups, ConsumerPending, Consumers, Idmp, IdmpEntries,
    IdmpEntry, IdmpProducer, IdmpProducers, Pending, PendingEntry, PendingOwners, Stream,
    StreamEntries, StreamEntry, StreamFields, StreamId,
};
pub use crate::read::string::{RdbString, Scratch, Str};
pub use crate::read::ziplist::Ziplist;
pub use crate::read::zipmap::Zipmap;
pub use crate::records::{KeyedRecord, RecordFilter, Records};
pub use crate::value::{Encoding, Hash, HashEntry, List, Set, Type, Value, ZSet};
pub use crate::version::{Flavor, Version};
