//! The RDB primitives every parser is built from: fixed-width numbers, `length`,
//! `rdb_string`, counts bounded by the input, zset scores written as text.

use nom::bytes::complete::take;
use nom::combinator::map_opt;
use nom::error::context;
use nom::number::complete::{
    be_u16, be_u32, be_u64, le_f64, le_i16, le_i32, le_i64, le_i8, le_u64, le_u8,
};
use nom::Parser;

use crate::consts::*;
use crate::error::ErrorKind;
use crate::read::origin::{fail, invalid, Fail, PResult};
use crate::read::string::RdbString;

// Every parser here is nom's own (`take`, `le_u64`, `be_u32`, ...) under `context`, so a
// failure is `Fail { at: where the element starts, context, kind: Truncated }` (see
// `Fail::from_error_kind`). Checks whose message must name what was read (a declared length,
// a count) are made before nom is called, with the same messages as before nom carried them.

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
    take(n as usize).parse(input)
}

/// One byte.
#[inline]
pub(crate) fn byte<'a>(input: &'a [u8], what: &'static str) -> PResult<'a, u8> {
    context(what, le_u8).parse(input)
}

/// `N` raw bytes (stream ids, module floats, key metadata classes).
#[inline]
pub(crate) fn array<'a, const N: usize>(
    input: &'a [u8],
    what: &'static str,
) -> PResult<'a, [u8; N]> {
    context(what, map_opt(take(N), |b: &[u8]| b.try_into().ok())).parse(input)
}

/// A little-endian u64 (millisecond times, the checksum, a hash's minimum expiry).
#[inline]
pub(crate) fn u64_le<'a>(input: &'a [u8], what: &'static str) -> PResult<'a, u64> {
    context(what, le_u64).parse(input)
}

/// A little-endian i64 (a Valkey hash field's expiry).
#[inline]
pub(crate) fn i64_le<'a>(input: &'a [u8], what: &'static str) -> PResult<'a, i64> {
    context(what, le_i64).parse(input)
}

/// A little-endian i32 (an expiry in seconds).
#[inline]
pub(crate) fn i32_le<'a>(input: &'a [u8], what: &'static str) -> PResult<'a, i32> {
    context(what, le_i32).parse(input)
}

/// A little-endian IEEE-754 double (a binary zset score).
#[inline]
pub(crate) fn f64_le<'a>(input: &'a [u8], what: &'static str) -> PResult<'a, f64> {
    context(what, le_f64).parse(input)
}

/// An RDB length, or the kind of an encoded string (`11xxxxxx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LengthOrEncoding {
    Length(u64),
    Encoding(u8),
}

/// An RDB length (6, 14, 32 or 64 bit) or an encoded-string marker.
///
/// The wider forms are read from the first byte on, so a truncated length is reported where
/// it starts.
#[inline]
pub(crate) fn length_or_encoding(input: &[u8]) -> PResult<'_, LengthOrEncoding> {
    // Most lengths in a dump are one byte (every short string, most counts): that form is read
    // by hand, nom reads the rest. callgrind, `scan --decode --no-crc` on cache-quick:
    // 1,493.7 M instructions with nom reading every length, 1,477.8 M with this (RESULTS.md).
    match input {
        [b, rest @ ..] if b >> 6 == RDB_6BITLEN => {
            return Ok((rest, LengthOrEncoding::Length(u64::from(b & 0x3F))));
        }
        [b, b2, rest @ ..] if b >> 6 == RDB_14BITLEN => {
            let n = (u64::from(b & 0x3F) << 8) | u64::from(*b2);
            return Ok((rest, LengthOrEncoding::Length(n)));
        }
        _ => {}
    }
    let (rest, b) = byte(input, "length")?;
    match b >> 6 {
        RDB_6BITLEN => Ok((rest, LengthOrEncoding::Length(u64::from(b & 0x3F)))),
        RDB_14BITLEN => context("length", be_u16)
            .map(|n| LengthOrEncoding::Length(u64::from(n & 0x3FFF)))
            .parse(input),
        RDB_ENCVAL => Ok((rest, LengthOrEncoding::Encoding(b & 0x3F))),
        _ => match b {
            RDB_32BITLEN => context("length", (le_u8, be_u32))
                .map(|(_, n)| LengthOrEncoding::Length(u64::from(n)))
                .parse(input)
                .map_err(|e| at_start(e, input)),
            RDB_64BITLEN => context("length", (le_u8, be_u64))
                .map(|(_, n)| LengthOrEncoding::Length(n))
                .parse(input)
                .map_err(|e| at_start(e, input)),
            _ => invalid(
                input,
                "length",
                format!("unknown length encoding byte {b:#04x}"),
            ),
        },
    }
}

