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

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;
use std::sync::Mutex;

use rdb_format::{
    DecoderOptions, Encoding, Listpack, RdbString, Record, Scratch, Str, Stream, StreamId, Value,
    Version, Ziplist,
};

use crate::alloc::Allocator;
use crate::rax;
use crate::{csv_field, push_iso_time, push_u64, DumpHeader, ReportError};
use rdb_pipeline::pipeline::{Chunk, FileInfo as PipelineFile, Sink};

/// The server whose memory layout is modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Server {
    /// Redis up to 6.2 (ziplists, RDB 9 and older).
    Redis62,
    /// Redis 7.0 (listpacks, quicklists of listpacks).
    Redis70,
    /// Redis 7.2 (listpack sets, single-node lists as listpacks). Also Valkey 7.2 and 8.0.
    Redis72,
    /// Redis 7.4 (hash field expiration); also used for Redis 8.
    Redis74,
    /// Valkey 8.1 and later (open-addressing hash tables, keys embedded in objects).
    Valkey81,
}

impl Server {
    /// Picks the model for a dump from its `valkey-ver` / `redis-ver` aux fields, or else its
    /// RDB version.
    pub fn detect(header: &DumpHeader) -> Server {
        if let Some(v) = header.aux_str("valkey-ver").and_then(parse_version) {
            return if v >= (8, 1) {
                Server::Valkey81
            } else {
                Server::Redis72
            };
        }
        if header.version.is_valkey() {
            return Server::Valkey81;
        }
        if let Some(v) = header.aux_str("redis-ver").and_then(parse_version) {
            return match v {
                (7, 4..) | (8.., _) => Server::Redis74,
                (7, 2..) => Server::Redis72,
                (7, _) => Server::Redis70,
                _ => Server::Redis62,
            };
        }
        Self::for_rdb_version(header.version)
    }

    /// The model for a dump of this RDB version written by the server that introduced it.
    pub fn for_rdb_version(version: Version) -> Server {
        match version.number {
            _ if version.is_valkey() => Server::Valkey81,
            12.. => Server::Redis74,
            11 => Server::Redis72,
            10 => Server::Redis70,
            _ => Server::Redis62,
        }
    }

    /// The allocator the server's own builds use by default.
    pub fn default_allocator(self) -> Allocator {
        match self {
            Server::Redis74 => Allocator::Jemalloc8,
            _ => Allocator::Jemalloc,
        }
    }

    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Server::Redis62 => "redis-6.2",
            Server::Redis70 => "redis-7.0",
            Server::Redis72 => "redis-7.2",
            Server::Redis74 => "redis-7.4",
            Server::Valkey81 => "valkey-8.1",
        }
    }

    fn is_valkey(self) -> bool {
        self == Server::Valkey81
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Server {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.to_ascii_lowercase();
        let (valkey, rest) = match lower.strip_prefix("valkey") {
            Some(r) => (true, r.trim_start_matches(['-', ' '])),
            None => (
                false,
                lower
                    .strip_prefix("redis")
                    .unwrap_or(&lower)
                    .trim_start_matches(['-', ' ']),
            ),
        };
        let v = if rest.is_empty() && valkey {
            Some((9, 0))
        } else {
            parse_version(rest)
        };
        let bad = || format!("expected a server like 7.0, redis-7.4 or valkey-9, got {s:?}");
        let v = v.ok_or_else(bad)?;
        Ok(match (valkey, v) {
            (true, v) if v >= (8, 1) => Server::Valkey81,
            (true, _) => Server::Redis72,
            (false, (7, 4..) | (8.., _)) => Server::Redis74,
            (false, (7, 2..)) => Server::Redis72,
            (false, (7, _)) => Server::Redis70,
            (false, _) => Server::Redis62,
        })
    }
}

/// `"7.4.1"` → `(7, 4)`.
fn parse_version(s: &str) -> Option<(u32, u32)> {
    let mut parts = s.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

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
    allocator: Allocator,
    compress_depth: u64,
}

// Sizes of the server's structures on 64-bit builds.
const ROBJ: u64 = 16;
const DICT_ENTRY: u64 = 24;
const QUICKLIST: u64 = 40;
const ZSET: u64 = 16;
const ZSKIPLIST: u64 = 32;
const STREAM_NACK: u64 = 24;
const STREAM_ID: u64 = 16;
/// `streamRadixTreeMemoryUsage`: per node, a 4-byte header plus "30 longs" of overhead.
const RAX_NODE_ESTIMATE: u64 = 4 + 8 * 30;
const ZSKIPLIST_MAXLEVEL: u64 = 32;
/// Valkey's `hashtable` struct and its 64-byte buckets of 7 entries.
const VK_HASHTABLE: u64 = 80;
const VK_BUCKET: u64 = 64;
const VK_BUCKET_SLOTS: u64 = 7;
/// Valkey's `rax` struct (head, element and node counts, allocation size).
const VK_RAX: u64 = 32;
/// Valkey hash tables of hashes carry one metadata word (their volatile-field set).
const VK_HASH_META: u64 = 8;

