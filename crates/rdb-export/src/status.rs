//! An export's state as its manifest tells it, and whether the files it lists are in place:
//! what `rdb-convert export-status` prints, like `aws rds describe-export-tasks`.

use serde_json::Value as Json;

use crate::export::{listed, Status};

/// The state of one export, read from its manifest (`export_info.json`).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ExportStatus {
    /// `export-…`.
    pub export_id: String,
    /// `STARTING`, `IN_PROGRESS`, `COMPLETE`, `FAILED` or `CANCELED`.
    pub status: String,
    /// Share of the input bytes read, 0–100.
    pub progress_percent: f64,
    /// Unix ms.
    pub start_time_ms: Option<i64>,
    /// Unix ms, once ended.
    pub end_time_ms: Option<i64>,
    /// Input bytes read.
    pub bytes_read: u64,
    /// Input bytes in all.
    pub bytes_total: u64,
    /// The dumps read.
    pub sources: Vec<String>,
    /// Keys written to the tables.
    pub keys_exported: u64,
    /// Keys the filters left out.
    pub keys_filtered_out: u64,
    /// Part files written.
    pub output_files: u64,
    /// Bytes of the part files.
    pub output_bytes: u64,
    /// Why it failed.
    pub failure_cause: Option<String>,
    /// Warnings (checksums not computed, bytes after a dump...).
    pub warnings: Vec<String>,
}

impl ExportStatus {
    /// Reads the fields of a manifest; fields an older manifest lacks read as empty or 0.
    /// Fails only when the text is not a manifest at all.
    pub fn from_manifest(manifest: &Json) -> Result<ExportStatus, String> {
        let text = |k: &str| manifest.get(k).and_then(Json::as_str).map(str::to_string);
        let number = |k: &str| manifest.get(k).and_then(Json::as_u64).unwrap_or(0);
        let (Some(export_id), Some(status)) = (text("export_id"), text("status")) else {
            return Err("not an export manifest: no \"export_id\" or \"status\"".into());
        };
        let strings = |k: &str| -> Vec<String> {
            manifest
                .get(k)
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Json::as_str)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(ExportStatus {
            export_id,
            status,
            progress_percent: manifest
                .get("progress_percent")
                .and_then(Json::as_f64)
                .unwrap_or(0.0),
            start_time_ms: manifest.get("start_time_ms").and_then(Json::as_i64),
            end_time_ms: manifest.get("end_time_ms").and_then(Json::as_i64),
            bytes_read: number("bytes_read"),
            bytes_total: number("bytes_total"),
            sources: strings("sources"),
            keys_exported: number("keys_exported"),
            keys_filtered_out: number("keys_filtered_out"),
            output_files: number("output_files"),
            output_bytes: number("output_bytes"),
            failure_cause: text("failure_cause"),
            warnings: strings("warnings"),
        })
    }

    /// Whether the export ended well.
    pub fn is_complete(&self) -> bool {
        self.status == Status::Complete.as_str()
    }
}

/// A file the manifest lists that is not in place as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Missing {
    /// Not found.
    Absent {
        /// Relative path.
        path: String,
    },
    /// Found with another size.
    OtherSize {
        /// Relative path.
        path: String,
        /// What the manifest says.
        listed: u64,
        /// What was found.
        found: u64,
    },
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Absent { path } => write!(f, "{path}: listed, not found"),
            Missing::OtherSize {
                path,
                listed,
                found,
            } => write!(f, "{path}: listed with {listed} bytes, found {found}"),
        }
    }
}

/// Checks that each file `manifest` lists is in place with its size; `size_of` gives a
/// relative path's size where the export is (`None`: absent). An empty list means all are.
pub fn verify_files(
    manifest: &Json,
    mut size_of: impl FnMut(&str) -> Result<Option<u64>, String>,
) -> Result<Vec<Missing>, String> {
    let Some((files, _dirs)) = listed(manifest)? else {
        return Err("the manifest lists no files (written by an older version)".into());
    };
    let sizes: Vec<Option<u64>> = manifest
        .get("files")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .map(|f| f.get("bytes").and_then(Json::as_u64))
                .collect()
        })
        .unwrap_or_default();
    let mut missing = Vec::new();
    for (i, path) in files.into_iter().enumerate() {
        match (size_of(&path)?, sizes.get(i).copied().flatten()) {
            (None, _) => missing.push(Missing::Absent { path }),
            (Some(found), Some(listed)) if found != listed => missing.push(Missing::OtherSize {
                path,
                listed,
                found,
            }),
            _ => {}
        }
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest() -> Json {
        json!({
            "export_id": "export-1-2", "status": "COMPLETE", "progress_percent": 100.0,
            "bytes_read": 10, "bytes_total": 10, "keys_exported": 3, "output_files": 2,
            "files": [
                {"path": "keys/db=0/part-0000-d-00000.parquet", "bytes": 5, "rows": 3, "table": "keys"},
                {"path": "meta/part-0000-d-00000.parquet", "bytes": 7, "rows": 1, "table": "meta"},
            ],
        })
    }

    #[test]
    fn reads_a_manifest() {
        let s = ExportStatus::from_manifest(&manifest()).unwrap();
        assert!(s.is_complete());
        assert_eq!((s.keys_exported, s.output_files, s.bytes_total), (3, 2, 10));
        assert!(ExportStatus::from_manifest(&json!({"status": "COMPLETE"})).is_err());
    }

    #[test]
    fn finds_absent_and_resized_files() {
        let m = manifest();
        let ok = verify_files(&m, |p| Ok(Some(if p.starts_with("keys") { 5 } else { 7 })));
        assert_eq!(ok, Ok(vec![]));
        let bad = verify_files(&m, |p| Ok(p.starts_with("keys").then_some(6))).unwrap();
        assert_eq!(bad.len(), 2);
        assert_eq!(
            bad[0].to_string(),
            "keys/db=0/part-0000-d-00000.parquet: listed with 5 bytes, found 6"
        );
        assert!(bad[1].to_string().ends_with("listed, not found"));
    }
}
