//! LZF decompression (the liblzf format Redis uses for strings and blobs).
//!
//! Bounded: output is written only into the caller's slice of the declared length, every
//! back-reference is checked, and the output must come out exactly that long.

use std::fmt;

/// Why LZF data could not be decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzfError {
    /// The compressed data ends inside an instruction.
    Truncated {
        /// Position in the compressed data.
        at: usize,
    },
    /// A back-reference points before the start of the output.
    BadReference {
        /// Position in the compressed data.
        at: usize,
    },
    /// The output would be longer than declared.
    Overflow {
        /// Position in the compressed data.
        at: usize,
    },
    /// The output came out shorter than declared.
    Short {
        /// Bytes produced.
        produced: usize,
        /// Bytes declared.
        expected: usize,
    },
}

impl fmt::Display for LzfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LzfError::Truncated { at } => write!(f, "LZF data truncated at compressed byte {at}"),
            LzfError::BadReference { at } => {
                write!(
                    f,
                    "LZF back-reference before start of output at compressed byte {at}"
                )
            }
            LzfError::Overflow { at } => {
                write!(f, "LZF output longer than declared at compressed byte {at}")
            }
            LzfError::Short { produced, expected } => {
                write!(
                    f,
                    "LZF data decompressed to {produced} bytes, {expected} declared"
                )
            }
        }
    }
}

impl std::error::Error for LzfError {}

/// The most bytes `compressed_len` bytes of LZF can expand to (a 3-byte back-reference yields
/// at most 264 bytes). Used to refuse allocations that no valid input could need.
pub fn max_decompressed_len(compressed_len: usize) -> u64 {
    (compressed_len as u64).saturating_mul(88).saturating_add(8)
}

/// Decompresses `input` into `out`, which must be exactly the declared uncompressed length.
pub fn decompress(input: &[u8], out: &mut [u8]) -> Result<(), LzfError> {
    let mut ip = 0usize;
    let mut op = 0usize;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let src = input
                .get(ip..ip + run)
                .ok_or(LzfError::Truncated { at: ip - 1 })?;
            let dst = out
                .get_mut(op..op + run)
                .ok_or(LzfError::Overflow { at: ip - 1 })?;
            dst.copy_from_slice(src);
            ip += run;
            op += run;
        } else {
            let start = ip - 1;
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip).ok_or(LzfError::Truncated { at: start })? as usize;
                ip += 1;
            }
            len += 2;
            let low = *input.get(ip).ok_or(LzfError::Truncated { at: start })? as usize;
            ip += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            if back > op {
                return Err(LzfError::BadReference { at: start });
            }
            if op + len > out.len() {
                return Err(LzfError::Overflow { at: start });
            }
            let from = op - back;
            if back >= len {
                out.copy_within(from..from + len, op);
            } else {
                // Overlapping copy repeats the pattern: must go byte by byte.
                for i in 0..len {
                    out[op + i] = out[from + i];
                }
            }
            op += len;
        }
    }
    if op != out.len() {
        return Err(LzfError::Short {
            produced: op,
            expected: out.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_and_backref() {
        // "aaaaaaaaaa": literal 'a' then a back-reference of 9 at distance 1.
        let data = [0x00, b'a', 0xE0, 0x00, 0x00];
        let mut out = vec![0u8; 1 + 9];
        decompress(&data, &mut out).unwrap();
        assert_eq!(out, b"aaaaaaaaaa");
    }

    #[test]
    fn short_form_backref() {
        // "abcabc": literal "abc", then len (1<<5 → 1+2 = 3) at distance 3.
        let data = [0x02, b'a', b'b', b'c', 0x20, 0x02];
        let mut out = vec![0u8; 6];
        decompress(&data, &mut out).unwrap();
        assert_eq!(out, b"abcabc");
    }

    #[test]
    fn rejects_bad_input() {
        let mut out = vec![0u8; 4];
        assert_eq!(
            decompress(&[0x03, b'a'], &mut out),
            Err(LzfError::Truncated { at: 0 })
        );
        assert_eq!(
            decompress(&[0x20, 0x00], &mut out),
            Err(LzfError::BadReference { at: 0 })
        );
        assert_eq!(
            decompress(&[0x04, 1, 2, 3, 4, 5], &mut out),
            Err(LzfError::Overflow { at: 0 })
        );
        assert_eq!(
            decompress(&[0x01, 1, 2], &mut out),
            Err(LzfError::Short {
                produced: 2,
                expected: 4
            })
        );
    }
}
