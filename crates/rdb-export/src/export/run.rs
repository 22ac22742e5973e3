//! The Parquet export as one sequence that every caller runs (the CLI, the Python package):
//! the directory taken ([`Export::start`]), the dumps run through a [`ParquetSink`] into the
//! staging directory, the part files published and the manifest finished. Callers keep
//! their own progress display and cancel signal: they call [`ParquetExport::tick`] and set
//! [`Progress::cancel`] as they like.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use rdb_pipeline::pipeline::{self, FileSummary, Inputs, PipelineError, PipelineOptions, Progress};
use serde_json::{Map, Value as Json};

use super::{Export, ExportError, Status, MANIFEST};
use crate::parquet::{ParquetOptions, ParquetSink};

/// Why an export did not end COMPLETE.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportRunError {
    /// The directory could not be taken, or the manifest not written.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The run stopped (a dump, the sink, publishing, or a cancel): the manifest says
    /// FAILED or CANCELED and the export's files are removed.
    #[error("export {id} {}: {cause}; manifest in {}", status.as_str(), manifest.display())]
    Ended {
        /// The export's id.
        id: String,
        /// FAILED or CANCELED.
        status: Status,
        /// The cause, with its chain of causes (as in the manifest's `failure_cause`).
        cause: String,
        /// The manifest, as the caller named the output.
        manifest: PathBuf,
    },
}

/// What a COMPLETE export wrote.
#[derive(Clone, Debug)]
pub struct ExportSummary {
    /// The export's id.
    pub id: String,
    /// Keys exported (after filtering).
    pub keys: u64,
    /// Part files published.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The sources' checksum states and trailing bytes, in input order.
    pub sources: Vec<FileSummary>,
}

/// A Parquet export in progress: holds the directory's lock from [`ParquetExport::start`]
/// to [`ParquetExport::finish`].
pub struct ParquetExport {
    export: Mutex<Export>,
    sink: ParquetSink,
    shown: String,
}

impl ParquetExport {
    /// Takes `dir` for export `id` ([`Export::start`]) and makes the sink writing into its
    /// staging directory. `shown` is where the caller says the export goes (`dir`, or the
    /// URL it is uploaded to), for messages.
    pub fn start(
        dir: &Path,
        shown: &str,
        id: &str,
        overwrite: bool,
        settings: Map<String, Json>,
        parquet: ParquetOptions,
    ) -> Result<ParquetExport, ExportError> {
        let export = Export::start(dir, id, overwrite, settings)?;
        let sink = ParquetSink::new(export.staging_dir(), parquet);
        Ok(ParquetExport {
            export: Mutex::new(export),
            sink,
            shown: shown.to_string(),
        })
    }

    /// The export's id.
    pub fn id(&self) -> String {
        self.lock().id().to_string()
    }

    /// What happened to the export found in the directory, if worth telling (a dead run).
    pub fn notice(&self) -> Option<String> {
        self.lock().notice().map(str::to_string)
    }

    /// Rewrites the manifest with the run's progress (IN_PROGRESS); a failed write is
    /// retried at the next tick.
    pub fn tick(&self, progress: &Progress) {
        let _ = self.lock().update(Status::InProgress, progress);
    }

    /// Runs the dumps through the sink (on every core); call once, then [`Self::finish`]
    /// with the result.
    pub fn run(
        &self,
        inputs: &mut dyn Inputs,
        options: &PipelineOptions,
        progress: &Progress,
    ) -> Result<Vec<FileSummary>, PipelineError> {
        pipeline::run_inputs(inputs, options, &self.sink, progress)
    }

    /// Publishes the part files and ends the export COMPLETE after a run that succeeded
    /// (`on_sources` sees the sources' summaries first, to warn about them), or ends it
    /// FAILED or CANCELED, its files removed.
    pub fn finish(
        self,
        result: Result<Vec<FileSummary>, PipelineError>,
        progress: &Progress,
        on_sources: impl FnOnce(&[FileSummary]),
    ) -> Result<ExportSummary, ExportRunError> {
        let mut export = self.export.into_inner().unwrap_or_else(|p| p.into_inner());
        let id = export.id().to_string();
        // Published only when every input is done; the manifest's counts are those of the
        // files found in place.
        let result = result
            .map_err(|e| {
                let canceled = matches!(e, PipelineError::Canceled);
                (error_chain(&e), canceled)
            })
            .and_then(|summaries| {
                export
                    .publish(&self.sink.files())
                    .map(|()| summaries)
                    .map_err(|e| (format!("publishing the part files: {e}"), false))
            });
        match result {
            Ok(summaries) => {
                export.sources_done(&summaries);
                on_sources(&summaries);
                let stats = self.sink.stats();
                export.finish(Status::Complete, progress, None)?;
                Ok(ExportSummary {
                    id,
                    keys: progress.keys_done.load(Ordering::Relaxed),
                    files: stats.files,
                    bytes: stats.bytes,
                    sources: summaries,
                })
            }
            Err((cause, canceled)) => {
                let status = if canceled {
                    Status::Canceled
                } else {
                    Status::Failed
                };
                export.finish(status, progress, Some(cause.clone()))?;
                Err(ExportRunError::Ended {
                    id,
                    status,
                    cause,
                    manifest: Path::new(&self.shown).join(MANIFEST),
                })
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Export> {
        self.export.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An error and its causes, `: `-separated: the whole chain in one line, as the manifest's
/// `failure_cause` and the CLI's messages give it.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// Local dumps, all opened before the run starts (a missing one fails before any output),
/// handed to the pipeline in order.
pub struct OpenedDumps {
    dumps: Vec<Option<rdb_format::DumpFile>>,
    bytes: u64,
}

impl OpenedDumps {
    /// Opens every file of `paths`.
    pub fn open(paths: &[PathBuf]) -> Result<OpenedDumps, PipelineError> {
        let mut dumps = Vec::with_capacity(paths.len());
        let mut bytes = 0;
        for path in paths {
            let dump = rdb_format::DumpFile::open(path).map_err(|error| PipelineError::Open {
                path: path.clone(),
                error,
            })?;
            bytes += dump.data().len() as u64;
            dumps.push(Some(dump));
        }
        Ok(OpenedDumps { dumps, bytes })
    }
}

impl Inputs for OpenedDumps {
    fn count(&self) -> usize {
        self.dumps.len()
    }

    fn total_bytes(&self) -> u64 {
        self.bytes
    }

    fn open(&mut self, index: usize) -> Result<rdb_format::DumpFile, PipelineError> {
        self.dumps
            .get_mut(index)
            .and_then(Option::take)
            .ok_or(PipelineError::WorkerStopped)
    }
}
