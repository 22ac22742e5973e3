//! One record → its commands: a `RESTORE` (or a big value in parts, by the rules seed uses),
//! or plain commands per type.

use std::io::Write;
use std::sync::atomic::Ordering;

use rdb_format::validate::{validate_record, Verdict};
use rdb_format::write::{dump_payload, supports, transcode, EncodeError};
use rdb_format::{Record, Scratch, Type, Value, Version};
use rdb_pipeline::pipeline::SinkError;
use rdb_pipeline::spill::SpillFile;

use super::{spill_past, write_command, Expiry, RespError, RespFile, RespMode, RespPart, RespSink};
use crate::commands::{restore_args, value_in_parts, Head, PartsError, Piece};
use crate::partial;
use crate::show_key;

type Result<T> = std::result::Result<T, SinkError<RespError>>;

/// `RESTORE ... ABSTTL` exists from Redis 5.0 (RDB 9) on.
fn has_absttl(target: Version) -> bool {
    target.is_valkey() || target.number >= 9
}

impl<W: Write + Send> RespSink<W> {
    /// Appends the commands that recreate `r` (named `key`) to `part`.
    pub(super) fn record(
        &self,
        file: &RespFile,
        r: &Record<'_>,
        key: &[u8],
        scratch: &Scratch,
        now: i64,
        part: &mut RespPart,
    ) -> Result<()> {
        let ttl = match self.options.expiry {
            Expiry::Keep => r.expire_ms,
            Expiry::Drop => None,
            Expiry::Amend(ms) => r.expire_ms.map(|e| e.saturating_add(ms)),
        };
        if ttl.is_some_and(|e| e <= now) {
            self.counts.expired.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let ttl = ttl.unwrap_or(0);
        if !self.options.flatten_dbs && part.last_db != Some(r.db) {
            if part.last_db.is_some() {
                write_command(
                    &mut part.buf,
                    &[b"SELECT".as_slice(), r.db.to_string().as_bytes()],
                );
            } else {
                part.first_db = Some(r.db);
            }
            part.last_db = Some(r.db);
        }
        // A failed key leaves nothing half written.
        let mark = part.position();
        let out = Out {
            buf: &mut part.buf,
            spill: &mut part.spill,
            spill_at: self.spill_at,
        };
        let result = match self.options.mode {
            RespMode::Commands => self.commands(file, r, key, ttl, scratch, out),
            _ => self.restore(file, r, key, ttl, scratch, out),
        };
        let rewind = |part: &mut RespPart| {
            part.rewind(mark)
                .map_err(|e| SinkError::Sink(RespError::Spill(e)))
        };
        match result {
            Ok(true) => {
                self.counts.keys.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Ok(false) => rewind(part),
            Err(e) => {
                rewind(part)?;
                Err(e)
            }
        }
    }

    /// Counts a value the target cannot hold (or fails); `Ok(false)`: nothing written.
    fn skip(&self, key: &[u8], e: EncodeError) -> Result<bool> {
        self.unsupported(key, e).map_err(SinkError::Sink)?;
        Ok(false)
    }

    /// An encoder's error: the dump's (decode), the target's (unsupported), or the value's.
    fn encode_failed(&self, key: &[u8], e: EncodeError) -> Result<bool> {
        match e {
            EncodeError::Decode(e) => Err(SinkError::Decode(e)),
            e @ EncodeError::Unsupported { .. } => self.skip(key, e),
            e => Err(SinkError::Sink(RespError::Encode {
                key: show_key(key),
                source: Box::new(e),
            })),
        }
    }

    /// `RESTORE` mode; `Ok(false)` when the key is left out.
    fn restore(
        &self,
        file: &RespFile,
        r: &Record<'_>,
        key: &[u8],
        ttl: i64,
        scratch: &Scratch,
        out: Out<'_>,
    ) -> Result<bool> {
        let Out {
            buf: out,
            spill,
            spill_at,
        } = out;
        // Checked as the server's sanitize-dump-payload would, so a corrupt dump is an error
        // here rather than a payload the target refuses (or loads corrupt).
        if let Verdict::Empty(t) = validate_record(r, scratch)? {
            let e = EncodeError::Unsupported {
                what: t.as_str(),
                target: file.target,
                why: "an empty collection cannot be restored",
            };
            return self.skip(key, e);
        }
        let target = file.target;
        let replace = self.options.replace;
        let big = r.len > self.options.max_payload
            && matches!(
                r.data_type(),
                Type::String | Type::List | Type::Set | Type::ZSet | Type::Hash
            );
        if big {
            let value = r.value(scratch)?;
            if let Err(e) = supports(target, &value) {
                return self.encode_failed(key, e);
            }
            // Built under a temporary key and renamed into place with its TTL, as seed does.
            let tmp = partial::temp_key(key, (file.index, r.offset));
            let mut failed = None;
            let split = value_in_parts(
                value,
                &tmp,
                Head::Restore(target),
                self.options.part_bytes,
                &mut |piece| {
                    match piece {
                        Piece::First { type_byte, bytes } => {
                            let payload = dump_payload(type_byte, &bytes, target);
                            write_command(out, &restore_args(&tmp, 0, &payload, true));
                        }
                        Piece::Command(args) => write_command(out, &args),
                    }
                    spill_past(out, spill, spill_at, &mut failed);
                },
            );
            if let Some(e) = failed {
                return Err(SinkError::Sink(RespError::Spill(e)));
            }
            match split {
                Ok(()) => {}
                Err(PartsError::Decode(e)) => return Err(SinkError::Decode(e)),
                Err(PartsError::Encode(e)) => return self.encode_failed(key, e),
                Err(_) => return Ok(false),
            }
            write_command(out, &partial::publish_args(&tmp, key, replace, ttl));
            self.counts.big_values.fetch_add(1, Ordering::Relaxed);
            return Ok(true);
        }
        let mut encoded = Vec::new();
        let t = match transcode(r, scratch, file.source, target, &mut encoded) {
            Ok(t) => t,
            Err(e) => return self.encode_failed(key, e),
        };
        let payload = dump_payload(t.type_byte, t.bytes, target);
        if ttl > 0 && !has_absttl(target) {
            write_command(out, &restore_args(key, 0, &payload, replace));
            pexpireat(out, key, ttl);
        } else {
            write_command(out, &restore_args(key, ttl, &payload, replace));
        }
        Ok(true)
    }

    /// Commands mode; `Ok(false)` when the key is left out.
    fn commands(
        &self,
        file: &RespFile,
        r: &Record<'_>,
        key: &[u8],
        ttl: i64,
        scratch: &Scratch,
        out: Out<'_>,
    ) -> Result<bool> {
        let Out {
            buf: out,
            spill,
            spill_at,
        } = out;
        let target = file.target;
        let value = r.value(scratch)?;
        match &value {
            Value::Module(_) => {
                let e = EncodeError::Unsupported {
                    what: "a module value",
                    target,
                    why: "module values can only be restored (--resp-mode restore)",
                };
                return self.skip(key, e);
            }
            Value::Stream(_) if !has_absttl(target) => {
                let e = EncodeError::Unsupported {
                    what: "a stream",
                    target,
                    why: "streams exist from Redis 5.0 (RDB 9) on",
                };
                return self.skip(key, e);
            }
            Value::Hash(_) => {
                if let Err(e) = supports(target, &value) {
                    return self.encode_failed(key, e);
                }
            }
            _ => {}
        }
        // Collections are built by adding to the key: start from none.
        write_command(out, &[b"DEL".as_slice(), key]);
        let mut wrote = false;
        if let Value::Stream(s) = value {
            wrote = super::stream::commands(&s, key, target, out)?;
        } else {
            let mut failed = None;
            let split = value_in_parts(
                value,
                key,
                Head::Commands,
                self.options.part_bytes,
                &mut |piece| {
                    if let Piece::Command(args) = piece {
                        write_command(out, &args);
                        spill_past(out, spill, spill_at, &mut failed);
                        wrote = true;
                    }
                },
            );
            if let Some(e) = failed {
                return Err(SinkError::Sink(RespError::Spill(e)));
            }
            match split {
                Ok(()) => {}
                Err(PartsError::Decode(e)) => return Err(SinkError::Decode(e)),
                Err(PartsError::Encode(e)) => return self.encode_failed(key, e),
                Err(_) => return Ok(false),
            }
        }
        if !wrote {
            // An empty collection: the server would not load it either.
            return Ok(false);
        }
        if ttl > 0 {
            pexpireat(out, key, ttl);
        }
        Ok(true)
    }
}

/// Where a key's commands go: the chunk's buffer, moved to its spill file past `spill_at`.
struct Out<'p> {
    buf: &'p mut Vec<u8>,
    spill: &'p mut SpillFile,
    spill_at: usize,
}

fn pexpireat(out: &mut Vec<u8>, key: &[u8], ttl: i64) {
    write_command(
        out,
        &[b"PEXPIREAT".as_slice(), key, ttl.to_string().as_bytes()],
    );
}
