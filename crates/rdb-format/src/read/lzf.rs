//! LZF decompression (the liblzf format Redis uses for strings and blobs).
//!
//! Bounded: output is written only into the caller's slice of the declared length, every
//! back-reference is checked, and the output must come out exactly that long.

use std::fmt;
use std::ptr;

/// Why LZF data could not be decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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

/// Checks that `input` decompresses to exactly `len` bytes, without producing them: the same
/// errors [`decompress`] would give, so the output is allocated only once the data is known
/// to fill it (a declared length is a claim; a false one must not cost its size in memory).
pub fn validate(input: &[u8], len: usize) -> Result<(), LzfError> {
    let mut ip = 0usize;
    let mut op = 0usize;
    while let Some(&ctrl) = input.get(ip) {
        let ctrl = ctrl as usize;
        let start = ip;
        if ctrl < 32 {
            let run = ctrl + 1;
            if op + run > len {
                return Err(LzfError::Overflow { at: start });
            }
            if ip + 1 + run > input.len() {
                return Err(LzfError::Truncated { at: start });
            }
            ip += 1 + run;
            op += run;
        } else {
            let mut n = ctrl >> 5;
            ip += 1;
            if n == 7 {
                n += *input.get(ip).ok_or(LzfError::Truncated { at: start })? as usize;
                ip += 1;
            }
            let low = *input.get(ip).ok_or(LzfError::Truncated { at: start })? as usize;
            ip += 1;
            if ((ctrl & 0x1F) << 8) + low + 1 > op {
                return Err(LzfError::BadReference { at: start });
            }
            if op + n + 2 > len {
                return Err(LzfError::Overflow { at: start });
            }
            op += n + 2;
        }
    }
    if op != len {
        return Err(LzfError::Short {
            produced: op,
            expected: len,
        });
    }
    Ok(())
}

/// Decompresses `input` into `out`, which must be exactly the declared uncompressed length.
///
/// The hot loop of every LZF string, so it copies through raw pointers: each copy's range is
/// checked against both buffers first (the checks the safe slices would repeat per byte), and
/// the `lzf` fuzz target holds it to a plain byte-at-a-time reading of the format.
#[allow(unsafe_code)]
pub fn decompress(input: &[u8], out: &mut [u8]) -> Result<(), LzfError> {
    let in_len = input.len();
    let out_len = out.len();
    let src = input.as_ptr();
    let dst = out.as_mut_ptr();
    let mut ip = 0usize;
    let mut op = 0usize;
    while ip < in_len {
        // SAFETY: ip < in_len.
        let ctrl = unsafe { *src.add(ip) } as usize;
        let start = ip;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if op + run > out_len {
                return Err(LzfError::Overflow { at: start });
            }
            if ip + run > in_len {
                return Err(LzfError::Truncated { at: start });
            }
            // SAFETY: both ranges checked just above (a fixed-size copy only when it fits on
            // both sides; the extra bytes are rewritten by what follows or refused by the
            // final length check). Near the end of a short string the 32-byte copy rarely
            // fits: 16- and 8-byte copies keep most of those runs off a libc memcpy call
            // (runs average 4 bytes).
            unsafe {
                if ip + 32 <= in_len && op + 32 <= out_len {
                    ptr::copy_nonoverlapping(src.add(ip), dst.add(op), 32);
                } else if run <= 16 && ip + 16 <= in_len && op + 16 <= out_len {
                    ptr::copy_nonoverlapping(src.add(ip), dst.add(op), 16);
                } else if run <= 8 && ip + 8 <= in_len && op + 8 <= out_len {
                    ptr::copy_nonoverlapping(src.add(ip), dst.add(op), 8);
                } else {
                    ptr::copy_nonoverlapping(src.add(ip), dst.add(op), run);
                }
            }
            ip += run;
            op += run;
        } else {
            let mut len = ctrl >> 5;
            if ip + 2 > in_len {
                // Not enough bytes for the longest form: the careful path.
                if len == 7 {
                    len += *input.get(ip).ok_or(LzfError::Truncated { at: start })? as usize;
                    ip += 1;
                }
                if ip >= in_len {
                    return Err(LzfError::Truncated { at: start });
                }
            } else if len == 7 {
                // SAFETY: ip + 2 <= in_len.
                len += unsafe { *src.add(ip) } as usize;
                ip += 1;
                if ip >= in_len {
                    return Err(LzfError::Truncated { at: start });
                }
            }
            len += 2;
            // SAFETY: ip < in_len checked above.
            let low = unsafe { *src.add(ip) } as usize;
            ip += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            if back > op {
                return Err(LzfError::BadReference { at: start });
            }
            if op + len > out_len {
                return Err(LzfError::Overflow { at: start });
            }
            let from = op - back;
            // SAFETY: from + len <= op + len <= out_len; the wide copies stay under out_len
            // (checked) and read only bytes at least 8 (16) behind the write position, all
            // already written: LZ77's overlapping-copy meaning.
            unsafe {
                if back >= 16 && op + len + 16 <= out_len {
                    let mut i = 0;
                    while i < len {
                        let v = ptr::read_unaligned(dst.add(from + i) as *const [u8; 16]);
                        ptr::write_unaligned(dst.add(op + i) as *mut [u8; 16], v);
                        i += 16;
                    }
                } else if back >= 8 && op + len + 8 <= out_len {
                    let mut i = 0;
                    while i < len {
                        let v = ptr::read_unaligned(dst.add(from + i) as *const u64);
                        ptr::write_unaligned(dst.add(op + i) as *mut u64, v);
                        i += 8;
                    }
                } else {
                    for i in 0..len {
                        *dst.add(op + i) = *dst.add(from + i);
                    }
                }
            }
            op += len;
        }
    }
    if op != out_len {
        return Err(LzfError::Short {
            produced: op,
            expected: out_len,
        });
    }
    Ok(())
}

