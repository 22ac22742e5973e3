//! Downloads into local files the pipeline can memory-map: one GET for a small object,
//! parallel ranged GETs written in place (`pwrite`) for a large one, each range retried on
//! its own; then the copy is verified (size, MD5 against a single-part ETag, the dump's
//! CRC-64). A [`Prefetcher`] downloads the next dumps while the current one is converted.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use futures::StreamExt;
use md5::{Digest, Md5};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore};

use crate::client::{ObjectInfo, S3};
use crate::error::{classify, Failure, Op, S3Error};

/// A downloaded dump. Its file is removed when this is dropped, unless it was downloaded
/// into a directory the user asked to keep.
#[derive(Debug)]
pub struct Downloaded {
    /// The object.
    pub object: ObjectInfo,
    /// The local copy.
    pub path: PathBuf,
    /// GET requests made (one for a small object, one per range for a large one).
    pub gets: usize,
    /// Ranges fetched again after a dropped connection, a short body or a 5xx.
    pub retries: usize,
    /// What was checked: `size`, `md5` (ETag), `crc64` (the dump's own checksum).
    pub verified: Vec<&'static str>,
    keep: bool,
}

impl Downloaded {
    /// Keeps the local copy when this is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Downloaded {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A temporary directory for downloads and staged uploads, removed with its contents when
/// dropped.
#[derive(Debug)]
pub struct SpoolDir {
    path: PathBuf,
}

impl SpoolDir {
    /// Creates `rdb-s3-<pid>-<n>` under the system's temporary directory (`TMPDIR`).
    pub fn new() -> Result<SpoolDir, S3Error> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "rdb-s3-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&path).map_err(|source| S3Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(SpoolDir { path })
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SpoolDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> S3Error + '_ {
    move |source| S3Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl S3 {
    /// Downloads `object` to `dest` (written as `dest.part`, renamed when verified).
    /// `keep`: leave the file in place when the result is dropped.
    pub fn download(
        &self,
        object: &ObjectInfo,
        dest: &Path,
        keep: bool,
    ) -> Result<Downloaded, S3Error> {
        self.download_unless(object, dest, keep, &[])
    }

    /// [`S3::download`], given up ([`S3Error::DownloadCanceled`], the `.part` file removed)
    /// as soon as one of `stops` is raised, even while a request is stalled.
    pub fn download_unless(
        &self,
        object: &ObjectInfo,
        dest: &Path,
        keep: bool,
        stops: &[&AtomicBool],
    ) -> Result<Downloaded, S3Error> {
        let mut part = dest.as_os_str().to_owned();
        part.push(".part");
        let part = PathBuf::from(part);
        let result = self.block_on(unless(stops, object, self.fetch_into(object, &part)));
        let (gets, retries) = match result {
            Ok(counts) => counts,
            Err(e) => {
                let _ = fs::remove_file(&part);
                return Err(e);
            }
        };
        let verified = match verify(object, &part) {
            Ok(v) => v,
            Err(e) => {
                let _ = fs::remove_file(&part);
                return Err(e);
            }
        };
        fs::rename(&part, dest).map_err(io_err(dest))?;
        Ok(Downloaded {
            object: object.clone(),
            path: dest.to_path_buf(),
            gets,
            retries,
            verified,
            keep,
        })
    }

    async fn fetch_into(
        &self,
        object: &ObjectInfo,
        part: &Path,
    ) -> Result<(usize, usize), S3Error> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(part)
            .map_err(io_err(part))?;
        file.set_len(object.size).map_err(io_err(part))?;
        let o = self.options();
        let size = object.size;
        let ranges: Vec<(u64, u64)> = if size == 0 {
            Vec::new()
        } else if size <= o.small_object {
            vec![(0, size)]
        } else {
            (0..size)
                .step_by(o.part_size as usize)
                .map(|s| (s, (s + o.part_size).min(size)))
                .collect()
        };
        let gets = AtomicUsize::new(0);
        let retries = AtomicUsize::new(0);
        let file = &file;
        let (gets_ref, retries_ref) = (&gets, &retries);
        let mut results = futures::stream::iter(ranges)
            .map(|(start, end)| async move {
                let data = self
                    .fetch_range(object, start, end, gets_ref, retries_ref)
                    .await?;
                file.write_all_at(&data, start).map_err(io_err(part))
            })
            .buffer_unordered(o.concurrency);
        while let Some(r) = results.next().await {
            r?;
        }
        file.sync_data().map_err(io_err(part))?;
        Ok((
            gets.load(Ordering::Relaxed),
            retries.load(Ordering::Relaxed),
        ))
    }

