//! One split of an export written by a worker of its own (a Spark or Ray task): the
//! [`ParquetSink`] run over the split's byte range into the export's staging directory,
//! under the part names the CLI gives that dump, so the driver publishes the tasks' files
//! with [`Export::publish`](super::Export::publish) as the CLI publishes its own.
//!
//! Part names: the first split of a dump (chunk 0) names its files as the CLI names the
//! dump's (`part-<input>-<stem>-<n>`); a later split `c` adds its number after the stem
//! (`part-<input>-<stem>-<c>-<n>`), since the CLI writes all of a dump's chunks into the same
//! files. A dump that is one split is thus exported file for file as the CLI exports it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rdb_format::{Checksum, Decoder, DecoderOptions, DumpFile, Eof, Item, Scratch, Version};
use rdb_pipeline::pipeline::{
    Chunk, FileInfo, FileSummary, PipelineError, PipelineOptions, Progress, Sink, SinkError,
    SourceHeader,
};
use serde_json::{json, Value as Json};

use super::{Export, ExportRunError, ExportSummary, Status, MANIFEST};
use crate::arrow::split::{decode_error, KeyCounts};
use crate::arrow::Split;
use crate::parquet::{ParquetOptions, ParquetSink, PartFile, TABLES};

/// Bytes of a dump's file stem kept in part names (as the sink keeps), less room for the
/// split number a later split adds.
const STEM_BYTES: usize = 100 - 6;

/// A split's output that could not be read back from JSON.
#[derive(Debug, thiserror::Error)]
#[error("not a split's output: {0}")]
pub struct SplitOutputError(String);

/// What one split's task wrote and counted.
#[derive(Clone, Debug)]
pub struct SplitOutput {
    /// The part files, staged (not yet published).
    pub files: Vec<PartFile>,
    /// Keys written (after filtering).
    pub keys_done: u64,
    /// Keys the filter dropped.
    pub keys_skipped: u64,
    /// The dump's summary (checksum state, trailing bytes), from the task of its chunk 0,
    /// which scans the whole dump for it.
    pub source: Option<FileSummary>,
}

/// Writes every table of `split` as Parquet part files into `staging` (an export's staging
/// directory). `shown` names the dump in the `file` column, the part names and errors (an
/// `s3://` URL for a fetched copy). The task of a dump's chunk 0 also reads the dump's end
/// and, with `options.decoder.verify_checksum`, checks its CRC over the whole file. On an
/// error nothing it wrote is left.
pub fn write_split(
    split: &Split,
    shown: &str,
    staging: &Path,
    options: &PipelineOptions,
    parquet: &ParquetOptions,
) -> Result<SplitOutput, PipelineError> {
    let sink = ParquetSink::new(staging, parquet.clone());
    let result = write_split_into(&sink, split, shown, options);
    if result.is_err() {
        sink.abort();
    }
    result
}

fn write_split_into(
    sink: &ParquetSink,
    split: &Split,
    shown: &str,
    options: &PipelineOptions,
) -> Result<SplitOutput, PipelineError> {
    let shown_path = PathBuf::from(shown);
    let open_error = |error| PipelineError::Open {
        path: shown_path.clone(),
        error,
    };
    let open = split.open(&shown_path, options.decoder)?;
    let (dump, data, version) = (&open.dump, open.dump.data(), open.version);
    let stem = shown_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let info = FileInfo {
        index: split.input,
        path: shown_path.clone(),
        stem: if split.chunk == 0 {
            stem
        } else {
            format!("{}-{:05}", truncated(&stem), split.chunk)
        },
        size: split.size,
        version,
    };
    let sink_error = |e: SinkError<_>| match e {
        SinkError::Decode(e) => decode_error(dump, &shown_path, e),
        SinkError::Sink(e) => PipelineError::sink(e),
        other => PipelineError::sink(std::io::Error::other(other.to_string())),
    };
    let state = sink.begin_file(&info, data).map_err(sink_error)?;
    let chunk = Chunk {
        file: Arc::new(info.clone()),
        index: split.chunk,
        start: split.start,
        end: split.end,
        db: split.db,
    };
    let mut counts = KeyCounts::default();
    let mut items = open.kept_items(split, &options.filter, &mut counts);
    let part = sink
        .process(&state, &chunk, &mut items, &mut Scratch::new())
        .map_err(sink_error)?;
    drop(items);
    sink.commit(&state, &chunk, part)
        .map_err(PipelineError::sink)?;
    let eof = if split.chunk == 0 {
        Some(dump_end(dump, options.decoder).map_err(|e| decode_error(dump, &shown_path, e))?)
    } else {
        None
    };
    // The sink does not look at the end it is given; the dump's is read above.
    let end = eof.as_ref().map(|(eof, _)| *eof).unwrap_or(Eof {
        offset: split.end,
        checksum: Checksum::Absent,
        trailing_bytes: 0,
    });
    sink.end_file(state, &end).map_err(PipelineError::sink)?;
    // Nothing read after a cut is believed.
    dump.verify().map_err(open_error)?;
    Ok(SplitOutput {
        files: sink.files(),
        keys_done: counts.kept,
        keys_skipped: counts.skipped,
        source: eof.map(|(eof, header)| FileSummary {
            info,
            checksum: eof.checksum,
            trailing_bytes: eof.trailing_bytes,
            header,
        }),
    })
}

