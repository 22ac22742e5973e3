//! nom plumbing shared by every module: the parser error type, where an error is, and the
//! RDB primitives (`length`, `rdb_string`, fixed-width numbers).

use std::borrow::Cow;

use nom::error::{ContextError, ErrorKind as NomErrorKind, ParseError};
use nom::IResult;

use crate::consts::*;
use crate::error::{Error, ErrorKind};
use crate::string::RdbString;

/// A parser error: the input left where it happened, what was being read, what was wrong.
#[derive(Debug)]
pub(crate) struct Fail<'a> {
    pub at: &'a [u8],
    pub context: &'static str,
    pub kind: ErrorKind,
}

impl<'a> ParseError<&'a [u8]> for Fail<'a> {
    fn from_error_kind(input: &'a [u8], _kind: NomErrorKind) -> Self {
        // With complete input every nom failure we use (take, le_u32, ...) means "ran out".
        Fail {
            at: input,
            context: "",
            kind: ErrorKind::Truncated,
        }
    }
    fn append(_input: &'a [u8], _kind: NomErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a> ContextError<&'a [u8]> for Fail<'a> {
    fn add_context(_input: &'a [u8], context: &'static str, mut other: Self) -> Self {
        // The innermost context names the element best.
        if other.context.is_empty() {
            other.context = context;
        }
        other
    }
}

pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, Fail<'a>>;

/// A failed parse at `at`.
pub(crate) fn fail<'a, T>(at: &'a [u8], context: &'static str, kind: ErrorKind) -> PResult<'a, T> {
    Err(nom::Err::Error(Fail { at, context, kind }))
}

/// A failed parse with a plain message.
pub(crate) fn invalid<'a, T>(
    at: &'a [u8],
    context: &'static str,
    msg: impl Into<Cow<'static, str>>,
) -> PResult<'a, T> {
    fail(at, context, ErrorKind::Invalid(msg.into()))
}

/// Where a slice sits in the original input, so errors can name an absolute offset.
///
/// `base` starts at absolute offset `offset`. When `lzf` is set, `base` is a decompressed blob
/// whose compressed form starts at `offset`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin<'b> {
    pub base: &'b [u8],
    pub offset: u64,
    pub lzf: bool,
}

impl<'b> Origin<'b> {
    pub fn new(base: &'b [u8], offset: u64) -> Self {
        Origin {
            base,
            offset,
            lzf: false,
        }
    }

    pub fn decompressed(base: &'b [u8], offset: u64) -> Self {
        Origin {
            base,
            offset,
            lzf: true,
        }
    }

    /// Position of `part` (a sub-slice of `base`) in `base`; clamped for foreign slices.
    pub fn pos(&self, part: &[u8]) -> u64 {
        let start = self.base.as_ptr() as usize;
        let p = part.as_ptr() as usize;
        p.saturating_sub(start).min(self.base.len()) as u64
    }

    /// Absolute offset of `part`, for data that is not inside a decompressed blob.
    pub fn offset_of(&self, part: &[u8]) -> u64 {
        if self.lzf {
            self.offset
        } else {
            self.offset + self.pos(part)
        }
    }

    /// A sub-origin for a slice of this one (same blob).
    pub fn sub(&self, part: &'b [u8]) -> Origin<'b> {
        if self.lzf {
            // Keep the blob as the base so inner positions stay relative to it.
            *self
        } else {
            Origin {
                base: part,
                offset: self.offset_of(part),
                lzf: false,
            }
        }
    }

    pub fn error(&self, f: Fail<'_>) -> Error {
        let pos = self.pos(f.at);
        let context = if f.context.is_empty() {
            "value"
        } else {
            f.context
        };
        if self.lzf {
            Error {
                offset: self.offset,
                blob_offset: Some(pos),
                context,
                kind: f.kind,
            }
        } else {
            Error::new(self.offset + pos, context, f.kind)
        }
    }

    pub fn nom_error(&self, e: nom::Err<Fail<'_>>) -> Error {
        match e {
            nom::Err::Error(f) | nom::Err::Failure(f) => self.error(f),
            // Unreachable with complete input; keep an honest error rather than panic.
            nom::Err::Incomplete(_) => Error::new(self.offset, "value", ErrorKind::Truncated),
        }
    }
}

/// One step of a blob iterator, fused: after the end or an error it yields nothing more.
pub(crate) fn fused<T>(
    done: &mut bool,
    step: crate::Result<Option<T>>,
) -> Option<crate::Result<T>> {
    match step {
        Ok(Some(v)) => Some(Ok(v)),
        Ok(None) => {
            *done = true;
            None
        }
        Err(e) => {
            *done = true;
            Some(Err(e))
        }
    }
}

/// Converts a nom result into the public error, naming the absolute offset.
pub(crate) fn finish<'a, T>(
    origin: &Origin<'_>,
    r: PResult<'a, T>,
) -> crate::Result<(&'a [u8], T)> {
    r.map_err(|e| origin.nom_error(e))
}

