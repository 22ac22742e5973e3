//! `top`: the biggest keys (by estimated memory, element count or serialized size), totals
//! per key prefix, per type, and a histogram of time to expiry.
//!
//! A [`TopReport`] takes each key with its [`KeyMemory`] estimate and keeps only the `n`
//! biggest keys (a bounded heap), so memory stays flat whatever the dump's size; prefix
//! totals grow with the number of distinct prefixes, up to [`MAX_PREFIXES`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::str::FromStr;

use rdb_format::Record;

use crate::memory::KeyMemory;

mod folded;
mod sink;
mod write;

pub use folded::{push_frames, FoldedSink};
pub use sink::TopSink;

/// Distinct prefixes tracked; keys of further prefixes are totalled under `(other)`.
pub const MAX_PREFIXES: usize = 1_000_000;

/// What "biggest" means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopBy {
    /// Estimated memory in the server.
    Memory,
    /// Element count.
    Elements,
    /// Serialized size in the dump.
    Size,
}

impl TopBy {
    fn of(self, memory: u64, elements: u64, size: u64) -> u64 {
        match self {
            TopBy::Memory => memory,
            TopBy::Elements => elements,
            TopBy::Size => size,
        }
    }

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TopBy::Memory => "memory",
            TopBy::Elements => "elements",
            TopBy::Size => "size",
        }
    }
}

impl FromStr for TopBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "memory" => Ok(TopBy::Memory),
            "elements" => Ok(TopBy::Elements),
            "size" => Ok(TopBy::Size),
            _ => Err(format!("expected memory, elements or size, got {s:?}")),
        }
    }
}

/// How keys are grouped into prefixes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrefixOptions {
    /// The separator between a key's segments (default `:`).
    pub separator: Vec<u8>,
    /// Segments kept: the prefix of `a:b:c` is `a:` at depth 1, `a:b:` at depth 2. A key
    /// with fewer separators is grouped under its prefix up to its last separator; a key
    /// without any, under the empty prefix.
    pub depth: usize,
}

impl Default for PrefixOptions {
    fn default() -> Self {
        PrefixOptions {
            separator: b":".to_vec(),
            depth: 1,
        }
    }
}

/// Settings of a [`TopReport`].
#[derive(Clone, Debug)]
pub struct TopOptions {
    /// The ranking metric.
    pub by: TopBy,
    /// How many keys (and prefixes) to list.
    pub n: usize,
    /// Group keys by prefix.
    pub prefixes: Option<PrefixOptions>,
    /// The time TTLs are measured from, unix ms.
    pub now_ms: i64,
}

/// The expiry ranges of the TTL histogram.
pub const TTL_BUCKETS: [&str; 6] = ["no expiry", "expired", "< 1h", "< 1d", "< 7d", "later"];

fn ttl_bucket(expire: Option<i64>, now: i64) -> usize {
    const H: i64 = 3_600_000;
    match expire.map(|t| t.saturating_sub(now)) {
        None => 0,
        Some(left) if left <= 0 => 1,
        Some(left) if left < H => 2,
        Some(left) if left < 24 * H => 3,
        Some(left) if left < 7 * 24 * H => 4,
        Some(_) => 5,
    }
}

/// Totals of a group of keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Keys.
    pub keys: u64,
    /// Estimated memory.
    pub memory: u64,
    /// Elements.
    pub elements: u64,
    /// Serialized bytes.
    pub size: u64,
}

impl Totals {
    fn add(&mut self, memory: u64, elements: u64, size: u64) {
        self.keys += 1;
        self.memory += memory;
        self.elements += elements;
        self.size += size;
    }

    pub(crate) fn merge(&mut self, other: &Totals) {
        self.keys += other.keys;
        self.memory += other.memory;
        self.elements += other.elements;
        self.size += other.size;
    }
}