/// The dump's end: the scan that skips values, to the EOF opcode (checking the checksum
/// when `options` say so), stopping at a cut.
fn dump_end(dump: &DumpFile, options: DecoderOptions) -> rdb_format::Result<(Eof, SourceHeader)> {
    let scan = Decoder::with_options(dump.data(), options)?;
    let mut header = SourceHeader::default();
    let mut items = dump.items(scan);
    loop {
        match items.next().transpose()? {
            Some(Item::Eof(eof)) => return Ok((eof, header)),
            // Where the dump comes from, for the manifest (as the pipeline's scan notes it).
            Some(Item::Aux { key, value }) => {
                let scratch = Scratch::new();
                if let (Ok(k), Ok(v)) = (key.decode(&scratch), value.decode(&scratch)) {
                    header.note(&k.to_vec(), &v.to_vec());
                }
            }
            Some(_) => {}
            // The decoder ends without an EOF opcode only at the end of the bytes.
            None => {
                return Err(rdb_format::Error::new(
                    dump.data().len() as u64,
                    "dump",
                    rdb_format::ErrorKind::Truncated,
                ))
            }
        }
    }
}

fn truncated(stem: &str) -> &str {
    let mut end = STEM_BYTES.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    &stem[..end]
}

impl SplitOutput {
    /// The output as JSON, to send from a task to the driver.
    pub fn to_json(&self) -> String {
        let files: Vec<Json> = self
            .files
            .iter()
            .map(|f| json!({"path": f.path, "table": f.table, "rows": f.rows, "bytes": f.bytes}))
            .collect();
        let source = self.source.as_ref().map(|s| {
            let (checksum, stored) = match s.checksum {
                Checksum::Verified(v) => ("verified", v),
                Checksum::NotComputed => ("not_computed", 0),
                Checksum::NotVerified(v) => ("not_verified", v),
                Checksum::Absent => ("absent", 0),
                _ => ("unknown", 0),
            };
            json!({
                "index": s.info.index,
                "path": s.info.path.to_string_lossy(),
                "size": s.info.size,
                "version": s.info.version.magic(),
                "checksum": checksum,
                "stored": stored,
                "trailing_bytes": s.trailing_bytes,
                "redis_ver": s.header.redis_ver,
                "valkey_ver": s.header.valkey_ver,
                "ctime": s.header.ctime,
            })
        });
        json!({
            "files": files,
            "keys_done": self.keys_done,
            "keys_skipped": self.keys_skipped,
            "source": source,
        })
        .to_string()
    }

    /// The output of [`SplitOutput::to_json`]'s text.
    pub fn from_json(text: &str) -> Result<SplitOutput, SplitOutputError> {
        let bad = |what: &str| SplitOutputError(what.to_string());
        let v: Json = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
        let number = |v: &Json, name: &str| {
            v.get(name)
                .and_then(Json::as_u64)
                .ok_or_else(|| bad(&format!("no number {name:?}")))
        };
        let string = |v: &Json, name: &str| {
            v.get(name)
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| bad(&format!("no string {name:?}")))
        };
        let mut files = Vec::new();
        for f in v
            .get("files")
            .and_then(Json::as_array)
            .ok_or_else(|| bad("no \"files\""))?
        {
            let table = string(f, "table")?;
            let table = TABLES
                .iter()
                .find(|t| **t == table)
                .ok_or_else(|| bad(&format!("no table {table:?}")))?;
            files.push(PartFile {
                path: string(f, "path")?,
                table,
                rows: number(f, "rows")?,
                bytes: number(f, "bytes")?,
            });
        }
        let source = match v.get("source") {
            None | Some(Json::Null) => None,
            Some(s) => {
                let magic = string(s, "version")?;
                let version = Version::from_magic(magic.as_bytes())
                    .ok_or_else(|| bad(&format!("no RDB version {magic:?}")))?;
                let stored = number(s, "stored")?;
                let checksum = match string(s, "checksum")?.as_str() {
                    "verified" => Checksum::Verified(stored),
                    "not_computed" => Checksum::NotComputed,
                    "not_verified" => Checksum::NotVerified(stored),
                    "absent" => Checksum::Absent,
                    other => return Err(bad(&format!("no checksum state {other:?}"))),
                };
                let path = PathBuf::from(string(s, "path")?);
                Some(FileSummary {
                    info: FileInfo {
                        index: usize::try_from(number(s, "index")?)
                            .map_err(|_| bad("\"index\" too big"))?,
                        stem: path
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        path,
                        size: number(s, "size")?,
                        version,
                    },
                    checksum,
                    trailing_bytes: number(s, "trailing_bytes")?,
                    header: {
                        let mut h = SourceHeader::default();
                        h.redis_ver = s.get("redis_ver").and_then(Json::as_str).map(String::from);
                        h.valkey_ver = s.get("valkey_ver").and_then(Json::as_str).map(String::from);
                        h.ctime = s.get("ctime").and_then(Json::as_i64);
                        h
                    },
                })
            }
        };
        Ok(SplitOutput {
            files,
            keys_done: number(&v, "keys_done")?,
            keys_skipped: number(&v, "keys_skipped")?,
            source,
        })
    }
}

