//! The commands that build a value, shared by [`seed`](crate::seed) (a big value sent as a
//! first part plus batches) and the [`resp`](crate::resp) writer (the same parts written out
//! for `redis-cli --pipe`, or a whole value as plain commands): one set of splitting rules.
//!
//! A value goes out as pieces ([`Piece`]), in order: optionally a first part serialized for
//! a target version (what a `RESTORE` carries), then commands of about `part` bytes each
//! (`APPEND`, `RPUSH`, `SADD`, `ZADD`, `HSET` + `HPEXPIREAT`) adding the rest to a key.

use rdb_format::write::{self, EncodeError};
use rdb_format::{HashEntry, Str, Value, Version};

/// One command: its name, then its arguments.
pub type Args = Vec<Vec<u8>>;

/// A piece of a value, in the order it must reach the server.
#[derive(Debug)]
#[non_exhaustive]
pub enum Piece {
    /// The first part, serialized for the target (a `DUMP` payload's type byte and body).
    First {
        /// The RDB type byte.
        type_byte: u8,
        /// The serialized value.
        bytes: Vec<u8>,
    },
    /// A command adding elements to the key being built.
    Command(Args),
}

/// Where a value's first elements go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Head {
    /// Into a first part serialized for this version ([`Piece::First`]), for a `RESTORE`.
    Restore(Version),
    /// Into commands like the rest (a string's first part is a `SET`).
    Commands,
}

/// Why a value could not be split.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PartsError {
    /// The value failed to decode.
    #[error(transparent)]
    Decode(#[from] rdb_format::Error),
    /// The first part could not be encoded for the target.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// Streams and module values are not built from commands here.
    #[error("not a splittable type")]
    NotSplittable,
}

