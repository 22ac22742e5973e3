//! UTF-8 checks of dump bytes. Every key and value is checked (valid UTF-8 goes to JSON
//! strings and `Utf8` columns, the rest to base64 and `_raw` columns), so the check is on
//! the hot path: `core::str::from_utf8` was 5–7 % of a Parquet export (`perf`), the SIMD
//! check of `simdutf8` reads ASCII many bytes at a time.

/// `bytes` as text, if it is valid UTF-8.
#[inline]
pub(crate) fn text(bytes: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(bytes).ok()
}

/// Whether `bytes` is valid UTF-8.
#[inline]
pub(crate) fn is_utf8(bytes: &[u8]) -> bool {
    text(bytes).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_standard_check() {
        let cases: &[&[u8]] = &[
            b"",
            b"plain ascii, longer than one SIMD block of sixty-four bytes ........",
            "caf\u{e9} \u{1f600} \u{4e2d}\u{6587}".as_bytes(),
            b"\xff",
            b"abc\xc3",
            b"\xed\xa0\x80 surrogate",
            b"\xf4\x90\x80\x80 beyond U+10FFFF",
            b"overlong \xc0\xaf",
        ];
        for case in cases {
            assert_eq!(text(case), std::str::from_utf8(case).ok(), "{case:?}");
        }
        // Every split point of a multi-byte character, inside a long ASCII run.
        let long = format!("{}\u{1f600}{}", "a".repeat(63), "b".repeat(70));
        for end in 0..long.len() {
            let b = &long.as_bytes()[..end];
            assert_eq!(is_utf8(b), std::str::from_utf8(b).is_ok(), "{end}");
        }
    }
}
