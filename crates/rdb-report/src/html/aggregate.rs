//! The numbers of the HTML report, gathered in one pass: a chunk's [`ReportPart`] is merged
//! into the [`ReportData`] in file order.

use std::collections::BTreeMap;

use super::histogram::Histogram;
use super::prefix_tree::PrefixTree;
use super::HtmlOptions;
use crate::top::{Top, TopBy, TopKey, TopOptions, TopPart, TopReport, TopRow, Totals};

/// A key is "big" from this estimated memory on.
pub const BIG_KEY_BYTES: u64 = 1 << 20;
/// A key is "big" from this many elements on.
pub const BIG_KEY_ELEMENTS: u64 = 10_000;
/// The servers' default `*-max-listpack-entries` of hashes, sets and sorted sets.
pub const LISTPACK_ENTRIES: u64 = 128;
/// The servers' default `*-max-listpack-value`.
pub const LISTPACK_VALUE: u64 = 64;
/// A string up to this long is "small" (a candidate for a field of a packed hash).
pub const SMALL_STRING: u64 = 64;

/// Per database: keys, keys with an expiry, memory and serialized bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DbTotals {
    /// Keys and their memory, elements, serialized bytes.
    pub totals: Totals,
    /// Keys with an expiry.
    pub expires: u64,
}

/// Keys of a kind the recommendations talk about, and their memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Keys.
    pub keys: u64,
    /// Their estimated memory.
    pub memory: u64,
}

impl Tally {
    fn add(&mut self, memory: u64) {
        self.keys += 1;
        self.memory += memory;
    }

    fn merge(&mut self, other: &Tally) {
        self.keys += other.keys;
        self.memory += other.memory;
    }
}

/// Element and memory distributions of one type.
#[derive(Clone, Debug, Default)]
pub struct TypeStats {
    /// Elements per key.
    pub elements: Histogram,
    /// Estimated memory per key.
    pub memory: Histogram,
}

/// What the recommendations are computed from.
#[derive(Clone, Debug, Default)]
pub struct AdviceCounts {
    /// Keys past [`BIG_KEY_BYTES`] or [`BIG_KEY_ELEMENTS`].
    pub big: Tally,
    /// Per type: collections stored unpacked that would be listpacks with the entries limit
    /// doubled (more than 128, at most 256 elements, all small).
    pub just_above_entries: BTreeMap<&'static str, Tally>,
    /// Per type: collections unpacked only because an element is a little too long (65 to
    /// 128 bytes) while their count is within the limit.
    pub just_above_value: BTreeMap<&'static str, Tally>,
    /// Strings of at most [`SMALL_STRING`] bytes whose key has a prefix.
    pub small_prefixed_strings: Tally,
}

impl AdviceCounts {
    fn add(&mut self, row: &TopRow, has_prefix: bool) {
        let m = &row.memory;
        if m.bytes >= BIG_KEY_BYTES || m.elements >= BIG_KEY_ELEMENTS {
            self.big.add(m.bytes);
        }
        let unpacked = matches!(
            (row.data_type, m.encoding),
            ("hash", "hashtable") | ("set", "hashtable") | ("zset", "skiplist")
        );
        if unpacked {
            if m.elements > LISTPACK_ENTRIES
                && m.elements <= 2 * LISTPACK_ENTRIES
                && m.largest_element <= LISTPACK_VALUE
            {
                self.just_above_entries
                    .entry(row.data_type)
                    .or_default()
                    .add(m.bytes);
            } else if m.elements <= LISTPACK_ENTRIES
                && m.largest_element > LISTPACK_VALUE
                && m.largest_element <= 2 * LISTPACK_VALUE
            {
                self.just_above_value
                    .entry(row.data_type)
                    .or_default()
                    .add(m.bytes);
            }
        }
        if row.data_type == "string" && m.largest_element <= SMALL_STRING && has_prefix {
            self.small_prefixed_strings.add(m.bytes);
        }
    }

    fn merge(&mut self, other: &AdviceCounts) {
        self.big.merge(&other.big);
        for (t, v) in &other.just_above_entries {
            self.just_above_entries.entry(t).or_default().merge(v);
        }
        for (t, v) in &other.just_above_value {
            self.just_above_value.entry(t).or_default().merge(v);
        }
        self.small_prefixed_strings
            .merge(&other.small_prefixed_strings);
    }
}

/// One chunk's share of the report.
#[derive(Debug)]
pub struct ReportPart {
    overall: TopPart,
    per_type: BTreeMap<&'static str, TopPart>,
    dbs: BTreeMap<u64, DbTotals>,
    encodings: BTreeMap<(&'static str, &'static str), Totals>,
    stats: BTreeMap<&'static str, TypeStats>,
    prefixes: PrefixTree,
    advice: AdviceCounts,
}

fn one(row: &TopRow) -> Totals {
    Totals {
        keys: 1,
        memory: row.memory.bytes,
        elements: row.memory.elements,
        size: row.size,
    }
}

