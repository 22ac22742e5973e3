//! The export task: an id, a status, progress and a manifest (`export_info.json`) kept in
//! the output directory, like a managed snapshot export.
//!
//! What keeps an export from losing data or claiming false success:
//! - One export per directory at a time: an OS lock (`flock`) on `.export.lock`, which the
//!   kernel releases when the holder dies, so a killed run neither blocks the directory nor
//!   lets two later runs in.
//! - Part files are written into a staging directory ([`STAGING`], hidden, outside the
//!   tables, with `.tmp` names) and published into the tables only once every input is done.
//!   Before publishing, the manifest lists every file and every folder publishing creates,
//!   so whatever a run leaves, killed at any point, is known to the next run.
//! - COMPLETE is written only after every listed file was found in place with its size.
//! - An export deletes only files and folders a manifest lists (names it gives its own part
//!   files, checked), after marking that manifest FAILED; nothing else in the directory.
//!
//! The manifest is rewritten atomically (temporary file + rename) while the export runs.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use rdb_format::Checksum;
use serde_json::{json, Map, Value as Json};

use crate::parquet::PartFile;
use rdb_pipeline::pipeline::{FileSummary, Progress};

mod listing;
mod run;
mod split;
pub use listing::{is_part_path, is_table_dir, listed, Listed};
pub use run::{error_chain, ExportRunError, ExportSummary, OpenedDumps, ParquetExport};
pub use split::{fail_splits, publish_splits, write_split, SplitOutput, SplitOutputError};

/// The manifest's file name.
pub const MANIFEST: &str = "export_info.json";
/// The staging directory part files are written into before they are published.
pub const STAGING: &str = ".export-staging";
const LOCK: &str = ".export.lock";

/// States of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Set up, not reading yet.
    Starting,
    /// Reading and writing.
    InProgress,
    /// Done; every listed file is in place with the listed size.
    Complete,
    /// Stopped by an error; its files removed.
    Failed,
    /// Stopped by the user; its files removed.
    Canceled,
}

impl Status {
    /// The name written in the manifest.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Starting => "STARTING",
            Status::InProgress => "IN_PROGRESS",
            Status::Complete => "COMPLETE",
            Status::Failed => "FAILED",
            Status::Canceled => "CANCELED",
        }
    }
}

/// Why an export could not start or publish.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Another export holds the directory's lock.
    #[error(
        "export {0} already running in this directory (it holds .export.lock): wait for it to \
         end, or export elsewhere"
    )]
    AlreadyRunning(String),
    /// The directory holds a finished export.
    #[error("export {0} already complete in this directory; use --overwrite to replace it")]
    AlreadyComplete(String),
    /// An older version's export, whose files are not listed, would have to be removed.
    #[error(
        "{path}: export {id} ({status}) was written by an older rdb-convert that did not list \
         its files, so they cannot be told from others: delete its table folders and the \
         manifest yourself, then export again"
    )]
    Unlisted {
        /// The manifest.
        path: PathBuf,
        /// Its export id.
        id: String,
        /// Its status.
        status: String,
    },
    /// The manifest is not one this tool writes; nothing was deleted.
    #[error("{path}: {what}; nothing was deleted: fix or remove this file, then export again")]
    BadManifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// A file or folder no manifest lists is where the export must write.
    #[error("{path} exists and no export manifest lists it: move it away, then export again")]
    InTheWay {
        /// The file.
        path: PathBuf,
    },
    /// A published file is not what was written.
    #[error(
        "{path}: {found} bytes after publishing, {written} written; the export is not complete"
    )]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// Bytes written.
        written: u64,
        /// Bytes found.
        found: u64,
    },
    /// The directory or manifest could not be written.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |error| ExportError::Io {
        path: path.to_path_buf(),
        error,
    }
}

pub use rdb_pipeline::now_ms;

/// A running export: holds the directory's lock and writes the manifest.
#[derive(Debug)]
pub struct Export {
    dir: PathBuf,
    id: String,
    manifest: Map<String, Json>,
    warnings: Vec<String>,
    /// Held (flock) until the export ends; the kernel drops it if the process dies.
    lock: Option<File>,
    notice: Option<String>,
    /// Files moved into the tables so far, and folders created for them.
    published: Vec<String>,
    dirs: Vec<String>,
}