/// Sends `value` as pieces building `key`: the first elements as `head` says, the rest in
/// commands of about `part` bytes (at most 1000 elements each).
pub fn value_in_parts(
    value: Value<'_>,
    key: &[u8],
    head: Head,
    part: usize,
    emit: &mut dyn FnMut(Piece),
) -> Result<(), PartsError> {
    let part = part.max(1);
    let cmd = |name: &str| -> Args { vec![name.as_bytes().to_vec(), key.to_vec()] };
    let mut first = Vec::new();
    let target = match head {
        Head::Restore(v) => Some(v),
        Head::Commands => None,
    };
    match value {
        Value::String(s) => {
            let bytes = s.to_vec();
            let (start, tail) = bytes.split_at(part.min(bytes.len()));
            let t = match target {
                Some(_) => Some(write::string(Str::Bytes(start), &mut first)),
                None => {
                    let mut c = cmd("SET");
                    c.push(start.to_vec());
                    emit(Piece::Command(c));
                    None
                }
            };
            if let Some(t) = t {
                emit(Piece::First {
                    type_byte: t,
                    bytes: first,
                });
            }
            for chunk in tail.chunks(part) {
                let mut c = cmd("APPEND");
                c.push(chunk.to_vec());
                emit(Piece::Command(c));
            }
            Ok(())
        }
        Value::List(mut items) => {
            let t = match target {
                Some(v) => {
                    let head = take_part(&mut items, part, |s| s.len())?;
                    Some(write::list(head.into_iter().map(Ok), v, &mut first)?)
                }
                None => None,
            };
            first_piece(t, first, emit);
            let mut rest = Batches::new("RPUSH", key, part);
            items.try_for_each_element(|s| {
                rest.push(&mut *emit, s.len(), [s.to_vec()], None);
                Ok::<_, rdb_format::Error>(())
            })?;
            rest.flush(emit);
            Ok(())
        }
        Value::Set(mut members) => {
            let t = match target {
                Some(v) => {
                    let head = take_part(&mut members, part, |s| s.len())?;
                    Some(write::set(head.into_iter().map(Ok), v, &mut first)?)
                }
                None => None,
            };
            first_piece(t, first, emit);
            let mut rest = Batches::new("SADD", key, part);
            members.try_for_each_member(|s| {
                rest.push(&mut *emit, s.len(), [s.to_vec()], None);
                Ok::<_, rdb_format::Error>(())
            })?;
            rest.flush(emit);
            Ok(())
        }
        Value::ZSet(mut members) => {
            let size = |(m, _): &(Str<'_>, f64)| m.len() + 8;
            let t = match target {
                Some(v) => {
                    let head = take_part(&mut members, part, size)?;
                    Some(write::zset(head.into_iter().map(Ok), v, &mut first)?)
                }
                None => None,
            };
            first_piece(t, first, emit);
            let mut rest = Batches::new("ZADD", key, part);
            members.try_for_each_member(|m, s| {
                let args = [score_arg(s).into_bytes(), m.to_vec()];
                rest.push(&mut *emit, size(&(m, s)), args, None);
                Ok::<_, rdb_format::Error>(())
            })?;
            rest.flush(emit);
            Ok(())
        }
        Value::Hash(mut fields) => {
            let size = |e: &HashEntry<'_>| e.field.len() + e.value.len();
            let t = match target {
                Some(v) => {
                    let head = take_part(&mut fields, part, size)?;
                    Some(write::hash(head.into_iter().map(Ok), v, &mut first)?)
                }
                None => None,
            };
            first_piece(t, first, emit);
            // A field's TTL goes after the HSET that creates it.
            let mut rest = Batches::new("HSET", key, part);
            fields.try_for_each_entry(|e| {
                let ttl = e.expire_ms.map(|ms| {
                    let mut c = cmd("HPEXPIREAT");
                    c.push(ms.to_string().into_bytes());
                    c.push(b"FIELDS".to_vec());
                    c.push(b"1".to_vec());
                    c.push(e.field.to_vec());
                    c
                });
                let args = [e.field.to_vec(), e.value.to_vec()];
                rest.push(&mut *emit, size(&e), args, ttl);
                Ok::<_, rdb_format::Error>(())
            })?;
            rest.flush(emit);
            Ok(())
        }
        _ => Err(PartsError::NotSplittable),
    }
}

fn first_piece(type_byte: Option<u8>, bytes: Vec<u8>, emit: &mut dyn FnMut(Piece)) {
    if let Some(type_byte) = type_byte {
        emit(Piece::First { type_byte, bytes });
    }
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL]`: `ttl` is an absolute unix time in ms (0:
/// none), so `ABSTTL` (Redis 5.0+) is added when there is one.
pub fn restore_args(key: &[u8], ttl: i64, payload: &[u8], replace: bool) -> Args {
    let mut c = vec![
        b"RESTORE".to_vec(),
        key.to_vec(),
        ttl.to_string().into_bytes(),
        payload.to_vec(),
    ];
    if replace {
        c.push(b"REPLACE".to_vec());
    }
    if ttl > 0 {
        c.push(b"ABSTTL".to_vec());
    }
    c
}

/// A command for the `redis` client.
pub fn to_cmd(args: Args) -> redis::Cmd {
    let mut c = redis::Cmd::new();
    for a in args {
        c.arg(a);
    }
    c
}

/// The first items of a collection, up to about `limit` bytes (at least one).
fn take_part<T>(
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

/// The rest of a collection as commands `NAME key args…` of about `limit` bytes (and at most
/// 1000 elements each), filled one element at a time: elements are copied into the command
/// as they come, so a walk that reuses its buffers can feed it.
struct Batches<'k> {
    name: &'static str,
    key: &'k [u8],
    limit: usize,
    command: Args,
    /// Commands to send once `command` is (the TTLs of the hash fields it sets).
    after: Vec<Args>,
    bytes: usize,
    items: usize,
}

impl<'k> Batches<'k> {
    fn new(name: &'static str, key: &'k [u8], limit: usize) -> Self {
        Batches {
            name,
            key,
            limit,
            command: Args::new(),
            after: Vec::new(),
            bytes: 0,
            items: 0,
        }
    }

    /// Adds an element of `size` bytes (its arguments `args`), and `after`, a command to
    /// send after the one that holds it; sends the command once it is full.
    fn push<const N: usize>(
        &mut self,
        emit: &mut dyn FnMut(Piece),
        size: usize,
        args: [Vec<u8>; N],
        after: Option<Args>,
    ) {
        if self.command.is_empty() {
            self.command = vec![self.name.as_bytes().to_vec(), self.key.to_vec()];
        }
        self.command.extend(args);
        self.after.extend(after);
        self.bytes += size + 8;
        self.items += 1;
        if self.bytes >= self.limit || self.items >= 1000 {
            self.flush(emit);
        }
    }

    /// Sends the command being filled, if it has elements, then the commands after it.
    fn flush(&mut self, emit: &mut dyn FnMut(Piece)) {
        if self.command.is_empty() {
            return;
        }
        emit(Piece::Command(std::mem::take(&mut self.command)));
        for c in std::mem::take(&mut self.after) {
            emit(Piece::Command(c));
        }
        self.bytes = 0;
        self.items = 0;
    }
}

/// A score as `ZADD` reads it back exactly.
pub fn score_arg(s: f64) -> String {
    if s == f64::INFINITY {
        "+inf".into()
    } else if s == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        format!("{s:e}")
    }
}
