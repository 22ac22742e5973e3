//! The RDB primitives every parser is built from: fixed-width numbers, `length`,
//! `rdb_string`, counts bounded by the input, zset scores written as text.

use crate::consts::*;
use crate::error::ErrorKind;
use crate::read::origin::{fail, invalid, PResult};
use crate::read::string::RdbString;

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