    /// One range, retried on its own: object_store retries a request that fails before its
    /// body starts; a connection dropped mid-body, or a short body, is retried here.
    async fn fetch_range(
        &self,
        object: &ObjectInfo,
        start: u64,
        end: u64,
        gets: &AtomicUsize,
        retries: &AtomicUsize,
    ) -> Result<bytes::Bytes, S3Error> {
        let store = self.store(&object.url.bucket)?;
        let path = ObjectPath::from(object.url.key.as_str());
        let o = self.options();
        let mut attempt = 0;
        loop {
            gets.fetch_add(1, Ordering::Relaxed);
            let options = GetOptions {
                // Every range from the same version of the object.
                if_match: object.e_tag.as_ref().map(|t| format!("\"{t}\"")),
                range: Some(GetRange::Bounded(start..end)),
                ..GetOptions::default()
            };
            let outcome = match store.get_opts(&path, options).await {
                Ok(r) => r.bytes().await,
                Err(e) => Err(e),
            };
            let failure = match outcome {
                Ok(data) if data.len() as u64 == end - start => {
                    tracing::debug!(url = %object.url, start, end, "range downloaded");
                    self.inner
                        .transferred
                        .downloaded
                        .fetch_add(end - start, Ordering::Relaxed);
                    return Ok(data);
                }
                // A short body: the connection ended early.
                Ok(_) => None,
                Err(e) => Some(e),
            };
            let retryable = match &failure {
                None => true,
                Some(object_store::Error::Precondition { .. }) => {
                    return Err(S3Error::Verify {
                        url: object.url.to_string(),
                        detail: "the object changed while it was being downloaded".into(),
                    })
                }
                Some(e) => matches!(classify(e), Failure::Other),
            };
            if !retryable || attempt >= o.retries {
                return Err(match failure {
                    Some(e) => self.map_err(e, &object.url, Op::Get).await,
                    None => S3Error::Verify {
                        url: object.url.to_string(),
                        detail: format!(
                            "bytes {start}-{end}: short body after {} attempts",
                            attempt + 1
                        ),
                    },
                });
            }
            attempt += 1;
            tracing::info!(url = %object.url, start, end, attempt, "range retried");
            retries.fetch_add(1, Ordering::Relaxed);
            let backoff = o.backoff.saturating_mul(1 << attempt.min(6));
            tokio::time::sleep(backoff.min(Duration::from_secs(10))).await;
        }
    }
}

/// Checks the local copy: its size; its MD5 against the ETag when the ETag looks like one
/// (single-part upload); the dump's CRC-64 when it stores one. Objects encrypted with
/// SSE-KMS or SSE-C have ETags that are not MD5s: an MD5 mismatch is an error only when the
/// CRC-64 could not confirm the bytes.
fn verify(object: &ObjectInfo, path: &Path) -> Result<Vec<&'static str>, S3Error> {
    let file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    verify_from(object, file, len).map_err(|e| match e {
        VerifyError::Io(source) => S3Error::Io {
            path: path.to_path_buf(),
            source,
        },
        VerifyError::S3(e) => e,
    })
}

enum VerifyError {
    Io(std::io::Error),
    S3(S3Error),
}

