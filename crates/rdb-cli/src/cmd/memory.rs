//! `rdb-convert memory`: one CSV row per key with its estimated memory in a running server.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_pipeline::pipeline::{self, PipelineOptions, Progress, Sink};
use rdb_report::memory::{CsvOptions, CsvStyle, KeyEscape, MemorySink};

use super::warn_about;
use crate::args::filter::FilterArgs;
use crate::args::input::{pipeline_options, InputArgs};
use crate::args::model::ModelArgs;
use crate::inputs::ResolvedInputs;
use crate::output::write_atomically;
use crate::UsageError;

pub const EXAMPLES: &str = "Examples:
  rdb-convert memory dump.rdb -o memory.csv
  rdb-convert memory dump.rdb --format parquet -o memory.parquet
  duckdb -c \"select type, sum(size_in_bytes) from 'memory.parquet' group by all\"
  rdb-convert memory dump.rdb --db 0 --type hash | sort -t, -k4 -n -r | head
  rdb-convert memory dump.rdb --server 7.4 --allocator jemalloc-8 --list-compress-depth 1
  rdb-convert memory dump.rdb --compat rdbtools --min-memory 1024 -o memory.csv";

/// Estimate each key's memory (`MEMORY USAGE key SAMPLES 0` on a server that loaded the
/// dump) and write it as CSV: database,type,key,size_in_bytes,encoding,num_elements,
/// len_largest_element,expiry (the columns of redis-rdb-tools' memory report), or as one
/// Parquet file with the same columns, typed (plus `key_raw` for keys that are not UTF-8).
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES, long_about)]
pub struct MemoryArgs {
    /// Dump files to read, in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write here instead of stdout (written under a temporary name, renamed when complete;
    /// required with --format parquet).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = MemoryFormat::Csv)]
    pub format: MemoryFormat,

    /// Write another tool's vocabulary (type, encoding, num_elements,
    /// len_largest_element, expiry; sizes stay ours), e.g. --compat rdbtools.
    #[arg(long, value_enum, value_name = "TOOL")]
    pub compat: Option<MemoryCompat>,

    /// How keys with bytes outside printable ASCII are written in the CSV, e.g. --escape print.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = KeyEscapeArg::Raw)]
    pub escape: KeyEscapeArg,

    /// Only keys whose estimated memory is at least BYTES, e.g. --min-memory 1048576.
    #[arg(long, value_name = "BYTES")]
    pub min_memory: Option<u64>,

    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub progress: crate::progress::ProgressArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    /// Target chunk size in bytes for the parallel pipeline (testing aid).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub chunk_bytes: Option<u64>,
}

/// Output formats of the memory report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MemoryFormat {
    /// CSV with a header line.
    Csv,
    /// One Parquet file (zstd): database, type, key, key_raw, size_in_bytes, encoding,
    /// num_elements, len_largest_element, expiry (timestamp, UTC).
    Parquet,
}

/// Other tools whose memory CSV `--compat` reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MemoryCompat {
    /// redis-rdb-tools 0.1.15 (`rdb -c memory`): `sortedset`, on-disk encodings
    /// (`string`, `ziplist`, `quicklist`, ...), a string's length as num_elements,
    /// expiry as `2025-01-31T12:00:00.180000`, keys unquoted.
    Rdbtools,
}

/// Key escapes of the CSV (redis-rdb-tools' `--escape`); keys of printable ASCII are
/// always written as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum KeyEscapeArg {
    /// The key's bytes.
    Raw,
    /// Bytes outside printable ASCII as \xNN.
    Print,
    /// Valid UTF-8 as is, other bytes as \xNN.
    Utf8,
    /// The whole key in base64.
    Base64,
}

impl From<KeyEscapeArg> for KeyEscape {
    fn from(e: KeyEscapeArg) -> Self {
        match e {
            KeyEscapeArg::Raw => KeyEscape::Raw,
            KeyEscapeArg::Print => KeyEscape::Print,
            KeyEscapeArg::Utf8 => KeyEscape::Utf8,
            KeyEscapeArg::Base64 => KeyEscape::Base64,
        }
    }
}