/// One of the biggest keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopKey {
    /// Database.
    pub db: u64,
    /// The key.
    pub key: Vec<u8>,
    /// Type name.
    pub data_type: &'static str,
    /// In-memory encoding.
    pub encoding: &'static str,
    /// Estimated memory.
    pub memory: u64,
    /// Elements.
    pub elements: u64,
    /// Serialized bytes.
    pub size: u64,
    /// Expiry, unix ms.
    pub expire_ms: Option<i64>,
}

/// What the report needs of one key (a record's figures, detached from the dump).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopRow {
    /// Database.
    pub db: u64,
    /// The key.
    pub key: Vec<u8>,
    /// Type name.
    pub data_type: &'static str,
    /// Expiry, unix ms.
    pub expire_ms: Option<i64>,
    /// Serialized bytes.
    pub size: u64,
    /// The memory estimate.
    pub memory: KeyMemory,
}

/// One chunk's share of the report: its totals and only its `n` biggest keys, so a chunk
/// of a million tiny keys costs `n` rows, not a million.
#[derive(Debug, Default)]
pub struct TopPart {
    /// The chunk's biggest keys with their place in the chunk (from 1), in no order.
    rows: Vec<(u64, TopRow)>,
    /// Keys in the chunk.
    seen: u64,
    /// Prefix totals in order of first appearance.
    prefixes: Vec<(Vec<u8>, Totals)>,
    prefix_at: HashMap<Vec<u8>, usize>,
    types: Vec<(&'static str, Totals)>,
    ttl: [Totals; 6],
    total: Totals,
}

impl TopPart {
    pub(crate) fn add(&mut self, options: &TopOptions, row: TopRow) {
        let (memory, elements, size) = (row.memory.bytes, row.memory.elements, row.size);
        self.total.add(memory, elements, size);
        match self.types.iter_mut().find(|(t, _)| *t == row.data_type) {
            Some((_, t)) => t.add(memory, elements, size),
            None => {
                let mut t = Totals::default();
                t.add(memory, elements, size);
                self.types.push((row.data_type, t));
            }
        }
        self.ttl[ttl_bucket(row.expire_ms, options.now_ms)].add(memory, elements, size);
        if let Some(p) = &options.prefixes {
            let prefix = prefix_of(&row.key, &p.separator, p.depth);
            match self.prefix_at.get(prefix) {
                Some(&i) => self.prefixes[i].1.add(memory, elements, size),
                None => {
                    let mut t = Totals::default();
                    t.add(memory, elements, size);
                    self.prefix_at.insert(prefix.to_vec(), self.prefixes.len());
                    self.prefixes.push((prefix.to_vec(), t));
                }
            }
        }
        self.seen += 1;
        if options.n == 0 {
            return;
        }
        self.rows.push((self.seen, row));
        if self.rows.len() >= options.n.saturating_mul(2).max(64) {
            self.keep_best(options);
        }
    }

    /// Drops all but the `n` biggest rows (ties: the earlier wins, as in the report).
    pub(crate) fn keep_best(&mut self, options: &TopOptions) {
        let n = options.n;
        if self.rows.len() <= n {
            return;
        }
        let by = options.by;
        let rank = |(order, r): &(u64, TopRow)| {
            (
                Reverse(by.of(r.memory.bytes, r.memory.elements, r.size)),
                *order,
            )
        };
        self.rows
            .select_nth_unstable_by(n - 1, |a, b| rank(a).cmp(&rank(b)));
        self.rows.truncate(n);
    }
}

/// Heap entry: the metric, then file order reversed so that on ties the earlier key wins.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Ranked {
    metric: u64,
    order: Reverse<u64>,
    slot: usize,
}

/// Collects the biggest keys, prefix totals and the TTL histogram.
pub struct TopReport {
    options: TopOptions,
    heap: BinaryHeap<Reverse<Ranked>>,
    slots: Vec<TopKey>,
    free: Vec<usize>,
    seen: u64,
    prefixes: HashMap<Vec<u8>, Totals>,
    other_prefixes: Totals,
    types: HashMap<&'static str, Totals>,
    ttl: [Totals; 6],
    total: Totals,
}

