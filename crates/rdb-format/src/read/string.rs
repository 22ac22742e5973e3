//! Strings as they sit in a dump ([`RdbString`]), decoded strings ([`Str`]) and the reusable
//! buffer LZF data is decompressed into ([`Scratch`]).

use std::fmt;

use crate::error::{Error, ErrorKind, Result};
use crate::read::lzf;

/// A string as stored in the dump: raw bytes, an integer, or LZF-compressed bytes.
///
/// Raw and integer strings cost nothing to read; LZF strings are decompressed by
/// [`decode`](RdbString::decode) into a [`Scratch`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RdbString<'a> {
    /// Bytes borrowed from the input.
    Raw(&'a [u8]),
    /// An integer-encoded string (its text is the decimal form).
    Int(i64),
    /// LZF-compressed bytes.
    Lzf {
        /// The compressed bytes, borrowed from the input.
        compressed: &'a [u8],
        /// The declared uncompressed length.
        len: u64,
        /// Absolute offset of the compressed string in the input (for errors).
        offset: u64,
    },
}

impl<'a> RdbString<'a> {
    /// Decodes the string, decompressing LZF data into `scratch`.
    pub fn decode<'b>(&self, scratch: &'b Scratch) -> Result<Str<'b>>
    where
        'a: 'b,
    {
        self.decode_with(|compressed, len, offset| scratch.decompress(compressed, len, offset))
    }

    /// Decodes the string like [`decode`](Self::decode), but decompresses LZF data into
    /// `buf`, reused from one string to the next, rather than into a scratch that keeps
    /// everything until it is reset.
    pub fn decode_into<'o>(&self, buf: &'o mut Vec<u8>) -> Result<Str<'o>>
    where
        'a: 'o,
    {
        self.decode_with(|compressed, len, offset| decompress_to(buf, compressed, len, offset))
    }

    /// Decodes the string, LZF data through `decompress` (compressed bytes, declared length,
    /// offset for errors).
    fn decode_with<'o>(
        &self,
        decompress: impl FnOnce(&'a [u8], u64, u64) -> Result<&'o [u8]>,
    ) -> Result<Str<'o>>
    where
        'a: 'o,
    {
        match *self {
            RdbString::Raw(b) => Ok(Str::Bytes(b)),
            RdbString::Int(i) => Ok(Str::Int(i)),
            RdbString::Lzf {
                compressed,
                len,
                offset,
            } => decompress(compressed, len, offset).map(Str::Bytes),
        }
    }

    /// Calls `f` with the decoded bytes in order, at most `piece` bytes at a time, without
    /// holding them whole: raw bytes are borrowed, LZF data is decompressed through an 8 KiB
    /// window ([`lzf::decompress_windowed`]). For strings too big to decompress whole.
    pub fn try_for_each_piece<E: From<Error>>(
        &self,
        piece: usize,
        f: &mut dyn FnMut(&[u8]) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let piece = piece.max(1);
        match *self {
            RdbString::Raw(b) => b.chunks(piece).try_for_each(f),
            RdbString::Int(i) => {
                let mut text = Vec::new();
                Str::Int(i).write_to(&mut text);
                text.chunks(piece).try_for_each(f)
            }
            RdbString::Lzf {
                compressed,
                len,
                offset,
            } => {
                let declared = check_declared_len(compressed, len, offset)?;
                // The caller's error is kept aside; the decompression's is placed at the
                // string.
                let mut failed = None;
                let r = lzf::decompress_windowed(compressed, declared, piece, &mut |p| {
                    f(p).map_err(|e| {
                        failed = Some(e);
                        PieceStop::Caller
                    })
                });
                match (r, failed) {
                    (Err(PieceStop::Lzf(e)), _) => Err(lzf_error(offset, e).into()),
                    (_, Some(e)) => Err(e),
                    _ => Ok(()),
                }
            }
        }
    }

    /// The decoded length in bytes.
    pub fn len(&self) -> u64 {
        match *self {
            RdbString::Raw(b) => b.len() as u64,
            RdbString::Int(i) => Str::Int(i).len() as u64,
            RdbString::Lzf { len, .. } => len,
        }
    }

    /// Whether the decoded string is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the string is LZF-compressed in the dump.
    pub fn is_compressed(&self) -> bool {
        matches!(self, RdbString::Lzf { .. })
    }

    pub(crate) fn located(self, offset: u64) -> Self {
        match self {
            RdbString::Lzf {
                compressed, len, ..
            } => RdbString::Lzf {
                compressed,
                len,
                offset,
            },
            other => other,
        }
    }
}