/// `n` bytes, or an error naming the declared length and what was left.
#[inline]
pub(crate) fn take_len<'a>(
    input: &'a [u8],
    n: u64,
    context: &'static str,
) -> PResult<'a, &'a [u8]> {
    if n > input.len() as u64 {
        return fail(
            input,
            context,
            ErrorKind::PastEnd {
                length: n,
                container: "input",
                available: input.len() as u64,
            },
        );
    }
    let (a, b) = input.split_at(n as usize);
    Ok((b, a))
}

#[inline]
pub(crate) fn byte<'a>(input: &'a [u8], context: &'static str) -> PResult<'a, u8> {
    match input.split_first() {
        Some((&b, rest)) => Ok((rest, b)),
        None => fail(input, context, ErrorKind::Truncated),
    }
}

#[inline]
pub(crate) fn array<'a, const N: usize>(
    input: &'a [u8],
    context: &'static str,
) -> PResult<'a, [u8; N]> {
    match input.split_first_chunk::<N>() {
        Some((a, rest)) => Ok((rest, *a)),
        None => fail(input, context, ErrorKind::Truncated),
    }
}

#[inline]
pub(crate) fn u64_le<'a>(input: &'a [u8], context: &'static str) -> PResult<'a, u64> {
    let (rest, a) = array::<8>(input, context)?;
    Ok((rest, u64::from_le_bytes(a)))
}

/// An RDB length, or the kind of an encoded string (`11xxxxxx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthOrEncoding {
    Length(u64),
    Encoding(u8),
}

/// An RDB length (6, 14, 32 or 64 bit) or an encoded-string marker.
#[inline]
pub(crate) fn length_or_encoding(input: &[u8]) -> PResult<'_, LengthOrEncoding> {
    let Some(&b) = input.first() else {
        return fail(input, "length", ErrorKind::Truncated);
    };
    match b >> 6 {
        RDB_6BITLEN => Ok((&input[1..], LengthOrEncoding::Length(u64::from(b & 0x3F)))),
        RDB_14BITLEN => {
            let (rest, a) = array::<2>(input, "length")?;
            Ok((
                rest,
                LengthOrEncoding::Length(u64::from(a[0] & 0x3F) << 8 | u64::from(a[1])),
            ))
        }
        RDB_ENCVAL => Ok((&input[1..], LengthOrEncoding::Encoding(b & 0x3F))),
        _ => match b {
            RDB_32BITLEN => {
                let (rest, a) = array::<5>(input, "length")?;
                let n = u32::from_be_bytes([a[1], a[2], a[3], a[4]]);
                Ok((rest, LengthOrEncoding::Length(u64::from(n))))
            }
            RDB_64BITLEN => {
                let (rest, a) = array::<9>(input, "length")?;
                let mut be = [0u8; 8];
                be.copy_from_slice(&a[1..]);
                Ok((rest, LengthOrEncoding::Length(u64::from_be_bytes(be))))
            }
            _ => invalid(
                input,
                "length",
                format!("unknown length encoding byte {b:#04x}"),
            ),
        },
    }
}

/// An RDB length (not an encoded string).
#[inline]
pub(crate) fn length(input: &[u8]) -> PResult<'_, u64> {
    match length_or_encoding(input)? {
        (rest, LengthOrEncoding::Length(n)) => Ok((rest, n)),
        (_, LengthOrEncoding::Encoding(e)) => invalid(
            input,
            "length",
            format!("expected a length, found encoded-string marker {e}"),
        ),
    }
}

/// An RDB length used as a count of following items, bounded by the bytes left: each item
/// takes at least `min_item_bytes`, so a larger count is corrupt (and would loop for nothing).
#[inline]
pub(crate) fn count<'a>(
    input: &'a [u8],
    min_item_bytes: u64,
    context: &'static str,
) -> PResult<'a, u64> {
    let (rest, n) = length(input)?;
    if n.saturating_mul(min_item_bytes) > rest.len() as u64 {
        return invalid(
            input,
            context,
            format!("count {n} cannot fit in the {} bytes left", rest.len()),
        );
    }
    Ok((rest, n))
}

