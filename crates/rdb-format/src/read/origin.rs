//! The parser error type and where an error is: [`Fail`] carries the input left at the failure
//! and what was read; [`Origin`] turns that into the public [`Error`] with an absolute offset.

use std::borrow::Cow;

use nom::error::{ContextError, ErrorKind as NomErrorKind, ParseError};
use nom::IResult;

use crate::error::{Error, ErrorKind};

/// A parser error: the input left where it happened, what was being read, what was wrong.
#[derive(Debug)]
pub(crate) struct Fail<'a> {
    pub at: &'a [u8],
    pub context: &'static str,
    pub kind: ErrorKind,
}

impl<'a> ParseError<&'a [u8]> for Fail<'a> {
    fn from_error_kind(input: &'a [u8], _kind: NomErrorKind) -> Self {
        // With complete input every nom failure we use (take, le_u32, ...) means "ran out".
        Fail {
            at: input,
            context: "",
            kind: ErrorKind::Truncated,
        }
    }
    fn append(_input: &'a [u8], _kind: NomErrorKind, other: Self) -> Self {
        other
    }
}

impl<'a> ContextError<&'a [u8]> for Fail<'a> {
    fn add_context(_input: &'a [u8], context: &'static str, mut other: Self) -> Self {
        // The innermost context names the element best.
        if other.context.is_empty() {
            other.context = context;
        }
        other
    }
}

pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, Fail<'a>>;

/// A failed parse at `at`.
pub(crate) fn fail<'a, T>(at: &'a [u8], context: &'static str, kind: ErrorKind) -> PResult<'a, T> {
    Err(nom::Err::Error(Fail { at, context, kind }))
}

/// A failed parse with a plain message.
pub(crate) fn invalid<'a, T>(
    at: &'a [u8],
    context: &'static str,
    msg: impl Into<Cow<'static, str>>,
) -> PResult<'a, T> {
    fail(at, context, ErrorKind::Invalid(msg.into()))
}

/// Where a slice sits in the original input, so errors can name an absolute offset.
///
/// `base` starts at absolute offset `offset`. When `lzf` is set, `base` is a decompressed blob
/// whose compressed form starts at `offset`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Origin<'b> {
    pub base: &'b [u8],
    pub offset: u64,
    pub lzf: bool,
}

impl<'b> Origin<'b> {
    pub fn new(base: &'b [u8], offset: u64) -> Self {
        Origin {
            base,
            offset,
            lzf: false,
        }
    }

    pub fn decompressed(base: &'b [u8], offset: u64) -> Self {
        Origin {
            base,
            offset,
            lzf: true,
        }
    }

    /// Position of `part` (a sub-slice of `base`) in `base`; clamped for foreign slices.
    pub fn pos(&self, part: &[u8]) -> u64 {
        let start = self.base.as_ptr() as usize;
        let p = part.as_ptr() as usize;
        p.saturating_sub(start).min(self.base.len()) as u64
    }

    /// Absolute offset of `part`, for data that is not inside a decompressed blob.
    pub fn offset_of(&self, part: &[u8]) -> u64 {
        if self.lzf {
            self.offset
        } else {
            self.offset + self.pos(part)
        }
    }

    /// A sub-origin for a slice of this one (same blob).
    pub fn sub(&self, part: &'b [u8]) -> Origin<'b> {
        if self.lzf {
            // Keep the blob as the base so inner positions stay relative to it.
            *self
        } else {
            Origin {
                base: part,
                offset: self.offset_of(part),
                lzf: false,
            }
        }
    }

    pub fn error(&self, f: Fail<'_>) -> Error {
        let pos = self.pos(f.at);
        let context = if f.context.is_empty() {
            "value"
        } else {
            f.context
        };
        if self.lzf {
            Error {
                offset: self.offset,
                blob_offset: Some(pos),
                context,
                kind: f.kind,
            }
        } else {
            Error::new(self.offset + pos, context, f.kind)
        }
    }

    pub fn nom_error(&self, e: nom::Err<Fail<'_>>) -> Error {
        match e {
            nom::Err::Error(f) | nom::Err::Failure(f) => self.error(f),
            // Unreachable with complete input; keep an honest error rather than panic.
            nom::Err::Incomplete(_) => Error::new(self.offset, "value", ErrorKind::Truncated),
        }
    }
}

/// One step of a blob iterator, fused: after the end or an error it yields nothing more.
pub(crate) fn fused<T>(
    done: &mut bool,
    step: crate::Result<Option<T>>,
) -> Option<crate::Result<T>> {
    match step {
        Ok(Some(v)) => Some(Ok(v)),
        Ok(None) => {
            *done = true;
            None
        }
        Err(e) => {
            *done = true;
            Some(Err(e))
        }
    }
}

/// Converts a nom result into the public error, naming the absolute offset.
pub(crate) fn finish<'a, T>(
    origin: &Origin<'_>,
    r: PResult<'a, T>,
) -> crate::Result<(&'a [u8], T)> {
    r.map_err(|e| origin.nom_error(e))
}
