//! The memory model: an estimate, per key, of what `MEMORY USAGE key SAMPLES 0` answers on a
//! server that has just loaded the dump, and the memory report (one CSV row per key).
//!
//! [`MemoryModel::estimate`] looks at one [`Record`] and rebuilds, in arithmetic only, the
//! structures the server would allocate for it: the key's `sds` and dictionary entry (or, on
//! Valkey 8.1+, the object with its embedded key), string objects (`int`, `embstr`, `raw`),
//! listpacks and intsets at their loaded size, quicklist nodes (LZF-compressed inner nodes when
//! `list-compress-depth` is set), hash-table buckets and entries, skiplist nodes (at their
//! expected level), stream listpacks and radix trees, consumer groups and their pending
//! entries. Every allocation is rounded to the allocator's size class ([`Allocator`]). The
//! in-memory encoding is chosen as the server would choose it on load with its default
//! `*-max-listpack-*` / `set-max-intset-entries` settings.
//!
//! The model is pure: [`MemoryModel::estimate`] takes `&self`, so records can be estimated on
//! any thread; [`MemoryCsv`] then writes the rows in order.

use std::io::{self, Write};
use std::sync::Mutex;

use rdb_format::{
    Blob, DecoderOptions, Encoding, ErrorKind, Layout, Listpack, RdbString, Record, Scratch, Str,
    Stream, StreamId, Value, Ziplist,
};

use crate::alloc::Allocator;
use crate::rax;
use crate::{csv_field, push_iso_time, push_u64, DumpHeader, ReportError};
use rdb_pipeline::pipeline::{Chunk, FileInfo as PipelineFile, Sink};

/// Settings of the modelled server that change its memory use and are not in the dump.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelOptions {
    /// The server (default: detected from the dump).
    pub server: Option<Server>,
    /// The allocator (default: the server's usual build).
    pub allocator: Option<Allocator>,
    /// `list-compress-depth`: quicklist nodes this far from both ends stay uncompressed, the
    /// inner ones are LZF-compressed (0, the default, compresses nothing).
    pub list_compress_depth: u32,
}

/// What one key costs in memory, and the figures the memory report prints beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyMemory {
    /// Estimated `MEMORY USAGE key SAMPLES 0`: key, value and their bookkeeping, in bytes.
    pub bytes: u64,
    /// The in-memory encoding the server would pick (`OBJECT ENCODING`): `int`, `embstr`,
    /// `raw`, `listpack`, `quicklist`, `intset`, `hashtable`, `skiplist`, `listpackex`,
    /// `stream`, `module`.
    pub encoding: &'static str,
    /// Elements: list items, set/zset members, hash fields, stream entries; 1 for strings
    /// and module values.
    pub elements: u64,
    /// Length in bytes of the longest element (string: its length; hash: field or value;
    /// zset: member; stream: any field or value).
    pub largest_element: u64,
}

/// The memory model for one server version and allocator. See the [module docs](self).
#[derive(Clone, Copy, Debug)]
pub struct MemoryModel {
    server: Server,
    /// The facts of `server`'s layout.
    layout: &'static ServerLayout,
    allocator: Allocator,
    compress_depth: u64,
}

impl MemoryModel {
    /// A model for `server` with `allocator`.
    pub fn new(server: Server, allocator: Allocator, list_compress_depth: u32) -> Self {
        MemoryModel {
            server,
            layout: server.layout(),
            allocator,
            compress_depth: u64::from(list_compress_depth),
        }
    }
    /// The model for a dump: `options` where given, else detected from its header.
    pub fn for_dump(header: &DumpHeader, options: &ModelOptions) -> Self {
        let server = options.server.unwrap_or_else(|| Server::detect(header));
        let allocator = options
            .allocator
            .unwrap_or_else(|| server.default_allocator());
        Self::new(server, allocator, options.list_compress_depth)
    }

    /// The modelled server.
    pub fn server(&self) -> Server {
        self.server
    }

    /// The modelled allocator.
    pub fn allocator(&self) -> Allocator {
        self.allocator
    }

    /// Estimates the memory of one key. Decodes the value (LZF data into `scratch`).
    pub fn estimate(&self, r: &Record<'_>, scratch: &Scratch) -> Result<KeyMemory, ReportError> {
        let key_len = r.key.len();
        let obj = Obj {
            key_len,
            expire: r.expire_ms.is_some(),
        };
        let mut m = match r.encoding {
            // Length and integer-ness are enough: no need to decompress an LZF string (a
            // compressed string is longer than any integer).
            Encoding::String => {
                let (len, is_int) = match string_layout(r, scratch)? {
                    RdbString::Int(i) => (int_len(i), true),
                    RdbString::Raw(b) => (b.len() as u64, canonical_int(b).is_some()),
                    lzf @ RdbString::Lzf { .. } => (lzf.len(), false),
                };
                self.string(&obj, len, is_int)
            }
            // Packed sorted sets are read from their blob (members only, scores unparsed).
            Encoding::ZSetZiplist | Encoding::ZSetListpack => self.zset(&obj, r, None, scratch)?,
            _ => self.value(&obj, r, scratch)?,
        };
        if !self.layout.embedded_objects {
            // The key's sds and its entry in the keyspace dictionary.
            m.bytes += self.sds(key_len) + DICT_ENTRY;
        }
        Ok(m)
    }

