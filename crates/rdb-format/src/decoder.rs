//! The top-level walk over a dump: header, opcodes and key records.

use std::collections::VecDeque;

use nom::Parser;

use crate::consts::*;
use crate::crc::crc64;
use crate::error::{Error, ErrorKind, Result};
use crate::read::module::{module_opcode_stream, ModuleId};
use crate::read::record::{
    aux, expire_ms, expire_seconds, function_pre_ga, lfu_freq, located_string, module_aux_head,
    resize_db, slot_info,
};
use crate::read::skip::skip_value;
use crate::read::string::{RdbString, Scratch};
use crate::read::{array, byte, count, finish, length, u64_le, Origin, PResult};
use crate::value::{decode_value, Encoding, Type, Value};
use crate::version::{magic, Version};

/// The highest database id a server loads: `databases` is an `int` (at most `INT_MAX`), and
/// `rdbLoad` refuses `dbid >= databases`.
const MAX_DB: u64 = i32::MAX as u64 - 1;

/// AUX fields held between a key's prefixes and its type byte (KeyDB writes one).
const MAX_HELD_AUX: usize = 16;

/// How a [`Decoder`] treats the input.
#[derive(Clone, Copy, Debug)]
pub struct DecoderOptions {
    /// Verify the CRC64 at the end (default on). Off, the stored value is reported unchecked.
    pub verify_checksum: bool,
    /// Try to read files whose version is newer than this decoder knows (default off).
    pub allow_future_versions: bool,
}

impl Default for DecoderOptions {
    fn default() -> Self {
        DecoderOptions {
            verify_checksum: true,
            allow_future_versions: false,
        }
    }
}

/// What became of the file's checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checksum {
    /// Computed and equal to the stored value.
    Verified(u64),
    /// The file stores 0: the server was run with `rdbchecksum no`.
    NotComputed,
    /// Verification was turned off; the stored value.
    NotVerified(u64),
    /// RDB before version 5 has no checksum.
    Absent,
}

/// The end of the dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Eof {
    /// Offset of the EOF opcode.
    pub offset: u64,
    /// The checksum's state.
    pub checksum: Checksum,
    /// Bytes after the dump (AOF tail of a preamble file, diskless-sync marker).
    pub trailing_bytes: u64,
}

/// A key and its value, as found in the dump.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// Database number.
    pub db: u64,
    /// The key.
    pub key: RdbString<'a>,
    /// Absolute expiry, unix milliseconds.
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (`maxmemory-policy` LRU).
    pub idle: Option<u64>,
    /// LFU counter (`maxmemory-policy` LFU).
    pub freq: Option<u8>,
    /// Raw `KEY_META` classes (RDB 13+), if any.
    pub key_meta: Option<&'a [u8]>,
    /// On-disk encoding.
    pub encoding: Encoding,
    /// Offset of the record's first byte (its first prefix opcode or its type byte).
    pub offset: u64,
    /// Serialized length of the record, prefixes included (and any AUX fields KeyDB writes
    /// between them and the type byte, which are also yielded as items after the record).
    pub len: u64,
    /// The value's bytes (after the key).
    pub value_raw: &'a [u8],
    /// Offset of `value_raw`.
    pub value_offset: u64,
}

impl<'a> Record<'a> {
    /// The Redis data type.
    pub fn data_type(&self) -> Type {
        self.encoding.data_type()
    }

    /// Decodes the value. LZF data is decompressed into `scratch`; everything else is borrowed.
    pub fn value<'b>(&self, scratch: &'b Scratch) -> Result<Value<'b>>
    where
        'a: 'b,
    {
        decode_value(self.encoding, self.value_raw, self.value_offset, scratch)
    }
}