impl Export {
    /// Takes the directory for export `id`: fails if an export is running there, or if one
    /// finished there and `overwrite` is off. What an earlier export listed (an overwritten
    /// or failed one, or one whose process died) is removed, after its manifest is marked
    /// FAILED. `settings` (format, filters, sources...) are recorded in the manifest as given.
    pub fn start(
        dir: &Path,
        id: &str,
        overwrite: bool,
        settings: Map<String, Json>,
    ) -> Result<Export, ExportError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let lock = take_lock(dir, id)?;
        let notice = clear_previous(dir, id, overwrite)?;
        let mut manifest = settings;
        manifest.insert("export_id".into(), json!(id));
        manifest.insert("status".into(), json!(Status::Starting.as_str()));
        manifest.insert("start_time_ms".into(), json!(now_ms()));
        manifest.insert("end_time_ms".into(), Json::Null);
        manifest.insert("progress_percent".into(), json!(0.0));
        manifest.insert("staging".into(), json!(STAGING));
        manifest.insert("files".into(), json!([]));
        manifest.insert("dirs".into(), json!([]));
        let export = Export {
            dir: dir.to_path_buf(),
            id: id.to_string(),
            manifest,
            warnings: Vec::new(),
            lock: Some(lock),
            notice,
            published: Vec::new(),
            dirs: Vec::new(),
        };
        // The manifest names the staging directory before it exists: a run killed from here
        // on leaves nothing the next run cannot attribute.
        export.write()?;
        let staging = dir.join(STAGING);
        fs::create_dir(&staging).map_err(io(&staging))?;
        Ok(export)
    }

    /// The export's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Where the sink writes part files until [`publish`](Self::publish).
    pub fn staging_dir(&self) -> PathBuf {
        self.dir.join(STAGING)
    }

    /// What happened to the export found in the directory, if worth telling (a dead run).
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Records a warning for the manifest.
    pub fn warn(&mut self, w: impl Into<String>) {
        self.warnings.push(w.into());
    }

    /// Sets a manifest field.
    pub fn set(&mut self, key: &str, value: Json) {
        self.manifest.insert(key.to_string(), value);
    }

    /// Updates status and counters from the pipeline's progress and rewrites the manifest.
    pub fn update(&mut self, status: Status, progress: &Progress) -> Result<(), ExportError> {
        let total = progress.bytes_total.load(Ordering::Relaxed);
        let done = progress.bytes_done.load(Ordering::Relaxed);
        let percent = if total == 0 {
            100.0
        } else {
            (done as f64 * 1000.0 / total as f64).round() / 10.0
        };
        self.manifest
            .insert("status".into(), json!(status.as_str()));
        self.manifest
            .insert("progress_percent".into(), json!(percent));
        self.manifest.insert("bytes_read".into(), json!(done));
        self.manifest.insert("bytes_total".into(), json!(total));
        self.manifest.insert(
            "keys_exported".into(),
            json!(progress.keys_done.load(Ordering::Relaxed)),
        );
        self.manifest.insert(
            "keys_filtered_out".into(),
            json!(progress.keys_skipped.load(Ordering::Relaxed)),
        );
        self.manifest
            .insert("warnings".into(), json!(self.warnings));
        self.write()
    }

    /// Records the sources' checksum states (and their warnings).
    pub fn sources_done(&mut self, summaries: &[FileSummary]) {
        let mut sources = Vec::new();
        for s in summaries {
            let path = s.info.path.display().to_string();
            let checksum = match s.checksum {
                Checksum::Verified(_) => "ok",
                Checksum::NotComputed => {
                    self.warnings
                        .push(format!("checksum not computed in file {path}"));
                    "not computed"
                }
                Checksum::NotVerified(_) => "not verified",
                Checksum::Absent => "absent (RDB < 5)",
                _ => "unknown",
            };
            if s.trailing_bytes > 0 {
                self.warnings.push(format!(
                    "{} bytes after the end of the dump in file {path} ignored",
                    s.trailing_bytes
                ));
            }
            let mut source = json!({
                "path": path,
                "size": s.info.size,
                "rdb_version": s.info.version.magic(),
                "checksum": checksum,
            });
            // Where the dump comes from, as its server wrote it (absent from old dumps).
            let header = &s.header;
            for (name, value) in [
                ("redis_ver", header.redis_ver.as_ref().map(|v| json!(v))),
                ("valkey_ver", header.valkey_ver.as_ref().map(|v| json!(v))),
                ("ctime", header.ctime.map(|t| json!(t))),
            ] {
                if let (Some(value), Some(map)) = (value, source.as_object_mut()) {
                    map.insert(name.into(), value);
                }
            }
            sources.push(source);
        }
        self.manifest.insert("source_files".into(), json!(sources));
    }

    /// Moves the sink's committed files from the staging directory into the tables and
    /// checks each is there with the size written. The manifest lists them (with their rows
    /// and sizes, and the folders created for them) before the first is moved.
    pub fn publish(&mut self, files: &[PartFile]) -> Result<(), ExportError> {
        let mut dirs = Vec::new();
        let mut seen = HashSet::new();
        let mut rows: BTreeMap<&str, u64> = BTreeMap::new();
        let mut bytes = 0;
        for f in files {
            let dst = self.dir.join(&f.path);
            if fs::symlink_metadata(&dst).is_ok() {
                return Err(ExportError::InTheWay { path: dst });
            }
            let mut at = String::new();
            for part in f.path.split('/').take(f.path.split('/').count() - 1) {
                if !at.is_empty() {
                    at.push('/');
                }
                at.push_str(part);
                if seen.insert(at.clone()) && fs::symlink_metadata(self.dir.join(&at)).is_err() {
                    dirs.push(at.clone());
                }
            }
            *rows.entry(f.table).or_default() += f.rows;
            bytes += f.bytes;
        }
        let list: Vec<Json> = files
            .iter()
            .map(|f| json!({"path": f.path, "table": f.table, "rows": f.rows, "bytes": f.bytes}))
            .collect();
        self.manifest.insert("files".into(), json!(list));
        self.manifest.insert("dirs".into(), json!(dirs));
        self.manifest.insert("rows".into(), json!(rows));
        self.manifest
            .insert("output_files".into(), json!(files.len()));
        self.manifest.insert("output_bytes".into(), json!(bytes));
        self.manifest
            .insert("status".into(), json!(Status::InProgress.as_str()));
        self.write()?;
        for d in &dirs {
            let path = self.dir.join(d);
            match fs::create_dir(&path) {
                Ok(()) => self.dirs.push(d.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        let staging = self.staging_dir();
        for f in files {
            let dst = self.dir.join(&f.path);
            fs::rename(staging.join(f.staged_name()), &dst).map_err(io(&dst))?;
            self.published.push(f.path.clone());
        }
        for f in files {
            let dst = self.dir.join(&f.path);
            let found = fs::metadata(&dst).map_err(io(&dst))?.len();
            if found != f.bytes {
                return Err(ExportError::Mismatch {
                    path: dst,
                    written: f.bytes,
                    found,
                });
            }
        }
        // On disk before COMPLETE can be: after a power loss a COMPLETE manifest must not
        // list files the kernel had not written yet. One syncfs, not an fsync per part file.
        sync_filesystem(&self.dir).map_err(io(&self.dir))?;
        Ok(())
    }

    /// Ends the export with `status` (and the failure's cause), writes the manifest a last
    /// time and releases the lock. Unless COMPLETE, what it published is removed first.
    pub fn finish(
        mut self,
        status: Status,
        progress: &Progress,
        cause: Option<String>,
    ) -> Result<(), ExportError> {
        if status != Status::Complete {
            let (files, dirs) = (
                std::mem::take(&mut self.published),
                std::mem::take(&mut self.dirs),
            );
            if let Err(e) = remove_listed(&self.dir, &files, &dirs) {
                // Keep them listed: the next export removes them.
                self.warnings.push(format!("cleaning up: {e}"));
                self.published = files;
            }
            let list: Vec<Json> = self.published.iter().map(|p| json!({"path": p})).collect();
            self.manifest.insert("files".into(), json!(list));
            self.manifest.insert("rows".into(), json!({}));
            self.manifest.insert("output_files".into(), json!(0));
            self.manifest.insert("output_bytes".into(), json!(0));
        }
        let staging = self.staging_dir();
        if let Err(e) = fs::remove_dir_all(&staging) {
            if e.kind() != std::io::ErrorKind::NotFound {
                self.warnings.push(format!(
                    "{}: {e}; the next export removes it",
                    staging.display()
                ));
            }
        }
        self.manifest.insert("end_time_ms".into(), json!(now_ms()));
        self.manifest.insert("failure_cause".into(), json!(cause));
        let result = self.update(status, progress);
        // Removed while still locked, so no one locks the old file after we let go.
        #[cfg(unix)]
        let _ = fs::remove_file(self.dir.join(LOCK));
        self.lock.take();
        result
    }

    fn write(&self) -> Result<(), ExportError> {
        write_manifest(&self.dir, &self.manifest)
    }
}

fn write_manifest(dir: &Path, manifest: &Map<String, Json>) -> Result<(), ExportError> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!(".{MANIFEST}.tmp"));
    let text = serde_json::to_string_pretty(manifest).unwrap_or_default();
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all((text + "\n").as_bytes()).map_err(io(&tmp))?;
    if manifest.get("status").and_then(Json::as_str) == Some(Status::Complete.as_str()) {
        // The last word of an export: on disk before the rename makes it visible.
        f.sync_all().map_err(io(&tmp))?;
    }
    drop(f);
    fs::rename(&tmp, &path).map_err(io(&path))
}