/// An RDB string: raw bytes, an integer, or LZF-compressed bytes (left compressed).
#[inline]
pub(crate) fn rdb_string(input: &[u8]) -> PResult<'_, RdbString<'_>> {
    let (rest, le) = length_or_encoding(input)?;
    match le {
        LengthOrEncoding::Length(n) => {
            let (rest, bytes) = take_len(rest, n, "string")?;
            Ok((rest, RdbString::Raw(bytes)))
        }
        LengthOrEncoding::Encoding(RDB_ENC_INT8) => {
            let (rest, b) = array::<1>(rest, "int8 string")?;
            Ok((rest, RdbString::Int(i64::from(i8::from_le_bytes(b)))))
        }
        LengthOrEncoding::Encoding(RDB_ENC_INT16) => {
            let (rest, b) = array::<2>(rest, "int16 string")?;
            Ok((rest, RdbString::Int(i64::from(i16::from_le_bytes(b)))))
        }
        LengthOrEncoding::Encoding(RDB_ENC_INT32) => {
            let (rest, b) = array::<4>(rest, "int32 string")?;
            Ok((rest, RdbString::Int(i64::from(i32::from_le_bytes(b)))))
        }
        LengthOrEncoding::Encoding(RDB_ENC_LZF) => {
            let (rest, clen) = length(rest)?;
            let (rest, ulen) = length(rest)?;
            let (rest, compressed) = take_len(rest, clen, "LZF string")?;
            if ulen > crate::lzf::max_decompressed_len(compressed.len()) {
                return invalid(
                    input,
                    "LZF string",
                    format!("declared length {ulen} is more than {clen} compressed bytes can hold"),
                );
            }
            Ok((
                rest,
                RdbString::Lzf {
                    compressed,
                    len: ulen,
                    offset: 0,
                },
            ))
        }
        LengthOrEncoding::Encoding(e) => {
            invalid(input, "string", format!("unknown string encoding {e}"))
        }
    }
}

/// Skips an RDB string without decoding it.
#[inline]
pub(crate) fn skip_string(input: &[u8]) -> PResult<'_, ()> {
    let (rest, _) = rdb_string(input)?;
    Ok((rest, ()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_of_every_width() {
        assert_eq!(length(&[0x05]).unwrap().1, 5);
        assert_eq!(length(&[0x3F]).unwrap().1, 63);
        assert_eq!(length(&[0x41, 0x02]).unwrap().1, 0x102);
        assert_eq!(length(&[0x7F, 0xFF]).unwrap().1, 16383);
        assert_eq!(length(&[0x80, 0, 1, 0, 0]).unwrap().1, 65536);
        assert_eq!(length(&[0x81, 0, 0, 0, 1, 0, 0, 0, 0]).unwrap().1, 1 << 32);
        assert_eq!(
            length(&[0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
                .unwrap()
                .1,
            u64::MAX
        );
        assert!(length(&[0x82]).is_err());
        assert!(length(&[0xC0, 1]).is_err());
        assert!(length(&[0x41]).is_err());
        assert!(length(&[]).is_err());
    }

    #[test]
    fn integer_strings() {
        assert_eq!(rdb_string(&[0xC0, 0x80]).unwrap().1, RdbString::Int(-128));
        assert_eq!(
            rdb_string(&[0xC1, 0xDB, 0x8C]).unwrap().1,
            RdbString::Int(-29477)
        );
        assert_eq!(
            rdb_string(&[0xC2, 0xAB, 0xAB, 0, 0]).unwrap().1,
            RdbString::Int(43947)
        );
        assert_eq!(
            rdb_string(&[0xC2, 0, 0, 0, 0x80]).unwrap().1,
            RdbString::Int(i64::from(i32::MIN))
        );
        assert_eq!(
            rdb_string(&[0x03, b'a', b'b', b'c']).unwrap().1,
            RdbString::Raw(b"abc")
        );
        assert!(rdb_string(&[0xC4]).is_err());
        assert!(rdb_string(&[0x05, b'a']).is_err());
    }

    #[test]
    fn count_is_bounded_by_input() {
        assert!(count(
            &[0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF],
            1,
            "list"
        )
        .is_err());
        assert_eq!(count(&[0x02, 1, 2], 1, "list").unwrap().1, 2);
    }
}