/// Where a chunk decoded by [`Decoder::resume`] lies in a dump already opened by another
/// decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resume {
    /// The file's version ([`Decoder::version`] of the decoder that opened it).
    pub version: Version,
    /// Where to start: an item boundary ([`Decoder::position`] between items).
    pub start: u64,
    /// Where to stop: an item boundary too, or the length of the input.
    pub end: u64,
    /// The database selected at `start` ([`Decoder::db`] there).
    pub db: u64,
}

/// One thing found in the dump, in file order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Item<'a> {
    /// An auxiliary field (`redis-ver`, `ctime`, ...). Keys may repeat.
    Aux {
        /// Field name.
        key: RdbString<'a>,
        /// Field value.
        value: RdbString<'a>,
    },
    /// Switch to database `db`.
    SelectDb {
        /// Database number.
        db: u64,
    },
    /// Hash table size hints for the current database.
    ResizeDb {
        /// Keys.
        db_size: u64,
        /// Keys with an expiry.
        expires_size: u64,
    },
    /// Cluster slot size hint (Redis 7.4+).
    SlotInfo {
        /// Slot.
        slot: u64,
        /// Keys in it.
        size: u64,
        /// Keys with an expiry in it.
        expires_size: u64,
    },
    /// Valkey 9 slot import job.
    SlotImport {
        /// Job name.
        job: RdbString<'a>,
        /// Slot ranges, raw (`start:len end:len` pairs).
        ranges_raw: &'a [u8],
        /// Number of ranges.
        ranges: u64,
    },
    /// Module auxiliary data.
    ModuleAux {
        /// Module type.
        id: ModuleId,
        /// 1 = before the keyspace, 2 = after.
        when: u64,
        /// The opcode stream, through its EOF opcode.
        raw: &'a [u8],
    },
    /// A function library (`FUNCTION2`): its full source.
    Function {
        /// The library code, shebang included.
        code: RdbString<'a>,
    },
    /// A function of the Redis 7.0 release candidates.
    FunctionPreGa {
        /// Function name.
        name: RdbString<'a>,
        /// Engine name.
        engine: RdbString<'a>,
        /// Description, if any.
        description: Option<RdbString<'a>>,
        /// Code.
        code: RdbString<'a>,
    },
    /// A key record.
    Record(Record<'a>),
    /// The end of the dump; always the last item.
    Eof(Eof),
}

/// Walks a dump held in memory and yields its [`Item`]s in file order (but for AUX fields
/// between a key's expiry/idle/freq and its type, which come right after that key's record).
///
/// Nothing is copied: keys and values borrow `data`. After an error or the end, the iterator
/// yields nothing more.
#[derive(Debug)]
pub struct Decoder<'a> {
    data: &'a [u8],
    pos: usize,
    version: Version,
    options: DecoderOptions,
    db: u64,
    /// Stop (without an EOF item) on reaching this offset; see [`Decoder::resume`].
    end: usize,
    done: bool,
    /// AUX fields read between a key's prefixes and its type byte, yielded after its record.
    held: VecDeque<Item<'a>>,
}

#[derive(Default)]
struct Prefix<'a> {
    start: Option<usize>,
    expire_ms: Option<i64>,
    idle: Option<u64>,
    freq: Option<u8>,
    key_meta: Option<&'a [u8]>,
}

impl<'a> Decoder<'a> {
    /// A decoder with default options (checksum verified, known versions only).
    pub fn new(data: &'a [u8]) -> Result<Self> {
        Self::with_options(data, DecoderOptions::default())
    }

    /// A decoder with `options`. Fails if the magic is not an RDB magic of a supported version.
    pub fn with_options(data: &'a [u8], options: DecoderOptions) -> Result<Self> {
        let origin = Origin::new(data, 0);
        let (_, version) = finish(&origin, magic(data, options.allow_future_versions))?;
        Ok(Decoder {
            data,
            pos: 9,
            version,
            options,
            db: 0,
            end: usize::MAX,
            done: false,
            held: VecDeque::new(),
        })
    }