/// Locks `.export.lock` (flock, not waiting) and writes our pid and id into it for messages.
fn take_lock(dir: &Path, id: &str) -> Result<File, ExportError> {
    let path = dir.join(LOCK);
    // A holder removes the file when it finishes; one opened just before that is not the
    // lock any more, so try again with the new file (a few times at most).
    for _ in 0..16 {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io(&path))?;
        if !try_flock(&file).map_err(io(&path))? {
            let text = fs::read_to_string(&path).unwrap_or_default();
            let other = text.lines().nth(1).filter(|s| !s.is_empty()).unwrap_or("?");
            return Err(ExportError::AlreadyRunning(other.to_string()));
        }
        if !same_file(&file, &path) {
            continue;
        }
        file.set_len(0).map_err(io(&path))?;
        writeln!(file, "{}\n{id}", std::process::id()).map_err(io(&path))?;
        return Ok(file);
    }
    Err(io(&path)(std::io::Error::other(
        "the lock file keeps being replaced by other exports",
    )))
}

/// An exclusive flock without waiting: `Ok(false)` when another process holds it.
/// (`File::try_lock` needs Rust 1.89; the workspace supports 1.85.)
#[cfg(unix)]
#[allow(unsafe_code)]
fn try_flock(file: &File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: flock on a descriptor `file` owns for the duration of the call; no memory
    // is passed.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Flushes the filesystem holding `dir` (data and directory entries) to disk.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let d = File::open(dir)?;
    // SAFETY: syncfs on a descriptor `d` owns for the duration of the call; no memory is
    // passed.
    if unsafe { libc::syncfs(d.as_raw_fd()) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn try_flock(_: &File) -> std::io::Result<bool> {
    Err(std::io::Error::other("exports need flock (a Unix system)"))
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, _: &Path) -> bool {
    true
}

/// Deals with the export found in `dir` (we hold the lock): refuses a complete one without
/// `overwrite`; otherwise marks it FAILED and removes what it listed. Returns a notice when
/// its process had died.
fn clear_previous(dir: &Path, id: &str, overwrite: bool) -> Result<Option<String>, ExportError> {
    let path = dir.join(MANIFEST);
    let staging = dir.join(STAGING);
    let bad = |what: String| ExportError::BadManifest {
        path: path.clone(),
        what,
    };
    let mut old = match fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<Json>(&bytes) {
            Ok(Json::Object(m)) => m,
            _ => return Err(bad("not an export manifest (a JSON object)".into())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if staging.exists() {
                return Err(ExportError::InTheWay { path: staging });
            }
            return Ok(None);
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let status = old
        .get("status")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_string();
    let old_id = old
        .get("export_id")
        .and_then(Json::as_str)
        .unwrap_or("?")
        .to_string();
    if status == "COMPLETE" && !overwrite {
        return Err(ExportError::AlreadyComplete(old_id));
    }
    let ended = status == "FAILED" || status == "CANCELED";
    let (files, dirs) = match listed(&Json::Object(old.clone())).map_err(bad)? {
        Some(l) => l,
        // An older version's failed run removed its part files itself.
        None if ended => (Vec::new(), Vec::new()),
        None => {
            return Err(ExportError::Unlisted {
                path: path.clone(),
                id: old_id,
                status,
            })
        }
    };
    if staging.exists() && old.get("staging").and_then(Json::as_str) != Some(STAGING) {
        return Err(ExportError::InTheWay { path: staging });
    }
    let dead = status == "STARTING" || status == "IN_PROGRESS";
    let notice = dead.then(|| {
        format!(
            "export {old_id} in {} was left {status} by a process that died (no process holds \
             its lock): treated as FAILED; removing the {} files it listed and its staging files",
            dir.display(),
            files.len()
        )
    });
    if !ended {
        // Not COMPLETE any more before anything it lists is deleted.
        let cause = if dead {
            format!("its process died; found by export {id}")
        } else {
            format!("replaced by export {id} (--overwrite)")
        };
        old.insert("status".into(), json!(Status::Failed.as_str()));
        old.insert("failure_cause".into(), json!(cause));
        write_manifest(dir, &old)?;
    }
    remove_listed(dir, &files, &dirs)?;
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io(&staging))?;
    }
    Ok(notice)
}

/// Removes the listed files (already gone is fine) and then the listed folders if empty.
fn remove_listed(dir: &Path, files: &[String], dirs: &[String]) -> Result<(), ExportError> {
    for f in files {
        let path = dir.join(f);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&path)(e)),
        }
    }
    let mut dirs: Vec<&String> = dirs.iter().collect();
    // Deepest first, so a table folder is empty by the time its turn comes.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    for d in dirs {
        // Best effort: a folder the user put files in stays.
        let _ = fs::remove_dir(dir.join(d));
    }
    Ok(())
}

/// A fresh export id: `export-<unix ms>-<pid>`.
pub fn generate_id() -> String {
    format!("export-{}-{}", now_ms(), std::process::id())
}