/// [`verify`] over any reader of `len` bytes (a file, or bytes in memory).
fn verify_from(
    object: &ObjectInfo,
    mut file: impl Read,
    len: u64,
) -> Result<Vec<&'static str>, VerifyError> {
    let fail = |detail: String| {
        VerifyError::S3(S3Error::Verify {
            url: object.url.to_string(),
            detail,
        })
    };
    if len != object.size {
        return Err(fail(format!("{len} bytes, expected {}", object.size)));
    }
    let mut checked = vec!["size"];
    let md5_etag = object
        .e_tag
        .as_deref()
        .filter(|t| t.len() == 32 && t.bytes().all(|c| c.is_ascii_hexdigit()));
    // CRC-64 over everything but the last 8 bytes, which hold it (little-endian).
    let crc_end = len.saturating_sub(8);
    let mut md5 = Md5::new();
    let mut crc = 0u64;
    let mut tail = [0u8; 8];
    let mut buf = vec![0u8; 4 << 20];
    let mut at = 0u64;
    let mut header = Vec::with_capacity(9);
    loop {
        let n = file.read(&mut buf).map_err(VerifyError::Io)?;
        if n == 0 {
            break;
        }
        let block = &buf[..n];
        if md5_etag.is_some() {
            md5.update(block);
        }
        let crc_part = (crc_end.saturating_sub(at) as usize).min(n);
        crc =
            rdb_format::crc64_combine(crc, rdb_format::crc64(&block[..crc_part]), crc_part as u64);
        if header.len() < 9 {
            let want = (9 - header.len()).min(n);
            header.extend_from_slice(&block[..want]);
        }
        if at + n as u64 > crc_end {
            let from = crc_end.saturating_sub(at) as usize;
            for (i, &b) in block[from..].iter().enumerate() {
                let pos = (at + (from + i) as u64 - crc_end) as usize;
                if let Some(t) = tail.get_mut(pos) {
                    *t = b;
                }
            }
        }
        at += n as u64;
    }
    let stored = rdb_format::stored_checksum(&tail);
    // RDB 5 and later end with a CRC-64; 0 means the server did not compute it. A dump with
    // bytes after its end (an AOF preamble) does not match here: the decoder judges it.
    let crc_ok = len >= 18
        && stored != 0
        && crc == stored
        && rdb_format::Version::from_magic(&header).is_some_and(|v| v.has_checksum());
    if crc_ok {
        checked.push("crc64");
    }
    if let Some(etag) = md5_etag {
        let digest = md5.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if hex.eq_ignore_ascii_case(etag) {
            checked.push("md5");
        } else if !crc_ok {
            return Err(fail(format!("MD5 {hex} differs from the ETag {etag}")));
        }
    }
    Ok(checked)
}

/// A dump fetched into memory (an object small enough for one GET).
#[derive(Debug)]
pub struct InMemory {
    /// The object.
    pub object: ObjectInfo,
    /// Its bytes, verified.
    pub data: Vec<u8>,
    /// What was checked (as for [`Downloaded::verified`]).
    pub verified: Vec<&'static str>,
}

/// A fetched dump: in memory when small, else in a local file.
#[derive(Debug)]
pub enum Fetched {
    /// Held in memory.
    Memory(InMemory),
    /// In a local file.
    File(Downloaded),
}

impl S3 {
    /// Fetches `object` into memory with one GET (retried like a range), verified.
    pub fn fetch(&self, object: &ObjectInfo) -> Result<InMemory, S3Error> {
        self.fetch_unless(object, &[])
    }

    /// [`S3::fetch`], given up ([`S3Error::DownloadCanceled`]) as soon as one of `stops` is
    /// raised.
    pub fn fetch_unless(
        &self,
        object: &ObjectInfo,
        stops: &[&AtomicBool],
    ) -> Result<InMemory, S3Error> {
        let data = if object.size == 0 {
            Vec::new()
        } else {
            let (gets, retries) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let range = self.fetch_range(object, 0, object.size, &gets, &retries);
            self.block_on(unless(stops, object, range))?.to_vec()
        };
        let verified =
            verify_from(object, data.as_slice(), data.len() as u64).map_err(|e| match e {
                VerifyError::S3(e) => e,
                // Reading from memory does not fail.
                VerifyError::Io(e) => S3Error::Verify {
                    url: object.url.to_string(),
                    detail: e.to_string(),
                },
            })?;
        Ok(InMemory {
            object: object.clone(),
            data,
            verified,
        })
    }
}

/// Runs `transfer` until it ends or one of `stops` is raised (looked at every 50 ms: a
/// stalled request must not hold a Ctrl-C, or a reader that went away, for minutes).
async fn unless<T>(
    stops: &[&AtomicBool],
    object: &ObjectInfo,
    transfer: impl std::future::Future<Output = Result<T, S3Error>>,
) -> Result<T, S3Error> {
    let raised = || stops.iter().any(|s| s.load(Ordering::Relaxed));
    if stops.is_empty() {
        return transfer.await;
    }
    let watch = async {
        while !raised() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        r = transfer => r,
        () = watch => Err(S3Error::DownloadCanceled {
            url: object.url.to_string(),
        }),
    }
}