impl ReportPart {
    /// An empty part.
    pub fn new(options: &HtmlOptions) -> Self {
        ReportPart {
            overall: TopPart::default(),
            per_type: BTreeMap::new(),
            dbs: BTreeMap::new(),
            encodings: BTreeMap::new(),
            stats: BTreeMap::new(),
            prefixes: PrefixTree::new(options.max_prefix_nodes),
            advice: AdviceCounts::default(),
        }
    }

    /// Counts one key.
    pub fn add(&mut self, options: &HtmlOptions, row: TopRow) {
        let t = one(&row);
        let db = self.dbs.entry(row.db).or_default();
        db.totals.merge(&t);
        db.expires += u64::from(row.expire_ms.is_some());
        self.encodings
            .entry((row.data_type, row.memory.encoding))
            .or_default()
            .merge(&t);
        let stats = self.stats.entry(row.data_type).or_default();
        stats.elements.add(row.memory.elements);
        stats.memory.add(row.memory.bytes);
        self.prefixes.add(&row.key, &options.separators, &t);
        let has_prefix = options
            .separators
            .iter()
            .any(|s| !s.is_empty() && row.key.windows(s.len()).any(|w| w == s.as_slice()));
        self.advice.add(&row, has_prefix);
        let per_type = options.per_type_options();
        self.per_type
            .entry(row.data_type)
            .or_default()
            .add(&per_type, row.clone());
        self.overall.add(&options.top_options(), row);
    }

    /// Drops the rows that cannot be among the biggest (call before handing the part on).
    pub fn trim(&mut self, options: &HtmlOptions) {
        self.overall.keep_best(&options.top_options());
        let per_type = options.per_type_options();
        for p in self.per_type.values_mut() {
            p.keep_best(&per_type);
        }
    }
}

/// Everything the report shows, merged over all chunks of all dumps.
pub struct ReportData {
    options: HtmlOptions,
    overall: TopReport,
    per_type: BTreeMap<&'static str, TopReport>,
    dbs: BTreeMap<u64, DbTotals>,
    encodings: BTreeMap<(&'static str, &'static str), Totals>,
    stats: BTreeMap<&'static str, TypeStats>,
    prefixes: PrefixTree,
    advice: AdviceCounts,
}

/// The finished numbers of the report.
pub struct Summary {
    /// The settings used.
    pub options: HtmlOptions,
    /// Biggest keys overall, totals per type and TTL bucket (as `top` computes them).
    pub top: Top,
    /// Biggest keys of each type.
    pub per_type: BTreeMap<&'static str, Vec<TopKey>>,
    /// Per database.
    pub dbs: BTreeMap<u64, DbTotals>,
    /// Per (type, in-memory encoding).
    pub encodings: BTreeMap<(&'static str, &'static str), Totals>,
    /// Distributions per type.
    pub stats: BTreeMap<&'static str, TypeStats>,
    /// Memory by prefix.
    pub prefixes: PrefixTree,
    /// For the recommendations.
    pub advice: AdviceCounts,
}

impl ReportData {
    /// An empty report.
    pub fn new(options: HtmlOptions) -> Self {
        ReportData {
            overall: TopReport::new(options.top_options()),
            per_type: BTreeMap::new(),
            dbs: BTreeMap::new(),
            encodings: BTreeMap::new(),
            stats: BTreeMap::new(),
            prefixes: PrefixTree::new(options.max_prefix_nodes),
            advice: AdviceCounts::default(),
            options,
        }
    }

    /// Adds a chunk's part (in file order, so ties rank as in `top`).
    pub fn add_part(&mut self, part: &ReportPart) {
        self.overall.add_part(&part.overall);
        for (t, p) in &part.per_type {
            self.per_type
                .entry(t)
                .or_insert_with(|| TopReport::new(self.options.per_type_options()))
                .add_part(p);
        }
        for (db, d) in &part.dbs {
            let mine = self.dbs.entry(*db).or_default();
            mine.totals.merge(&d.totals);
            mine.expires += d.expires;
        }
        for (k, t) in &part.encodings {
            self.encodings.entry(*k).or_default().merge(t);
        }
        for (t, s) in &part.stats {
            let mine = self.stats.entry(t).or_default();
            mine.elements.merge(&s.elements);
            mine.memory.merge(&s.memory);
        }
        self.prefixes.merge(&part.prefixes);
        self.advice.merge(&part.advice);
    }

    /// The finished numbers.
    pub fn finish(self) -> Summary {
        Summary {
            top: self.overall.finish(),
            per_type: self
                .per_type
                .into_iter()
                .map(|(t, r)| (t, r.finish().keys))
                .collect(),
            dbs: self.dbs,
            encodings: self.encodings,
            stats: self.stats,
            prefixes: self.prefixes,
            advice: self.advice,
            options: self.options,
        }
    }
}

impl HtmlOptions {
    pub(crate) fn top_options(&self) -> TopOptions {
        TopOptions {
            by: TopBy::Memory,
            n: self.top_keys,
            prefixes: None,
            now_ms: self.now_ms,
        }
    }

    pub(crate) fn per_type_options(&self) -> TopOptions {
        TopOptions {
            n: self.top_keys_per_type,
            ..self.top_options()
        }
    }
}
