//! Streams (`STREAM_LISTPACKS` 1 to 4): nodes of listpack-encoded entries keyed by a master
//! id, then the stream's metadata, its consumer groups and (4) idempotent-producer state.
//!
//! ```text
//! nodes:len { master_id:str(16 bytes, ms BE, seq BE)  listpack:str }
//! length:len  last_id:(len len)
//! v2+: first_id:(len len)  max_deleted_id:(len len)  entries_added:len
//! groups:len { name:str last_id:(len len) [v2+ entries_read:len]
//!              pel:len { id:16 raw  delivery_time:u64le  delivery_count:len }
//!              consumers:len { name:str seen_time:u64le [v3 active_time:u64le] pel:len { id:16 raw } } }
//! v4: idmp_duration:len idmp_max_entries:len
//!     producers:len { pid:str entries:len { iid:str id:(len len) } }
//!     iids_added:len iids_duplicates:len
//! ```

mod groups;
mod idmp;

use self::groups::consumer_groups;
pub use self::groups::{
    Consumer, ConsumerGroup, ConsumerGroups, ConsumerPending, Consumers, Pending, PendingEntry,
    PendingOwners,
};
use self::idmp::idmp_section;
pub use self::idmp::{Idmp, IdmpEntries, IdmpEntry, IdmpProducer, IdmpProducers};

use std::fmt;

use crate::consts::*;
use crate::encoding::Encoding;
use crate::error::{ErrorKind, Result};
use crate::read::blob::blob;
use crate::read::listpack::Listpack;
use crate::read::string::{Scratch, Str};
use crate::read::{array, count, finish, length, rdb_string, skip_string, Fail, Origin, PResult};

/// A stream entry id: milliseconds and sequence number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl StreamId {
    /// An id from its 16-byte big-endian form (rax keys, PEL entries).
    pub fn from_be_bytes(b: &[u8; 16]) -> Self {
        let mut ms = [0u8; 8];
        let mut seq = [0u8; 8];
        ms.copy_from_slice(&b[..8]);
        seq.copy_from_slice(&b[8..]);
        StreamId {
            ms: u64::from_be_bytes(ms),
            seq: u64::from_be_bytes(seq),
        }
    }
}

fn layout_version(enc: Encoding) -> u8 {
    match enc {
        Encoding::StreamListpacks => 1,
        Encoding::StreamListpacks2 => 2,
        Encoding::StreamListpacks4 => 4,
        _ => 3,
    }
}

fn id_pair(input: &[u8]) -> PResult<'_, StreamId> {
    let (rest, ms) = length(input)?;
    let (rest, seq) = length(rest)?;
    Ok((rest, StreamId { ms, seq }))
}

fn raw_id(input: &[u8]) -> PResult<'_, StreamId> {
    let (rest, b) = array::<16>(input, "stream id")?;
    Ok((rest, StreamId::from_be_bytes(&b)))
}

/// A stream's fixed metadata.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Meta {
    length: u64,
    last_id: StreamId,
    first_id: Option<StreamId>,
    max_deleted_id: Option<StreamId>,
    entries_added: Option<u64>,
}

fn stream_nodes(input: &[u8]) -> PResult<'_, (&[u8], u64)> {
    let (mut rest, n) = count(input, 2, "stream node count")?;
    let start = rest;
    for _ in 0..n {
        rest = skip_string(rest)?.0;
        rest = skip_string(rest)?.0;
    }
    Ok((rest, (&start[..start.len() - rest.len()], n)))
}

fn stream_meta(input: &[u8], version: u8) -> PResult<'_, Meta> {
    let (rest, xlen) = length(input)?;
    let (mut rest, last_id) = id_pair(rest)?;
    let mut meta = Meta {
        length: xlen,
        last_id,
        ..Meta::default()
    };
    if version >= 2 {
        let (r, first) = id_pair(rest)?;
        let (r, max_deleted) = id_pair(r)?;
        let (r, added) = length(r)?;
        rest = r;
        meta.first_id = Some(first);
        meta.max_deleted_id = Some(max_deleted);
        meta.entries_added = Some(added);
    }
    Ok((rest, meta))
}

