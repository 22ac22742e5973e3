//! Consumer groups: their pending entries lists (PEL) and consumers.

use crate::error::Result;
use crate::read::string::{RdbString, Scratch, Str};
use crate::read::{count, finish, length, rdb_string, take_len, u64_le, Origin, PResult};

use super::{id_pair, raw_id, StreamId};

/// One consumer group as laid out in the dump, with its PEL and consumers as sub-slices.
struct RawGroup<'b> {
    name: RdbString<'b>,
    name_at: &'b [u8],
    last_id: StreamId,
    entries_read: Option<u64>,
    pel: &'b [u8],
    pel_len: u64,
    consumers: &'b [u8],
    consumers_len: u64,
}

const PEL_ENTRY_MIN: u64 = 16 + 8 + 1;

fn pel_entry(input: &[u8]) -> PResult<'_, PendingEntry> {
    let (rest, id) = raw_id(input)?;
    let (rest, delivery_time) = u64_le(rest, "stream PEL delivery time")?;
    // Times are signed milliseconds (-1 = never).
    let delivery_time_ms = delivery_time as i64;
    let (rest, delivery_count) = length(rest)?;
    Ok((
        rest,
        PendingEntry {
            id,
            delivery_time_ms,
            delivery_count,
        },
    ))
}

struct RawConsumer<'b> {
    name: RdbString<'b>,
    name_at: &'b [u8],
    seen_time_ms: i64,
    active_time_ms: Option<i64>,
    pel: &'b [u8],
}

fn consumer(input: &[u8], version: u8) -> PResult<'_, RawConsumer<'_>> {
    let (rest, name) = rdb_string(input)?;
    let (mut rest, seen_time) = u64_le(rest, "stream consumer seen time")?;
    let seen_time_ms = seen_time as i64;
    let mut active_time_ms = None;
    if version >= 3 {
        let (r, t) = u64_le(rest, "stream consumer active time")?;
        rest = r;
        active_time_ms = Some(t as i64);
    }
    let (rest, n) = count(rest, 16, "stream consumer PEL length")?;
    let (rest, pel) = take_len(rest, n * 16, "stream consumer PEL")?;
    Ok((
        rest,
        RawConsumer {
            name,
            name_at: input,
            seen_time_ms,
            active_time_ms,
            pel,
        },
    ))
}

fn consumer_group(input: &[u8], version: u8) -> PResult<'_, RawGroup<'_>> {
    let (rest, name) = rdb_string(input)?;
    let (mut rest, last_id) = id_pair(rest)?;
    let mut entries_read = None;
    if version >= 2 {
        let (r, n) = length(rest)?;
        rest = r;
        entries_read = Some(n);
    }
    let (mut rest, pel_len) = count(rest, PEL_ENTRY_MIN, "stream PEL length")?;
    let pel = rest;
    for _ in 0..pel_len {
        rest = pel_entry(rest)?.0;
    }
    let pel = &pel[..pel.len() - rest.len()];
    let (mut rest, consumers_len) = count(rest, 9, "stream consumer count")?;
    let consumers = rest;
    for _ in 0..consumers_len {
        rest = consumer(rest, version)?.0;
    }
    let consumers = &consumers[..consumers.len() - rest.len()];
    Ok((
        rest,
        RawGroup {
            name,
            name_at: input,
            last_id,
            entries_read,
            pel,
            pel_len,
            consumers,
            consumers_len,
        },
    ))
}

pub(super) fn consumer_groups(input: &[u8], version: u8) -> PResult<'_, (&[u8], u64)> {
    let (mut rest, n) = count(input, 3, "stream group count")?;
    let start = rest;
    for _ in 0..n {
        rest = consumer_group(rest, version)?.0;
    }
    Ok((rest, (&start[..start.len() - rest.len()], n)))
}

/// A consumer group.
#[derive(Clone, Debug)]
pub struct ConsumerGroup<'b> {
    /// Group name.
    pub name: Str<'b>,
    /// Last delivered id.
    pub last_delivered_id: StreamId,
    /// Entries read (layout 2+); `u64::MAX` when Redis does not know it (`XINFO` shows nil).
    pub entries_read: Option<u64>,
    /// The group's pending entries.
    pub pending: Pending<'b>,
    /// The group's consumers.
    pub consumers: Consumers<'b>,
}

