//! Outputs that go to S3: staged locally, uploaded when all are complete.

use std::path::PathBuf;

use anyhow::Result;
use rdb_s3::{local_name, S3Url, SpoolDir, UploadItem, S3};

use crate::args::s3::{client, S3Args, S3OutputArgs};
use crate::inputs::spool_dir;
use crate::signals::{install_ctrlc, CANCEL};

/// Outputs that go to S3: written into a local staging directory first, uploaded when all
/// are complete (a failure deletes what was uploaded).
pub struct StagedOutputs {
    s3: S3,
    staging: SpoolDir,
    /// Local staging path → destination.
    items: Vec<UploadItem>,
}

impl StagedOutputs {
    /// A staging area for outputs bound to `s3://` destinations.
    pub fn new(s3: &S3Args, out: &S3OutputArgs, example: &S3Url) -> Result<StagedOutputs> {
        let client = client(s3, Some(out))?;
        warn_unencrypted(out, example);
        Ok(StagedOutputs {
            s3: client,
            staging: spool_dir()?,
            items: Vec::new(),
        })
    }

    /// The local path to write for `url`.
    pub fn stage(&mut self, url: &S3Url) -> PathBuf {
        let local =
            self.staging
                .path()
                .join(format!("{:04}-{}", self.items.len(), local_name(&url.key)));
        self.items.push(UploadItem {
            local: local.clone(),
            url: url.clone(),
        });
        local
    }

    /// Uploads every staged file.
    pub fn upload(self, progress: crate::progress::Mode) -> Result<()> {
        install_ctrlc();
        let total = self
            .items
            .iter()
            .filter_map(|i| std::fs::metadata(&i.local).ok())
            .map(|m| m.len())
            .sum();
        let before = self.s3.transferred().uploaded();
        let sent = || self.s3.transferred().uploaded().saturating_sub(before);
        let done = crate::progress::run_transfer("upload", progress, total, sent, || {
            self.s3.upload(&self.items, None, &CANCEL)
        })?;
        eprintln!(
            "rdb-convert: uploaded {} objects ({} bytes)",
            done.objects, done.bytes
        );
        Ok(())
    }
}

/// Warns when an export goes to S3 without explicit encryption.
pub fn warn_unencrypted(out: &S3OutputArgs, url: &S3Url) {
    if out.sse.is_none() {
        eprintln!(
            "rdb-convert: warning: writing to {url} without --sse: the objects are encrypted \
             only if the bucket has default encryption (pass --sse AES256 or --sse aws:kms)"
        );
    }
}