/// Skips a whole stream value.
pub(crate) fn skip_stream(enc: Encoding, input: &[u8]) -> PResult<'_, ()> {
    let version = layout_version(enc);
    let (rest, _) = stream_nodes(input)?;
    let (rest, _) = stream_meta(rest, version)?;
    let (mut rest, _) = consumer_groups(rest, version)?;
    if version >= 4 {
        rest = idmp_section(rest)?.0;
    }
    Ok((rest, ()))
}

/// A stream value: metadata, plus lazy iterators over entries and consumer groups.
#[derive(Clone, Debug)]
pub struct Stream<'b> {
    /// The stored length (`XLEN`); reported as is, never trusted for allocation.
    pub length: u64,
    /// The last id ever added.
    pub last_id: StreamId,
    /// First entry id (layout 2+).
    pub first_id: Option<StreamId>,
    /// Highest deleted id (layout 2+).
    pub max_deleted_id: Option<StreamId>,
    /// Count of entries ever added (layout 2+).
    pub entries_added: Option<u64>,
    /// Idempotent-producer state (layout 4, Redis 8.6+).
    pub idmp: Option<Idmp<'b>>,
    version: u8,
    nodes: &'b [u8],
    node_count: u64,
    groups: &'b [u8],
    group_count: u64,
    origin: Origin<'b>,
    scratch: &'b Scratch,
}

impl<'b> Stream<'b> {
    pub(crate) fn new(
        enc: Encoding,
        raw: &'b [u8],
        origin: Origin<'b>,
        scratch: &'b Scratch,
    ) -> Result<Self> {
        let version = layout_version(enc);
        let (rest, (nodes, node_count)) = finish(&origin, stream_nodes(raw))?;
        let (rest, meta) = finish(&origin, stream_meta(rest, version))?;
        let (rest, (groups, group_count)) = finish(&origin, consumer_groups(rest, version))?;
        let idmp = if version >= 4 {
            let (_, raw) = finish(&origin, idmp_section(rest))?;
            Some(Idmp::new(raw, origin, scratch)?)
        } else {
            None
        };
        Ok(Stream {
            length: meta.length,
            last_id: meta.last_id,
            first_id: meta.first_id,
            max_deleted_id: meta.max_deleted_id,
            entries_added: meta.entries_added,
            idmp,
            version,
            nodes,
            node_count,
            groups,
            group_count,
            origin,
            scratch,
        })
    }

    /// The stream's live entries, oldest first (deleted entries are skipped).
    pub fn entries(&self) -> StreamEntries<'b> {
        StreamEntries {
            rest: self.nodes,
            remaining: self.node_count,
            origin: self.origin,
            scratch: self.scratch,
            node: None,
        }
    }

    /// The stream's consumer groups.
    pub fn groups(&self) -> ConsumerGroups<'b> {
        ConsumerGroups::new(
            self.groups,
            self.group_count,
            self.version,
            self.origin,
            self.scratch,
        )
    }

    /// Number of listpack nodes.
    pub fn node_count(&self) -> u64 {
        self.node_count
    }
}

/// One stream entry.
#[derive(Clone, Debug)]
pub struct StreamEntry<'b> {
    /// The entry's id.
    pub id: StreamId,
    /// The entry's field/value pairs.
    pub fields: StreamFields<'b>,
}

/// The field/value pairs of a stream entry.
#[derive(Clone, Debug)]
pub struct StreamFields<'b> {
    master: Option<Listpack<'b>>,
    values: Listpack<'b>,
    remaining: u64,
}

impl<'b> StreamFields<'b> {
    /// Number of fields.
    pub fn len(&self) -> u64 {
        self.remaining
    }
    /// Whether the entry has no fields.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

impl<'b> Iterator for StreamFields<'b> {
    type Item = Result<(Str<'b>, Str<'b>)>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let r = (|| {
            let field = match &mut self.master {
                Some(m) => m.next_required("stream master field")?,
                None => self.values.next_required("stream field")?,
            };
            let value = self.values.next_required("stream value")?;
            Ok((field, value))
        })();
        if r.is_err() {
            self.remaining = 0;
        }
        Some(r)
    }
}

