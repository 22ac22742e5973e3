//! Big values: a record larger than one `RESTORE` should carry is sent as a first part
//! under a temporary key, then `RPUSH`/`SADD`/`ZADD`/`HSET`/`APPEND` batches, then renamed
//! into place ([`partial`]).

use rdb_format::write::{self, dump_payload};
use rdb_format::{Record, Scratch, Str, Value};

use super::batch::{Batch, Op};
use super::reader::{ReadState, Reader, RecordCtx};
use crate::error::SeedError;
use crate::partial;

impl Reader {
    /// A value too big for one `RESTORE`: a first part, then batches of commands, all on
    /// one connection, sent only if the first part was restored.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn big_value(
        &self,
        st: &mut ReadState,
        r: &Record<'_>,
        cx: &RecordCtx<'_>,
        key: Vec<u8>,
        ttl: i64,
        db: u64,
        bucket: u64,
        group: usize,
        scratch: &Scratch,
    ) -> Result<(), SeedError> {
        let decode_err = |source| SeedError::Decode {
            path: cx.path.clone(),
            source,
        };
        let part = self.options.part_bytes.max(1);
        let big = st.next_big;
        st.next_big += 1;
        // Everything queued before goes first; then this value's batches go to one worker.
        self.dispatch(st, group)?;
        let worker = self.pick_worker(st, group, db);
        self.shared.tracker().open(cx.at); // guard until every part is handed over
        let value = r.value(scratch).map_err(decode_err)?;
        let target = cx.target_version;
        let mut first = Vec::new();
        let mut parts: Vec<redis::Cmd> = Vec::new();
        let tmp = partial::temp_key(&key, cx.at);
        let cmd_for = |name: &str| {
            let mut c = redis::cmd(name);
            c.arg(tmp.as_slice());
            c
        };
        let type_byte = match value {
            Value::String(s) => {
                let bytes = s.to_vec();
                let (head, tail) = bytes.split_at(part.min(bytes.len()));
                for chunk in tail.chunks(part) {
                    let mut c = cmd_for("APPEND");
                    c.arg(chunk);
                    parts.push(c);
                }
                write::string(Str::Bytes(head), &mut first)
            }
            Value::List(mut items) => {
                let head = take_part(&mut items, part, |s| s.len()).map_err(decode_err)?;
                let t = write::list(head.into_iter().map(Ok), target, &mut first)?;
                chunked(
                    &mut items,
                    part,
                    |s: &Str<'_>| s.len(),
                    |chunk| {
                        let mut c = cmd_for("RPUSH");
                        for s in chunk {
                            c.arg(s.to_vec());
                        }
                        parts.push(c);
                    },
                )
                .map_err(decode_err)?;
                t
            }
            Value::Set(mut members) => {
                let head = take_part(&mut members, part, |s| s.len()).map_err(decode_err)?;
                let t = write::set(head.into_iter().map(Ok), target, &mut first)?;
                chunked(
                    &mut members,
                    part,
                    |s: &Str<'_>| s.len(),
                    |chunk| {
                        let mut c = cmd_for("SADD");
                        for s in chunk {
                            c.arg(s.to_vec());
                        }
                        parts.push(c);
                    },
                )
                .map_err(decode_err)?;
                t
            }
            Value::ZSet(mut members) => {
                let size = |(m, _): &(Str<'_>, f64)| m.len() + 8;
                let head = take_part(&mut members, part, size).map_err(decode_err)?;
                let t = write::zset(head.into_iter().map(Ok), target, &mut first)?;
                chunked(&mut members, part, size, |chunk| {
                    let mut c = cmd_for("ZADD");
                    for (m, s) in chunk {
                        c.arg(score_arg(*s)).arg(m.to_vec());
                    }
                    parts.push(c);
                })
                .map_err(decode_err)?;
                t
            }
            Value::Hash(mut fields) => {
                let size = |e: &rdb_format::HashEntry<'_>| e.field.len() + e.value.len();
                let head = take_part(&mut fields, part, size).map_err(decode_err)?;
                let t = write::hash(head.into_iter().map(Ok), target, &mut first)?;
                chunked(&mut fields, part, size, |chunk| {
                    let mut c = cmd_for("HSET");
                    for e in chunk {
                        c.arg(e.field.to_vec()).arg(e.value.to_vec());
                    }
                    parts.push(c);
                    for e in chunk {
                        if let Some(ms) = e.expire_ms {
                            let mut c = cmd_for("HPEXPIREAT");
                            c.arg(ms).arg("FIELDS").arg(1).arg(e.field.to_vec());
                            parts.push(c);
                        }
                    }
                })
                .map_err(decode_err)?;
                t
            }
            _ => return Err(SeedError::Other("not a splittable type".into())),
        };
        let payload = dump_payload(type_byte, &first, target);
        let mut b = Batch::new(db);
        b.bytes = payload.len();
        // Built under the temporary key without a TTL (REPLACE: a resumed run starts it
        // again), renamed into place with its TTL at the end.
        let mut restore = redis::cmd("RESTORE");
        restore
            .arg(tmp.as_slice())
            .arg(0)
            .arg(payload)
            .arg("REPLACE");
        b.ops.push(Op::Part {
            big,
            first: true,
            cmd: restore,
            key: key.clone(),
            at: cx.at,
            bucket,
        });
        self.send(st, group, worker, b, cx.at)?;
        let mut b = Batch::new(db);
        for cmd in parts {
            let size = cmd.args_iter().count() * 16 + part / 64;
            if !b.ops.is_empty() && (b.bytes + size > part || b.ops.len() >= 64) {
                self.send(
                    st,
                    group,
                    worker,
                    std::mem::replace(&mut b, Batch::new(db)),
                    cx.at,
                )?;
            }
            b.bytes += size;
            b.ops.push(Op::Part {
                big,
                first: false,
                cmd,
                key: key.clone(),
                at: cx.at,
                bucket,
            });
        }
        if !b.ops.is_empty() {
            self.send(st, group, worker, b, cx.at)?;
        }
        let mut b = Batch::new(db);
        b.ops.push(Op::Publish {
            big,
            tmp,
            key,
            ttl,
            replace: self.options.replace,
            mode: cx.mode,
            at: cx.at,
            bucket,
        });
        self.send(st, group, worker, b, cx.at)?;
        self.shared.tracker().close(cx.at);
        Ok(())
    }
}

