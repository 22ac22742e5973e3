//! Byte strings, numbers and scores as JSON: the one escaper of the NDJSON output and of the
//! reports' JSON.

use rdb_format::{Str, StreamId};

/// How a JSON string writes control characters. Both are valid JSON; each output keeps the
/// form it has always had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Escapes {
    /// `\b \f \n \r \t` where JSON has a short form, `\u00XX` for the other control
    /// characters, DEL as it is (the NDJSON output).
    Short,
    /// `\n \r \t`, and `\u00XX` for every other control character and for DEL (the
    /// reports).
    Unicode,
}

/// Appends `raw` as a JSON string when it is UTF-8, else as `{"base64":"..."}`.
pub fn push_bytes(out: &mut Vec<u8>, raw: &[u8], escapes: Escapes) {
    match escapes {
        Escapes::Short => raw_bytes::<false>(out, raw, &SHORT),
        Escapes::Unicode => raw_bytes::<true>(out, raw, &UNICODE),
    }
}

/// Appends `s` as a JSON string.
pub fn push_str(out: &mut Vec<u8>, s: &str, escapes: Escapes) {
    let table = match escapes {
        Escapes::Short => &SHORT,
        Escapes::Unicode => &UNICODE,
    };
    out.reserve(s.len() + 2);
    out.push(b'"');
    escape_with(out, s.as_bytes(), table);
    out.push(b'"');
}

pub(super) fn number(b: &mut Vec<u8>, n: u64) {
    b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

pub(super) fn signed(b: &mut Vec<u8>, n: i64) {
    b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

pub(super) fn id(b: &mut Vec<u8>, id: StreamId) {
    b.push(b'"');
    number(b, id.ms);
    b.push(b'-');
    number(b, id.seq);
    b.push(b'"');
}

/// A zset score: a JSON number, or `"inf"`, `"-inf"`, `"nan"`.
pub(super) fn score_json(b: &mut Vec<u8>, x: f64) {
    if x.is_nan() {
        b.extend_from_slice(b"\"nan\"");
    } else if x.is_infinite() {
        b.extend_from_slice(if x > 0.0 { b"\"inf\"" } else { b"\"-inf\"" });
    } else if x == 0.0 && x.is_sign_negative() {
        b.extend_from_slice(b"-0.0");
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        signed(b, x as i64);
    } else {
        let mut r = ryu::Buffer::new();
        b.extend_from_slice(r.format_finite(x).as_bytes());
    }
}

/// A byte string of the NDJSON output: JSON string when UTF-8, else `{"base64":...}`.
pub(super) fn bytes(b: &mut Vec<u8>, s: Str<'_>) {
    match s {
        Str::Int(i) => {
            b.push(b'"');
            signed(b, i);
            b.push(b'"');
        }
        Str::Bytes(raw) => raw_bytes::<false>(b, raw, &SHORT),
    }
}

/// [`push_bytes`] with the escape table `table`; `DEL` says whether it escapes DEL.
fn raw_bytes<const DEL: bool>(b: &mut Vec<u8>, raw: &[u8], table: &[u8; 256]) {
    // One pass for the common case: printable ASCII is valid UTF-8 and needs no
    // escaping. Only the rest, from the first other byte, is validated and escaped.
    let plain = plain_prefix::<DEL>(raw, table);
    if plain == raw.len() {
        b.reserve(raw.len() + 2);
        b.push(b'"');
        b.extend_from_slice(raw);
        b.push(b'"');
        return;
    }
    if crate::utf8::is_utf8(&raw[plain..]) {
        b.reserve(raw.len() + 2);
        b.push(b'"');
        b.extend_from_slice(&raw[..plain]);
        escape_with(b, &raw[plain..], table);
        b.push(b'"');
    } else {
        base64_object(b, raw);
    }
}

/// Length of the longest prefix of `raw` made of bytes a JSON string holds as they are:
/// printable ASCII but `"` and `\\` (and DEL when `DEL`). Eight bytes at a time.
fn plain_prefix<const DEL: bool>(raw: &[u8], table: &[u8; 256]) -> usize {
    let words = skip_words(raw, 0, |w| (w & HIGH) | special_bytes::<DEL>(w));
    words
        + raw[words..]
            .iter()
            .take_while(|&&c| c < 0x80 && table[c as usize] == 0)
            .count()
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Non-zero when a byte of `w` is one a JSON string escapes: a control character, `"`, `\\`,
/// and DEL when `DEL`. Exact for the word as a whole (a flag may be set above a flagged
/// byte, never in a word without one), which is all the callers ask.
#[inline]
fn special_bytes<const DEL: bool>(w: u64) -> u64 {
    // High bit set in each byte of `v` that is zero (exact for the word as a whole).
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let mut special = (w.wrapping_sub(ONES * 0x20) & !w & HIGH)
        | zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')));
    if DEL {
        special |= zero(w ^ (ONES * 0x7f));
    }
    special
}

/// The first position from `from`, in steps of eight bytes, of a word where `flags` is
/// non-zero (or of the last, shorter, word).
#[inline]
fn skip_words(raw: &[u8], from: usize, flags: impl Fn(u64) -> u64) -> usize {
    let mut i = from;
    while let Some(w) = raw.get(i..i + 8) {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        if flags(w) != 0 {
            break;
        }
        i += 8;
    }
    i
}

/// The position of the first byte from `from` that `table` escapes, or `bytes.len()`.
#[inline]
fn next_escape(bytes: &[u8], from: usize, table: &[u8; 256]) -> usize {
    // Bytes from 0x80 are written as they are (the text is UTF-8): only the escaped
    // ASCII bytes stop the word scan.
    let words = if table[0x7f] != 0 {
        skip_words(bytes, from, special_bytes::<true>)
    } else {
        skip_words(bytes, from, special_bytes::<false>)
    };
    words
        + bytes[words..]
            .iter()
            .position(|&c| table[c as usize] != 0)
            .unwrap_or(bytes.len() - words)
}

/// Escape tables: 0 for a byte written as it is, `u` for `\u00XX`, else the letter after
/// the backslash.
const SHORT: [u8; 256] = escape_table(Escapes::Short);
const UNICODE: [u8; 256] = escape_table(Escapes::Unicode);

const fn escape_table(escapes: Escapes) -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    match escapes {
        Escapes::Short => {
            t[0x08] = b'b';
            t[0x0C] = b'f';
        }
        Escapes::Unicode => t[0x7f] = b'u',
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
}

/// A JSON string of the NDJSON output.
pub(super) fn string(b: &mut Vec<u8>, s: &str) {
    push_str(b, s, Escapes::Short);
}

/// The inside of a JSON string of the NDJSON output (UTF-8 bytes).
pub(super) fn escaped(b: &mut Vec<u8>, bytes: &[u8]) {
    escape_with(b, bytes, &SHORT);
}

/// The inside of a JSON string: UTF-8 bytes with quotes, backslashes and control characters
/// escaped as `table` says, in runs between the bytes that need it.
fn escape_with(b: &mut Vec<u8>, bytes: &[u8], table: &[u8; 256]) {
    let mut start = 0;
    loop {
        let i = next_escape(bytes, start, table);
        b.extend_from_slice(&bytes[start..i]);
        let Some(&c) = bytes.get(i) else {
            return;
        };
        let esc = table[c as usize];
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            b.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(c >> 4) as usize],
                HEX[(c & 15) as usize],
            ]);
        } else {
            b.extend_from_slice(&[b'\\', esc]);
        }
        start = i + 1;
    }
}

