//! Writing RDB files for split and filter: outputs staged for S3 where asked, written
//! unnamed and put in place together once all are complete.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use anyhow::{Context, Result};
use rdb_cluster::slot::SlotLayout;
use rdb_cluster::split::{SplitError, SplitOptions, SplitReport, Splitter};
use rdb_format::DumpFile;
use rdb_format::{Decoder, DecoderOptions};
use rdb_pipeline::pipeline::Progress;

use crate::args::filter::FilterArgs;
use crate::args::rdb_output::RdbOutputArgs;
use crate::args::s3;
use crate::output::s3::StagedOutputs;
use crate::output::{commit_all, Pending};
use crate::progress::Mode;

/// Output paths as given (for messages) and the local paths to write: `s3://` outputs are
/// written into a staging directory and uploaded by the returned [`StagedOutputs`].
#[allow(clippy::type_complexity)]
pub(super) fn stage_outputs(
    paths: Vec<PathBuf>,
    out: &RdbOutputArgs,
) -> Result<((Vec<PathBuf>, Vec<PathBuf>), Option<StagedOutputs>)> {
    let urls: Vec<_> = paths
        .iter()
        .filter(|p| s3::is_s3(p))
        .map(|p| s3::parse_url(p))
        .collect::<Result<_>>()?;
    let Some(first) = urls.first() else {
        return Ok(((paths.clone(), paths), None));
    };
    let mut staged = StagedOutputs::new(&out.s3, &out.s3_output, first)?;
    let mut local = Vec::with_capacity(paths.len());
    for p in &paths {
        if s3::is_s3(p) {
            local.push(staged.stage(&s3::parse_url(p)?));
        } else {
            local.push(p.clone());
        }
    }
    Ok(((paths, local), Some(staged)))
}

/// `cluster`: the outputs are cluster shards (`Some(flatten_dbs)`), or one plain file.
/// `names`: what messages call each input (its URL, `<stdin>`, the compressed file's name).
/// The keys of all inputs go to the outputs, input after input.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_rdbs(
    inputs: &[PathBuf],
    names: &[String],
    layout: &SlotLayout,
    paths: &[PathBuf],
    out: &RdbOutputArgs,
    filter: &FilterArgs,
    cluster: Option<bool>,
    progress_mode: Mode,
) -> Result<SplitReport> {
    let mut files = Vec::with_capacity(inputs.len());
    for (input, name) in inputs.iter().zip(names) {
        let file = DumpFile::open_as(input, PathBuf::from(name))
            .with_context(|| format!("opening {name}"))?;
        files.push(file);
    }
    let decoder_options = DecoderOptions {
        verify_checksum: !out.no_verify_checksum,
        allow_future_versions: out.allow_future_versions,
    };
    let decoder = |i: usize| {
        Decoder::with_options(files[i].data(), decoder_options).with_context(|| names[i].clone())
    };
    let Some(first) = files.first() else {
        anyhow::bail!("internal: no input");
    };
    let first_version = decoder(0)?.version();
    let options = SplitOptions {
        filter: filter.to_filter()?,
        target: out.rdb_version,
        on_unsupported: out.on_unsupported,
        validate: !out.no_validate,
        cluster: cluster.is_some(),
        flatten_dbs: cluster == Some(true),
    };
    let several = files.len() > 1;
    // Outputs are written unnamed and put in place together once all are complete.
    let result = (|| -> Result<SplitReport> {
        let mut pending = Vec::with_capacity(paths.len());
        let mut writers = Vec::with_capacity(paths.len());
        for p in paths {
            let out = Pending::create(p)?;
            writers.push(BufWriter::with_capacity(1 << 20, out.writer()?));
            pending.push(out);
        }
        let progress = Progress::default();
        let total: u64 = files.iter().map(|f| f.data().len() as u64).sum();
        progress.bytes_total.store(total, Ordering::Relaxed);
        let split_all = || -> Result<_> {
            let mut splitter =
                Splitter::new(layout, writers, &options, first_version, first.data().len())
                    .map_err(|e| split_error(&names[0], e, several))?;
            for (i, name) in names.iter().enumerate() {
                let d = decoder(i)?;
                let (version, data) = (d.version(), d.data());
                // Ends at a cut of the file, not after writing the zeros past it.
                splitter
                    .add_items(version, data, files[i].items(d), &progress)
                    .map_err(|e| split_error(name, e, several))?;
            }
            let last = names.last().map_or("", String::as_str);
            splitter.finish().map_err(|e| split_error(last, e, several))
        };
        let (report, writers) =
            crate::progress::run_with(&progress, progress_mode, |_| {}, split_all)?;
        for (w, p) in writers.into_iter().zip(paths) {
            w.into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("writing {}", p.display()))?;
        }
        for (file, name) in files.iter().zip(names) {
            file.verify().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        }
        commit_all(pending)?;
        Ok(report)
    })();
    let result = result.map_err(|e| {
        // Decoding a dump cut short fails somewhere: say why.
        for (file, name) in files.iter().zip(names) {
            if let Err(cut) = file.verify() {
                return anyhow::anyhow!("{name}: {cut}");
            }
        }
        e
    });
    let report = result?;
    if report.unsupported > 0 {
        eprintln!(
            "rdb-convert: warning: {} value(s) the output version cannot hold were skipped:",
            report.unsupported
        );
        for e in &report.unsupported_examples {
            eprintln!("  {e}");
        }
    }
    if report.empty_skipped > 0 || report.stream_metadata_lost > 0 {
        eprintln!(
            "rdb-convert: warning: {} empty collection(s) left out (Redis skips them when \
             loading); {} stream(s) lost metadata RDB 9 cannot hold, e.g.:",
            report.empty_skipped, report.stream_metadata_lost
        );
        for e in &report.lossy_examples {
            eprintln!("  {e}");
        }
    }
    let _ = std::io::stderr().flush();
    Ok(report)
}

/// A split error, named by the input it occurred in, with what to do next.
fn split_error(name: &str, e: SplitError, several: bool) -> anyhow::Error {
    let hint = match e {
        SplitError::DuplicateKey { .. } if several => "; nothing was written (a key may be in \
             one of the inputs only: Redis refuses to load a dump holding a key twice)"
            .to_string(),
        SplitError::Invalid { .. } | SplitError::DuplicateKey { .. } => {
            format!("; nothing was written (`rdb-convert check {name}` lists every problem)")
        }
        SplitError::Canceled => "; nothing was written".to_string(),
        _ => String::new(),
    };
    anyhow::anyhow!("{name}: {e}{hint}")
}
