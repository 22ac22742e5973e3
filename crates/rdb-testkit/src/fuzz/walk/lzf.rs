//! The `lzf` target: the decompressor against a plain reading of the format.

use rdb_format::lzf::{self, LzfError};

/// The `lzf` target: two bytes of declared output length (little-endian), then the data.
pub fn lzf(data: &[u8]) {
    let [a, b, input @ ..] = data else { return };
    let declared = usize::from(u16::from_le_bytes([*a, *b]));
    let mut out = vec![0u8; declared];
    let r = lzf::decompress(input, &mut out);
    match r {
        Ok(()) => {
            assert!(declared as u64 <= lzf::max_decompressed_len(input.len()));
        }
        Err(LzfError::Truncated { at })
        | Err(LzfError::BadReference { at })
        | Err(LzfError::Overflow { at }) => {
            assert!(
                at < input.len(),
                "LZF error position {at} past {}",
                input.len()
            );
        }
        Err(LzfError::Short { produced, expected }) => {
            assert_eq!(expected, declared);
            assert!(produced < expected);
        }
        Err(e) => panic!("an LZF error the fuzz walk does not know: {e:?}"),
    }
    // The same as a plain, byte-at-a-time reading of the format (liblzf's `lzf_d.c`), which
    // the decoder's fast paths (over-long literal copies, 8-byte back-reference chunks) must not
    // change: same bytes out, and an error exactly when the plain reading has one.
    let plain = lzf_plain(input, declared);
    match (&r, &plain) {
        (Ok(()), Ok(bytes)) => assert!(out == *bytes, "LZF output differs from a plain reading"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "LZF decoder says {a:?}, a plain reading {:?}",
            b.as_ref().map(|_| ())
        ),
    }
    // The windowed decompression (huge strings) agrees: same bytes, same error.
    let mut pieces = Vec::new();
    let piece = 1 + declared % 97;
    let windowed = lzf::decompress_windowed::<LzfError>(input, declared, piece, &mut |p| {
        assert!(p.len() <= piece);
        pieces.extend_from_slice(p);
        Ok(())
    });
    match (&r, &windowed) {
        (Ok(()), Ok(())) => assert!(pieces == out, "windowed LZF output differs"),
        (Err(a), Err(b)) => assert_eq!(a, b, "windowed LZF fails otherwise"),
        (a, b) => panic!("LZF decoder says {a:?}, the windowed one {b:?}"),
    }
    // What the input literally says must come back out of a literal-only encoding.
    let mut compressed = Vec::new();
    for chunk in input.chunks(32) {
        compressed.push(chunk.len() as u8 - 1);
        compressed.extend_from_slice(chunk);
    }
    let mut back = vec![0u8; input.len()];
    lzf::decompress(&compressed, &mut back).expect("literal-only LZF");
    assert_eq!(back, input);
}

/// LZF decompression written as plainly as the format reads: one byte at a time.
fn lzf_plain(input: &[u8], expected: usize) -> Result<Vec<u8>, LzfError> {
    let mut out: Vec<u8> = Vec::with_capacity(expected);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        let start = ip;
        ip += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            if ip + run > input.len() {
                return Err(LzfError::Truncated { at: start });
            }
            if out.len() + run > expected {
                return Err(LzfError::Overflow { at: start });
            }
            out.extend_from_slice(&input[ip..ip + run]);
            ip += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += usize::from(*input.get(ip).ok_or(LzfError::Truncated { at: start })?);
                ip += 1;
            }
            len += 2;
            let low = usize::from(*input.get(ip).ok_or(LzfError::Truncated { at: start })?);
            ip += 1;
            let back = ((ctrl & 0x1F) << 8) + low + 1;
            if back > out.len() {
                return Err(LzfError::BadReference { at: start });
            }
            if out.len() + len > expected {
                return Err(LzfError::Overflow { at: start });
            }
            for _ in 0..len {
                out.push(out[out.len() - back]);
            }
        }
    }
    if out.len() != expected {
        return Err(LzfError::Short {
            produced: out.len(),
            expected,
        });
    }
    Ok(out)
}
