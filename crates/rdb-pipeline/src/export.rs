//! The export task: an id, a status, progress and a manifest (`export_info.json`) kept in
//! the output directory, like a managed snapshot export.
//!
//! The manifest is rewritten atomically (temporary file + rename) while the export runs.
//! A lock file keeps two exports out of one directory; a finished export is not redone
//! unless asked to overwrite it.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use rdb_format::Checksum;
use serde_json::{json, Map, Value as Json};

use crate::pipeline::{FileSummary, Progress};

/// The manifest's file name.
pub const MANIFEST: &str = "export_info.json";
const LOCK: &str = ".export.lock";

/// States of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Set up, not reading yet.
    Starting,
    /// Reading and writing.
    InProgress,
    /// Done; every part file is in place.
    Complete,
    /// Stopped by an error; part files removed.
    Failed,
    /// Stopped by the user; part files removed.
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

/// Why an export could not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Another export holds the directory's lock.
    #[error("export {0} already running in this directory")]
    AlreadyRunning(String),
    /// The directory holds a finished export.
    #[error("export {0} already complete in this directory; use --overwrite to replace it")]
    AlreadyComplete(String),
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

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A running export: owns the directory's lock and writes the manifest.
#[derive(Debug)]
pub struct Export {
    dir: PathBuf,
    id: String,
    manifest: Map<String, Json>,
    warnings: Vec<String>,
}

impl Export {
    /// Takes the directory for export `id`: fails if an export is running there, or if one
    /// finished there and `overwrite` is off. With `overwrite`, the old tables are removed.
    /// `settings` (format, filters, sources...) are recorded in the manifest as given.
    pub fn start(
        dir: &Path,
        id: &str,
        overwrite: bool,
        settings: Map<String, Json>,
    ) -> Result<Export, ExportError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let lock = dir.join(LOCK);
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut f) => {
                let _ = writeln!(f, "{}\n{id}", std::process::id());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(&lock).unwrap_or_default();
                let mut lines = text.lines();
                let pid = lines.next().and_then(|p| p.parse::<u32>().ok());
                let other = lines.next().unwrap_or("?").to_string();
                if pid.is_some_and(process_alive) {
                    return Err(ExportError::AlreadyRunning(other));
                }
                // The holder died without cleaning up: take the lock over.
                fs::write(&lock, format!("{}\n{id}\n", std::process::id())).map_err(io(&lock))?;
            }
            Err(e) => return Err(io(&lock)(e)),
        }
        let release = |e| {
            let _ = fs::remove_file(dir.join(LOCK));
            e
        };
        let manifest_path = dir.join(MANIFEST);
        if let Ok(text) = fs::read_to_string(&manifest_path) {
            let old: Json = serde_json::from_str(&text).unwrap_or(Json::Null);
            if old["status"] == "COMPLETE" && !overwrite {
                let old_id = old["export_id"].as_str().unwrap_or("?").to_string();
                return Err(release(ExportError::AlreadyComplete(old_id)));
            }
            // An earlier export (complete and overwritten, or failed): clear its tables.
            for table in crate::parquet::TABLES {
                let t = dir.join(table);
                if t.exists() {
                    fs::remove_dir_all(&t).map_err(io(&t)).map_err(release)?;
                }
            }
        }
        let mut manifest = settings;
        manifest.insert("export_id".into(), json!(id));
        manifest.insert("status".into(), json!(Status::Starting.as_str()));
        manifest.insert("start_time_ms".into(), json!(now_ms()));
        manifest.insert("end_time_ms".into(), Json::Null);
        manifest.insert("progress_percent".into(), json!(0.0));
        let export = Export {
            dir: dir.to_path_buf(),
            id: id.to_string(),
            manifest,
            warnings: Vec::new(),
        };
        export.write().map_err(release)?;
        Ok(export)
    }

    /// The export's id.
    pub fn id(&self) -> &str {
        &self.id
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
            };
            if s.trailing_bytes > 0 {
                self.warnings.push(format!(
                    "{} bytes after the end of the dump in file {path} ignored",
                    s.trailing_bytes
                ));
            }
            sources.push(json!({
                "path": path,
                "size": s.info.size,
                "rdb_version": s.info.version.magic(),
                "checksum": checksum,
            }));
        }
        self.manifest.insert("source_files".into(), json!(sources));
    }

    /// Ends the export with `status` (and the failure's cause), writes the manifest a last
    /// time and releases the lock.
    pub fn finish(
        mut self,
        status: Status,
        progress: &Progress,
        cause: Option<String>,
    ) -> Result<(), ExportError> {
        self.manifest.insert("end_time_ms".into(), json!(now_ms()));
        self.manifest.insert("failure_cause".into(), json!(cause));
        let result = self.update(status, progress);
        let _ = fs::remove_file(self.dir.join(LOCK));
        result
    }

    fn write(&self) -> Result<(), ExportError> {
        let path = self.dir.join(MANIFEST);
        let tmp = self.dir.join(format!(".{MANIFEST}.tmp"));
        let text =
            serde_json::to_string_pretty(&Json::Object(self.manifest.clone())).unwrap_or_default();
        fs::write(&tmp, text + "\n").map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))
    }
}

fn process_alive(pid: u32) -> bool {
    // Linux: a live process has a /proc entry. Elsewhere assume alive (refuse, never clobber).
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// A fresh export id: `export-<unix ms>-<pid>`.
pub fn generate_id() -> String {
    format!("export-{}-{}", now_ms(), std::process::id())
}
