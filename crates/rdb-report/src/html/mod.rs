//! The visual report: one self-contained HTML page (inline CSS and SVG, no script, no
//! network) with totals per database, type and encoding, memory by type and by key prefix
//! (a treemap), the biggest keys overall and per type, a TTL histogram, per-type
//! percentiles and recommendations with the numbers behind them.
//!
//! The numbers are gathered in one pass by [`HtmlSink`] (or [`ReportPart`] /
//! [`ReportData`] by hand) from the same memory model and the same ranking as `top`, so they
//! equal what `info`, `memory` and `top` print for the same dumps. [`render`] then writes
//! the page; its size is bounded (top-N lists, the prefix tree pruned to its biggest nodes)
//! whatever the number of keys.

mod aggregate;
mod histogram;
mod prefix_tree;
mod render;
mod sink;
mod svg;

pub use aggregate::{
    AdviceCounts, DbTotals, ReportData, ReportPart, Summary, Tally, TypeStats, BIG_KEY_BYTES,
    BIG_KEY_ELEMENTS, LISTPACK_ENTRIES, LISTPACK_VALUE, SMALL_STRING,
};
pub use histogram::Histogram;
pub use prefix_tree::{PrefixNode, PrefixTree, MAX_DEPTH};
pub use render::{render, ReportFile};
pub use sink::HtmlSink;

/// Settings of the HTML report.
#[derive(Clone, Debug)]
pub struct HtmlOptions {
    /// Key segment separators of the prefix tree (a key is split after each one found).
    pub separators: Vec<Vec<u8>>,
    /// Biggest keys listed overall.
    pub top_keys: usize,
    /// Biggest keys listed per type.
    pub top_keys_per_type: usize,
    /// Prefix tree nodes kept while reading (keys of further prefixes count at their
    /// deepest kept ancestor).
    pub max_prefix_nodes: usize,
    /// Prefix nodes drawn and listed on the page (the biggest).
    pub shown_prefix_nodes: usize,
    /// The time TTLs are measured from, unix ms.
    pub now_ms: i64,
}

impl Default for HtmlOptions {
    fn default() -> Self {
        HtmlOptions {
            separators: vec![b":".to_vec()],
            top_keys: 50,
            top_keys_per_type: 10,
            max_prefix_nodes: 100_000,
            shown_prefix_nodes: 200,
            now_ms: 0,
        }
    }
}