// Default encoding thresholds (the compiled-in defaults, which redis.conf repeats).
const HASH_MAX_LISTPACK_ENTRIES: u64 = 512;
const HASH_MAX_LISTPACK_VALUE: u64 = 64;
const SET_MAX_INTSET_ENTRIES: u64 = 512;
const SET_MAX_LISTPACK_ENTRIES: u64 = 128;
const SET_MAX_LISTPACK_VALUE: u64 = 64;
const ZSET_MAX_LISTPACK_ENTRIES: u64 = 128;
const ZSET_MAX_LISTPACK_VALUE: u64 = 64;
/// `list-max-listpack-size -2`: 8 KiB per quicklist node.
const LIST_NODE_MAX_BYTES: u64 = 8192;
/// Quicklist nodes smaller than this are never compressed; compression must save more than
/// `MIN_COMPRESS_IMPROVE` bytes.
const MIN_COMPRESS_BYTES: u64 = 48;
const MIN_COMPRESS_IMPROVE: u64 = 8;
/// `OBJ_ENCODING_EMBSTR_SIZE_LIMIT`.
const EMBSTR_MAX: u64 = 44;
/// Valkey embeds a string value in its object while the whole allocation stays below this.
const VK_EMBED_MAX: u64 = 128;
/// Valkey reserves an expire slot in objects whose key is at least this long.
const VK_KEY_EXPIRE_RESERVE: u64 = 128;
/// Valkey embeds a hash value in its entry while field + value fit in this many bytes.
const VK_EMBED_VALUE_MAX: u64 = 128;
/// Skiplist level probability (`ZSKIPLIST_P`).
const SKIPLIST_P: f64 = 0.25;