/// How far back an LZF back-reference reaches: 13 bits of distance, plus one.
pub const WINDOW: usize = 8192;

/// Decompresses `input`, declared to hold `len` bytes, piece by piece: `emit` gets the
/// output in order, `piece` bytes at a time (the last piece may be shorter), while only the
/// last [`WINDOW`] bytes (the furthest a back-reference reaches) and about one piece are
/// held. For values too big to hold decompressed. Errors are [`decompress`]'s, found at the
/// same places; the pieces emitted before one are the output up to it.
pub fn decompress_windowed<E: From<LzfError>>(
    input: &[u8],
    len: usize,
    piece: usize,
    emit: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    let piece = piece.max(1);
    // `buf` holds output from position `base` on; `emitted` is where the next piece starts.
    let mut buf: Vec<u8> = Vec::with_capacity(2 * (WINDOW + piece) + 300);
    let (mut base, mut emitted, mut ip) = (0usize, 0usize, 0usize);
    while let Some(&ctrl) = input.get(ip) {
        let ctrl = ctrl as usize;
        let start = ip;
        ip += 1;
        let op = base + buf.len();
        if ctrl < 32 {
            let run = ctrl + 1;
            if op + run > len {
                return Err(LzfError::Overflow { at: start }.into());
            }
            let literal = input
                .get(ip..ip + run)
                .ok_or(LzfError::Truncated { at: start })?;
            buf.extend_from_slice(literal);
            ip += run;
        } else {
            let mut n = ctrl >> 5;
            if n == 7 {
                n += *input.get(ip).ok_or(LzfError::Truncated { at: start })? as usize;
                ip += 1;
            }
            let low = *input.get(ip).ok_or(LzfError::Truncated { at: start })? as usize;
            ip += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            if back > op {
                return Err(LzfError::BadReference { at: start }.into());
            }
            let n = n + 2;
            if op + n > len {
                return Err(LzfError::Overflow { at: start }.into());
            }
            // `buf` keeps at least WINDOW bytes (or everything) behind its end.
            let from = buf.len() - back;
            for i in from..from + n {
                let b = buf[i];
                buf.push(b);
            }
        }
        while base + buf.len() - emitted >= piece {
            let at = emitted - base;
            emit(&buf[at..at + piece])?;
            emitted += piece;
        }
        // Drop what is emitted and out of reach, once that is worth a copy.
        let keep_from = (emitted - base).min(buf.len().saturating_sub(WINDOW));
        if keep_from > WINDOW + piece {
            buf.drain(..keep_from);
            base += keep_from;
        }
    }
    let produced = base + buf.len();
    if produced != len {
        return Err(LzfError::Short {
            produced,
            expected: len,
        }
        .into());
    }
    if produced > emitted {
        emit(&buf[emitted - base..])?;
    }
    Ok(())
}