/// The first items of a collection, up to about `limit` bytes (at least one).
pub(super) fn take_part<T>(
    items: &mut impl Iterator<Item = rdb_format::Result<T>>,
    limit: usize,
    size: impl Fn(&T) -> usize,
) -> rdb_format::Result<Vec<T>> {
    let mut out = Vec::new();
    let mut bytes = 0;
    for item in items.by_ref() {
        let item = item?;
        bytes += size(&item) + 8;
        out.push(item);
        if bytes >= limit {
            break;
        }
    }
    Ok(out)
}

/// The rest of a collection in chunks of about `limit` bytes (and at most 1000 items).
pub(super) fn chunked<T>(
    items: &mut impl Iterator<Item = rdb_format::Result<T>>,
    limit: usize,
    size: impl Fn(&T) -> usize,
    mut each: impl FnMut(&[T]),
) -> rdb_format::Result<()> {
    loop {
        let mut chunk = Vec::new();
        let mut bytes = 0;
        for item in items.by_ref() {
            let item = item?;
            bytes += size(&item) + 8;
            chunk.push(item);
            if bytes >= limit || chunk.len() >= 1000 {
                break;
            }
        }
        if chunk.is_empty() {
            return Ok(());
        }
        each(&chunk);
    }
}

/// A score as `ZADD` reads it back exactly.
pub(super) fn score_arg(s: f64) -> String {
    if s == f64::INFINITY {
        "+inf".into()
    } else if s == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        format!("{s:e}")
    }
}
