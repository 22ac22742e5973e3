//! `rdb-convert memory`: one CSV row per key with its estimated memory in a running server.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_export::json::checksum_warning;
use rdb_format::{DecoderOptions, Eof};
use rdb_pipeline::pipeline::{self, FileSummary, PipelineOptions, Progress, Sink};
use rdb_report::memory::{MemorySink, ModelOptions, Server};
use rdb_report::memory_parquet::MemoryParquetSink;
use rdb_report::Allocator;

use crate::filter_args::FilterArgs;
use crate::output::write_atomically;
use crate::s3_args::ResolvedInputs;
use crate::UsageError;

pub const EXAMPLES: &str = "Examples:
  rdb-convert memory dump.rdb -o memory.csv
  rdb-convert memory dump.rdb --format parquet -o memory.parquet
  duckdb -c \"select type, sum(size_in_bytes) from 'memory.parquet' group by all\"
  rdb-convert memory dump.rdb --db 0 --type hash | sort -t, -k4 -n -r | head
  rdb-convert memory dump.rdb --server 7.4 --allocator jemalloc-8 --list-compress-depth 1";

/// Estimate each key's memory (`MEMORY USAGE key SAMPLES 0` on a server that loaded the
/// dump) and write it as CSV: database,type,key,size_in_bytes,encoding,num_elements,
/// len_largest_element,expiry (the columns of redis-rdb-tools' memory report), or as one
/// Parquet file with the same columns, typed (plus `key_raw` for keys that are not UTF-8).
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES)]
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

    #[command(flatten)]
    pub model: ModelArgs,

    #[command(flatten)]
    pub input: InputArgs,

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

/// The server and settings whose memory use is modelled.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Memory model")]
pub struct ModelArgs {
    /// Model this server: 6.2, 7.0, 7.2, 7.4 (also for Redis 8), valkey-8.0, valkey-9
    /// (default: from the dump's redis-ver / valkey-ver aux field, else its RDB version).
    #[arg(long, value_name = "VERSION")]
    pub server: Option<Server>,

    /// The server's allocator: jemalloc (16-byte quantum; Redis ≤ 7.2, Valkey),
    /// jemalloc-8 (Redis 7.4+ builds) or libc (glibc malloc)
    /// (default: the modelled server's usual build).
    #[arg(long, value_name = "NAME")]
    pub allocator: Option<Allocator>,

    /// The server's list-compress-depth (inner quicklist nodes LZF-compressed in memory).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub list_compress_depth: u32,
}

impl ModelArgs {
    pub fn options(&self) -> ModelOptions {
        ModelOptions {
            server: self.server,
            allocator: self.allocator,
            list_compress_depth: self.list_compress_depth,
        }
    }
}

/// How dumps are read.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Do not verify the CRC64 at the end of each file.
    #[arg(long)]
    pub no_verify_checksum: bool,

    /// Try to read files whose RDB version is newer than this tool knows.
    #[arg(long)]
    pub allow_future_versions: bool,

    #[command(flatten)]
    pub s3: crate::s3_args::S3Args,
}

impl InputArgs {
    pub fn options(&self) -> DecoderOptions {
        DecoderOptions {
            verify_checksum: !self.no_verify_checksum,
            allow_future_versions: self.allow_future_versions,
        }
    }
}

/// Warns on stderr about a dump's end: checksum not computed, bytes after the dump.
pub fn warn_about(s: &FileSummary) {
    let eof = Eof {
        offset: 0,
        checksum: s.checksum,
        trailing_bytes: s.trailing_bytes,
    };
    let path = s.info.path.display();
    if let Some(w) = checksum_warning(&eof) {
        eprintln!("rdb-convert: warning: {path}: {w}");
    }
    if eof.trailing_bytes > 0 {
        eprintln!(
            "rdb-convert: warning: {path}: {} bytes after the end of the dump ignored",
            eof.trailing_bytes
        );
    }
}

/// Pipeline settings for reading dumps through `filter`.
pub fn pipeline_options(input: &InputArgs, filter: &FilterArgs) -> Result<PipelineOptions> {
    Ok(PipelineOptions {
        decoder: input.options(),
        chunk_bytes: 4 << 20,
        filter: filter.to_filter()?,
    })
}

pub fn run(args: &MemoryArgs) -> Result<()> {
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

fn report_parquet<W: Write + Send>(args: &MemoryArgs, out: W) -> Result<()> {
    let options = memory_pipeline_options(args)?;
    let sink = MemoryParquetSink::new(out, args.model.options(), options.decoder)
        .context("writing output")?;
    run_report(args, &options, &sink)?;
    sink.finish().context("writing output")?;
    Ok(())
}

fn report<W: Write + Send>(args: &MemoryArgs, out: W) -> Result<()> {
    let options = memory_pipeline_options(args)?;
    let sink =
        MemorySink::new(out, args.model.options(), options.decoder).context("writing output")?;
    run_report(args, &options, &sink)?;
    sink.finish().context("writing output")?;
    Ok(())
}

/// Runs the dumps through a report sink and warns about their ends.
fn run_report<S: Sink>(args: &MemoryArgs, options: &PipelineOptions, sink: &S) -> Result<()> {
    // S3 inputs: the next dump downloads while the current one is estimated.
    let mut inputs = ResolvedInputs::new(&args.files, &args.input.s3)?.into_pipeline()?;
    let summaries = pipeline::run_inputs(&mut inputs, options, sink, &Progress::default())?;
    for s in &summaries {
        warn_about(s);
    }
    Ok(())
}
