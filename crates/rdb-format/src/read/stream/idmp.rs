//! Idempotent-producer (IDMP) state of a stream, Redis 8.6's `STREAM_LISTPACKS_4`: the IDs a
//! producer sent with `XADD ... IDMP`, so a retried message is recognised.
//!
//! ```text
//! idmp_duration:len idmp_max_entries:len
//! producers:len { pid:str entries:len { iid:str id.ms:len id.seq:len } }
//! iids_added:len iids_duplicates:len
//! ```

use crate::error::Result;
use crate::read::string::{RdbString, Scratch, Str};
use crate::read::{count, finish, length, rdb_string, skip_string, Origin, PResult};

use super::{id_pair, StreamId};

/// The IDMP section; returns it whole (it is walked again, lazily, by [`Idmp`]).
pub(super) fn idmp_section(input: &[u8]) -> PResult<'_, &[u8]> {
    let (rest, _duration) = length(input)?;
    let (rest, _max_entries) = length(rest)?;
    let (mut rest, producers) = count(rest, 2, "stream IDMP producer count")?;
    for _ in 0..producers {
        rest = producer(rest)?.0;
    }
    let (rest, _added) = length(rest)?;
    let (rest, _duplicates) = length(rest)?;
    Ok((rest, &input[..input.len() - rest.len()]))
}

/// One producer: its id, then its IIDs as a sub-slice and their count.
fn producer(input: &[u8]) -> PResult<'_, (RdbString<'_>, &[u8], u64)> {
    let (rest, pid) = rdb_string(input)?;
    let (start, n) = count(rest, 3, "stream IDMP entry count")?;
    let mut rest = start;
    for _ in 0..n {
        rest = skip_string(rest)?.0;
        rest = id_pair(rest)?.0;
    }
    Ok((rest, (pid, &start[..start.len() - rest.len()], n)))
}

/// A stream's idempotent-producer state (Redis 8.6+).
#[derive(Clone, Debug)]
pub struct Idmp<'b> {
    /// How long an IID is remembered, in seconds (`IDMP-DURATION`).
    pub duration: u64,
    /// How many IIDs are remembered (`IDMP-MAXSIZE`).
    pub max_entries: u64,
    /// IIDs ever added (`XINFO STREAM` `iids-added`).
    pub iids_added: u64,
    /// Duplicate IIDs detected (`iids-duplicates`).
    pub iids_duplicates: u64,
    producers: &'b [u8],
    producer_count: u64,
    origin: Origin<'b>,
    scratch: &'b Scratch,
}

impl<'b> Idmp<'b> {
    /// `raw` is a section [`idmp_section`] accepted.
    pub(super) fn new(raw: &'b [u8], origin: Origin<'b>, scratch: &'b Scratch) -> Result<Self> {
        let (rest, duration) = finish(&origin, length(raw))?;
        let (rest, max_entries) = finish(&origin, length(rest))?;
        let (body, producer_count) = finish(&origin, length(rest))?;
        // The two counters follow the producers.
        let mut end = body;
        for _ in 0..producer_count {
            end = finish(&origin, producer(end))?.0;
        }
        let (rest, iids_added) = finish(&origin, length(end))?;
        let (_, iids_duplicates) = finish(&origin, length(rest))?;
        Ok(Idmp {
            duration,
            max_entries,
            iids_added,
            iids_duplicates,
            producers: &body[..body.len() - end.len()],
            producer_count,
            origin,
            scratch,
        })
    }

    /// The producers and the IIDs each has sent.
    pub fn producers(&self) -> IdmpProducers<'b> {
        IdmpProducers {
            rest: self.producers,
            remaining: self.producer_count,
            origin: self.origin,
            scratch: self.scratch,
        }
    }

    /// Number of producers.
    pub fn producer_count(&self) -> u64 {
        self.producer_count
    }
}

/// Iterator over a stream's IDMP producers.
#[derive(Clone, Debug)]
pub struct IdmpProducers<'b> {
    rest: &'b [u8],
    remaining: u64,
    origin: Origin<'b>,
    scratch: &'b Scratch,
}

/// One producer: its id and the IIDs it sent.
#[derive(Clone, Debug)]
pub struct IdmpProducer<'b> {
    /// Producer id (`pid`).
    pub pid: Str<'b>,
    /// The IIDs remembered for it, with the entry each one added.
    pub entries: IdmpEntries<'b>,
}

/// One remembered IID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdmpEntry<'b> {
    /// The idempotency id the producer gave.
    pub iid: Str<'b>,
    /// The stream entry that message became.
    pub id: StreamId,
}

/// Iterator over one producer's IIDs.
#[derive(Clone, Debug)]
pub struct IdmpEntries<'b> {
    rest: &'b [u8],
    remaining: u64,
    origin: Origin<'b>,
    scratch: &'b Scratch,
}

impl IdmpEntries<'_> {
    /// Number of IIDs.
    pub fn len(&self) -> u64 {
        self.remaining
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }
}

fn string_at<'b>(
    input: &'b [u8],
    origin: &Origin<'b>,
    scratch: &'b Scratch,
) -> Result<(&'b [u8], Str<'b>)> {
    let (rest, s): (&[u8], RdbString<'b>) = finish(origin, rdb_string(input))?;
    Ok((rest, s.located(origin.offset_of(input)).decode(scratch)?))
}

impl<'b> Iterator for IdmpProducers<'b> {
    type Item = Result<IdmpProducer<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let r = (|| {
            let at = self.origin.offset_of(self.rest);
            let (rest, (pid, entries, n)) = finish(&self.origin, producer(self.rest))?;
            self.rest = rest;
            Ok(IdmpProducer {
                pid: pid.located(at).decode(self.scratch)?,
                entries: IdmpEntries {
                    rest: entries,
                    remaining: n,
                    origin: self.origin,
                    scratch: self.scratch,
                },
            })
        })();
        if r.is_err() {
            self.remaining = 0;
        }
        Some(r)
    }
}

impl<'b> Iterator for IdmpEntries<'b> {
    type Item = Result<IdmpEntry<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let r = (|| {
            let (rest, iid) = string_at(self.rest, &self.origin, self.scratch)?;
            let (rest, id) = finish(&self.origin, id_pair(rest))?;
            self.rest = rest;
            Ok(IdmpEntry { iid, id })
        })();
        if r.is_err() {
            self.remaining = 0;
        }
        Some(r)
    }
}