    /// A decoder over the items of one chunk of a dump already opened by another decoder,
    /// so chunks of one dump can be decoded in parallel (see [`Resume`]). Yields no `Eof`.
    ///
    /// ```
    /// use rdb_format::{Decoder, DecoderOptions, Item, RdbString, Resume};
    ///
    /// let mut dump = b"REDIS0011\xfe\x00\x00\x01a\x011\x00\x01b\x012\xff".to_vec();
    /// dump.extend_from_slice(&[0; 8]);
    /// let mut whole = Decoder::new(&dump)?;
    /// whole.next_item()?; // SELECTDB 0
    /// let (version, start, db) = (whole.version(), whole.position(), whole.db());
    /// whole.next_item()?; // the record of `a`
    /// let end = whole.position();
    ///
    /// let chunk = Resume { version, start, end, db };
    /// let items: Vec<Item<'_>> =
    ///     Decoder::resume(&dump, chunk, DecoderOptions::default()).collect::<Result<_, _>>()?;
    /// assert!(matches!(&items[..], [Item::Record(r)] if r.key == RdbString::Raw(b"a")));
    /// # Ok::<(), rdb_format::Error>(())
    /// ```
    pub fn resume(data: &'a [u8], at: Resume, options: DecoderOptions) -> Self {
        let end = (at.end as usize).min(data.len());
        Decoder {
            data,
            pos: (at.start as usize).min(end),
            version: at.version,
            options,
            db: at.db,
            end,
            done: false,
            held: VecDeque::new(),
        }
    }

    /// The database selected at the current position.
    pub fn db(&self) -> u64 {
        self.db
    }

