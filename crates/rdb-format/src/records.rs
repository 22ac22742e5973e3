//! Key records only, with a selection applied once and each key decoded once: the loop most
//! users of a [`Decoder`] write, written once.

use crate::decoder::{Decoder, Eof, Item, Record};
use crate::error::Result;
use crate::read::string::{decompress_into, format_i64, RdbString, Scratch};
use crate::value::Value;

/// Which records a [`Records`] yields.
///
/// [`metadata`](RecordFilter::metadata) sees the record before its key is decoded (database,
/// type, expiry, size), [`key`](RecordFilter::key) the decoded key of a record it kept. Both
/// keep everything by default. `()` keeps everything; a closure `Fn(&[u8]) -> bool` is a
/// key filter.
pub trait RecordFilter {
    /// Whether to keep `record`, judged before its key is decoded.
    fn metadata(&self, record: &Record<'_>) -> bool {
        let _ = record;
        true
    }

    /// Whether to keep a record whose key is `key` (integer keys as their decimal text).
    fn key(&self, key: &[u8]) -> bool {
        let _ = key;
        true
    }
}

impl RecordFilter for () {}

impl<F: Fn(&[u8]) -> bool> RecordFilter for F {
    fn key(&self, key: &[u8]) -> bool {
        self(key)
    }
}

/// A record kept by a [`Records`], with its decoded key and the scratch its value decodes
/// into; valid until the next call on the [`Records`].
#[derive(Clone, Copy, Debug)]
pub struct KeyedRecord<'r, 'a> {
    /// The record.
    pub record: Record<'a>,
    /// Its key, decoded (integer keys as their decimal text).
    pub key: &'r [u8],
    scratch: &'r Scratch,
}

impl<'r, 'a: 'r> KeyedRecord<'r, 'a> {
    /// Decodes the value (LZF data into the [`Records`]' own scratch).
    pub fn value(&self) -> Result<Value<'r>> {
        self.record.value(self.scratch)
    }

    /// The scratch that LZF data of this record decodes into, for [`RdbString::decode`].
    pub fn scratch(&self) -> &'r Scratch {
        self.scratch
    }
}

/// Where a kept record's decoded key is: in the input, or in the key buffer.
enum KeyAt<'a> {
    Input(&'a [u8]),
    Buffer,
}

/// The key records of a dump, in file order, with a [`RecordFilter`] applied once.
///
/// The other items (AUX fields, database switches, functions, module data, the end) are
/// consumed on the way and remembered ([`side_items`](Records::side_items),
/// [`eof`](Records::eof)). The scratch LZF data is decompressed into is owned here and
/// reused from record to record, so a kept record borrows the `Records` until the next call.
/// A decoding error ends the walk: [`next_record`](Records::next_record) returns it, then
/// `Ok(None)`.
///
/// ```
/// use rdb_format::{Decoder, Records, Value};
///
/// let mut dump = b"REDIS0011\xfa\x05ctime\xc2\x00\x00\x00\x00\xfe\x00\x00\x01a\x011\x00\x02bb\x012\xff".to_vec();
/// dump.extend_from_slice(&[0; 8]);
///
/// let mut records = Records::new(Decoder::new(&dump)?).with_filter(|key: &[u8]| key.len() == 2);
/// let mut keys = Vec::new();
/// while let Some(kept) = records.next_record()? {
///     if let Value::String(s) = kept.value()? {
///         keys.push((kept.key.to_vec(), s.to_vec()));
///     }
/// }
/// assert_eq!(keys, [(b"bb".to_vec(), b"2".to_vec())]);
/// assert_eq!((records.skipped(), records.aux().count()), (1, 1));
/// assert!(records.eof().is_some());
/// # Ok::<(), rdb_format::Error>(())
/// ```
#[derive(Debug)]
pub struct Records<'a, F = ()> {
    decoder: Decoder<'a>,
    filter: F,
    scratch: Scratch,
    /// Integer and LZF-compressed keys, decoded (raw keys are borrowed from the input).
    key_buffer: Vec<u8>,
    side: Vec<Item<'a>>,
    eof: Option<Eof>,
    skipped: u64,
}

impl<'a> Records<'a> {
    /// Every record `decoder` yields from here on.
    pub fn new(decoder: Decoder<'a>) -> Self {
        Records {
            decoder,
            filter: (),
            scratch: Scratch::new(),
            key_buffer: Vec::new(),
            side: Vec::new(),
            eof: None,
            skipped: 0,
        }
    }
}