/// The result of a [`TopReport`].
#[derive(Clone, Debug)]
pub struct Top {
    /// The settings used.
    pub options: TopOptions,
    /// The biggest keys, biggest first.
    pub keys: Vec<TopKey>,
    /// The biggest prefixes (by the same metric), with their totals; empty without
    /// prefix grouping.
    pub prefixes: Vec<(Vec<u8>, Totals)>,
    /// Distinct prefixes seen.
    pub prefix_count: u64,
    /// Totals of keys whose prefix was not tracked (past [`MAX_PREFIXES`]).
    pub other_prefixes: Totals,
    /// Totals per type, biggest first.
    pub types: Vec<(&'static str, Totals)>,
    /// Totals per TTL bucket, in [`TTL_BUCKETS`] order.
    pub ttl: [Totals; 6],
    /// Totals over all keys.
    pub total: Totals,
}

impl TopReport {
    /// An empty report.
    pub fn new(options: TopOptions) -> Self {
        TopReport {
            options,
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seen: 0,
            prefixes: HashMap::new(),
            other_prefixes: Totals::default(),
            types: HashMap::new(),
            ttl: [Totals::default(); 6],
            total: Totals::default(),
        }
    }

    /// Takes one key and its estimate.
    pub fn record(&mut self, r: &Record<'_>, key: &[u8], m: &KeyMemory) {
        self.add(&TopRow {
            db: r.db,
            key: key.to_vec(),
            data_type: r.data_type().as_str(),
            expire_ms: r.expire_ms,
            size: r.len,
            memory: *m,
        });
    }

    /// Takes one key's figures.
    pub fn add(&mut self, row: &TopRow) {
        let (memory, elements, size) = (row.memory.bytes, row.memory.elements, row.size);
        self.total.add(memory, elements, size);
        self.types
            .entry(row.data_type)
            .or_default()
            .add(memory, elements, size);
        self.ttl[ttl_bucket(row.expire_ms, self.options.now_ms)].add(memory, elements, size);
        if let Some(p) = &self.options.prefixes {
            let mut t = Totals::default();
            t.add(memory, elements, size);
            let prefix = prefix_of(&row.key, &p.separator, p.depth);
            self.add_prefix(prefix, &t);
        }
        self.seen += 1;
        self.rank(row, self.seen);
    }

    /// Takes a chunk's totals and biggest keys: the same result as adding its keys one by
    /// one, since a key outside its chunk's `n` biggest cannot be among the `n` biggest.
    pub fn add_part(&mut self, part: &TopPart) {
        self.total.merge(&part.total);
        for (t, totals) in &part.types {
            self.types.entry(t).or_default().merge(totals);
        }
        for (bucket, totals) in self.ttl.iter_mut().zip(&part.ttl) {
            bucket.merge(totals);
        }
        // First-seen order: the same prefixes are tracked as when keys come one by one.
        for (prefix, totals) in &part.prefixes {
            self.add_prefix(prefix, totals);
        }
        for (order, row) in &part.rows {
            self.rank(row, self.seen + order);
        }
        self.seen += part.seen;
    }

    fn add_prefix(&mut self, prefix: &[u8], totals: &Totals) {
        let tracked = self.prefixes.len();
        match self.prefixes.get_mut(prefix) {
            Some(t) => t.merge(totals),
            None if tracked < MAX_PREFIXES => {
                self.prefixes.insert(prefix.to_vec(), *totals);
            }
            None => self.other_prefixes.merge(totals),
        }
    }