pub(super) fn base64_object(b: &mut Vec<u8>, raw: &[u8]) {
    b.extend_from_slice(b"{\"base64\":\"");
    base64(b, raw);
    b.extend_from_slice(b"\"}");
}

/// Standard base64 with padding.
pub fn base64(out: &mut Vec<u8>, raw: &[u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(raw.len().div_ceil(3) * 4);
    let mut chunks = raw.chunks_exact(3);
    for c in &mut chunks {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        out.extend_from_slice(&[
            ALPHABET[(n >> 18) as usize & 63],
            ALPHABET[(n >> 12) as usize & 63],
            ALPHABET[(n >> 6) as usize & 63],
            ALPHABET[n as usize & 63],
        ]);
    }
    match *chunks.remainder() {
        [a] => {
            let n = u32::from(a) << 16;
            out.extend_from_slice(&[
                ALPHABET[(n >> 18) as usize & 63],
                ALPHABET[(n >> 12) as usize & 63],
                b'=',
                b'=',
            ]);
        }
        [a, c] => {
            let n = (u32::from(a) << 16) | (u32::from(c) << 8);
            out.extend_from_slice(&[
                ALPHABET[(n >> 18) as usize & 63],
                ALPHABET[(n >> 12) as usize & 63],
                ALPHABET[(n >> 6) as usize & 63],
                b'=',
            ]);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_prefix_stops_at_the_first_byte_json_or_utf8_cares_about() {
        for special in [0u8, 0x1f, b'"', b'\\', 0x80, 0xc3, 0xff, b'\n'] {
            for at in 0..40 {
                let mut raw = vec![b'a'; 40];
                for (i, c) in raw.iter_mut().enumerate() {
                    *c = b" ~!#[]{}azAZ09\x7f"[i % 15];
                }
                raw[at] = special;
                assert_eq!(
                    plain_prefix::<false>(&raw, &SHORT),
                    at,
                    "byte {special:#x} at {at}"
                );
            }
        }
        assert_eq!(plain_prefix::<false>(b"", &SHORT), 0);
        assert_eq!(plain_prefix::<false>(&[b'x'; 17], &SHORT), 17);
        // Same output as the two-pass path for every byte value.
        for c in 0..=255u8 {
            let raw = [b'a', b'b', c, b'c'];
            let mut fast = Vec::new();
            bytes(&mut fast, Str::Bytes(&raw));
            let mut slow = Vec::new();
            match std::str::from_utf8(&raw) {
                Ok(t) => string(&mut slow, t),
                Err(_) => base64_object(&mut slow, &raw),
            }
            assert_eq!(fast, slow, "byte {c:#x}");
        }
    }

    /// `escape_with` as it was, a byte at a time: the reference for the word scan.
    fn escape_bytewise(bytes: &[u8], table: &[u8; 256]) -> Vec<u8> {
        let mut b = Vec::new();
        for &c in bytes {
            match table[c as usize] {
                0 => b.push(c),
                b'u' => b.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
                esc => b.extend_from_slice(&[b'\\', esc]),
            }
        }
        b
    }

    #[test]
    fn word_scan_escapes_like_a_byte_scan() {
        // Every byte value at every position of a word, in runs that cross word ends,
        // among multi-byte UTF-8 bytes (which no escape stops at).
        let filler = "\u{e9}ab\u{1f600}cdefgh\u{4e2d}".as_bytes();
        for table in [&SHORT, &UNICODE] {
            for c in 0..=255u8 {
                for at in 0..17 {
                    let mut raw = filler.repeat(2);
                    raw.insert(at, c);
                    raw.insert(at + 9, c);
                    let mut fast = Vec::new();
                    escape_with(&mut fast, &raw, table);
                    assert_eq!(fast, escape_bytewise(&raw, table), "byte {c:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn escapes_and_base64() {
        let mut b = Vec::new();
        string(&mut b, "a\"b\\c\n\u{1}é");
        assert_eq!(
            String::from_utf8(b.clone()).unwrap(),
            r#""a\"b\\c\n\u0001é""#
        );
        let parsed: String = serde_json::from_slice(&b).unwrap();
        assert_eq!(parsed, "a\"b\\c\n\u{1}é");
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"\xff\xfe", "//4="),
        ] {
            let mut o = Vec::new();
            base64(&mut o, raw);
            assert_eq!(o, enc.as_bytes());
        }
    }

    #[test]
    fn scores() {
        for (x, s) in [
            (1.0, "1"),
            (-2.5, "-2.5"),
            (f64::INFINITY, "\"inf\""),
            (f64::NEG_INFINITY, "\"-inf\""),
            (0.1, "0.1"),
            (1e300, "1e300"),
        ] {
            let mut b = Vec::new();
            score_json(&mut b, x);
            assert_eq!(String::from_utf8(b).unwrap(), s);
        }
    }

    /// The reports' escaper before it was this one (char by char), to compare with.
    fn reports_escaper_before(out: &mut Vec<u8>, s: &str) {
        out.push(b'"');
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
                }
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        out.push(b'"');
    }

    #[test]
    fn unicode_escapes_are_the_reports_old_ones() {
        for c in (0u32..0x3000).filter_map(char::from_u32) {
            for text in [format!("{c}"), format!("abcdefgh{c}ijklmnopq{c}{c}rs")] {
                let mut old = Vec::new();
                reports_escaper_before(&mut old, &text);
                let mut new = Vec::new();
                push_str(&mut new, &text, Escapes::Unicode);
                assert_eq!(new, old, "char {:#x}", c as u32);
                new.clear();
                push_bytes(&mut new, text.as_bytes(), Escapes::Unicode);
                assert_eq!(new, old, "char {:#x} as bytes", c as u32);
            }
        }
        let mut b = Vec::new();
        push_bytes(&mut b, b"\xff", Escapes::Unicode);
        assert_eq!(b, br#"{"base64":"/w=="}"#);
    }
}
