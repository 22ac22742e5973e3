//! RDB strings: length-prefixed bytes, or the integer encodings Redis uses for short decimal
//! strings (`rdbTryIntegerEncoding`). Nothing is LZF-compressed on the way out; compressed
//! strings from a source dump can be copied still compressed ([`rdb_string_copy`]).

use crate::consts::{RDB_ENCVAL, RDB_ENC_INT16, RDB_ENC_INT32, RDB_ENC_INT8, RDB_ENC_LZF};
use crate::read::string::{RdbString, Str};
use crate::write::length::length;

/// Appends `bytes` as an RDB string, integer-encoded when it is the canonical decimal text of
/// a 32-bit integer (as Redis writes it).
pub fn rdb_string(out: &mut Vec<u8>, bytes: &[u8]) {
    if let Some(i) = canonical_i32(bytes) {
        integer(out, i);
        return;
    }
    length(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a decoded string; integers outside the 32-bit range are written as text.
pub fn rdb_str(out: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Bytes(b) => rdb_string(out, b),
        Str::Int(i) => match i32::try_from(i) {
            Ok(i) => integer(out, i),
            Err(_) => {
                let mut buf = [0u8; 20];
                let text = crate::read::string::format_i64(i, &mut buf);
                length(out, text.len() as u64);
                out.extend_from_slice(text);
            }
        },
    }
}

/// Appends a string exactly as it was stored in a source dump: raw, integer, or still
/// LZF-compressed (no decompression).
pub fn rdb_string_copy(out: &mut Vec<u8>, s: RdbString<'_>) {
    match s {
        RdbString::Raw(b) => {
            length(out, b.len() as u64);
            out.extend_from_slice(b);
        }
        RdbString::Int(i) => rdb_str(out, Str::Int(i)),
        RdbString::Lzf {
            compressed, len, ..
        } => {
            out.push(RDB_ENCVAL << 6 | RDB_ENC_LZF);
            length(out, compressed.len() as u64);
            length(out, len);
            out.extend_from_slice(compressed);
        }
    }
}

fn integer(out: &mut Vec<u8>, i: i32) {
    if let Ok(b) = i8::try_from(i) {
        out.extend_from_slice(&[RDB_ENCVAL << 6 | RDB_ENC_INT8, b as u8]);
    } else if let Ok(s) = i16::try_from(i) {
        out.push(RDB_ENCVAL << 6 | RDB_ENC_INT16);
        out.extend_from_slice(&s.to_le_bytes());
    } else {
        out.push(RDB_ENCVAL << 6 | RDB_ENC_INT32);
        out.extend_from_slice(&i.to_le_bytes());
    }
}

/// The value of `b` if it is the canonical decimal text of an i64 (no sign on zero, no
/// leading zeros or `+`, at most 20 bytes), as Redis's `string2ll` accepts.
pub(crate) fn canonical_i64(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let (neg, digits) = match b[0] {
        b'-' => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if digits[0] == b'0' && (digits.len() > 1 || neg) {
        return None;
    }
    let mut v: i64 = 0;
    for &d in digits {
        let d = i64::from(d - b'0');
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

fn canonical_i32(b: &[u8]) -> Option<i32> {
    if b.len() > 11 {
        return None;
    }
    canonical_i64(b).and_then(|i| i32::try_from(i).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::rdb_string as read;
    use crate::read::string::Scratch;

    fn back(out: &[u8]) -> Vec<u8> {
        let scratch = Scratch::new();
        let (rest, s) = read(out).unwrap();
        assert!(rest.is_empty());
        s.decode(&scratch).unwrap().to_vec()
    }

    #[test]
    fn integers_are_encoded_like_redis() {
        for (text, first) in [
            (&b"0"[..], 0xC0),
            (b"-128", 0xC0),
            (b"128", 0xC1),
            (b"-32768", 0xC1),
            (b"2147483647", 0xC2),
            (b"-2147483648", 0xC2),
        ] {
            let mut out = Vec::new();
            rdb_string(&mut out, text);
            assert_eq!(out[0], first, "{}", String::from_utf8_lossy(text));
            assert_eq!(back(&out), text);
        }
        for text in [&b"2147483648"[..], b"007", b"-0", b"+1", b"1 ", b"", b"abc"] {
            let mut out = Vec::new();
            rdb_string(&mut out, text);
            assert_eq!(usize::from(out[0]), text.len());
            assert_eq!(back(&out), text);
        }
        let mut out = Vec::new();
        rdb_str(&mut out, Str::Int(i64::MIN));
        assert_eq!(back(&out), i64::MIN.to_string().as_bytes());
    }

    #[test]
    fn compressed_strings_copy_as_is() {
        let s = RdbString::Lzf {
            compressed: &[0x00, b'a', 0xE0, 0x00, 0x00],
            len: 10,
            offset: 0,
        };
        let mut out = Vec::new();
        rdb_string_copy(&mut out, s);
        assert_eq!(out, [0xC3, 5, 10, 0x00, b'a', 0xE0, 0x00, 0x00]);
        assert_eq!(back(&out), b"aaaaaaaaaa");
    }

    #[test]
    fn canonical_integers() {
        assert_eq!(canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(canonical_i64(b"9223372036854775808"), None);
        assert_eq!(canonical_i64(b"-"), None);
        assert_eq!(canonical_i64(b"00"), None);
    }
}
