//! Blobs and runs of RDB strings, shared by every collection view: one RDB string holding a
//! blob (decompressed if needed), `n` strings in a row, and entries taken two at a time.

use crate::error::{Error, ErrorKind, Result};
use crate::read::origin::{finish, Fail, Origin};
use crate::read::primitive::{count, rdb_string};
use crate::read::string::{decompress_to, RdbString, Scratch, Str};

/// Reads one RDB string that holds a blob, decompressing it into `scratch` if needed.
pub(crate) fn blob<'b>(
    input: &'b [u8],
    origin: &Origin<'b>,
    scratch: &'b Scratch,
    context: &'static str,
) -> Result<(&'b [u8], &'b [u8], Origin<'b>)> {
    blob_with(input, origin, context, |compressed, len, at| {
        scratch.decompress(compressed, len, at)
    })
}

/// Reads one RDB string that holds a blob, decompressing it into `buf` (reused from one
/// blob to the next) if needed.
pub(crate) fn blob_into<'b: 'o, 'o>(
    input: &'b [u8],
    origin: &Origin<'b>,
    buf: &'o mut Vec<u8>,
    context: &'static str,
) -> Result<(&'b [u8], &'o [u8], Origin<'o>)> {
    blob_with(input, origin, context, |compressed, len, at| {
        decompress_to(buf, compressed, len, at)
    })
}

/// Reads one RDB string that holds a blob; `decompress` gives LZF data's bytes.
fn blob_with<'b: 'o, 'o>(
    input: &'b [u8],
    origin: &Origin<'b>,
    context: &'static str,
    decompress: impl FnOnce(&'b [u8], u64, u64) -> Result<&'o [u8]>,
) -> Result<(&'b [u8], &'o [u8], Origin<'o>)> {
    let (rest, s) = finish(origin, rdb_string(input))?;
    match s {
        RdbString::Raw(b) => Ok((rest, b, origin.sub(b))),
        RdbString::Lzf {
            compressed, len, ..
        } => {
            let at = origin.offset_of(input);
            let bytes = decompress(compressed, len, at)?;
            Ok((rest, bytes, Origin::decompressed(bytes, at)))
        }
        RdbString::Int(_) => Err(origin.error(Fail {
            at: input,
            context,
            kind: ErrorKind::Invalid("expected a blob, found an integer-encoded string".into()),
        })),
    }
}

/// A sequence of `n` RDB strings (plain lists and sets).
#[derive(Clone, Debug)]
pub(crate) struct Strings<'b> {
    pub(crate) rest: &'b [u8],
    pub(crate) remaining: u64,
    pub(crate) origin: Origin<'b>,
    scratch: &'b Scratch,
}

impl<'b> Strings<'b> {
    pub(crate) fn new(input: &'b [u8], origin: Origin<'b>, scratch: &'b Scratch) -> Result<Self> {
        let (rest, n) = finish(&origin, count(input, 1, "collection length"))?;
        Ok(Strings {
            rest,
            remaining: n,
            origin,
            scratch,
        })
    }

    pub(crate) fn next_string(&mut self) -> Result<Str<'b>> {
        self.next_stored()?.decode(self.scratch)
    }

    /// The next string, decompressed into `buf` (reused from one string to the next) if
    /// it is compressed.
    pub(crate) fn next_string_in<'o>(&mut self, buf: &'o mut Vec<u8>) -> Result<Str<'o>>
    where
        'b: 'o,
    {
        self.next_stored()?.decode_into(buf)
    }

    /// The next string as stored, located for its errors.
    fn next_stored(&mut self) -> Result<RdbString<'b>> {
        let at = self.origin.offset_of(self.rest);
        let (rest, s) = finish(&self.origin, rdb_string(self.rest))?;
        self.rest = rest;
        Ok(s.located(at))
    }

    /// Calls `f` with each remaining string, decompressed into one buffer reused from one to
    /// the next (see [`crate::value::List::try_for_each_element`]).
    pub(crate) fn try_for_each_string<E: From<Error>>(
        mut self,
        f: &mut dyn FnMut(Str<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let mut buf = Vec::new();
        while self.remaining > 0 {
            self.remaining -= 1;
            f(self.next_string_in(&mut buf)?)?;
        }
        Ok(())
    }
}

impl<'b> Iterator for Strings<'b> {
    type Item = Result<Str<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let r = self.next_string();
        if r.is_err() {
            self.remaining = 0;
        }
        Some(r)
    }
}

/// Two entries at a time from a blob iterator (hash fields and values, zset members and scores).
#[derive(Clone, Debug)]
pub(crate) struct Pairs<I> {
    pub(crate) inner: I,
    /// Where the blob starts, for the odd-count error.
    pub(crate) at: u64,
}

impl<'b, I: Iterator<Item = Result<Str<'b>>>> Iterator for Pairs<I> {
    type Item = Result<(Str<'b>, Str<'b>)>;
    fn next(&mut self) -> Option<Self::Item> {
        let a = match self.inner.next()? {
            Ok(a) => a,
            Err(e) => return Some(Err(e)),
        };
        match self.inner.next() {
            Some(Ok(b)) => Some(Ok((a, b))),
            Some(Err(e)) => Some(Err(e)),
            None => Some(Err(Error::new(
                self.at,
                "blob",
                ErrorKind::Invalid("odd number of entries where pairs were expected".into()),
            ))),
        }
    }
}