/// Why a windowed decompression stopped: its data, or the caller's function.
enum PieceStop {
    Lzf(lzf::LzfError),
    Caller,
}

impl From<lzf::LzfError> for PieceStop {
    fn from(e: lzf::LzfError) -> Self {
        PieceStop::Lzf(e)
    }
}

impl fmt::Debug for RdbString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdbString::Raw(b) => write!(f, "Raw({:?})", String::from_utf8_lossy(b)),
            RdbString::Int(i) => write!(f, "Int({i})"),
            RdbString::Lzf {
                compressed, len, ..
            } => {
                write!(f, "Lzf({} bytes -> {len})", compressed.len())
            }
        }
    }
}

/// A decoded string: bytes, or an integer whose text is its decimal form.
///
/// Integers are kept as numbers (ziplists, listpacks and intsets store them so) and turned
/// into text only when a sink asks.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum Str<'b> {
    /// Bytes.
    Bytes(&'b [u8]),
    /// An integer.
    Int(i64),
}

impl<'b> Str<'b> {
    /// Appends the string's bytes (the decimal text for integers) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match *self {
            Str::Bytes(b) => out.extend_from_slice(b),
            Str::Int(i) => {
                let mut buf = [0u8; 20];
                out.extend_from_slice(format_i64(i, &mut buf));
            }
        }
    }

    /// The string's bytes as an owned vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.write_to(&mut v);
        v
    }

    /// Length of the string in bytes (of the decimal text for integers).
    pub fn len(&self) -> usize {
        match *self {
            Str::Bytes(b) => b.len(),
            Str::Int(i) => {
                let mut buf = [0u8; 20];
                format_i64(i, &mut buf).len()
            }
        }
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        matches!(self, Str::Bytes(b) if b.is_empty())
    }

    /// The string's value as an integer, when it is one (or bytes that are a canonical integer).
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Str::Int(i) => Some(i),
            Str::Bytes(b) => {
                let s = std::str::from_utf8(b).ok()?;
                let i: i64 = s.parse().ok()?;
                let mut buf = [0u8; 20];
                (format_i64(i, &mut buf) == b).then_some(i)
            }
        }
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Str::Bytes(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Str::Int(i) => write!(f, "{i}"),
        }
    }
}

/// Decimal text of `i`, written into `buf` (20 bytes hold any i64).
pub(crate) fn format_i64(i: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        pos -= 1;
        buf[pos] = b'-';
    }
    &buf[pos..]
}

/// Memory that LZF-compressed strings and blobs are decompressed into.
///
/// Decoded values borrow from it; [`reset`](Scratch::reset) it between records to reuse the
/// memory. Everything else a decoded value holds is borrowed from the input.
#[derive(Default)]
pub struct Scratch {
    bump: bumpalo::Bump,
}

impl Scratch {
    /// An empty scratch area.
    pub fn new() -> Self {
        Self::default()
    }

    /// Frees everything decompressed so far, keeping the memory for reuse.
    pub fn reset(&mut self) {
        self.bump.reset();
    }

    /// Bytes currently allocated (for memory accounting).
    pub fn allocated_bytes(&self) -> usize {
        self.bump.allocated_bytes()
    }

    pub(crate) fn decompress(&self, compressed: &[u8], len: u64, offset: u64) -> Result<&[u8]> {
        decompress_into(compressed, len, offset, |n| {
            self.bump.alloc_slice_fill_copy(n, 0u8)
        })
    }
}

/// Decompresses LZF data into `buf`, reused from one string to the next (what it held is
/// dropped); errors name `offset`.
pub(crate) fn decompress_to<'o>(
    buf: &'o mut Vec<u8>,
    compressed: &[u8],
    len: u64,
    offset: u64,
) -> Result<&'o [u8]> {
    decompress_into(compressed, len, offset, |n| {
        buf.clear();
        buf.resize(n, 0);
        buf.as_mut_slice()
    })
}

/// An LZF string's decompression error, placed at the string.
pub(crate) fn lzf_error(offset: u64, e: lzf::LzfError) -> Error {
    Error::new(
        offset,
        "LZF string",
        ErrorKind::Invalid(e.to_string().into()),
    )
}