impl<'a, F: RecordFilter> Records<'a, F> {
    /// The same walk, keeping only the records `filter` keeps.
    pub fn with_filter<G: RecordFilter>(self, filter: G) -> Records<'a, G> {
        Records {
            decoder: self.decoder,
            filter,
            scratch: self.scratch,
            key_buffer: self.key_buffer,
            side: self.side,
            eof: self.eof,
            skipped: self.skipped,
        }
    }

    /// The next kept record, `Ok(None)` at the end of the dump (or of a chunk) and after an
    /// error.
    pub fn next_record(&mut self) -> Result<Option<KeyedRecord<'_, 'a>>> {
        // The previous record's borrows have ended: its decompressed data can go.
        self.scratch.reset();
        let (record, at) = loop {
            let record = match self.decoder.next_item()? {
                None => return Ok(None),
                Some(Item::Record(record)) => record,
                Some(Item::Eof(eof)) => {
                    self.eof = Some(eof);
                    continue;
                }
                Some(other) => {
                    self.side.push(other);
                    continue;
                }
            };
            if !self.filter.metadata(&record) {
                self.skipped += 1;
                continue;
            }
            let at = decode_key(record.key, &mut self.key_buffer)?;
            let key = match at {
                KeyAt::Input(bytes) => bytes,
                KeyAt::Buffer => &self.key_buffer,
            };
            if self.filter.key(key) {
                break (record, at);
            }
            self.skipped += 1;
        };
        let key = match at {
            KeyAt::Input(bytes) => bytes,
            KeyAt::Buffer => &self.key_buffer,
        };
        Ok(Some(KeyedRecord {
            record,
            key,
            scratch: &self.scratch,
        }))
    }

    /// Calls `f` with each kept record, stopping at the first error (the decoder's, converted,
    /// or `f`'s).
    pub fn try_for_each<E: From<crate::Error>>(
        &mut self,
        mut f: impl FnMut(KeyedRecord<'_, 'a>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        while let Some(kept) = self.next_record()? {
            f(kept)?;
        }
        Ok(())
    }

    /// The items other than records read so far, in file order (AUX fields, database
    /// switches and size hints, functions, module data), but for the end.
    pub fn side_items(&self) -> &[Item<'a>] {
        &self.side
    }

    /// The AUX fields read so far, as `(name, value)`.
    pub fn aux(&self) -> impl Iterator<Item = (RdbString<'a>, RdbString<'a>)> + '_ {
        self.side.iter().filter_map(|item| match item {
            Item::Aux { key, value } => Some((*key, *value)),
            _ => None,
        })
    }

    /// The end of the dump, once read (never for a chunk from [`Decoder::resume`]).
    pub fn eof(&self) -> Option<&Eof> {
        self.eof.as_ref()
    }

    /// Records the filter left out so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The decoder underneath (version, position, current database).
    pub fn decoder(&self) -> &Decoder<'a> {
        &self.decoder
    }
}

/// Decodes a key once: raw keys stay in the input, the others go to `buffer`.
fn decode_key<'a>(key: RdbString<'a>, buffer: &mut Vec<u8>) -> Result<KeyAt<'a>> {
    match key {
        RdbString::Raw(bytes) => Ok(KeyAt::Input(bytes)),
        RdbString::Int(i) => {
            let mut digits = [0u8; 20];
            buffer.clear();
            buffer.extend_from_slice(format_i64(i, &mut digits));
            Ok(KeyAt::Buffer)
        }
        RdbString::Lzf {
            compressed,
            len,
            offset,
        } => {
            decompress_into(compressed, len, offset, |n| {
                buffer.clear();
                buffer.resize(n, 0);
                buffer.as_mut_slice()
            })?;
            Ok(KeyAt::Buffer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two records (`a`, and a 30-byte key stored LZF-compressed), then a truncated one.
    fn dump() -> Vec<u8> {
        let mut d = b"REDIS0011\xfe\x00".to_vec();
        d.extend_from_slice(b"\x00\x01a\x011");
        // "x" then a back-reference of 29 bytes at distance 1: 30 times "x".
        d.extend_from_slice(b"\x00\xc3\x05\x1e\x00x\xe0\x14\x00\x012");
        d.extend_from_slice(b"\x00\x05tru");
        d
    }

    #[test]
    fn an_error_ends_the_walk_after_the_kept_records() {
        let data = dump();
        let mut records = Records::new(Decoder::new(&data).unwrap());
        let mut keys = Vec::new();
        let err = records
            .try_for_each(|kept| {
                keys.push(kept.key.to_vec());
                Ok::<_, crate::Error>(())
            })
            .unwrap_err();
        assert_eq!(keys, [b"a".to_vec(), vec![b'x'; 30]]);
        assert_eq!(err.context, "string");
        assert!(records.next_record().unwrap().is_none());
        assert_eq!(records.side_items().len(), 1);
    }

    #[test]
    fn metadata_and_key_filters_count_what_they_skip() {
        struct LongKeys;
        impl RecordFilter for LongKeys {
            fn key(&self, key: &[u8]) -> bool {
                key.len() > 1
            }
        }
        let mut data = dump();
        data.truncate(data.len() - 5);
        data.push(0xff);
        data.extend_from_slice(&[0; 8]);
        let mut records = Records::new(Decoder::new(&data).unwrap()).with_filter(LongKeys);
        let kept = records.next_record().unwrap().unwrap();
        assert_eq!(kept.key, &[b'x'; 30][..]);
        assert!(matches!(kept.value().unwrap(), Value::String(s) if s.to_vec() == b"2"));
        assert!(records.next_record().unwrap().is_none());
        assert_eq!(records.skipped(), 1);
        assert!(records.eof().is_some());

        struct NoStrings;
        impl RecordFilter for NoStrings {
            fn metadata(&self, record: &Record<'_>) -> bool {
                record.data_type() != crate::Type::String
            }
        }
        let mut records = Records::new(Decoder::new(&data).unwrap()).with_filter(NoStrings);
        assert!(records.next_record().unwrap().is_none());
        assert_eq!(records.skipped(), 2);
    }
}
