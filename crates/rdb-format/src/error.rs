//! The decoder's error type: what went wrong, at which byte of the input.

use std::borrow::Cow;
use std::fmt;

/// A decoding error, with the absolute byte offset in the input where it was found.
///
/// For data inside an LZF-compressed blob, `offset` is where that blob starts in the input and
/// `blob_offset` the position inside the decompressed bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Byte offset in the input (from the first byte of the magic).
    pub offset: u64,
    /// Position inside an LZF-decompressed blob, when the error is there.
    pub blob_offset: Option<u64>,
    /// The format element being read, e.g. `"listpack entry"`.
    pub context: &'static str,
    /// What was wrong.
    pub kind: ErrorKind,
}

/// The kinds of [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input ended in the middle of an element.
    #[error("unexpected end of input")]
    Truncated,
    /// A length or count points past the end of its enclosing blob or input.
    #[error("length {length} past end of {container} ({available} bytes left)")]
    PastEnd {
        /// The declared length.
        length: u64,
        /// What holds the element, e.g. `"blob"` or `"input"`.
        container: &'static str,
        /// Bytes that were left.
        available: u64,
    },
    /// The 9-byte magic is neither `REDIS` nor `VALKEY` followed by digits.
    #[error("not an RDB file: magic {0:?}")]
    BadMagic(String),
    /// A version this decoder does not know (newer than it, or not used by any server).
    #[error("unsupported RDB version {version} ({flavor}); newest known is {newest}")]
    UnsupportedVersion {
        /// The version number from the magic.
        version: u32,
        /// `"Redis"` or `"Valkey"`.
        flavor: &'static str,
        /// The newest version known for that flavor.
        newest: u32,
    },
    /// A type or opcode byte that this decoder cannot read for this version.
    #[error("unknown or unsupported {what} byte {byte} in RDB version {version}{hint}")]
    UnknownByte {
        /// `"type"` or `"opcode"`.
        what: &'static str,
        /// The byte.
        byte: u8,
        /// The file's RDB version.
        version: u32,
        /// Why it cannot be read, when known.
        hint: Cow<'static, str>,
    },
    /// The stored CRC64 does not match the computed one.
    #[error("checksum mismatch: stored {stored:#018x}, computed {computed:#018x}")]
    ChecksumMismatch {
        /// The checksum in the file.
        stored: u64,
        /// The checksum of the bytes read.
        computed: u64,
    },
    /// Anything else that breaks the format's rules.
    #[error("{0}")]
    Invalid(Cow<'static, str>),
}

impl Error {
    /// An error at `offset` while reading `context`.
    pub fn new(offset: u64, context: &'static str, kind: ErrorKind) -> Self {
        Error {
            offset,
            blob_offset: None,
            context,
            kind,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.blob_offset {
            Some(inner) => write!(
                f,
                "{} at offset {} (byte {} of the LZF-compressed blob there): {}",
                self.context, self.offset, inner, self.kind
            ),
            None => write!(
                f,
                "{} at offset {}: {}",
                self.context, self.offset, self.kind
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Result with the decoder's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