    /// Offers a key to the heap of the biggest; `order` is its place in file order (from 1).
    fn rank(&mut self, row: &TopRow, order: u64) {
        if self.options.n == 0 {
            return;
        }
        let m = &row.memory;
        let (memory, elements, size) = (m.bytes, m.elements, row.size);
        let metric = self.options.by.of(memory, elements, size);
        let order = Reverse(order);
        if self.heap.len() >= self.options.n {
            match self.heap.peek() {
                Some(Reverse(min)) if (metric, order) > (min.metric, min.order) => {}
                _ => return,
            }
            if let Some(Reverse(evicted)) = self.heap.pop() {
                self.free.push(evicted.slot);
            }
        }
        let entry = TopKey {
            db: row.db,
            key: row.key.clone(),
            data_type: row.data_type,
            encoding: m.encoding,
            memory,
            elements,
            size,
            expire_ms: row.expire_ms,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s] = entry;
                s
            }
            None => {
                self.slots.push(entry);
                self.slots.len() - 1
            }
        };
        self.heap.push(Reverse(Ranked {
            metric,
            order,
            slot,
        }));
    }

    /// The report.
    pub fn finish(self) -> Top {
        let mut ranked: Vec<Ranked> = self.heap.into_iter().map(|Reverse(r)| r).collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        let mut slots: Vec<Option<TopKey>> = self.slots.into_iter().map(Some).collect();
        let keys = ranked
            .iter()
            .filter_map(|r| slots.get_mut(r.slot).and_then(Option::take))
            .collect();
        let by = self.options.by;
        let metric = |t: &Totals| by.of(t.memory, t.elements, t.size);
        let prefix_count = self.prefixes.len() as u64;
        let mut prefixes: Vec<(Vec<u8>, Totals)> = self.prefixes.into_iter().collect();
        prefixes.sort_unstable_by(|a, b| metric(&b.1).cmp(&metric(&a.1)).then(a.0.cmp(&b.0)));
        prefixes.truncate(self.options.n.max(1));
        let mut types: Vec<(&'static str, Totals)> = self.types.into_iter().collect();
        types.sort_unstable_by(|a, b| metric(&b.1).cmp(&metric(&a.1)).then(a.0.cmp(b.0)));
        Top {
            options: self.options,
            keys,
            prefixes,
            prefix_count,
            other_prefixes: self.other_prefixes,
            types,
            ttl: self.ttl,
            total: self.total,
        }
    }
}

/// The prefix of `key` at `depth` segments, separator included.
pub fn prefix_of<'k>(key: &'k [u8], separator: &[u8], depth: usize) -> &'k [u8] {
    if separator.is_empty() || depth == 0 {
        return &key[..0];
    }
    let mut end = 0;
    let mut found = 0;
    let mut i = 0;
    while i + separator.len() <= key.len() {
        if &key[i..i + separator.len()] == separator {
            i += separator.len();
            end = i;
            found += 1;
            if found == depth {
                break;
            }
        } else {
            i += 1;
        }
    }
    &key[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(prefix_of(b"user:1:cart", b":", 1), b"user:");
        assert_eq!(prefix_of(b"user:1:cart", b":", 2), b"user:1:");
        assert_eq!(prefix_of(b"user:1", b":", 2), b"user:");
        assert_eq!(prefix_of(b"config", b":", 1), b"");
        assert_eq!(prefix_of(b"a::b", b"::", 1), b"a::");
        assert_eq!(prefix_of(b"a/b/c", b"/", 3), b"a/b/");
    }

    #[test]
    fn ttl_buckets() {
        let now = 1_000_000_000;
        assert_eq!(ttl_bucket(None, now), 0);
        assert_eq!(ttl_bucket(Some(now), now), 1);
        assert_eq!(ttl_bucket(Some(now + 1), now), 2);
        assert_eq!(ttl_bucket(Some(now + 3_600_000), now), 3);
        assert_eq!(ttl_bucket(Some(now + 86_400_000), now), 4);
        assert_eq!(ttl_bucket(Some(now + 7 * 86_400_000), now), 5);
        assert_eq!(ttl_bucket(Some(i64::MAX), i64::MIN), 5);
        assert_eq!(ttl_bucket(Some(i64::MIN), i64::MAX), 1);
    }
}