/// Iterator over a stream's consumer groups.
#[derive(Clone, Debug)]
pub struct ConsumerGroups<'b> {
    rest: &'b [u8],
    remaining: u64,
    version: u8,
    origin: Origin<'b>,
    scratch: &'b Scratch,
}

impl<'b> ConsumerGroups<'b> {
    pub(super) fn new(
        rest: &'b [u8],
        remaining: u64,
        version: u8,
        origin: Origin<'b>,
        scratch: &'b Scratch,
    ) -> Self {
        ConsumerGroups {
            rest,
            remaining,
            version,
            origin,
            scratch,
        }
    }
}

impl<'b> Iterator for ConsumerGroups<'b> {
    type Item = Result<ConsumerGroup<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let r = (|| {
            let (rest, g) = finish(&self.origin, consumer_group(self.rest, self.version))?;
            self.rest = rest;
            let name = g
                .name
                .located(self.origin.offset_of(g.name_at))
                .decode(self.scratch)?;
            Ok(ConsumerGroup {
                name,
                last_delivered_id: g.last_id,
                entries_read: g.entries_read,
                pending: Pending {
                    rest: g.pel,
                    remaining: g.pel_len,
                    origin: self.origin,
                },
                consumers: Consumers {
                    rest: g.consumers,
                    remaining: g.consumers_len,
                    version: self.version,
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

impl<'b> ConsumerGroup<'b> {
    /// The group's pending entries, each with the consumer that owns it (`None` when no
    /// consumer lists its id), in file order.
    ///
    /// The dump stores owners only in the consumers' own lists. They are matched a window of
    /// entries at a time, so memory stays bounded however long the PEL is: Redis writes every
    /// list in id order, which lets each consumer's list be searched; lists out of order are
    /// scanned whole for each window instead. When two consumers list an id, the last wins.
    pub fn pending_with_owners(&self) -> PendingOwners<'b> {
        PendingOwners {
            pending: self.pending.clone(),
            consumers: self.consumers.clone(),
            sorted: None,
            window: Vec::new().into_iter(),
            failed: false,
        }
    }
}

/// Pending entries matched with their owners per window of this many entries.
const OWNER_WINDOW: usize = 16 * 1024;

/// Iterator over a group's pending entries with their owning consumers; see
/// [`ConsumerGroup::pending_with_owners`].
#[derive(Clone, Debug)]
pub struct PendingOwners<'b> {
    pending: Pending<'b>,
    consumers: Consumers<'b>,
    /// Whether every consumer's list is in ascending id order (checked once).
    sorted: Option<bool>,
    window: std::vec::IntoIter<(PendingEntry, Option<Str<'b>>)>,
    failed: bool,
}

fn be_id(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.ms.to_be_bytes());
    b[8..].copy_from_slice(&id.seq.to_be_bytes());
    b
}

impl<'b> PendingOwners<'b> {
    /// Calls `f` with each consumer's raw form, in file order.
    fn each_consumer(&self, mut f: impl FnMut(&RawConsumer<'b>) -> Result<()>) -> Result<()> {
        let c = &self.consumers;
        let mut rest = c.rest;
        for _ in 0..c.remaining {
            let (r, raw) = finish(&c.origin, consumer(rest, c.version))?;
            f(&raw)?;
            rest = r;
        }
        Ok(())
    }

    /// The next window of entries with owners filled in; false at the end.
    fn fill(&mut self) -> Result<bool> {
        let mut entries = Vec::new();
        for p in self.pending.by_ref().take(OWNER_WINDOW) {
            entries.push((p?, None));
        }
        if entries.is_empty() {
            return Ok(false);
        }
        // Big-endian ids compare as bytes in id order.
        let mut index: Vec<([u8; 16], usize)> = entries
            .iter()
            .enumerate()
            .map(|(i, (p, _)): (usize, &(PendingEntry, Option<Str<'b>>))| (be_id(p.id), i))
            .collect();
        index.sort_unstable();
        let (lo, hi) = (index[0].0, index[index.len() - 1].0);
        let sorted = match self.sorted {
            Some(s) => s,
            None => {
                let mut all = true;
                self.each_consumer(|c| {
                    all &= c
                        .pel
                        .chunks_exact(16)
                        .zip(c.pel.chunks_exact(16).skip(1))
                        .all(|(a, b)| a < b);
                    Ok(())
                })?;
                self.sorted = Some(all);
                all
            }
        };
        let (origin, scratch) = (self.consumers.origin, self.consumers.scratch);
        self.each_consumer(|c| {
            let n = c.pel.len() / 16;
            let id_at = |k: usize| &c.pel[k * 16..k * 16 + 16];
            let mut k = if sorted {
                // First id not below the window.
                let (mut a, mut b) = (0, n);
                while a < b {
                    let m = (a + b) / 2;
                    if id_at(m) < &lo[..] {
                        a = m + 1;
                    } else {
                        b = m;
                    }
                }
                a
            } else {
                0
            };
            let mut name = None;
            while k < n {
                let id = id_at(k);
                k += 1;
                if sorted && id > &hi[..] {
                    break;
                }
                let first = index.partition_point(|(x, _)| &x[..] < id);
                for &(x, i) in &index[first..] {
                    if &x[..] != id {
                        break;
                    }
                    let name = match name {
                        Some(n) => n,
                        None => *name.insert(
                            c.name
                                .located(origin.offset_of(c.name_at))
                                .decode(scratch)?,
                        ),
                    };
                    entries[i].1 = Some(name);
                }
            }
            Ok(())
        })?;
        self.window = entries.into_iter();
        Ok(true)
    }
}

impl<'b> Iterator for PendingOwners<'b> {
    type Item = Result<(PendingEntry, Option<Str<'b>>)>;
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.window.next() {
            return Some(Ok(e));
        }
        if self.failed {
            return None;
        }
        match self.fill() {
            Ok(true) => self.window.next().map(Ok),
            Ok(false) => None,
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// An entry of a group's pending entries list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingEntry {
    /// The entry id.
    pub id: StreamId,
    /// Last delivery time, unix ms.
    pub delivery_time_ms: i64,
    /// Number of deliveries.
    pub delivery_count: u64,
}

/// Iterator over a group's pending entries.
#[derive(Clone, Debug)]
pub struct Pending<'b> {
    rest: &'b [u8],
    remaining: u64,
    origin: Origin<'b>,
}

impl Iterator for Pending<'_> {
    type Item = Result<PendingEntry>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match finish(&self.origin, pel_entry(self.rest)) {
            Ok((rest, e)) => {
                self.rest = rest;
                Some(Ok(e))
            }
            Err(e) => {
                self.remaining = 0;
                Some(Err(e))
            }
        }
    }
}

/// A consumer of a group.
#[derive(Clone, Debug)]
pub struct Consumer<'b> {
    /// Consumer name.
    pub name: Str<'b>,
    /// Last time the consumer was seen, unix ms.
    pub seen_time_ms: i64,
    /// Last time the consumer was active, unix ms (layout 3+); -1 if never.
    pub active_time_ms: Option<i64>,
    /// Ids of the entries pending for this consumer.
    pub pending: ConsumerPending<'b>,
}

/// Iterator over the ids pending for one consumer.
#[derive(Clone, Debug)]
pub struct ConsumerPending<'b>(std::slice::ChunksExact<'b, u8>);

impl Iterator for ConsumerPending<'_> {
    type Item = StreamId;
    fn next(&mut self) -> Option<StreamId> {
        let c = self.0.next()?;
        let mut a = [0u8; 16];
        a.copy_from_slice(c);
        Some(StreamId::from_be_bytes(&a))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl ExactSizeIterator for ConsumerPending<'_> {}

/// Iterator over a group's consumers.
#[derive(Clone, Debug)]
pub struct Consumers<'b> {
    rest: &'b [u8],
    remaining: u64,
    version: u8,
    origin: Origin<'b>,
    scratch: &'b Scratch,
}

impl<'b> Iterator for Consumers<'b> {
    type Item = Result<Consumer<'b>>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let r = (|| {
            let (rest, c) = finish(&self.origin, consumer(self.rest, self.version))?;
            self.rest = rest;
            let name = c
                .name
                .located(self.origin.offset_of(c.name_at))
                .decode(self.scratch)?;
            Ok(Consumer {
                name,
                seen_time_ms: c.seen_time_ms,
                active_time_ms: c.active_time_ms,
                pending: ConsumerPending(c.pel.chunks_exact(16)),
            })
        })();
        if r.is_err() {
            self.remaining = 0;
        }
        Some(r)
    }
}