/// Publishes what the tasks of an export wrote into its staging directory and ends it
/// COMPLETE: `outputs` in plan order (dump by dump, split by split), `bytes_total` the
/// dumps' bytes. Publishing that fails ends it FAILED, its files removed ([`fail_splits`]).
/// `shown` names the output in messages.
pub fn publish_splits(
    mut export: Export,
    outputs: &[SplitOutput],
    bytes_total: u64,
    shown: &str,
) -> Result<ExportSummary, ExportRunError> {
    let progress = Progress::default();
    progress.bytes_total.store(bytes_total, Ordering::Relaxed);
    progress.bytes_done.store(bytes_total, Ordering::Relaxed);
    let mut files = Vec::new();
    let mut sources = Vec::new();
    let mut seen = HashSet::new();
    for o in outputs {
        progress.keys_done.fetch_add(o.keys_done, Ordering::Relaxed);
        progress
            .keys_skipped
            .fetch_add(o.keys_skipped, Ordering::Relaxed);
        for f in &o.files {
            if !seen.insert(f.path.clone()) {
                let cause = format!("two splits wrote {}: their dumps' names clash", f.path);
                return Err(fail_splits(export, cause, false, shown));
            }
        }
        files.extend(o.files.iter().cloned());
        sources.extend(o.source.clone());
    }
    sources.sort_by_key(|s| s.info.index);
    if let Err(e) = export.publish(&files) {
        return Err(fail_splits(
            export,
            format!("publishing the part files: {e}"),
            false,
            shown,
        ));
    }
    export.sources_done(&sources);
    let id = export.id().to_string();
    export.finish(Status::Complete, &progress, None)?;
    Ok(ExportSummary {
        id,
        keys: progress.keys_done.load(Ordering::Relaxed),
        files: files.len() as u64,
        bytes: files.iter().map(|f| f.bytes).sum(),
        sources,
    })
}

/// Ends an export whose tasks failed (or were canceled) with `cause`: FAILED or CANCELED,
/// its files removed. Returns the error to report (or the manifest's write error).
pub fn fail_splits(export: Export, cause: String, canceled: bool, shown: &str) -> ExportRunError {
    let status = if canceled {
        Status::Canceled
    } else {
        Status::Failed
    };
    let id = export.id().to_string();
    if let Err(e) = export.finish(status, &Progress::default(), Some(cause.clone())) {
        return e.into();
    }
    ExportRunError::Ended {
        id,
        status,
        cause,
        manifest: Path::new(shown).join(MANIFEST),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The end scan stops at a cut: at the page where the walk met it, not after
    /// decoding the zeros that follow as endless empty records.
    #[test]
    fn dump_end_stops_at_a_cut() {
        let dump = crate::arrow::split::tests::dump(40_000);
        // Well past the bound below, so a walk of the zeros would fail it.
        assert!(dump.len() > 4 * 64 * 1024);
        let dir = std::env::temp_dir().join(format!("rdb-dump-end-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cut.rdb");
        std::fs::write(&path, &dump).unwrap();
        let file = DumpFile::open(&path).unwrap();
        assert!(dump_end(&file, DecoderOptions::default()).is_ok());
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(1024)
            .unwrap();
        let e = dump_end(&file, DecoderOptions::default()).unwrap_err();
        assert!(matches!(e.kind, rdb_format::ErrorKind::Truncated), "{e}");
        assert!(e.offset < 64 * 1024, "walked the zeros to {}", e.offset);
        assert!(file.verify().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
