//! Writing RDB files for split and filter: outputs staged for S3 where asked, written
//! unnamed and put in place together once all are complete.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rdb_cluster::slot::SlotLayout;
use rdb_cluster::split::{split, SplitError, SplitOptions, SplitReport};
use rdb_format::DumpFile;
use rdb_format::{Decoder, DecoderOptions};

use crate::args::filter::FilterArgs;
use crate::args::rdb_output::RdbOutputArgs;
use crate::args::s3;
use crate::output::s3::StagedOutputs;
use crate::output::{commit_all, Pending};

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
/// `name`: what messages call the input (its URL, `<stdin>`, the compressed file's name).
pub(super) fn write_rdbs(
    input: &Path,
    name: &str,
    layout: &SlotLayout,
    paths: &[PathBuf],
    out: &RdbOutputArgs,
    filter: &FilterArgs,
    cluster: Option<bool>,
) -> Result<SplitReport> {
    let file =
        DumpFile::open_as(input, PathBuf::from(name)).with_context(|| format!("opening {name}"))?;
    let decoder = Decoder::with_options(
        file.data(),
        DecoderOptions {
            verify_checksum: !out.no_verify_checksum,
            allow_future_versions: out.allow_future_versions,
        },
    )
    .with_context(|| name.to_string())?;
    let options = SplitOptions {
        filter: filter.to_filter()?,
        target: out.rdb_version,
        on_unsupported: out.on_unsupported,
        validate: !out.no_validate,
        cluster: cluster.is_some(),
        flatten_dbs: cluster == Some(true),
    };
    // Outputs are written unnamed and put in place together once all are complete.
    let result = (|| -> Result<SplitReport> {
        let mut pending = Vec::with_capacity(paths.len());
        let mut writers = Vec::with_capacity(paths.len());
        for p in paths {
            let out = Pending::create(p)?;
            writers.push(BufWriter::with_capacity(1 << 20, out.writer()?));
            pending.push(out);
        }
        let (report, writers) = split(decoder, layout, writers, &options).map_err(|e| {
            let hint = match e {
                SplitError::Invalid { .. } | SplitError::DuplicateKey { .. } => format!(
                    "; nothing was written (`rdb-convert check {name}` lists every problem)"
                ),
                _ => String::new(),
            };
            anyhow::anyhow!("{name}: {e}{hint}")
        })?;
        for (w, p) in writers.into_iter().zip(paths) {
            w.into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("writing {}", p.display()))?;
        }
        file.verify().map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        commit_all(pending)?;
        Ok(report)
    })();
    let result = result.map_err(|e| match file.verify() {
        // Decoding a dump cut short fails somewhere: say why.
        Err(cut) => anyhow::anyhow!("{name}: {cut}"),
        Ok(()) => e,
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