/// Downloads dumps in order on a thread of its own, `ahead` dumps ahead of the consumer
/// (so disk use is bounded by `ahead + 1` dumps), while the consumer converts the current one.
#[derive(Debug)]
pub struct Prefetcher {
    rx: Option<mpsc::Receiver<Result<Fetched, S3Error>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Prefetcher {
    /// Starts downloading `objects` into `dir` (file names kept; a repeated name gets its
    /// position in front). `keep`: leave the files there. Objects up to `in_memory` bytes
    /// are fetched into memory instead (0: always files). Raising `cancel` (Ctrl-C) gives up
    /// the download under way: [`Prefetcher::next_download`] then returns
    /// [`S3Error::DownloadCanceled`]; dropping the prefetcher does the same.
    pub fn start(
        s3: S3,
        objects: Vec<ObjectInfo>,
        dir: PathBuf,
        keep: bool,
        ahead: usize,
        in_memory: u64,
        cancel: &'static AtomicBool,
    ) -> Prefetcher {
        let (tx, rx) = mpsc::sync_channel(ahead.saturating_sub(1));
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("rdb-s3-prefetch".into())
            .spawn(move || {
                let mut names = HashSet::new();
                for (i, object) in objects.iter().enumerate() {
                    if stop2.load(Ordering::Relaxed) {
                        return;
                    }
                    let name = local_name(&object.url.key);
                    let name = if names.insert(name.clone()) {
                        name
                    } else {
                        format!("{i:04}-{name}")
                    };
                    let stops = [&*stop2, cancel];
                    let result = if object.size <= in_memory {
                        s3.fetch_unless(object, &stops).map(Fetched::Memory)
                    } else {
                        s3.download_unless(object, &dir.join(name), keep, &stops)
                            .map(Fetched::File)
                    };
                    let failed = result.is_err();
                    if tx.send(result).is_err() || failed {
                        return;
                    }
                }
            })
            .ok();
        Prefetcher {
            rx: Some(rx),
            stop,
            thread,
        }
    }

    /// The next dump, waiting for its download; `None` after the last.
    pub fn next_download(&mut self) -> Option<Result<Fetched, S3Error>> {
        self.rx.as_ref()?.recv().ok()
    }
}

impl Drop for Prefetcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receiver unblocks a send; the thread removes what it finished.
        drop(self.rx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A file name for a key: its last segment, or `object` for a key ending in `/`.
pub fn local_name(key: &str) -> String {
    let name = key.rsplit('/').next().unwrap_or(key);
    if name.is_empty() || name == "." || name == ".." {
        "object".to_string()
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::url::S3Url;

    fn dump() -> Vec<u8> {
        // REDIS0011, one string key, EOF, CRC-64.
        let mut d = b"REDIS0011".to_vec();
        d.extend_from_slice(&[0xFE, 0, 0, 1, b'k', 3, b'v', b'a', b'l', 0xFF]);
        let crc = rdb_format::crc64(&d);
        d.extend_from_slice(&crc.to_le_bytes());
        d
    }

    fn md5_hex(data: &[u8]) -> String {
        Md5::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn check(data: &[u8], size: u64, e_tag: Option<String>) -> Result<Vec<&'static str>, S3Error> {
        let dir = SpoolDir::new().unwrap();
        let path = dir.path().join("d.rdb");
        fs::write(&path, data).unwrap();
        let object = ObjectInfo {
            url: S3Url::parse("s3://bucket/d.rdb").unwrap(),
            size,
            e_tag,
        };
        verify(&object, &path)
    }

    #[test]
    fn checks_size_md5_and_crc() {
        let d = dump();
        let n = d.len() as u64;
        assert_eq!(
            check(&d, n, Some(md5_hex(&d))).unwrap(),
            ["size", "crc64", "md5"]
        );
        // A multipart ETag is not an MD5: size and CRC only.
        assert_eq!(
            check(&d, n, Some("0123-2".into())).unwrap(),
            ["size", "crc64"]
        );
        let e = check(&d, n + 1, None).unwrap_err().to_string();
        assert!(e.contains("expected"), "{e}");
        // An MD5-shaped ETag that differs (SSE-KMS) is fine when the CRC confirms the bytes...
        let other = "0".repeat(32);
        assert_eq!(
            check(&d, n, Some(other.clone())).unwrap(),
            ["size", "crc64"]
        );
        // ...but not when it cannot: a corrupted byte fails the CRC and then the MD5.
        let mut bad = d.clone();
        bad[12] ^= 1;
        let e = check(&bad, n, Some(md5_hex(&d))).unwrap_err().to_string();
        assert!(e.contains("differs from the ETag"), "{e}");
        // No checksum to go by (not a dump): size and MD5.
        let text = b"not a dump at all, just bytes";
        assert_eq!(
            check(text, text.len() as u64, Some(md5_hex(text))).unwrap(),
            ["size", "md5"]
        );
    }

    #[test]
    fn local_names() {
        assert_eq!(local_name("a/b/name-0001.rdb"), "name-0001.rdb");
        assert_eq!(local_name("a/b/"), "object");
        assert_eq!(local_name(".."), "object");
    }
}
