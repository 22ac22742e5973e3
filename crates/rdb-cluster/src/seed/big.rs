//! Big values: a record larger than one `RESTORE` should carry is sent as a first part
//! under a temporary key, then `RPUSH`/`SADD`/`ZADD`/`HSET`/`APPEND` batches, then renamed
//! into place ([`partial`]).

use rdb_format::write::dump_payload;
use rdb_format::{Record, Scratch};

use super::batch::{Batch, Op};
use super::reader::{ReadState, Reader, RecordCtx};
use crate::commands::{to_cmd, value_in_parts, Head, PartsError, Piece};
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
        let mut first = None;
        let mut parts: Vec<redis::Cmd> = Vec::new();
        let tmp = partial::temp_key(&key, cx.at);
        value_in_parts(
            value,
            &tmp,
            Head::Restore(target),
            part,
            &mut |piece| match piece {
                Piece::First { type_byte, bytes } => first = Some((type_byte, bytes)),
                Piece::Command(args) => parts.push(to_cmd(args)),
            },
        )
        .map_err(|e| match e {
            PartsError::Decode(source) => decode_err(source),
            PartsError::Encode(e) => SeedError::from(e),
            _ => SeedError::Other("not a splittable type".into()),
        })?;
        let Some((type_byte, first)) = first else {
            return Err(SeedError::Other("not a splittable type".into()));
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
