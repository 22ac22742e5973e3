//! `convert --format parquet --output s3://...`: the export staged locally, then uploaded
//! under its manifest.

use std::path::Path;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use rdb_export::export::MANIFEST;
use rdb_s3::{mark_failed, set_status, S3Error, S3Url, UploadItem};

use super::super::ConvertArgs;
use crate::args::s3::client;
use crate::inputs::spool_dir;
use crate::output::s3::warn_unencrypted;

/// `convert --format parquet --output s3://bucket/prefix/`: `export` writes the export into a
/// local staging directory exactly as for a local output; its files are then uploaded, the
/// manifest last. Before anything is deleted or uploaded, the remote manifest stops saying
/// COMPLETE: an old export being replaced is marked FAILED (its list kept), then the new
/// manifest is written IN_PROGRESS with the list of files about to be uploaded, so a run
/// killed at any point leaves a manifest that lists every object it may have left. With
/// --overwrite, only the objects the old manifest lists are deleted, and only once the new
/// export is ready: a failed local export leaves the old one untouched.
pub fn parquet_to_s3(
    args: &ConvertArgs,
    url: &S3Url,
    cancel: &AtomicBool,
    export: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let s3 = client(&args.s3, Some(&args.s3_output))?;
    warn_unencrypted(&args.s3_output, url);
    let manifest_url = url.join(MANIFEST);
    let old = match s3.head(&manifest_url) {
        Ok(info) => Some(s3.fetch(&info)?.data),
        Err(S3Error::ObjectNotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let old_files = match &old {
        Some(_) if !args.overwrite => {
            return Err(anyhow::anyhow!(
                "{manifest_url} exists: an export is (or was) there; use --overwrite to replace it"
            ))
        }
        Some(bytes) => Some(old_listed(bytes, &manifest_url)?),
        None => None,
    };
    let staging = spool_dir()?;
    let dir = staging.path();
    let exported = export(dir);
    let manifest = dir.join(MANIFEST);
    let manifest_item = UploadItem {
        local: manifest.clone(),
        url: manifest_url.clone(),
    };
    if let Err(e) = exported {
        if old.is_some() {
            return Err(e.context(format!("{url} was left as it was")));
        }
        // The staged manifest already says FAILED or CANCELED: publish it, and only it.
        if manifest.exists() {
            let _ = s3.upload(&[], Some(&manifest_item), &AtomicBool::new(false));
        }
        return Err(e);
    }
    let text =
        std::fs::read(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let json: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("reading {}", manifest.display()))?;
    let (files, _) = rdb_export::export::listed(&json)
        .map_err(anyhow::Error::msg)?
        .context("internal: the staged manifest lists no files")?;
    if let (Some(old), Some(old_files)) = (&old, old_files) {
        let cause = "being replaced (--overwrite); its objects are deleted";
        s3.put_bytes(&manifest_url, set_status(old, "FAILED", Some(cause)))?;
        for f in &old_files {
            s3.delete(&url.join(f))?;
        }
    }
    s3.put_bytes(&manifest_url, set_status(&text, "IN_PROGRESS", None))?;
    let items: Vec<UploadItem> = files
        .iter()
        .map(|f| UploadItem {
            local: dir.join(f),
            url: url.join(f),
        })
        .collect();
    match s3.upload(&items, Some(&manifest_item), cancel) {
        Ok(done) => {
            eprintln!(
                "rdb-convert: uploaded {} objects ({} bytes, {} multipart) to {url}",
                done.objects, done.bytes, done.multipart
            );
            Ok(())
        }
        Err(e) => {
            let cause = format!("upload failed: {e}");
            if let Err(e2) = s3.put_bytes(&manifest_url, mark_failed(&text, &cause)) {
                eprintln!("rdb-convert: warning: could not write the FAILED manifest: {e2}");
            }
            Err(anyhow::anyhow!(
                "{cause}; the objects written were deleted and {manifest_url} says FAILED"
            ))
        }
    }
}

/// The objects an existing export's manifest lists; an older version's manifest, which
/// lists none, is accepted only if its export failed (it deleted its objects itself).
fn old_listed(manifest: &[u8], url: &S3Url) -> Result<Vec<String>> {
    let json: serde_json::Value = serde_json::from_slice(manifest)
        .map_err(|e| anyhow::anyhow!("{url}: not an export manifest ({e}); nothing was deleted: remove it, then export again"))?;
    match rdb_export::export::listed(&json) {
        Ok(Some((files, _))) => Ok(files),
        Ok(None) if matches!(json["status"].as_str(), Some("FAILED" | "CANCELED")) => {
            Ok(Vec::new())
        }
        Ok(None) => Err(anyhow::anyhow!(
            "{url}: export {} was written by an older rdb-convert that did not list its objects, \
             so they cannot be told from others: delete its table prefixes and the manifest \
             yourself, then export again",
            json["export_id"].as_str().unwrap_or("?")
        )),
        Err(what) => Err(anyhow::anyhow!(
            "{url}: {what}; nothing was deleted: fix or remove it, then export again"
        )),
    }
}