/// Decompresses only the first `out.len()` bytes of `input`: enough to read a container's
/// header without paying for its body. The rest of `input` is not looked at, so this proves
/// nothing about it; errors are those met before `out` is full ([`LzfError::Short`] when the
/// data ends first).
pub fn decompress_prefix(input: &[u8], out: &mut [u8]) -> Result<(), LzfError> {
    let mut ip = 0usize;
    let mut op = 0usize;
    while op < out.len() {
        let Some(&ctrl) = input.get(ip) else {
            return Err(LzfError::Short {
                produced: op,
                expected: out.len(),
            });
        };
        let start = ip;
        let ctrl = ctrl as usize;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let src = input
                .get(ip..ip + run)
                .ok_or(LzfError::Truncated { at: start })?;
            let take = run.min(out.len() - op);
            out[op..op + take].copy_from_slice(&src[..take]);
            ip += run;
            op += take;
        } else {
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
            // Byte by byte: the reference may overlap what it writes.
            for _ in 0..len.min(out.len() - op) {
                out[op] = out[op - back];
                op += 1;
            }
        }
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

    /// The windowed decompression gives what the whole one gives, whatever the piece
    /// size, across far and overlapping back-references, and the same errors.
    #[test]
    fn windowed_matches_whole() {
        // A compressible 100 KiB made of literals and back-references of every distance.
        let mut input = Vec::new();
        let mut expected: Vec<u8> = Vec::new();
        let mut x = 12345u32;
        while expected.len() < 100_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if expected.len() < 2 || x.is_multiple_of(3) {
                let run = (x >> 8) as usize % 32 + 1;
                input.push(run as u8 - 1);
                for _ in 0..run {
                    x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let b = (x >> 16) as u8;
                    input.push(b);
                    expected.push(b);
                }
            } else {
                let back = 1 + (x >> 4) as usize % expected.len().min(WINDOW);
                let n = 3 + (x >> 20) as usize % 40;
                let enc = n - 2;
                let d = back - 1;
                if enc < 7 {
                    input.push(((enc << 5) | (d >> 8)) as u8);
                } else {
                    input.push(((7 << 5) | (d >> 8)) as u8);
                    input.push((enc - 7) as u8);
                }
                input.push((d & 0xff) as u8);
                for _ in 0..n {
                    let b = expected[expected.len() - back];
                    expected.push(b);
                }
            }
        }
        let mut whole = vec![0u8; expected.len()];
        decompress(&input, &mut whole).unwrap();
        assert!(whole == expected);
        for piece in [1, 7, 4096, 8192, 65536, 1 << 20] {
            let mut got = Vec::new();
            let mut sizes = Vec::new();
            decompress_windowed::<LzfError>(&input, expected.len(), piece, &mut |p| {
                sizes.push(p.len());
                got.extend_from_slice(p);
                Ok(())
            })
            .unwrap();
            assert!(got == expected, "piece {piece}");
            assert!(sizes[..sizes.len() - 1].iter().all(|&n| n == piece));
        }
        for (cut, len) in [
            (input.len() - 1, expected.len()),
            (input.len(), expected.len() - 1),
            (input.len(), expected.len() + 1),
        ] {
            let mut out = vec![0u8; len];
            let whole = decompress(&input[..cut], &mut out).unwrap_err();
            let windowed =
                decompress_windowed::<LzfError>(&input[..cut], len, 4096, &mut |_| Ok(()))
                    .unwrap_err();
            assert_eq!(whole, windowed);
        }
    }

    #[test]
    fn short_form_backref() {
        // "abcabc": literal "abc", then len (1<<5 → 1+2 = 3) at distance 3.
        let data = [0x02, b'a', b'b', b'c', 0x20, 0x02];
        let mut out = vec![0u8; 6];
        decompress(&data, &mut out).unwrap();
        assert_eq!(out, b"abcabc");
    }

    /// The plain byte-by-byte decoder the fast paths must agree with.
    fn reference(input: &[u8], len: usize) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut ip = 0;
        while ip < input.len() {
            let ctrl = input[ip] as usize;
            ip += 1;
            if ctrl < 32 {
                out.extend_from_slice(input.get(ip..ip + ctrl + 1)?);
                ip += ctrl + 1;
            } else {
                let mut l = ctrl >> 5;
                if l == 7 {
                    l += *input.get(ip)? as usize;
                    ip += 1;
                }
                let back = ((ctrl & 0x1F) << 8) + *input.get(ip)? as usize + 1;
                ip += 1;
                let from = out.len().checked_sub(back)?;
                for i in 0..l + 2 {
                    out.push(out[from + i]);
                }
            }
        }
        (out.len() == len).then_some(out)
    }

    #[test]
    fn fast_paths_match_the_reference() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..3000 {
            // A random valid stream: literals and back-references of random distances.
            let mut data = Vec::new();
            let mut produced = 0usize;
            for _ in 0..(next() % 40) {
                if produced == 0 || next() % 3 == 0 {
                    let run = 1 + (next() % 32) as usize;
                    data.push((run - 1) as u8);
                    data.extend((0..run).map(|_| next() as u8));
                    produced += run;
                } else {
                    let back = 1 + (next() as usize % produced.min(8191));
                    let len = 3 + (next() % 262) as usize;
                    let l = len - 2;
                    let b = back - 1;
                    if l < 7 {
                        data.push(((l << 5) | (b >> 8)) as u8);
                    } else {
                        data.push(((7 << 5) | (b >> 8)) as u8);
                        data.push((l - 7) as u8);
                    }
                    data.push((b & 0xFF) as u8);
                    produced += len;
                }
            }
            let expected = reference(&data, produced).unwrap();
            let mut out = vec![0u8; produced];
            decompress(&data, &mut out).unwrap();
            assert_eq!(out, expected);
            assert_eq!(validate(&data, produced), Ok(()));
            // Any prefix decodes to the same bytes, looking only at the data it needs.
            for n in [0, 1, 6, 10, produced / 2, produced] {
                let n = n.min(produced);
                let mut head = vec![0u8; n];
                decompress_prefix(&data, &mut head).unwrap();
                assert_eq!(head, expected[..n]);
            }
            // Declared too short or too long: an error, never a wrong success, and the same
            // error from the check that runs before allocating.
            if produced > 0 {
                let mut short = vec![0u8; produced - 1];
                let e = decompress(&data, &mut short);
                assert!(e.is_err());
                assert_eq!(validate(&data, produced - 1), e);
            }
            let mut long = vec![0u8; produced + 1];
            let e = decompress(&data, &mut long);
            assert!(e.is_err());
            assert_eq!(validate(&data, produced + 1), e);
            // Cut short: truncated or short, never accepted.
            if let Some((_, cut)) = data.split_last() {
                assert!(validate(cut, produced).is_err());
            }
        }
    }

    #[test]
    fn rejects_bad_input() {
        for (data, want) in [
            (&[0x03, b'a'][..], LzfError::Truncated { at: 0 }),
            (&[0x20, 0x00], LzfError::BadReference { at: 0 }),
            (&[0x04, 1, 2, 3, 4, 5], LzfError::Overflow { at: 0 }),
            (
                &[0x01, 1, 2],
                LzfError::Short {
                    produced: 2,
                    expected: 4,
                },
            ),
            (&[0x00, 1, 0xE0], LzfError::Truncated { at: 2 }),
            (&[0x00, 1, 0x20], LzfError::Truncated { at: 2 }),
        ] {
            assert_eq!(validate(data, 4), Err(want), "{data:?}");
        }
        let mut head = [0u8; 4];
        for (data, want) in [
            (&[0x03, b'a'][..], LzfError::Truncated { at: 0 }),
            (&[0x20, 0x00], LzfError::BadReference { at: 0 }),
            (
                &[0x01, 1, 2],
                LzfError::Short {
                    produced: 2,
                    expected: 4,
                },
            ),
            (&[0x00, 1, 0xE0], LzfError::Truncated { at: 2 }),
        ] {
            assert_eq!(decompress_prefix(data, &mut head), Err(want), "{data:?}");
        }
        // What lies past the prefix is not read: a bad tail goes unseen.
        assert_eq!(
            decompress_prefix(&[0x03, 1, 2, 3, 4, 0x20, 0xFF], &mut head),
            Ok(())
        );
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
