//! `convert --output s3://...`: the export is written into a local staging directory, then
//! uploaded.

use std::path::Path;

use anyhow::Result;
use rdb_s3::{local_name, S3Url, Target, UploadItem};

use super::ConvertArgs;
use crate::args::s3::client;
use crate::inputs::spool_dir;
use crate::output::s3::warn_unencrypted;
use crate::signals::{install_ctrlc, CANCEL};

#[cfg(feature = "parquet")]
mod parquet;
#[cfg(feature = "parquet")]
pub use parquet::parquet_to_s3;

/// `convert --format json --output s3://bucket/key`: `write` fills a local file, which is
/// then uploaded.
pub fn json_to_s3(
    args: &ConvertArgs,
    url: &S3Url,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    if url.target != Target::Object {
        return Err(crate::UsageError(format!(
            "--output {url}: this format goes to one object; give its key \
             (s3://bucket/path/out.json)"
        ))
        .into());
    }
    let s3 = client(&args.s3, Some(&args.s3_output))?;
    warn_unencrypted(&args.s3_output, url);
    let staging = spool_dir()?;
    let local = staging.path().join(local_name(&url.key));
    write(&local)?;
    let item = UploadItem {
        local,
        url: url.clone(),
    };
    // Ctrl-C during the upload aborts it instead of leaving a multipart upload behind.
    install_ctrlc();
    let done = s3.upload(&[item], None, &CANCEL)?;
    eprintln!("rdb-convert: wrote {url} ({} bytes)", done.bytes);
    Ok(())
}
