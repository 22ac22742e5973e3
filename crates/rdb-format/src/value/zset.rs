//! A sorted set's members and scores, whatever the encoding.

use crate::error::{Error, ErrorKind, Result};
use crate::read::blob::{Pairs, Strings};
use crate::read::listpack::Listpack;
use crate::read::origin::finish;
use crate::read::primitive::{f64_le, parse_f64, string_double};
use crate::read::string::Str;
use crate::read::ziplist::Ziplist;

/// A sorted set's `(member, score)` pairs in file order.
#[derive(Clone, Debug)]
pub struct ZSet<'b>(pub(super) ZSetInner<'b>);

#[derive(Clone, Debug)]
pub(super) enum ZSetInner<'b> {
    /// Ended by an error.
    Done,
    /// `ZSET` (text scores) or `ZSET_2` (binary scores).
    Plain {
        strings: Strings<'b>,
        binary: bool,
    },
    Ziplist(Pairs<Ziplist<'b>>),
    Listpack(Pairs<Listpack<'b>>),
}

fn blob_score(s: Str<'_>, at: u64) -> Result<f64> {
    match s {
        Str::Int(i) => Ok(i as f64),
        Str::Bytes(b) => parse_f64(b).ok_or_else(|| {
            Error::new(
                at,
                "zset score",
                ErrorKind::Invalid("score is not a number".into()),
            )
        }),
    }
}

impl<'b> ZSet<'b> {
    /// Calls `f` with each member and score, in file order, stopping at the first error.
    /// Unlike the iterator, which decompresses into the record's scratch (kept until it is
    /// reset), compressed members are decompressed into one buffer reused from one to the
    /// next. A member lives for its call only.
    pub fn try_for_each_member<E: From<Error>>(
        self,
        mut f: impl FnMut(Str<'_>, f64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self.0 {
            ZSetInner::Plain {
                mut strings,
                binary,
            } => {
                let mut buf = Vec::new();
                while strings.remaining > 0 {
                    strings.remaining -= 1;
                    let (member, score) = Self::next_plain(&mut strings, binary, Some(&mut buf))?;
                    f(member, score)?;
                }
                Ok(())
            }
            // The other encodings are one blob, decompressed once.
            other => ZSet(other).try_for_each(|m| {
                let (member, score) = m?;
                f(member, score)
            }),
        }
    }

    /// The next member of a plain sorted set, decompressed into `buf` or, without it, into
    /// the scratch.
    fn next_plain<'o>(
        strings: &mut Strings<'b>,
        binary: bool,
        buf: Option<&'o mut Vec<u8>>,
    ) -> Result<(Str<'o>, f64)>
    where
        'b: 'o,
    {
        let member = match buf {
            Some(buf) => strings.next_string_in(buf)?,
            None => strings.next_string()?,
        };
        let (rest, score) = if binary {
            finish(&strings.origin, f64_le(strings.rest, "zset score"))?
        } else {
            finish(&strings.origin, string_double(strings.rest))?
        };
        strings.rest = rest;
        Ok((member, score))
    }
}

impl<'b> Iterator for ZSet<'b> {
    type Item = Result<(Str<'b>, f64)>;
    fn next(&mut self) -> Option<Self::Item> {
        let r = self.step();
        if let Some(Err(_)) = r {
            // Nothing after an error: the rest of the blob cannot be trusted.
            self.0 = ZSetInner::Done;
        }
        r
    }
}

impl<'b> ZSet<'b> {
    fn step(&mut self) -> Option<Result<(Str<'b>, f64)>> {
        match &mut self.0 {
            ZSetInner::Done => None,
            ZSetInner::Plain { strings, binary } => {
                if strings.remaining == 0 {
                    return None;
                }
                strings.remaining -= 1;
                let r = Self::next_plain(strings, *binary, None);
                if r.is_err() {
                    strings.remaining = 0;
                }
                Some(r)
            }
            ZSetInner::Ziplist(p) => {
                let at = p.at;
                Some(p.next()?.and_then(|(m, s)| Ok((m, blob_score(s, at)?))))
            }
            ZSetInner::Listpack(p) => {
                let at = p.at;
                Some(p.next()?.and_then(|(m, s)| Ok((m, blob_score(s, at)?))))
            }
        }
    }
}
