//! Streams, re-encoded for the target's layout: `STREAM_LISTPACKS` (RDB 9),
//! `STREAM_LISTPACKS_2` (RDB 10) or `STREAM_LISTPACKS_3` (RDB 11+, Valkey).
//!
//! Entries are packed into nodes of at most 100 entries and about 4 KiB (Redis's
//! `stream-node-max-entries` / `-bytes`), each node keyed by its first entry's id, with that
//! entry's fields as the master fields (later entries with the same fields are written with
//! `SAMEFIELDS`). Deleted entries are not carried over; the metadata (length, last id,
//! first id, max deleted id, entries added) and the consumer groups are.

use crate::consts::*;
use crate::read::stream::{Stream, StreamId};
use crate::read::string::Str;
use crate::version::Version;
use crate::write::length::length;
use crate::write::listpack::ListpackWriter;
use crate::write::rdb_string::rdb_str;
use crate::write::{layout_version, EncodeError, Result};

const NODE_MAX_ENTRIES: usize = 100;
const NODE_MAX_BYTES: usize = 4096;

type Fields<'a> = Vec<(Str<'a>, Str<'a>)>;

/// Whether writing `s` for `target` loses metadata a server cannot recompute: RDB 9's
/// layout has no max deleted id, entries-added counter or per-group entries-read (Redis
/// 7+ uses them for `XINFO` lag), and no layout written here has Redis 8.6's IDMP
/// settings. The first id is not counted: it is the first entry's.
pub fn stream_metadata_lost(s: &Stream<'_>, target: Version) -> crate::Result<bool> {
    // An IDMP section with no producers still carries its settings (duration, max entries).
    if s.idmp.is_some() {
        return Ok(true);
    }
    if layout_version(target) != 9 {
        return Ok(false);
    }
    if s.max_deleted_id.is_some_and(|m| m != StreamId::default())
        || s.entries_added.is_some_and(|a| a != s.length)
    {
        return Ok(true);
    }
    for g in s.groups() {
        if g?.entries_read.is_some_and(|r| r != u64::MAX) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Encodes a stream for `target`; fails for targets before RDB 9.
pub fn stream(s: &Stream<'_>, target: Version, out: &mut Vec<u8>) -> Result<u8> {
    let layout = layout_version(target);
    // The idempotent-producer state (Redis 8.6, type 26) has no place in the layouts this
    // writer produces: dropping recorded producers would let duplicates through after a
    // restore, so such a stream is refused rather than silently changed.
    if s.idmp
        .as_ref()
        .is_some_and(|i| i.producer_count() > 0 || i.iids_added > 0 || i.iids_duplicates > 0)
    {
        return Err(EncodeError::Unsupported {
            what: "a stream with idempotent-producer (IDMP) state",
            target,
            why: "this writer cannot write Redis 8.6's stream IDMP section",
        });
    }
    let (type_byte, v) = match layout {
        0..=8 => {
            return Err(EncodeError::Unsupported {
                what: "a stream",
                target,
                why: "streams need RDB 9 (Redis 5.0)",
            })
        }
        9 => (RDB_TYPE_STREAM_LISTPACKS, 1),
        10 => (RDB_TYPE_STREAM_LISTPACKS_2, 2),
        _ => (RDB_TYPE_STREAM_LISTPACKS_3, 3),
    };

    // Nodes.
    let mut body = Vec::new();
    let mut nodes = 0u64;
    let mut pending: Vec<(StreamId, Fields<'_>)> = Vec::new();
    let mut pending_bytes = 0usize;
    let mut first_entry: Option<StreamId> = None;
    for entry in s.entries() {
        let entry = entry?;
        first_entry.get_or_insert(entry.id);
        let fields: Fields<'_> = entry.fields.collect::<crate::Result<_>>()?;
        let size: usize = fields
            .iter()
            .map(|(f, v)| f.len() + v.len() + 4)
            .sum::<usize>()
            + 8;
        if !pending.is_empty()
            && (pending.len() >= NODE_MAX_ENTRIES || pending_bytes + size > NODE_MAX_BYTES)
        {
            node(&mut body, &pending)?;
            nodes += 1;
            pending.clear();
            pending_bytes = 0;
        }
        pending_bytes += size;
        pending.push((entry.id, fields));
    }
    if !pending.is_empty() {
        node(&mut body, &pending)?;
        nodes += 1;
    }
    length(out, nodes);
    out.extend_from_slice(&body);

    // Metadata.
    length(out, s.length);
    id_pair(out, s.last_id);
    if v >= 2 {
        id_pair(out, s.first_id.or(first_entry).unwrap_or_default());
        id_pair(out, s.max_deleted_id.unwrap_or_default());
        length(out, s.entries_added.unwrap_or(s.length));
    }

    // Consumer groups.
    let groups: Vec<_> = s.groups().collect::<crate::Result<_>>()?;
    length(out, groups.len() as u64);
    for g in groups {
        rdb_str(out, g.name);
        id_pair(out, g.last_delivered_id);
        if v >= 2 {
            // Unknown (-1) when the source did not record it; Redis estimates it then.
            length(out, g.entries_read.unwrap_or(u64::MAX));
        }
        let pel: Vec<_> = g.pending.collect::<crate::Result<_>>()?;
        length(out, pel.len() as u64);
        for p in pel {
            raw_id(out, p.id);
            out.extend_from_slice(&p.delivery_time_ms.to_le_bytes());
            length(out, p.delivery_count);
        }
        let consumers: Vec<_> = g.consumers.collect::<crate::Result<_>>()?;
        length(out, consumers.len() as u64);
        for c in consumers {
            rdb_str(out, c.name);
            out.extend_from_slice(&c.seen_time_ms.to_le_bytes());
            if v >= 3 {
                let active = c.active_time_ms.unwrap_or(c.seen_time_ms);
                out.extend_from_slice(&active.to_le_bytes());
            }
            let ids: Vec<StreamId> = c.pending.collect();
            length(out, ids.len() as u64);
            for id in ids {
                raw_id(out, id);
            }
        }
    }
    Ok(type_byte)
}

fn id_pair(out: &mut Vec<u8>, id: StreamId) {
    length(out, id.ms);
    length(out, id.seq);
}

fn raw_id(out: &mut Vec<u8>, id: StreamId) {
    out.extend_from_slice(&id.ms.to_be_bytes());
    out.extend_from_slice(&id.seq.to_be_bytes());
}

/// One node: the master id as a 16-byte string, then the listpack.
fn node(out: &mut Vec<u8>, entries: &[(StreamId, Fields<'_>)]) -> Result<()> {
    let Some((master, master_fields)) = entries.first() else {
        return Ok(());
    };
    let mut lp = ListpackWriter::new();
    // Master entry: count, deleted, number of master fields, the fields, 0.
    lp.push_int(entries.len() as i64);
    lp.push_int(0);
    lp.push_int(master_fields.len() as i64);
    for (f, _) in master_fields {
        lp.push(*f);
    }
    lp.push_int(0);
    for (id, fields) in entries {
        let same = fields.len() == master_fields.len()
            && fields
                .iter()
                .zip(master_fields)
                .all(|((a, _), (b, _))| a.to_vec() == b.to_vec());
        let n = fields.len() as i64;
        lp.push_int(if same { STREAM_ITEM_FLAG_SAMEFIELDS } else { 0 });
        lp.push_int(id.ms.wrapping_sub(master.ms) as i64);
        lp.push_int(id.seq.wrapping_sub(master.seq) as i64);
        if same {
            for (_, v) in fields {
                lp.push(*v);
            }
            lp.push_int(n + 3);
        } else {
            lp.push_int(n);
            for (f, v) in fields {
                lp.push(*f);
                lp.push(*v);
            }
            lp.push_int(2 * n + 4);
        }
    }
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&master.ms.to_be_bytes());
    key[8..].copy_from_slice(&master.seq.to_be_bytes());
    length(out, 16);
    out.extend_from_slice(&key);
    let blob = lp.finish()?;
    length(out, blob.len() as u64);
    out.extend_from_slice(&blob);
    Ok(())
}