/// A failure inside a multi-byte element, placed at the element's first byte.
#[cold]
fn at_start<'a>(e: nom::Err<Fail<'a>>, start: &'a [u8]) -> nom::Err<Fail<'a>> {
    e.map(|f| Fail { at: start, ..f })
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
    // The common case by hand (a short raw string: one length byte, then its bytes): criterion
    // `dump/scan` 1.10x of the pre-nom decoder with nom here, 0.97x with this (RESULTS.md,
    // "LZF and keys"). Anything else, errors included, below.
    if let [b, rest @ ..] = input {
        if b >> 6 == RDB_6BITLEN {
            let n = usize::from(b & 0x3F);
            if let (Some(bytes), Some(after)) = (rest.get(..n), rest.get(n..)) {
                return Ok((after, RdbString::Raw(bytes)));
            }
        }
    }
    let (rest, le) = length_or_encoding(input)?;
    match le {
        LengthOrEncoding::Length(n) => {
            let (rest, bytes) = take_len(rest, n, "string")?;
            Ok((rest, RdbString::Raw(bytes)))
        }
        LengthOrEncoding::Encoding(RDB_ENC_INT8) => context("int8 string", le_i8)
            .map(|i| RdbString::Int(i64::from(i)))
            .parse(rest),
        LengthOrEncoding::Encoding(RDB_ENC_INT16) => context("int16 string", le_i16)
            .map(|i| RdbString::Int(i64::from(i)))
            .parse(rest),
        LengthOrEncoding::Encoding(RDB_ENC_INT32) => context("int32 string", le_i32)
            .map(|i| RdbString::Int(i64::from(i)))
            .parse(rest),
        LengthOrEncoding::Encoding(RDB_ENC_LZF) => {
            let (rest, clen) = length(rest)?;
            let (rest, ulen) = length(rest)?;
            let (rest, compressed) = take_len(rest, clen, "LZF string")?;
            if ulen > crate::read::lzf::max_decompressed_len(compressed.len()) {
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

/// A zset score written as text (type `ZSET`): length byte, or 253/254/255 for nan/+inf/-inf.
pub(crate) fn string_double(input: &[u8]) -> PResult<'_, f64> {
    let (rest, n) = byte(input, "zset score")?;
    match n {
        253 => Ok((rest, f64::NAN)),
        254 => Ok((rest, f64::INFINITY)),
        255 => Ok((rest, f64::NEG_INFINITY)),
        _ => {
            let (rest2, text) = take_len(rest, u64::from(n), "zset score")?;
            match parse_f64(text) {
                Some(v) => Ok((rest2, v)),
                None => invalid(input, "zset score", "score is not a number"),
            }
        }
    }
}

/// Parses a score as Redis's `strtod` would for scores it wrote.
pub(crate) fn parse_f64(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    s.trim().parse::<f64>().ok()
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
    fn truncated_elements_fail_where_they_start() {
        for input in [&[0x41][..], &[0x80, 0, 1], &[0x81, 0, 0, 0, 0, 0]] {
            let Err(nom::Err::Error(f)) = length(input) else {
                panic!("{input:?} parsed")
            };
            assert_eq!(
                (f.at.as_ptr(), f.context, f.kind),
                (input.as_ptr(), "length", ErrorKind::Truncated)
            );
        }
        let input = &[0xC1, 0x01][..];
        let Err(nom::Err::Error(f)) = rdb_string(input) else {
            panic!("parsed")
        };
        assert_eq!(
            (f.at.as_ptr(), f.context),
            (input[1..].as_ptr(), "int16 string")
        );
        let Err(nom::Err::Error(f)) = rdb_string(&[0x05, b'a']) else {
            panic!("parsed")
        };
        assert_eq!(
            f.kind,
            ErrorKind::PastEnd {
                length: 5,
                container: "input",
                available: 1
            }
        );
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
