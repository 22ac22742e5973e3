//! Which server is modelled ([`Server`], detected from a dump or named on the command line)
//! and the facts of its memory layout that differ between versions ([`ServerLayout`]), filled
//! once per server so the model asks for a fact instead of comparing versions.

use std::fmt;
use std::str::FromStr;

use rdb_format::Version;

use crate::alloc::Allocator;
use crate::DumpHeader;

/// The server whose memory layout is modelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
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
        self.layout().default_allocator
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

    /// The facts of this server's memory layout.
    pub(super) fn layout(self) -> &'static ServerLayout {
        match self {
            Server::Redis62 => &REDIS_62,
            Server::Redis70 => &REDIS_70,
            Server::Redis72 => &REDIS_72,
            Server::Redis74 => &REDIS_74,
            Server::Valkey81 => &VALKEY_81,
        }
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

/// What differs between server versions in how they lay a key out in memory.
#[derive(Debug)]
pub(super) struct ServerLayout {
    /// The allocator of the server's own builds.
    pub default_allocator: Allocator,
    /// Valkey 8.1+: the key lives in its value's object (no separate key `sds` and keyspace
    /// `dictEntry`); strings, skiplist members and hash values are embedded where they fit.
    pub embedded_objects: bool,
    /// How hash tables (sets, sorted sets, hashes) are built.
    pub hash_table: HashTable,
    /// `sizeof(dict)` of a Redis dict.
    pub dict: u64,
    /// Small lists, hashes and sorted sets are ziplists (6.2) or listpacks.
    pub packing: Packing,
    /// `MEMORY USAGE` counts ziplists, intsets, stream listpacks and compressed quicklist
    /// nodes by their length (6.2) rather than their allocation.
    pub blob_allocations: bool,
    /// 6.2 counts an `embstr` as the object plus the string's length plus two.
    pub embstr_unrounded: bool,
    /// 7.2+: small sets of strings are listpacks.
    pub listpack_sets: bool,
    /// 7.2+: a list of one small node is a plain listpack.
    pub single_listpack_lists: bool,
    /// 7.4+: hash fields with a TTL carry an expiry record, and such hashes are loaded one
    /// insert at a time (their dict may still be rehashing).
    pub hash_field_expiry: bool,
    /// Small hashes with field TTLs stay packed (`listpackex`); Valkey makes them hash tables.
    pub listpack_ex: bool,
    /// `sizeof(quicklistNode)`.
    pub quicklist_node: u64,
    /// `sizeof(stream)`.
    pub stream: u64,
    /// `sizeof(streamCG)`.
    pub consumer_group: u64,
    /// `sizeof(streamConsumer)`.
    pub consumer: u64,
}

/// The hash table of sets, sorted sets and hashes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum HashTable {
    /// Redis's chained `dict`: the struct and a bucket array, one `dictEntry` per entry.
    Dict,
    /// Valkey's open-addressing `hashtable` of 64-byte buckets; radix trees counted by
    /// their real node allocations.
    Valkey,
}

/// The packed encoding of small collections.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Packing {
    /// Ziplists (Redis up to 6.2).
    Ziplist,
    /// Listpacks (Redis 7.0+, Valkey).
    Listpack,
}

impl Packing {
    /// The `OBJECT ENCODING` name.
    pub fn name(&self) -> &'static str {
        match self {
            Packing::Ziplist => "ziplist",
            Packing::Listpack => "listpack",
        }
    }
}

const REDIS_62: ServerLayout = ServerLayout {
    default_allocator: Allocator::Jemalloc,
    embedded_objects: false,
    hash_table: HashTable::Dict,
    dict: 96,
    packing: Packing::Ziplist,
    blob_allocations: false,
    embstr_unrounded: true,
    listpack_sets: false,
    single_listpack_lists: false,
    hash_field_expiry: false,
    listpack_ex: true,
    quicklist_node: 32,
    stream: 40,
    consumer_group: 32,
    consumer: 24,
};

const REDIS_70: ServerLayout = ServerLayout {
    dict: 56,
    packing: Packing::Listpack,
    blob_allocations: true,
    embstr_unrounded: false,
    quicklist_node: 40,
    stream: 80,
    consumer_group: 40,
    ..REDIS_62
};

const REDIS_72: ServerLayout = ServerLayout {
    listpack_sets: true,
    single_listpack_lists: true,
    consumer: 32,
    ..REDIS_70
};

const REDIS_74: ServerLayout = ServerLayout {
    default_allocator: Allocator::Jemalloc8,
    hash_field_expiry: true,
    ..REDIS_72
};

const VALKEY_81: ServerLayout = ServerLayout {
    default_allocator: Allocator::Jemalloc,
    embedded_objects: true,
    hash_table: HashTable::Valkey,
    listpack_ex: false,
    ..REDIS_74
};