impl MemoryModel {
    /// A model for `server` with `allocator`.
    pub fn new(server: Server, allocator: Allocator, list_compress_depth: u32) -> Self {
        MemoryModel {
            server,
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
                let (len, is_int) = match Cursor::new(r).string("string")? {
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
        if !self.server.is_valkey() {
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
            Value::Set(members) => self.set(obj, r, members)?,
            Value::ZSet(members) => self.zset(obj, r, Some(members), scratch)?,
            Value::Hash(fields) => self.hash(obj, r, fields)?,
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
        if self.server == Server::Redis62 {
            n
        } else {
            self.a(n)
        }
    }

    /// An sds string of `len` bytes as allocated.
    fn sds(&self, len: u64) -> u64 {
        self.a(sds_req(len))
    }

    /// The object header counted for a non-string value: `robj`, or on Valkey the object
    /// with the embedded key (and an expire slot).
    fn header(&self, o: &Obj) -> u64 {
        if self.server.is_valkey() {
            self.a(ROBJ + vk_key_part(o.key_len) + vk_expire(o))
        } else {
            ROBJ
        }
    }

    fn dict(&self) -> u64 {
        if self.server == Server::Redis62 {
            96
        } else {
            56
        }
    }

    /// A Redis dict (`sizeof(dict)` and its bucket array) for `n` entries loaded at once.
    fn dict_table(&self, n: u64) -> u64 {
        self.dict() + 8 * n.max(4).next_power_of_two()
    }

    /// A Valkey hash table sized for `n` entries: its struct, buckets and the expected child
    /// buckets of overflowing chains.
    fn vk_table(&self, n: u64) -> u64 {
        let buckets = vk_buckets(n);
        let child = vk_expected_children(n, buckets);
        VK_HASHTABLE + VK_BUCKET * buckets + (VK_BUCKET as f64 * child).round() as u64
    }

    // ---------------------------------------------------------------- strings

    fn string(&self, o: &Obj, len: u64, is_int: bool) -> KeyMemory {
        let (bytes, encoding) = if self.server.is_valkey() {
            let key = vk_key_part(o.key_len);
            let exp = if o.expire { 8 } else { 0 };
            let embedded = 8 + exp + key + 3 + len + 1;
            if is_int {
                (self.a(ROBJ + key + vk_expire(o)), "int")
            } else if embedded < VK_EMBED_MAX {
                (self.a(embedded), "embstr")
            } else {
                (self.a(ROBJ + key + vk_expire(o)) + self.sds(len), "raw")
            }
        } else if is_int {
            (ROBJ, "int")
        } else if len <= EMBSTR_MAX {
            let b = if self.server == Server::Redis62 {
                // 6.2 counts the embedded sds as its length plus two.
                ROBJ + len + 2
            } else {
                self.a(ROBJ + 3 + len + 1)
            };
            (b, "embstr")
        } else {
            (ROBJ + self.sds(len), "raw")
        };
        KeyMemory {
            bytes,
            encoding,
            elements: 1,
            largest_element: len,
        }
    }

    // ---------------------------------------------------------------- lists

    fn list(
        &self,
        o: &Obj,
        r: &Record<'_>,
        items: rdb_format::List<'_>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        let (mut elements, mut largest) = (0u64, 0u64);
        let v2 = r.encoding == Encoding::ListQuicklist2;
        let v1 = r.encoding == Encoding::ListQuicklist;
        let nodes = if v1 && self.server != Server::Redis62 {
            // Ziplist nodes become listpack nodes of the same elements on load.
            ziplist_nodes_as_listpacks(r, scratch, &mut elements, &mut largest)?
        } else {
            let mut packed = Packer::new(self.server);
            let repack = !v1 && !v2;
            for item in items {
                let item = item?;
                elements += 1;
                largest = largest.max(slen(item));
                if repack {
                    packed.push(item);
                }
            }
            if repack {
                packed.finish()
            } else {
                quicklist_nodes(r, v2)?
            }
        };
        let depth = self.compress_depth;
        let n = nodes.len() as u64;
        let single_small = n == 1 && !nodes[0].plain && nodes[0].bytes <= LIST_NODE_MAX_BYTES;
        let (bytes, encoding) = if self.server >= Server::Redis72 && single_small {
            (self.header(o) + self.a(nodes[0].bytes), "listpack")
        } else {
            let node_struct = if self.server == Server::Redis62 {
                32
            } else {
                40
            };
            let mut total = self.header(o) + QUICKLIST;
            for (i, node) in nodes.iter().enumerate() {
                let i = i as u64;
                let inner = depth > 0 && i >= depth && i + depth < n;
                let compressed = match node.lzf {
                    Some(c) if inner && node.bytes >= MIN_COMPRESS_BYTES => {
                        (c + MIN_COMPRESS_IMPROVE < node.bytes).then_some(c)
                    }
                    _ => None,
                };
                total += node_struct
                    + match compressed {
                        // quicklistLZF: a 4-byte length and the compressed bytes.
                        Some(c) if self.server == Server::Redis62 => c,
                        Some(c) => self.a(4 + c),
                        None => self.blob(node.bytes),
                    };
            }
            (total, "quicklist")
        };
        Ok(KeyMemory {
            bytes,
            encoding,
            elements,
            largest_element: largest,
        })
    }

    // ---------------------------------------------------------------- sets

    fn set(
        &self,
        o: &Obj,
        r: &Record<'_>,
        members: rdb_format::Set<'_>,
    ) -> Result<KeyMemory, ReportError> {
        let mut agg = Agg::default();
        // Only a plain set can become an intset on load; its members are checked for it.
        let check_ints = r.encoding == Encoding::Set;
        let mut all_int = check_ints || r.encoding == Encoding::SetIntset;
        let mut width = 2u64;
        for m in members.clone() {
            let m = m?;
            agg.add(self, slen(m));
            if check_ints && all_int {
                match as_int(m) {
                    Some(i) => width = width.max(int_width(i)),
                    None => all_int = false,
                }
            }
        }
        let n = agg.count;
        let (bytes, encoding) = if all_int && n <= SET_MAX_INTSET_ENTRIES {
            let blob = match r.encoding {
                Encoding::SetIntset => single_blob_len(r)?,
                _ => 8 + n * width,
            };
            (self.header(o) + self.blob(blob), "intset")
        } else if self.server >= Server::Redis72
            && n <= SET_MAX_LISTPACK_ENTRIES
            && agg.max_len <= SET_MAX_LISTPACK_VALUE
        {
            let lp = match r.encoding {
                Encoding::SetListpack => single_blob_len(r)?,
                _ => lp_bytes(members.map(|m| m.map(|m| [m])))?,
            };
            (self.header(o) + self.a(lp), "listpack")
        } else if self.server.is_valkey() {
            (
                self.header(o) + self.vk_table(n) + agg.sds_bytes,
                "hashtable",
            )
        } else {
            (
                ROBJ + self.dict_table(n) + n * DICT_ENTRY + agg.sds_bytes,
                "hashtable",
            )
        };
        Ok(KeyMemory {
            bytes,
            encoding,
            elements: n,
            largest_element: agg.max_len,
        })
    }

    // ---------------------------------------------------------------- sorted sets

    fn zset(
        &self,
        o: &Obj,
        r: &Record<'_>,
        members: Option<rdb_format::ZSet<'_>>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        let mut agg = Agg::default();
        let mut nodes = NodeCosts::new(self);
        let mut add = |len: u64| {
            agg.add(self, len);
            nodes.add(len);
        };
        // Packed encodings: every other entry of the blob is a member.
        let blob = match &members {
            None => Some(single_blob(r, scratch)?),
            Some(_) => None,
        };
        let packed = |blob| Entries::parse(r.encoding, blob);
        match (&members, blob) {
            (Some(members), _) => {
                for m in members.clone() {
                    add(slen(m?.0));
                }
            }
            (None, Some(blob)) => {
                for e in packed(blob)?.step_by(2) {
                    add(slen(e?));
                }
            }
            (None, None) => {}
        }
        let n = agg.count;
        let (bytes, encoding) =
            if n <= ZSET_MAX_LISTPACK_ENTRIES && agg.max_len <= ZSET_MAX_LISTPACK_VALUE {
                // Converted on load entry by entry, scores as they are stored.
                let repack = |p: &mut dyn Packed| -> Result<u64, ReportError> {
                    match (&members, blob) {
                        (Some(members), _) => zset_packed_bytes(members.clone(), p),
                        (None, Some(blob)) => {
                            for e in packed(blob)? {
                                p.push(e?);
                            }
                            Ok(p.bytes())
                        }
                        (None, None) => Ok(p.bytes()),
                    }
                };
                let b = match (r.encoding, self.server) {
                    (Encoding::ZSetZiplist, Server::Redis62) => single_blob_len(r)?,
                    (_, Server::Redis62) => repack(&mut ZlSize::default())?,
                    (Encoding::ZSetListpack, _) => self.a(single_blob_len(r)?),
                    _ => self.a(repack(&mut LpSize::default())?),
                };
                let name = if self.server == Server::Redis62 {
                    "ziplist"
                } else {
                    "listpack"
                };
                (self.header(o) + b, name)
            } else {
                let header_node = self.a(24 + ZSKIPLIST_MAXLEVEL * 16);
                let fixed = ZSET + ZSKIPLIST + header_node;
                let nodes = nodes.total.round() as u64;
                if self.server.is_valkey() {
                    (
                        self.header(o) + fixed + self.vk_table(n) + nodes,
                        "skiplist",
                    )
                } else {
                    (
                        ROBJ + fixed + self.dict_table(n) + agg.sds_bytes + n * DICT_ENTRY + nodes,
                        "skiplist",
                    )
                }
            };
        Ok(KeyMemory {
            bytes,
            encoding,
            elements: n,
            largest_element: agg.max_len,
        })
    }

    /// Expected allocation of a skiplist node of `base` bytes plus 16 per level, the level
    /// drawn as `zslRandomLevel` does (P = 1/4, at most 32).
    fn expected_node(&self, base: u64) -> f64 {
        let mut p = 1.0 - SKIPLIST_P;
        let mut e = 0.0;
        let mut rest = 1.0;
        for level in 1..=12u64 {
            e += p * self.a(base + 16 * level) as f64;
            rest -= p;
            p *= SKIPLIST_P;
        }
        e + rest * self.a(base + 16 * 13) as f64
    }

    // ---------------------------------------------------------------- hashes

    fn hash(
        &self,
        o: &Obj,
        r: &Record<'_>,
        fields: rdb_format::Hash<'_>,
    ) -> Result<KeyMemory, ReportError> {
        let mut agg = Agg::default();
        let (mut n, mut ttls) = (0u64, 0u64);
        let mut entries = 0u64;
        let valkey = self.server.is_valkey();
        let hfe = self.server >= Server::Redis74;
        for f in fields.clone() {
            let f = f?;
            n += 1;
            let (fl, vl) = (slen(f.field), slen(f.value));
            agg.max_len = agg.max_len.max(fl).max(vl);
            let ttl = f.expire_ms.is_some();
            ttls += u64::from(ttl);
            entries += if valkey {
                self.vk_hash_entry(fl, vl, ttl)
            } else {
                // The field (an sds, or from 7.4 an `hfield` with a 16-byte expiry record
                // when it has a TTL), the value, and the dict entry.
                let field = if hfe && ttl {
                    self.a(sds_hdr(fl).max(3) + fl + 1 + 16)
                } else {
                    self.sds(fl)
                };
                DICT_ENTRY + field + self.sds(vl)
            };
        }
        let small = n <= HASH_MAX_LISTPACK_ENTRIES && agg.max_len <= HASH_MAX_LISTPACK_VALUE;
        let with_ttl_encoding = matches!(
            r.encoding,
            Encoding::HashListpackEx
                | Encoding::HashListpackExPreGa
                | Encoding::HashMetadata
                | Encoding::HashMetadataPreGa
        );
        let pairs = || fields.clone().map(|f| f.map(|f| [f.field, f.value]));
        let (bytes, encoding) = if small && with_ttl_encoding && !valkey {
            // listpackEx: a small struct (expiry metadata, key, listpack pointer) and the
            // listpack of field, value, TTL triples.
            let lp =
                match r.encoding {
                    Encoding::HashListpackEx | Encoding::HashListpackExPreGa => {
                        listpack_ex_blob_len(r)?
                    }
                    _ => lp_bytes(fields.clone().map(|f| {
                        f.map(|f| [f.field, f.value, Str::Int(f.expire_ms.unwrap_or(0))])
                    }))?,
                };
            (self.header(o) + self.a(32) + self.a(lp), "listpackex")
        } else if small && (ttls == 0 || !valkey) {
            let b = match (r.encoding, self.server) {
                (Encoding::HashZiplist, Server::Redis62) => single_blob_len(r)?,
                (_, Server::Redis62) => zl_bytes(pairs())?,
                (Encoding::HashListpack, _) => self.a(single_blob_len(r)?),
                _ => self.a(lp_bytes(pairs())?),
            };
            let name = if self.server == Server::Redis62 {
                "ziplist"
            } else {
                "listpack"
            };
            (self.header(o) + b, name)
        } else if valkey {
            let table = self.vk_table(n) + VK_HASH_META + self.vk_volatile_set(ttls);
            (self.header(o) + table + entries, "hashtable")
        } else {
            let mut table = self.dict_table(n);
            if ttls > 0 && hfe {
                table += 8 * rehashing_buckets(n);
            }
            (ROBJ + table + entries, "hashtable")
        };
        Ok(KeyMemory {
            bytes,
            encoding,
            elements: n,
            largest_element: agg.max_len,
        })
    }

    /// Valkey's set of a hash's fields with a TTL: nothing for one field (a tagged pointer),
    /// a sorted vector of pointers up to 127, then time buckets in a radix tree.
    fn vk_volatile_set(&self, ttls: u64) -> u64 {
        match ttls {
            0 | 1 => 0,
            2..=127 => self.a(8 + 8 * ttls),
            _ => 10 * ttls + 64,
        }
    }

    /// A Valkey hash entry: field (and TTL) with the value embedded when the whole fits in
    /// 128 bytes, else with a pointer to a separate value sds.
    fn vk_hash_entry(&self, field_len: u64, value_len: u64, ttl: bool) -> u64 {
        let exp = if ttl { 8 } else { 0 };
        let field_hdr = if field_len < 32 && !ttl {
            1
        } else {
            sds_hdr(field_len).max(3)
        };
        let field = field_hdr + field_len + 1;
        let value = 3 + value_len + 1;
        if field + exp + value <= VK_EMBED_VALUE_MAX {
            self.a(field + exp + value)
        } else {
            let field = sds_hdr(field_len).max(3) + field_len + 1;
            self.a(exp + 8 + field) + self.sds(value_len)
        }
    }

    // ---------------------------------------------------------------- streams

    fn stream(
        &self,
        o: &Obj,
        r: &Record<'_>,
        s: &Stream<'_>,
        scratch: &Scratch,
    ) -> Result<KeyMemory, ReportError> {
        let (mut elements, mut largest) = (0u64, 0u64);
        for e in s.entries() {
            let e = e?;
            elements += 1;
            for f in e.fields {
                let (field, value) = f?;
                largest = largest.max(slen(field)).max(slen(value));
            }
        }
        let nodes = stream_nodes(r, scratch)?;
        let stream_struct = if self.server == Server::Redis62 {
            40
        } else {
            80
        };
        let mut total = self.header(o) + stream_struct;
        let keys: Vec<[u8; 16]> = nodes.iter().map(|n| n.0).collect();
        total += self.rax(&keys);
        total += nodes.iter().map(|n| self.blob(n.1)).sum::<u64>();
        let (cg, consumer) = match self.server {
            Server::Redis62 => (32, 24),
            Server::Redis70 => (40, 24),
            _ => (40, 32),
        };
        for g in s.groups() {
            let g = g?;
            let mut pel = Vec::new();
            for p in g.pending {
                pel.push(id_key(p?.id));
            }
            pel.sort_unstable();
            pel.dedup();
            total += cg + self.rax(&pel) + STREAM_NACK * pel.len() as u64;
            for c in g.consumers {
                let c = c?;
                let mut cpel: Vec<[u8; 16]> = c.pending.map(id_key).collect();
                cpel.sort_unstable();
                cpel.dedup();
                total += consumer + slen(c.name) + self.rax(&cpel);
            }
        }
        Ok(KeyMemory {
            bytes: total,
            encoding: "stream",
            elements,
            largest_element: largest,
        })
    }

    /// A stream radix tree as the server counts it: Redis estimates 16 bytes per element and
    /// 244 per node; Valkey counts its real node allocations.
    fn rax(&self, keys: &[[u8; 16]]) -> u64 {
        if self.server.is_valkey() {
            let a = |n| self.a(n);
            let s = rax::shape(keys, &a);
            self.a(VK_RAX) + s.node_bytes
        } else {
            let s = rax::shape(keys, &|n| n);
            s.elements * STREAM_ID + s.nodes * RAX_NODE_ESTIMATE
        }
    }
}

/// The key side of an object: its length and whether it has an expiry.
struct Obj {
    key_len: u64,
    expire: bool,
}

/// Valkey's embedded key: a header-size byte and the key's sds.
fn vk_key_part(key_len: u64) -> u64 {
    1 + sds_req(key_len)
}

/// Valkey's expire slot in an object: present when the key expires or is long.
fn vk_expire(o: &Obj) -> u64 {
    if o.expire || o.key_len >= VK_KEY_EXPIRE_RESERVE {
        8
    } else {
        0
    }
}

/// Buckets of the old table still allocated while a Redis dict grown one insert at a time
/// is rehashing: 7.4 loads hashes with field TTLs that way. The table doubled when it
/// filled up; each insert since moved one bucket (skipping empty ones), and a table at fill
/// 1 has about 63% non-empty buckets.
fn rehashing_buckets(n: u64) -> u64 {
    let size = n.max(4).next_power_of_two();
    let old = size / 2;
    if n <= 4 || old == 0 {
        return 0;
    }
    let inserted_since = n - old;
    let steps_needed = (old as f64 * 0.632).ceil() as u64;
    if inserted_since < steps_needed {
        old
    } else {
        0
    }
}

/// Valkey's bucket count for `n` entries: `ceil(n * 5 / 32)` rounded up to a power of two.
fn vk_buckets(n: u64) -> u64 {
    if n == 0 {
        return 0;
    }
    let min = (n * 5 - 1) / 32 + 1;
    min.next_power_of_two()
}

/// Expected child buckets when `n` entries hash uniformly into `buckets` buckets of 7 slots
/// (a chained bucket keeps 6 and links the next).
fn vk_expected_children(n: u64, buckets: u64) -> f64 {
    if buckets == 0 || n <= VK_BUCKET_SLOTS {
        return 0.0;
    }
    let lambda = n as f64 / buckets as f64;
    let mut p = (-lambda).exp(); // P(k = 0)
    let mut expected = 0.0;
    let max_k = (lambda * 4.0 + 40.0) as u64;
    for k in 1..=max_k {
        p *= lambda / k as f64;
        if k > VK_BUCKET_SLOTS {
            let children = (k - VK_BUCKET_SLOTS).div_ceil(VK_BUCKET_SLOTS - 1);
            expected += p * children as f64;
        }
    }
    expected * buckets as f64
}

/// sds header size for a string of `len` bytes.
fn sds_hdr(len: u64) -> u64 {
    match len {
        0 => 3,
        1..=31 => 1,
        32..=255 => 3,
        256..=65535 => 5,
        65536..=0xFFFF_FFFF => 9,
        _ => 17,
    }
}

/// Bytes an sds of `len` bytes asks the allocator for: header, bytes, terminator.
fn sds_req(len: u64) -> u64 {
    sds_hdr(len) + len + 1
}

fn int_width(i: i64) -> u64 {
    if i16::try_from(i).is_ok() {
        2
    } else if i32::try_from(i).is_ok() {
        4
    } else {
        8
    }
}

fn id_key(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

/// Running sums over a collection's strings: the cheap figures every encoding needs.
#[derive(Default)]
struct Agg {
    count: u64,
    max_len: u64,
    /// Allocated sds strings (hash-table encodings).
    sds_bytes: u64,
}

impl Agg {
    fn add(&mut self, m: &MemoryModel, len: u64) {
        self.count += 1;
        self.max_len = self.max_len.max(len);
        self.sds_bytes += m.sds(len);
    }
}

/// Expected skiplist node allocations, memoized by member length.
struct NodeCosts<'m> {
    model: &'m MemoryModel,
    memo: [f64; 65],
    total: f64,
}

impl<'m> NodeCosts<'m> {
    fn new(model: &'m MemoryModel) -> Self {
        NodeCosts {
            model,
            memo: [-1.0; 65],
            total: 0.0,
        }
    }

    fn add(&mut self, len: u64) {
        let base = |m: &MemoryModel| {
            if m.server.is_valkey() {
                // Valkey embeds the member in its node (score, backward link, sds).
                16 + sds_req(len)
            } else {
                // ele pointer, score, backward link; the member is a separate sds.
                24
            }
        };
        let cost = match self.memo.get_mut(len as usize) {
            Some(c) if *c >= 0.0 => *c,
            Some(c) => {
                *c = self.model.expected_node(base(self.model));
                *c
            }
            None => self.model.expected_node(base(self.model)),
        };
        self.total += cost;
    }
}

/// The entries of a ziplist or listpack blob.
enum Entries<'b> {
    Ziplist(Ziplist<'b>),
    Listpack(Listpack<'b>),
}

impl<'b> Entries<'b> {
    /// The entries of `blob`, a ziplist for `*_ZIPLIST` encodings, else a listpack.
    fn parse(encoding: Encoding, blob: &'b [u8]) -> Result<Self, ReportError> {
        Ok(match encoding {
            Encoding::ZSetZiplist | Encoding::HashZiplist | Encoding::ListZiplist => {
                Entries::Ziplist(Ziplist::parse(blob)?)
            }
            _ => Entries::Listpack(Listpack::parse(blob)?),
        })
    }
}

impl<'b> Iterator for Entries<'b> {
    type Item = rdb_format::Result<Str<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Entries::Ziplist(z) => z.next(),
            Entries::Listpack(l) => l.next(),
        }
    }
}

/// A listpack or ziplist being sized entry by entry.
trait Packed {
    fn push(&mut self, s: Str<'_>);
    fn bytes(&self) -> u64;
}

/// Listpack size: 6-byte header, entries, end byte.
#[derive(Default)]
struct LpSize(u64);

impl Packed for LpSize {
    fn push(&mut self, s: Str<'_>) {
        self.0 += lp_entry(s);
    }
    fn bytes(&self) -> u64 {
        6 + self.0 + 1
    }
}

/// Ziplist size: 10-byte header, entries (each with its previous entry's length), end byte.
#[derive(Default)]
struct ZlSize {
    entries: u64,
    prev: u64,
}

impl Packed for ZlSize {
    fn push(&mut self, s: Str<'_>) {
        let prevlen = if self.prev < 254 { 1 } else { 5 };
        self.prev = prevlen + zl_entry_body(s);
        self.entries += self.prev;
    }
    fn bytes(&self) -> u64 {
        10 + self.entries + 1
    }
}

/// Bytes of a listpack holding the given groups of strings.
fn lp_bytes<'s, const N: usize>(
    items: impl Iterator<Item = rdb_format::Result<[Str<'s>; N]>>,
) -> Result<u64, ReportError> {
    packed_bytes(items, LpSize::default())
}

/// Bytes of a ziplist holding the given groups of strings.
fn zl_bytes<'s, const N: usize>(
    items: impl Iterator<Item = rdb_format::Result<[Str<'s>; N]>>,
) -> Result<u64, ReportError> {
    packed_bytes(items, ZlSize::default())
}

fn packed_bytes<'s, const N: usize>(
    items: impl Iterator<Item = rdb_format::Result<[Str<'s>; N]>>,
    mut p: impl Packed,
) -> Result<u64, ReportError> {
    for group in items {
        for s in group? {
            p.push(s);
        }
    }
    Ok(p.bytes())
}

/// A sorted set packed as member, score, member, score, ... (scores as `d2string` text).
fn zset_packed_bytes(
    members: rdb_format::ZSet<'_>,
    p: &mut dyn Packed,
) -> Result<u64, ReportError> {
    for m in members {
        let (member, score) = m?;
        p.push(member);
        let text = score_text(score);
        p.push(Str::Bytes(text.as_bytes()));
    }
    Ok(p.bytes())
}

/// A score as `d2string` writes it (integers without a fraction).
fn score_text(score: f64) -> String {
    if score.is_finite() && score == score.trunc() && score.abs() < 1e17 {
        format!("{}", score as i64)
    } else if score.is_nan() {
        "nan".into()
    } else if score.is_infinite() {
        if score > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{score}")
    }
}

/// The integer a string holds when the server would store it as one: decimal, canonical
/// (no sign but `-`, no leading zero, not `-0`), in `i64` range.
fn canonical_int(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || neg) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    if neg {
        if v <= i64::MAX as u64 + 1 {
            Some((v as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Length of a string (of an integer's decimal text) without formatting it.
fn slen(s: Str<'_>) -> u64 {
    match s {
        Str::Bytes(b) => b.len() as u64,
        Str::Int(i) => int_len(i),
    }
}

/// Length of the decimal text of `i`.
fn int_len(i: i64) -> u64 {
    let sign = u64::from(i < 0);
    let mut n = i.unsigned_abs();
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    sign + digits
}

fn as_int(s: Str<'_>) -> Option<i64> {
    match s {
        Str::Int(i) => Some(i),
        Str::Bytes(b) => canonical_int(b),
    }
}

/// Bytes of one listpack entry holding `s`: encoding, data and back-length.
fn lp_entry(s: Str<'_>) -> u64 {
    let body = match as_int(s) {
        Some(i) if (0..=127).contains(&i) => 1,
        Some(i) if (-4096..=4095).contains(&i) => 2,
        Some(i) if i16::try_from(i).is_ok() => 3,
        Some(i) if (-(1 << 23)..(1 << 23)).contains(&i) => 4,
        Some(i) if i32::try_from(i).is_ok() => 5,
        Some(_) => 9,
        None => {
            let len = slen(s);
            len + match len {
                0..=63 => 1,
                64..=4095 => 2,
                _ => 5,
            }
        }
    };
    body + match body {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes of one ziplist entry holding `s`, without its previous-length field.
fn zl_entry_body(s: Str<'_>) -> u64 {
    match as_int(s) {
        Some(i) if (0..=12).contains(&i) => 1,
        Some(i) if i8::try_from(i).is_ok() => 2,
        Some(i) if i16::try_from(i).is_ok() => 3,
        Some(i) if (-(1 << 23)..(1 << 23)).contains(&i) => 4,
        Some(i) if i32::try_from(i).is_ok() => 5,
        Some(_) => 9,
        None => {
            let len = slen(s);
            len + match len {
                0..=63 => 1,
                64..=16383 => 2,
                _ => 5,
            }
        }
    }
}

/// Packs list elements into quicklist nodes as the server does when it builds a list element
/// by element (plain lists and ziplists of old dumps).
struct Packer {
    server: Server,
    nodes: Vec<Node>,
    cur: Option<Node>,
}

impl Packer {
    fn new(server: Server) -> Self {
        Packer {
            server,
            nodes: Vec::new(),
            cur: None,
        }
    }

    fn push(&mut self, s: Str<'_>) {
        let len = slen(s);
        let (entry, empty) = if self.server == Server::Redis62 {
            // Ziplist nodes: the previous-length byte is almost always one byte.
            (1 + zl_entry_body(s), 11)
        } else {
            (lp_entry(s), 7)
        };
        let fits = self
            .cur
            .as_ref()
            .is_some_and(|n| n.bytes + len + 8 <= LIST_NODE_MAX_BYTES);
        if !fits {
            if let Some(n) = self.cur.take() {
                self.nodes.push(n);
            }
            self.cur = Some(Node {
                bytes: empty,
                lzf: None,
                plain: false,
            });
        }
        if let Some(n) = self.cur.as_mut() {
            n.bytes += entry;
        }
    }

    fn finish(mut self) -> Vec<Node> {
        if let Some(n) = self.cur.take() {
            self.nodes.push(n);
        }
        self.nodes
    }
}

/// A quicklist node as loaded: its blob size, its LZF-compressed size in the dump (if it
/// was compressed there), and whether it holds one plain element.
#[derive(Clone, Copy, Debug)]
struct Node {
    bytes: u64,
    lzf: Option<u64>,
    plain: bool,
}

mod csv;
mod raw;
mod sink;
#[cfg(test)]
mod tests;

use csv::push_row;
pub use csv::{MemoryCsv, CSV_HEADER};
pub(crate) use raw::module_type_name;
use raw::*;
pub(crate) use sink::for_each_record;
pub use sink::{FileModels, MemorySink};