    fn value(
        &self,
        obj: &Obj,
        r: &Record<'_>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        Ok(match r.value(scratch)? {
            Value::String(s) => {
                let len = slen(s);
                let is_int = match s {
                    Str::Int(_) => true,
                    Str::Bytes(b) => canonical_int(b).is_some(),
                };
                self.string(obj, len, is_int)
            }
            Value::List(items) => self.list(obj, r, items, scratch)?,
            Value::Set(members) => self.set(obj, r, members, scratch)?,
            Value::ZSet(members) => self.zset(obj, r, Some(members), scratch)?,
            Value::Hash(fields) => self.hash(obj, r, fields, scratch)?,
            Value::Stream(s) => self.stream(obj, r, &s, scratch)?,
            Value::Module(m) => KeyMemory {
                // Modules report their own figure; the serialized size is a stand-in.
                bytes: self.header(obj) + self.a(m.raw.len() as u64),
                encoding: "module",
                elements: 1,
                largest_element: m.raw.len() as u64,
            },
            _ => {
                return Err(rdb_format::Error::new(
                    r.value_offset,
                    "value",
                    rdb_format::ErrorKind::Invalid(
                        "a kind of value this build does not know".into(),
                    ),
                )
                .into())
            }
        })
    }

    /// Allocator-rounded size.
    fn a(&self, n: u64) -> u64 {
        self.allocator.usable(n)
    }

    /// Redis up to 6.2 reports blob lengths (not allocation sizes) for ziplists, intsets and
    /// stream listpacks.
    fn blob(&self, n: u64) -> u64 {
        if self.layout.blob_allocations {
            self.a(n)
        } else {
            n
        }
    }

    /// An sds string of `len` bytes as allocated.
    fn sds(&self, len: u64) -> u64 {
        self.a(sds_req(len))
    }

    /// The object header counted for a non-string value: `robj`, or on Valkey the object
    /// with the embedded key (and an expire slot).
    fn header(&self, o: &Obj) -> u64 {
        if self.layout.embedded_objects {
            self.a(ROBJ + vk_key_part(o.key_len) + vk_expire(o))
        } else {
            ROBJ
        }
    }

    /// A Redis dict (`sizeof(dict)` and its bucket array) for `n` entries loaded at once.
    fn dict_table(&self, n: u64) -> u64 {
        self.layout.dict + 8 * n.max(4).next_power_of_two()
    }

    /// A Valkey hash table sized for `n` entries: its struct, buckets and the expected child
    /// buckets of overflowing chains.
    fn vk_table(&self, n: u64) -> u64 {
        let buckets = vk_buckets(n);
        let child = vk_expected_children(n, buckets);
        VK_HASHTABLE + VK_BUCKET * buckets + (VK_BUCKET as f64 * child).round() as u64
    }
}

/// The key side of an object: its length and whether it has an expiry.
struct Obj {
    key_len: u64,
    expire: bool,
}

/// The error for a layout that does not fit the record's encoding (the format crate always
/// gives the layout of the encoding, so this is a guard, not an expected path).
fn layout_mismatch(r: &Record<'_>) -> ReportError {
    rdb_format::Error::new(
        r.value_offset,
        "value",
        ErrorKind::Invalid("layout does not match the encoding".into()),
    )
    .into()
}

/// A string value as stored (length and integer-ness without decompressing).
fn string_layout<'b>(r: &Record<'b>, scratch: &'b Scratch) -> Result<RdbString<'b>, ReportError> {
    match r.layout(scratch)? {
        Layout::String(s) => Ok(s),
        _ => Err(layout_mismatch(r)),
    }
}

/// The single blob that is the whole value (intset, ziplist, listpack, zipmap).
fn blob_layout<'b>(r: &Record<'b>, scratch: &'b Scratch) -> Result<Blob<'b>, ReportError> {
    match r.layout(scratch)? {
        Layout::Blob(b) => Ok(b),
        _ => Err(layout_mismatch(r)),
    }
}

/// Decoded size of the single blob that is the whole value.
fn single_blob_len(r: &Record<'_>, scratch: &Scratch) -> Result<u64, ReportError> {
    Ok(blob_layout(r, scratch)?.len())
}

/// The bytes of a blob, decompressed into `scratch` if needed; `what` names it in the error
/// for an integer where a blob belongs.
fn blob_bytes<'b>(
    blob: &Blob<'b>,
    scratch: &'b Scratch,
    what: &'static str,
    msg: &str,
) -> Result<&'b [u8], ReportError> {
    decoded_blob_bytes(blob, blob.data.decode(scratch)?, what, msg)
}

/// The bytes of `blob` once decoded (`decoded`), or the error [`blob_bytes`] gives for an
/// integer where a blob belongs.
fn decoded_blob_bytes<'o>(
    blob: &Blob<'_>,
    decoded: Str<'o>,
    what: &'static str,
    msg: &str,
) -> Result<&'o [u8], ReportError> {
    match decoded {
        Str::Bytes(b) => Ok(b),
        Str::Int(_) => Err(ReportError::Invalid {
            offset: blob.end_offset(),
            what,
            msg: msg.to_string(),
        }),
    }
}

/// The module type name of a `MODULE_2` value, read from its module id without decoding the
/// value.
pub(crate) fn module_type_name(r: &Record<'_>) -> Result<String, ReportError> {
    match r.layout(&Scratch::new())? {
        Layout::Module(id) => Ok(id.name()),
        _ => Err(layout_mismatch(r)),
    }
}

mod collections;
mod compat;
mod csv;
mod packed;
mod server;
mod sink;
mod sizes;
mod stream;
#[cfg(test)]
mod tests;

use compat::{push_escaped_key, push_rdbtools_row};
pub use compat::{CsvOptions, CsvStyle, KeyEscape};
use csv::push_row;
pub use csv::{MemoryCsv, CSV_HEADER};
use packed::*;
pub use server::Server;
use server::{HashTable, Packing, ServerLayout};
pub(crate) use sink::for_each_estimate;
pub(crate) use sink::for_each_record;
pub use sink::{FileModels, MemorySink};
use sizes::*;
