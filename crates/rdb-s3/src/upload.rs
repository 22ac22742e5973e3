//! Uploads of a finished local output (an export directory, split files): files in parallel,
//! large ones as multipart uploads, the manifest last, so whoever sees the manifest sees
//! complete data. A failure (or Ctrl-C) aborts the multipart uploads in flight and deletes
//! the objects this upload already completed; the caller then writes a FAILED manifest.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use serde_json::Value as Json;

use crate::client::S3;
use crate::error::{Op, S3Error};
use crate::url::S3Url;

/// A local file and where it goes.
#[derive(Clone, Debug)]
pub struct UploadItem {
    /// The local file.
    pub local: PathBuf,
    /// Its destination.
    pub url: S3Url,
}

/// What an upload did.
#[derive(Clone, Debug, Default)]
pub struct Uploaded {
    /// Objects written (the manifest included).
    pub objects: usize,
    /// Bytes written.
    pub bytes: u64,
    /// Objects written with a multipart upload.
    pub multipart: usize,
}

/// Files in parallel; parts of one file in parallel. Bounds memory to about
/// `FILES_IN_FLIGHT * PARTS_IN_FLIGHT * part_size`.
const FILES_IN_FLIGHT: usize = 4;
const PARTS_IN_FLIGHT: usize = 2;

struct Run<'a> {
    stop: AtomicBool,
    cancel: &'a AtomicBool,
    completed: Mutex<Vec<S3Url>>,
    bytes: AtomicU64,
    multipart: AtomicUsize,
}

impl Run<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.load(Ordering::Relaxed)
    }
}

impl S3 {
    /// Uploads `items` in parallel, then `last` once every item is in place. On any failure,
    /// or when `cancel` is raised: multipart uploads in flight are aborted, objects already
    /// written by this call are deleted, `last` is not written, and the first error is
    /// returned.
    pub fn upload(
        &self,
        items: &[UploadItem],
        last: Option<&UploadItem>,
        cancel: &AtomicBool,
    ) -> Result<Uploaded, S3Error> {
        let run = Run {
            stop: AtomicBool::new(false),
            cancel,
            completed: Mutex::new(Vec::new()),
            bytes: AtomicU64::new(0),
            multipart: AtomicUsize::new(0),
        };
        let result = self.block_on(async {
            let mut first_error = None;
            let mut uploads = futures::stream::iter(items)
                .map(|item| self.upload_one(item, &run))
                .buffer_unordered(FILES_IN_FLIGHT);
            while let Some(r) = uploads.next().await {
                if let Err(e) = r {
                    // Let the others see the flag and abort; keep the first cause.
                    run.stop.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
            drop(uploads);
            if first_error.is_none() && cancel.load(Ordering::Relaxed) {
                first_error = Some(S3Error::Canceled {
                    url: items.first().map(|i| i.url.to_string()).unwrap_or_default(),
                });
            }
            if let Some(e) = first_error {
                self.delete_completed(&run).await;
                return Err(e);
            }
            if let Some(last) = last {
                self.upload_one(last, &run).await?;
            }
            Ok(())
        });
        result?;
        let objects = run
            .completed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len();
        Ok(Uploaded {
            objects,
            bytes: run.bytes.load(Ordering::Relaxed),
            multipart: run.multipart.load(Ordering::Relaxed),
        })
    }

    /// Writes `data` as one object (a manifest).
    pub fn put_bytes(&self, url: &S3Url, data: Vec<u8>) -> Result<(), S3Error> {
        self.block_on(async {
            let store = self.store(&url.bucket)?;
            match store
                .put(&ObjectPath::from(url.key.as_str()), PutPayload::from(data))
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => Err(self.map_err(e, url, Op::Put).await),
            }
        })
    }

    async fn delete_completed(&self, run: &Run<'_>) {
        let done: Vec<S3Url> =
            std::mem::take(&mut *run.completed.lock().unwrap_or_else(|p| p.into_inner()));
        for url in done {
            // Best effort: the error being reported is the upload's.
            let _ = self.delete_async(&url).await;
        }
    }

    async fn upload_one(&self, item: &UploadItem, run: &Run<'_>) -> Result<(), S3Error> {
        if run.stopped() {
            return Ok(());
        }
        let store = self.store(&item.url.bucket)?;
        let path = ObjectPath::from(item.url.key.as_str());
        let local = &item.local;
        let io = |source| S3Error::Io {
            path: local.clone(),
            source,
        };
        let size = fs::metadata(local).map_err(io)?.len();
        let o = self.options();
        if size <= o.small_object.max(o.part_size) {
            let data = fs::read(local).map_err(io)?;
            if let Err(e) = store.put(&path, PutPayload::from(data)).await {
                return Err(self.map_err(e, &item.url, Op::Put).await);
            }
            let sent = &self.inner.transferred.uploaded;
            sent.fetch_add(size, Ordering::Relaxed);
        } else {
            let upload = match store.put_multipart(&path).await {
                Ok(u) => u,
                Err(e) => return Err(self.map_err(e, &item.url, Op::Put).await),
            };
            let mut writer = WriteMultipart::new_with_chunk_size(upload, o.part_size as usize);
            let mut file = File::open(local).map_err(io)?;
            loop {
                if run.stopped() {
                    return match writer.abort().await {
                        Ok(()) => Ok(()),
                        Err(e) => Err(self.map_err(e, &item.url, Op::Abort).await),
                    };
                }
                if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                    let mapped = self.map_err(e, &item.url, Op::Put).await;
                    let _ = writer.abort().await;
                    return Err(mapped);
                }
                let mut part = Vec::with_capacity(o.part_size as usize);
                if let Err(e) = (&mut file).take(o.part_size).read_to_end(&mut part) {
                    let _ = writer.abort().await;
                    return Err(io(e));
                }
                if part.is_empty() {
                    break;
                }
                tracing::debug!(url = %item.url, bytes = part.len(), "multipart part queued");
                let sent = &self.inner.transferred.uploaded;
                sent.fetch_add(part.len() as u64, Ordering::Relaxed);
                writer.put(part.into());
            }
            // finish aborts the upload itself when a part or the completion fails.
            if let Err(e) = writer.finish().await {
                return Err(self.map_err(e, &item.url, Op::Put).await);
            }
            run.multipart.fetch_add(1, Ordering::Relaxed);
        }
        tracing::info!(url = %item.url, bytes = size, "uploaded");
        run.bytes.fetch_add(size, Ordering::Relaxed);
        run.completed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(item.url.clone());
        Ok(())
    }
}