#[derive(Clone, Debug)]
struct NodeState<'b> {
    master_id: StreamId,
    lp: Listpack<'b>,
    master_fields: Listpack<'b>,
    master_field_count: u64,
}

/// Iterator over a stream's live entries.
#[derive(Clone, Debug)]
pub struct StreamEntries<'b> {
    rest: &'b [u8],
    remaining: u64,
    origin: Origin<'b>,
    scratch: &'b Scratch,
    node: Option<NodeState<'b>>,
}

impl<'b> StreamEntries<'b> {
    fn load_node(&mut self) -> Result<NodeState<'b>> {
        self.remaining -= 1;
        let at = self.origin.offset_of(self.rest);
        let (rest, key) = finish(&self.origin, rdb_string(self.rest))?;
        let key = key.located(at).decode(self.scratch)?;
        let master_id = match key {
            Str::Bytes(b) if b.len() == 16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                StreamId::from_be_bytes(&a)
            }
            _ => {
                return Err(self.origin.error(Fail {
                    at: self.rest,
                    context: "stream node key",
                    kind: ErrorKind::Invalid("node key is not a 16-byte id".into()),
                }))
            }
        };
        let (rest, b, o) = blob(rest, &self.origin, self.scratch, "stream listpack")?;
        self.rest = rest;
        let mut lp = Listpack::new(b, o)?;
        let _count = lp.next_int("stream master entry count")?;
        let _deleted = lp.next_int("stream master deleted count")?;
        let master_field_count = non_negative(lp.next_int("stream master field count")?, at)?;
        let master_fields = lp.clone();
        lp.skip_entries(master_field_count, "stream master field")?;
        let _terminator = lp.next_int("stream master entry terminator")?;
        Ok(NodeState {
            master_id,
            lp,
            master_fields,
            master_field_count,
        })
    }

    fn next_in_node(node: &mut NodeState<'b>, at: u64) -> Result<Option<StreamEntry<'b>>> {
        while !node.lp.at_end() {
            let lp = &mut node.lp;
            let flags = lp.next_int("stream entry flags")?;
            let ms_diff = lp.next_int("stream entry id")?;
            let seq_diff = lp.next_int("stream entry id")?;
            let same = flags & STREAM_ITEM_FLAG_SAMEFIELDS != 0;
            let (n, master) = if same {
                (node.master_field_count, Some(node.master_fields.clone()))
            } else {
                (
                    non_negative(lp.next_int("stream entry field count")?, at)?,
                    None,
                )
            };
            let values = lp.clone();
            lp.skip_entries(
                if same { n } else { n.saturating_mul(2) },
                "stream entry field",
            )?;
            let _lp_count = lp.next_int("stream entry lp-count")?;
            if flags & STREAM_ITEM_FLAG_DELETED != 0 {
                continue;
            }
            let id = StreamId {
                ms: node.master_id.ms.wrapping_add(ms_diff as u64),
                seq: node.master_id.seq.wrapping_add(seq_diff as u64),
            };
            return Ok(Some(StreamEntry {
                id,
                fields: StreamFields {
                    master,
                    values,
                    remaining: n,
                },
            }));
        }
        Ok(None)
    }
}

fn non_negative(v: i64, at: u64) -> Result<u64> {
    u64::try_from(v).map_err(|_| {
        crate::Error::new(
            at,
            "stream node",
            ErrorKind::Invalid(format!("negative count {v}").into()),
        )
    })
}

impl<'b> Iterator for StreamEntries<'b> {
    type Item = Result<StreamEntry<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(node) = &mut self.node {
                let at = self.origin.offset;
                match Self::next_in_node(node, at) {
                    Ok(Some(e)) => return Some(Ok(e)),
                    Ok(None) => self.node = None,
                    Err(e) => {
                        self.node = None;
                        self.remaining = 0;
                        return Some(Err(e));
                    }
                }
            }
            if self.remaining == 0 {
                return None;
            }
            match self.load_node() {
                Ok(n) => self.node = Some(n),
                Err(e) => {
                    self.remaining = 0;
                    return Some(Err(e));
                }
            }
        }
    }
}