    /// The file's version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> u64 {
        self.pos as u64
    }

    /// The input.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    fn origin(&self) -> Origin<'a> {
        Origin::new(self.data, 0)
    }

    fn run<T>(&mut self, r: PResult<'a, T>) -> Result<T> {
        let (rest, v) = finish(&self.origin(), r)?;
        self.pos = self.data.len() - rest.len();
        Ok(v)
    }

    fn rest(&self) -> &'a [u8] {
        &self.data[self.pos..]
    }

    fn unknown(&self, what: &'static str, b: u8, hint: &'static str) -> Error {
        Error::new(
            self.pos as u64,
            "record",
            ErrorKind::UnknownByte {
                what,
                byte: b,
                version: self.version.number,
                hint: hint.into(),
            },
        )
    }

    /// The next item, `Ok(None)` after the end or an error.
    pub fn next_item(&mut self) -> Result<Option<Item<'a>>> {
        // Held AUX fields belong before `pos`, so they come out even at the end of a range.
        if let Some(item) = self.held.pop_front() {
            return Ok(Some(item));
        }
        if self.done || self.pos >= self.end {
            return Ok(None);
        }
        let r = self.read_item();
        if !matches!(r, Ok(Some(ref i)) if !matches!(i, Item::Eof(_))) {
            self.done = true;
            self.held.clear();
        }
        r
    }

    fn read_item(&mut self) -> Result<Option<Item<'a>>> {
        let mut prefix = Prefix::default();
        loop {
            let at = self.pos;
            let op = self.run(byte(self.rest(), "opcode"))?;
            let per_key = matches!(
                op,
                RDB_OPCODE_EXPIRETIME_MS
                    | RDB_OPCODE_EXPIRETIME
                    | RDB_OPCODE_IDLE
                    | RDB_OPCODE_FREQ
                    | RDB_OPCODE_RAM_LRU
            ) || (op == RDB_OPCODE_KEY_META
                && !self.version.is_valkey()
                && self.version.number >= 13);
            if per_key {
                prefix.start.get_or_insert(at);
            } else if prefix.start.is_some() && op == RDB_OPCODE_AUX {
                // KeyDB active replicas write `AUX mvcc-tstamp` here. Redis remembers a key's
                // prefixes until its type byte whatever comes between, so hold the field and
                // yield it after the record: the record stays one item with its expiry.
                if self.held.len() >= MAX_HELD_AUX {
                    return Err(Error::new(
                        at as u64,
                        "record",
                        ErrorKind::Invalid(
                            format!(
                                "more than {MAX_HELD_AUX} AUX fields between a key's \
                                 expiry/idle/freq and its type: the dump is corrupt"
                            )
                            .into(),
                        ),
                    ));
                }
                let (key, value) = self.run(aux(self.origin()).parse(self.rest()))?;
                self.held.push_back(Item::Aux { key, value });
                continue;
            } else if prefix.start.is_some() && op >= RDB_OPCODE_HASH_TEMPLATE {
                // Redis resets per-key state only after a key; an opcode here would be lost on load.
                return Err(Error::new(
                    at as u64,
                    "record",
                    ErrorKind::Invalid(
                        format!("opcode {op} between a key's expiry/idle/freq and its type").into(),
                    ),
                ));
            }
            match op {
                RDB_OPCODE_EOF => return self.eof(at).map(|e| Some(Item::Eof(e))),
                RDB_OPCODE_SELECTDB => {
                    let db = self.run(length(self.rest()))?;
                    if db > MAX_DB {
                        return Err(Error::new(
                            at as u64 + 1,
                            "database number",
                            ErrorKind::Invalid(
                                format!(
                                    "database {db} is beyond any server's range (Redis and Valkey \
                                     refuse ids of {} and up): the dump is corrupt",
                                    MAX_DB + 1
                                )
                                .into(),
                            ),
                        ));
                    }
                    self.db = db;
                    return Ok(Some(Item::SelectDb { db }));
                }
                RDB_OPCODE_RESIZEDB => {
                    let (db_size, expires_size) = self.run(resize_db(self.rest()))?;
                    return Ok(Some(Item::ResizeDb {
                        db_size,
                        expires_size,
                    }));
                }
                RDB_OPCODE_AUX => {
                    let (key, value) = self.run(aux(self.origin()).parse(self.rest()))?;
                    return Ok(Some(Item::Aux { key, value }));
                }
                RDB_OPCODE_EXPIRETIME_MS => {
                    prefix.expire_ms = Some(self.run(expire_ms(self.rest()))?)
                }
                RDB_OPCODE_EXPIRETIME => {
                    prefix.expire_ms = Some(self.run(expire_seconds(self.rest()))?)
                }
                RDB_OPCODE_IDLE => prefix.idle = Some(self.run(length(self.rest()))?),
                RDB_OPCODE_FREQ => prefix.freq = Some(self.run(lfu_freq(self.rest()))?),
                RDB_OPCODE_RAM_LRU | RDB_OPCODE_SLOT_NUM => {
                    // Redis Enterprise hints: one length, nothing we need.
                    self.run(length(self.rest()))?;
                }
                RDB_OPCODE_MODULE_AUX => {
                    let (id, when_opcode) = self.run(module_aux_head(self.rest()))?;
                    if when_opcode != RDB_MODULE_OPCODE_UINT {
                        return Err(Error::new(
                            at as u64,
                            "module aux",
                            ErrorKind::Invalid(
                                format!("expected the 'when' opcode 2, found {when_opcode}").into(),
                            ),
                        ));
                    }
                    let when = self.run(length(self.rest()))?;
                    let raw = self.run(module_opcode_stream(self.rest()))?;
                    return Ok(Some(Item::ModuleAux {
                        id: ModuleId(id),
                        when,
                        raw,
                    }));
                }
                RDB_OPCODE_FUNCTION2 => {
                    let code = self.run(located_string(self.origin()).parse(self.rest()))?;
                    return Ok(Some(Item::Function { code }));
                }
                RDB_OPCODE_FUNCTION_PRE_GA => {
                    let (name, engine, description, code) =
                        self.run(function_pre_ga(self.origin()).parse(self.rest()))?;
                    return Ok(Some(Item::FunctionPreGa {
                        name,
                        engine,
                        description,
                        code,
                    }));
                }
                RDB_OPCODE_SLOT_INFO => {
                    let (slot, size, expires_size) = self.run(slot_info(self.rest()))?;
                    return Ok(Some(Item::SlotInfo {
                        slot,
                        size,
                        expires_size,
                    }));
                }
                VALKEY_RDB_OPCODE_SLOT_IMPORT if self.version.is_valkey() => {
                    let job = self.run(located_string(self.origin()).parse(self.rest()))?;
                    let ranges = self.run(count(self.rest(), 2, "slot import ranges"))?;
                    let start = self.pos;
                    for _ in 0..ranges {
                        self.run(length(self.rest()))?;
                        self.run(length(self.rest()))?;
                    }
                    let ranges_raw = &self.data[start..self.pos];
                    return Ok(Some(Item::SlotImport {
                        job,
                        ranges_raw,
                        ranges,
                    }));
                }
                RDB_OPCODE_KEY_META if !self.version.is_valkey() && self.version.number >= 13 => {
                    let start = self.pos;
                    let classes = self.run(count(self.rest(), 5, "key metadata classes"))?;
                    for _ in 0..classes {
                        self.run(array::<4>(self.rest(), "key metadata class"))?;
                        self.run(module_opcode_stream(self.rest()))?;
                    }
                    prefix.key_meta = Some(&self.data[start..self.pos]);
                }
                RDB_OPCODE_HASH_TEMPLATE => {
                    let hint = if self.version.is_valkey() {
                        " (Valkey UPDATE, only in replication streams): not supported"
                    } else {
                        " (Redis 8.10 HASH_TEMPLATE): its layout is not verified against a real server yet"
                    };
                    self.pos = at;
                    return Err(self.unknown("opcode", op, hint));
                }
                _ => {
                    let enc = Encoding::from_type_byte(op, self.version)
                        .map_err(|kind| Error::new(at as u64, "record", kind))?;
                    let start = prefix.start.unwrap_or(at);
                    let key = self.run(located_string(self.origin()).parse(self.rest()))?;
                    let value_start = self.pos;
                    self.run(skip_value(enc, self.rest()))?;
                    return Ok(Some(Item::Record(Record {
                        db: self.db,
                        key,
                        expire_ms: prefix.expire_ms,
                        idle: prefix.idle,
                        freq: prefix.freq,
                        key_meta: prefix.key_meta,
                        encoding: enc,
                        offset: start as u64,
                        len: (self.pos - start) as u64,
                        value_raw: &self.data[value_start..self.pos],
                        value_offset: value_start as u64,
                    })));
                }
            }
        }
    }

    fn eof(&mut self, at: usize) -> Result<Eof> {
        if !self.version.has_checksum() {
            return Ok(Eof {
                offset: at as u64,
                checksum: Checksum::Absent,
                trailing_bytes: (self.data.len() - self.pos) as u64,
            });
        }
        let stored = self
            .run(u64_le(self.rest(), "checksum"))
            .map_err(|e| Error {
                context: "checksum after EOF",
                ..e
            })?;
        let trailing_bytes = (self.data.len() - self.pos) as u64;
        let checksum = if stored == 0 {
            Checksum::NotComputed
        } else if !self.options.verify_checksum {
            Checksum::NotVerified(stored)
        } else {
            let computed = crc64(&self.data[..=at]);
            if computed != stored {
                return Err(Error::new(
                    at as u64 + 1,
                    "checksum",
                    ErrorKind::ChecksumMismatch { stored, computed },
                ));
            }
            Checksum::Verified(stored)
        };
        Ok(Eof {
            offset: at as u64,
            checksum,
            trailing_bytes,
        })
    }
}

impl<'a> Iterator for Decoder<'a> {
    type Item = Result<Item<'a>>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}