/// Refuses a declared length that `compressed` cannot expand to (no valid data could).
fn check_declared_len(compressed: &[u8], len: u64, offset: u64) -> Result<usize> {
    match usize::try_from(len) {
        Ok(n) if len <= lzf::max_decompressed_len(compressed.len()) => Ok(n),
        _ => Err(Error::new(
            offset,
            "LZF string",
            ErrorKind::Invalid(
                format!(
                    "declared length {len} is more than {} compressed bytes can hold",
                    compressed.len()
                )
                .into(),
            ),
        )),
    }
}

/// Decompresses LZF data of declared length `len` into the buffer `alloc` gives for that
/// length, once the claim is checked; errors name `offset`.
pub(crate) fn decompress_into<'o>(
    compressed: &[u8],
    len: u64,
    offset: u64,
    alloc: impl FnOnce(usize) -> &'o mut [u8],
) -> Result<&'o [u8]> {
    check_declared_len(compressed, len, offset)?;
    // The declared length is only a claim: past 4 times the compressed size, prove it
    // before allocating it, so a false claim costs at most that much memory. (Below, the
    // check would cost more time than the allocation risks: data that compresses little
    // is mostly literals, which the check walks one run at a time.)
    if len > 4 * compressed.len() as u64 {
        lzf::validate(compressed, len as usize).map_err(|e| lzf_error(offset, e))?;
    }
    let out = alloc(len as usize);
    lzf::decompress(compressed, out).map_err(|e| lzf_error(offset, e))?;
    Ok(out)
}

impl fmt::Debug for Scratch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scratch({} bytes)", self.bump.allocated_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_text() {
        for i in [0i64, 1, -1, 12, 127, -128, 65535, i64::MAX, i64::MIN] {
            assert_eq!(Str::Int(i).to_vec(), i.to_string().into_bytes());
            assert_eq!(Str::Int(i).len(), i.to_string().len());
        }
        assert_eq!(Str::Bytes(b"123").as_i64(), Some(123));
        assert_eq!(Str::Bytes(b"0123").as_i64(), None);
    }

    #[test]
    fn lzf_strings_decode_into_scratch() {
        let scratch = Scratch::new();
        let s = RdbString::Lzf {
            compressed: &[0x00, b'a', 0xE0, 0x00, 0x00],
            len: 10,
            offset: 7,
        };
        assert_eq!(s.decode(&scratch).unwrap(), Str::Bytes(b"aaaaaaaaaa"));
        let bad = RdbString::Lzf {
            compressed: &[0x00, b'a'],
            len: 10,
            offset: 7,
        };
        assert_eq!(bad.decode(&scratch).unwrap_err().offset, 7);
    }

    /// Pieces join into what `decode` gives, for every kind of stored string; errors are
    /// the decompression's (at the string) or the caller's.
    #[test]
    fn pieces_join_into_the_decoded_string() {
        // 'a', then a 264-byte back-reference at distance 1, eight times: 2,113 bytes.
        let mut compressed = vec![0x00, b'a'];
        for _ in 0..8 {
            compressed.extend_from_slice(&[0xE0, 255, 0x00]);
        }
        let lzf = RdbString::Lzf {
            compressed: &compressed,
            len: 1 + 8 * 264,
            offset: 7,
        };
        let raw = RdbString::Raw(b"hello, pieces");
        let int = RdbString::Int(-1234);
        for s in [lzf, raw, int] {
            let scratch = Scratch::new();
            let whole = s.decode(&scratch).unwrap().to_vec();
            for piece in [1, 5, 1000, 1 << 20] {
                let mut joined = Vec::new();
                s.try_for_each_piece(piece, &mut |p| {
                    assert!(p.len() <= piece);
                    joined.extend_from_slice(p);
                    Ok::<(), Error>(())
                })
                .unwrap();
                assert_eq!(joined, whole);
            }
        }
        let bad = RdbString::Lzf {
            compressed: &compressed[..5],
            len: 1 + 8 * 264,
            offset: 7,
        };
        let e = bad
            .try_for_each_piece(100, &mut |_| Ok::<(), Error>(()))
            .unwrap_err();
        assert_eq!(e.offset, 7);
        let stop = Error::new(99, "caller", ErrorKind::Truncated);
        let e = lzf
            .try_for_each_piece(100, &mut |_| Err(stop.clone()))
            .unwrap_err();
        assert_eq!(e.offset, 99);
    }
}
