//! One module per subcommand: each maps its arguments to library calls and reports.

use rdb_export::json::checksum_warning;
use rdb_format::Eof;
use rdb_pipeline::pipeline::FileSummary;

pub mod check;
pub mod completions;
pub mod convert;
pub mod diff;
#[cfg(feature = "parquet")]
pub mod export_status;
#[cfg(not(feature = "parquet"))]
pub use crate::features::without_parquet::export_status;
pub mod filter;
pub mod info;
pub mod memory;
pub mod report;
pub mod seed;
mod seed_auth;
pub mod split;
pub mod top;
mod write_rdb;

/// Warns on stderr about a dump's end: checksum not computed, bytes after the dump.
pub fn warn_about(s: &FileSummary) {
    let eof = Eof {
        offset: 0,
        checksum: s.checksum,
        trailing_bytes: s.trailing_bytes,
    };
    let path = s.info.path.display();
    if let Some(w) = checksum_warning(&eof) {
        eprintln!("rdb-convert: warning: {path}: {w}");
    }
    if eof.trailing_bytes > 0 {
        eprintln!(
            "rdb-convert: warning: {path}: {} bytes after the end of the dump ignored",
            eof.trailing_bytes
        );
    }
}

/// An error and its causes in one line, each cause once: the client's errors repeat their
/// cause in their own text.
pub fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let t = c.to_string();
        if !text.contains(&t) {
            text.push_str(": ");
            text.push_str(&t);
        }
        cause = c.source();
    }
    text
}
