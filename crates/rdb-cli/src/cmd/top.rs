//! `rdb-convert top`: the biggest keys, prefixes, types and a TTL histogram.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_format::DumpFile;
use rdb_pipeline::pipeline::{self, Progress};
use rdb_report::top::{FoldedSink, PrefixOptions, TopBy, TopOptions, TopSink};
use rdb_report::{now_ms, DumpHeader};

use super::warn_about;
use crate::args::filter::FilterArgs;
use crate::args::input::{pipeline_options, InputArgs};
use crate::args::model::ModelArgs;
use crate::args::report_output::ReportOutputArgs;
use crate::inputs::{NamedFiles, ResolvedInputs};
use crate::output::{commit_all, Pending};

pub const EXAMPLES: &str = "Examples:
  rdb-convert top dump.rdb                          100 biggest keys by estimated memory
  rdb-convert top dump.rdb --by elements -n 20
  rdb-convert top dump.rdb --prefixes --depth 2     memory per user:123: style prefix
  rdb-convert top dump.rdb --format json | jq '.ttl'
  rdb-convert top dump.rdb -n 1000 -o top.txt
  rdb-convert top dump.rdb --min-memory 1048576     only keys of 1 MiB or more
  rdb-convert top dump.rdb --folded > keys.folded   then flamegraph.pl keys.folded > keys.svg
                                                    (or open keys.folded in speedscope.app)";

/// List the biggest keys (by estimated memory, element count or serialized size), totals per
/// type and per key prefix, and how many keys and bytes expire within an hour, a day, a week.
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES, long_about)]
pub struct TopArgs {
    /// Dump files to read (ranked together).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Rank by this.
    #[arg(long, value_enum, default_value_t = ByArg::Memory)]
    pub by: ByArg,

    /// How many keys (and prefixes) to list.
    #[arg(short = 'n', long = "count", value_name = "N", default_value_t = 100)]
    pub count: usize,

    /// Also total keys by prefix.
    #[arg(long)]
    pub prefixes: bool,

    /// Prefix separator.
    #[arg(long, value_name = "SEP", default_value = ":")]
    pub separator: String,

    /// Prefix depth: segments kept (a:b:c is a: at depth 1, a:b: at depth 2).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub depth: usize,

    #[command(flatten)]
    pub out: ReportOutputArgs,

    /// Write one "frame;frame;key weight" line per key (split at --separator, weight by
    /// --by) for flamegraph.pl or speedscope, instead of tables.
    #[arg(long, conflicts_with_all = ["json", "format", "prefixes"])]
    pub folded: bool,

    /// Only keys whose estimated memory is at least BYTES are ranked and counted (like
    /// memory --min-memory), e.g. --min-memory 1048576.
    #[arg(long, value_name = "BYTES")]
    pub min_memory: Option<u64>,

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

/// Ranking metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    /// Estimated memory in a server that loaded the dump.
    Memory,
    /// Elements (list items, members, fields, stream entries).
    Elements,
    /// Serialized size in the dump.
    Size,
}

impl From<ByArg> for TopBy {
    fn from(b: ByArg) -> TopBy {
        match b {
            ByArg::Memory => TopBy::Memory,
            ByArg::Elements => TopBy::Elements,
            ByArg::Size => TopBy::Size,
        }
    }
}

pub fn run(args: &TopArgs) -> Result<()> {
    args.out.check(&args.files)?;
    if args.folded {
        return run_folded(args);
    }
    let options = pipeline_options(&args.input, &args.filter)?;
    // The first dump is read before the run (its ctime), so S3 inputs are downloaded first.
    let (paths, names, _downloads) = ResolvedInputs::new(&args.files, &args.input.s3)?
        .with_progress(args.progress.mode())
        .download_all()?;
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
    let sink = TopSink::new(
        TopOptions {
            by: args.by.into(),
            n: args.count,
            prefixes: args.prefixes.then(|| PrefixOptions {
                separator: args.separator.as_bytes().to_vec(),
                depth: args.depth,
            }),
            now_ms: now,
        },
        args.model.options(),
        options.decoder,
    )
    .with_min_memory(args.min_memory.unwrap_or(0));
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
    let files: Vec<(String, String)> = summaries
        .iter()
        .zip(sink.models())
        .map(|(s, m)| {
            (
                s.info.path.display().to_string(),
                format!("{} {}", m.server(), m.allocator()),
            )
        })
        .collect();
    let top = sink.finish();
    args.out.write(|mut out| {
        if args.out.is_json() {
            top.write_json(&mut out, &files)
        } else {
            let header: Vec<String> = files
                .iter()
                .map(|(name, model)| format!("{name} (memory model: {model})"))
                .collect();
            top.write_text(&mut out, &header)
        }
    })
}

/// `--folded`: one line per key, in file order, straight to stdout.
fn run_folded(args: &TopArgs) -> Result<()> {
    let options = pipeline_options(&args.input, &args.filter)?;
    // With -o, into a pending file put in place at the end (removed on failure).
    let pending = args
        .out
        .output
        .as_deref()
        .map(Pending::create)
        .transpose()?;
    let out: Box<dyn Write + Send> = match &pending {
        Some(p) => Box::new(BufWriter::with_capacity(1 << 20, p.writer()?)),
        None => Box::new(crate::output::stdout()),
    };
    let sink = FoldedSink::new(
        out,
        args.separator.as_bytes(),
        args.by.into(),
        args.model.options(),
        options.decoder,
    )
    .with_min_memory(args.min_memory.unwrap_or(0));
    // S3 inputs: the next dump downloads while the current one is read.
    let mut inputs = ResolvedInputs::new(&args.files, &args.input.s3)?.into_pipeline()?;
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
    sink.finish()
        .and_then(|mut out| out.flush())
        .context("writing output")?;
    if let Some(p) = pending {
        commit_all(vec![p])?;
    }
    Ok(())
}
