//! `rdb-convert report`: one self-contained HTML page about one dump or all shards of a backup.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use rdb_format::DumpFile;
use rdb_pipeline::pipeline::{self, Progress};
use rdb_report::html::{render, HtmlOptions, HtmlSink, ReportFile};
use rdb_report::{now_ms, DumpHeader};

use super::warn_about;
use crate::args::filter::FilterArgs;
use crate::args::input::{pipeline_options, InputArgs};
use crate::args::model::ModelArgs;
use crate::inputs::{NamedFiles, ResolvedInputs};
use crate::output::{refuse_input_as_output, write_atomically};

pub const EXAMPLES: &str = "Examples:
  rdb-convert report dump.rdb -o report.html                 open report.html in a browser
  rdb-convert report shard-*.rdb -o backup.html              all shards of a backup together
  rdb-convert report dump.rdb -o r.html --separator : --separator /   split keys on : and /";

/// Write a visual report as one HTML file (inline CSS and SVG; opens from disk, prints):
/// totals per database, type and encoding, memory by type and by key prefix (a treemap),
/// the biggest keys overall and per type, a TTL histogram with the memory freed in the next
/// hour/day/week, per-type percentiles and recommendations. Memory is the estimate
/// `memory` and `top` print.
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES, long_about)]
pub struct ReportArgs {
    /// Dump files to read (reported together, e.g. the shards of one backup).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The HTML file to write (written under a temporary name, renamed when complete).
    #[arg(long, short, value_name = "PATH")]
    pub output: PathBuf,

    /// Key prefix separator, repeatable: --separator : --separator / (default ":").
    #[arg(long = "separator", value_name = "SEP")]
    pub separators: Vec<String>,

    /// Biggest keys listed overall (per type: a fifth, at least 5).
    #[arg(long = "top", value_name = "N", default_value_t = 50)]
    pub top: usize,

    /// Measure TTLs from this unix time in ms (default: the first dump's ctime aux field,
    /// else now).
    #[arg(long, value_name = "MS")]
    pub now: Option<i64>,

    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub progress: crate::progress::ProgressArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

pub fn run(args: &ReportArgs) -> Result<()> {
    refuse_input_as_output(&args.output, &args.files)?;
    let options = pipeline_options(&args.input, &args.filter)?;
    // The first dump is read before the run (its ctime), so S3 inputs are downloaded first.
    let (paths, names, _downloads) =
        ResolvedInputs::new(&args.files, &args.input.s3)?.download_all()?;
    let now = match (args.now, paths.first()) {
        (Some(now), _) => now,
        (None, Some(first)) => {
            let name = &names[0];
            let file = DumpFile::open(first).with_context(|| format!("opening {name}"))?;
            let header =
                DumpHeader::read(file.data(), options.decoder).with_context(|| name.clone())?;
            header
                .aux_str("ctime")
                .and_then(|s| s.parse::<i64>().ok())
                .map_or_else(now_ms, |s| s.saturating_mul(1000))
        }
        (None, None) => now_ms(),
    };
    let separators = if args.separators.is_empty() {
        vec![b":".to_vec()]
    } else {
        args.separators
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect()
    };
    let html = HtmlOptions {
        separators,
        top_keys: args.top,
        top_keys_per_type: (args.top / 5).max(5),
        now_ms: now,
        ..HtmlOptions::default()
    };
    let sink = HtmlSink::new(html, args.model.options(), options.decoder);
    let mut inputs = NamedFiles {
        paths: &paths,
        names: &names,
    };
    let summaries = {
        let progress = Progress::default();
        crate::progress::run_with(
            &progress,
            args.progress.mode(),
            |_| {},
            || pipeline::run_inputs(&mut inputs, &options, &sink, &progress),
        )
    }?;
    for s in &summaries {
        warn_about(s);
    }
    let files: Vec<ReportFile> = summaries
        .iter()
        .zip(sink.models())
        .map(|(s, m)| ReportFile {
            name: s.info.path.display().to_string(),
            model: format!("{} {}", m.server(), m.allocator()),
        })
        .collect();
    let summary = sink.finish();
    // Rendered only after every dump was read: a failed read leaves no file behind.
    write_atomically(&args.output, |out| {
        render(out, &summary, &files).context("writing the report")?;
        out.flush().context("writing the report")?;
        Ok(())
    })
}
