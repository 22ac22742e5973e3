//! What a build without the default features leaves out, and how it says so.
//!
//! `s3` and `parquet` are default features. A build without them (`cargo install --locked
//! --path crates/rdb-cli --no-default-features`) refuses what needs them with [`missing`]
//! (exit status 2), and the modules below stand in for the ones left out, so each command
//! keeps one code path.

use anyhow::Result;

use crate::UsageError;

#[cfg(not(feature = "parquet"))]
pub mod without_parquet;
#[cfg(not(feature = "s3"))]
pub mod without_s3;

/// `what` (a flag, an argument) needs `support` ("S3", "Parquet"), which this build lacks.
pub fn missing(what: &str, support: &str) -> anyhow::Error {
    UsageError(format!(
        "{what}: this rdb-convert was built without {support} support; rebuild with default \
         features: cargo install --locked --path crates/rdb-cli"
    ))
    .into()
}

/// Checked before anything is read or written: `what` needs Parquet.
pub fn require_parquet(what: &str) -> Result<()> {
    if cfg!(feature = "parquet") {
        Ok(())
    } else {
        Err(missing(what, "Parquet"))
    }
}