/// Every regular file under `dir`, as paths relative to it with `/` separators, sorted;
/// hidden files (temporary names, lock files) are left out.
pub fn files_under(dir: &Path) -> Result<Vec<String>, S3Error> {
    fn walk(base: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), S3Error> {
        let here = base.join(rel);
        let entries = fs::read_dir(&here).map_err(|source| S3Error::Io {
            path: here.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| S3Error::Io {
                path: here.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type().map_err(|source| S3Error::Io {
                path: entry.path(),
                source,
            })?;
            if kind.is_dir() {
                walk(base, &child, out)?;
            } else if kind.is_file() {
                out.push(child);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

/// A manifest (JSON object) with `status` FAILED and the cause, for a failed upload.
pub fn mark_failed(manifest: &[u8], cause: &str) -> Vec<u8> {
    set_status(manifest, "FAILED", Some(cause))
}

/// A manifest (JSON object) with `status` (and `failure_cause`, when given) replaced, the
/// rest (its list of files) kept.
pub fn set_status(manifest: &[u8], status: &str, cause: Option<&str>) -> Vec<u8> {
    let mut json: Json =
        serde_json::from_slice(manifest).unwrap_or_else(|_| Json::Object(Default::default()));
    if let Json::Object(m) = &mut json {
        m.insert("status".into(), Json::from(status));
        if let Some(cause) = cause {
            m.insert("failure_cause".into(), Json::from(cause));
        }
    }
    let mut text = serde_json::to_vec_pretty(&json).unwrap_or_default();
    text.push(b'\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_files_without_hidden_ones() {
        let d = crate::download::SpoolDir::new().unwrap();
        fs::create_dir_all(d.path().join("keys/db=0")).unwrap();
        fs::write(d.path().join("keys/db=0/part-a-0.parquet"), b"x").unwrap();
        fs::write(d.path().join("keys/db=0/.part-b.tmp"), b"x").unwrap();
        fs::write(d.path().join("export_info.json"), b"{}").unwrap();
        fs::write(d.path().join(".export.lock"), b"1").unwrap();
        assert_eq!(
            files_under(d.path()).unwrap(),
            vec!["export_info.json", "keys/db=0/part-a-0.parquet"]
        );
    }

    #[test]
    fn failed_manifest() {
        let out = mark_failed(br#"{"export_id":"e1","status":"COMPLETE"}"#, "boom");
        let v: Json = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["status"], "FAILED");
        assert_eq!(v["failure_cause"], "boom");
        assert_eq!(v["export_id"], "e1");
    }
}