impl MemoryArgs {
    fn csv_options(&self) -> CsvOptions {
        CsvOptions {
            style: match self.compat {
                Some(MemoryCompat::Rdbtools) => CsvStyle::RdbTools,
                None => CsvStyle::Native,
            },
            escape: self.escape.into(),
            min_memory: self.min_memory.unwrap_or(0),
        }
    }
}

pub fn run(args: &MemoryArgs) -> Result<()> {
    if args.format == MemoryFormat::Parquet {
        crate::features::require_parquet("memory --format parquet")?;
    }
    if args.format == MemoryFormat::Parquet
        && (args.compat.is_some() || args.escape != KeyEscapeArg::Raw)
    {
        return Err(UsageError(
            "--compat and --escape apply to the CSV report (Parquet keeps keys as bytes in key_raw)"
                .into(),
        )
        .into());
    }
    match (args.format, &args.output) {
        (MemoryFormat::Csv, None) => report(args, crate::output::stdout()),
        (MemoryFormat::Csv, Some(path)) => {
            crate::output::refuse_input_as_output(path, &args.files)?;
            write_atomically(path, |out| report(args, out))
        }
        (MemoryFormat::Parquet, None) => Err(UsageError(
            "--format parquet needs --output FILE (Parquet is not written to a terminal or pipe)"
                .into(),
        )
        .into()),
        (MemoryFormat::Parquet, Some(path)) => {
            crate::output::refuse_input_as_output(path, &args.files)?;
            write_atomically(path, |out| report_parquet(args, out))
        }
    }
}

fn memory_pipeline_options(args: &MemoryArgs) -> Result<PipelineOptions> {
    let mut options = pipeline_options(&args.input, &args.filter)?;
    if let Some(n) = args.chunk_bytes {
        options.chunk_bytes = n.max(1);
    }
    Ok(options)
}

#[cfg(feature = "parquet")]
fn report_parquet<W: Write + Send>(args: &MemoryArgs, out: W) -> Result<()> {
    use rdb_report::memory_parquet::MemoryParquetSink;

    let options = memory_pipeline_options(args)?;
    let sink = MemoryParquetSink::new(out, args.model.options(), options.decoder)
        .context("writing output")?
        .with_min_memory(args.min_memory.unwrap_or(0));
    run_report(args, &options, &sink)?;
    sink.finish().context("writing output")?;
    Ok(())
}

/// Never reached: `run` refuses `--format parquet` first in a build without Parquet.
#[cfg(not(feature = "parquet"))]
fn report_parquet<W: Write + Send>(_: &MemoryArgs, _: W) -> Result<()> {
    crate::features::require_parquet("memory --format parquet")
}

fn report<W: Write + Send>(args: &MemoryArgs, out: W) -> Result<()> {
    let options = memory_pipeline_options(args)?;
    let sink = MemorySink::with_csv_options(
        out,
        args.model.options(),
        options.decoder,
        args.csv_options(),
    )
    .context("writing output")?;
    run_report(args, &options, &sink)?;
    sink.finish().context("writing output")?;
    Ok(())
}

/// Runs the dumps through a report sink and warns about their ends.
fn run_report<S: Sink>(args: &MemoryArgs, options: &PipelineOptions, sink: &S) -> Result<()> {
    // S3 inputs: the next dump downloads while the current one is estimated.
    let mut inputs = ResolvedInputs::new(&args.files, &args.input.s3)?.into_pipeline()?;
    let summaries = {
        let progress = Progress::default();
        crate::progress::run_with(
            &progress,
            args.progress.mode(),
            |_| {},
            || pipeline::run_inputs(&mut inputs, options, sink, &progress),
        )
    }?;
    for s in &summaries {
        warn_about(s);
    }
    Ok(())
}
