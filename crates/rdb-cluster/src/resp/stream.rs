//! A stream as plain commands: `XADD` per entry, `XSETID` for its last id (and, from Redis
//! 7.0, entries-added and max-deleted id), `XGROUP CREATE` per consumer group and
//! `XGROUP CREATECONSUMER` per consumer. Pending entries are not reproduced (that would
//! take `XCLAIM`, which also changes consumer times): the README lists it.

use rdb_format::{Stream, StreamId, Version};
use rdb_pipeline::pipeline::SinkError;

use super::{write_command, RespError};

/// Creates an empty stream (no entries) through a consumer group dropped at once.
const MKSTREAM_GROUP: &[u8] = b"rdb-convert-mkstream";

fn id(i: StreamId) -> Vec<u8> {
    i.to_string().into_bytes()
}

/// Appends the commands that build stream `s` as `key`; false when it has nothing to write.
pub(super) fn commands(
    s: &Stream<'_>,
    key: &[u8],
    target: Version,
    out: &mut Vec<u8>,
) -> Result<bool, SinkError<RespError>> {
    let metadata = target.is_valkey() || target.number >= 10;
    let mut entries = 0u64;
    for entry in s.entries() {
        let entry = entry?;
        let mut args = vec![b"XADD".to_vec(), key.to_vec(), id(entry.id)];
        for field in entry.fields {
            let (f, v) = field?;
            args.push(f.to_vec());
            args.push(v.to_vec());
        }
        write_command(out, &args);
        entries += 1;
    }
    if entries == 0 {
        let create: [&[u8]; 6] = [b"XGROUP", b"CREATE", key, MKSTREAM_GROUP, b"$", b"MKSTREAM"];
        write_command(out, &create);
        write_command(
            out,
            &[b"XGROUP".as_slice(), b"DESTROY", key, MKSTREAM_GROUP],
        );
    }
    let mut setid = vec![b"XSETID".to_vec(), key.to_vec(), id(s.last_id)];
    if metadata {
        if let Some(n) = s.entries_added {
            setid.push(b"ENTRIESADDED".to_vec());
            setid.push(n.to_string().into_bytes());
        }
        if let Some(m) = s.max_deleted_id {
            setid.push(b"MAXDELETEDID".to_vec());
            setid.push(id(m));
        }
    }
    write_command(out, &setid);
    for group in s.groups() {
        let group = group?;
        let name = group.name.to_vec();
        let mut args = vec![
            b"XGROUP".to_vec(),
            b"CREATE".to_vec(),
            key.to_vec(),
            name.clone(),
            id(group.last_delivered_id),
        ];
        // Unknown (-1 in the dump) is what XGROUP CREATE assumes without the option.
        if let (true, Some(n)) = (
            metadata,
            group.entries_read.filter(|n| *n <= i64::MAX as u64),
        ) {
            args.push(b"ENTRIESREAD".to_vec());
            args.push(n.to_string().into_bytes());
        }
        write_command(out, &args);
        for consumer in group.consumers {
            let consumer = consumer?;
            let args: [&[u8]; 5] = [
                b"XGROUP",
                b"CREATECONSUMER",
                key,
                &name,
                &consumer.name.to_vec(),
            ];
            write_command(out, &args);
        }
    }
    Ok(true)
}
