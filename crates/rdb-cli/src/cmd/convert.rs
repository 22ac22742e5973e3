//! The default command: dumps → NDJSON.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_export::json::{JsonOptions, JsonSink};
use rdb_format::DecoderOptions;
use rdb_pipeline::pipeline::{self, FileSummary, PipelineOptions, Progress, Sink};

use super::warn_about;
use crate::args::filter::FilterArgs;
use crate::args::s3::{self, S3Args, S3OutputArgs};
use crate::inputs::ResolvedInputs;
use crate::output::write_atomically;
use crate::progress::Mode;
use crate::UsageError;

// Without the `parquet` or `s3` feature, stand-ins that refuse (crate::features).
#[cfg(feature = "parquet")]
mod arrow;
mod keys;
#[cfg(feature = "parquet")]
mod parquet;
mod resp;
#[cfg(feature = "s3")]
mod s3_output;
#[cfg(not(feature = "parquet"))]
use crate::features::without_parquet::{arrow, parquet};
#[cfg(not(feature = "s3"))]
use crate::features::without_s3::convert_output as s3_output;

// The examples, those reading or writing S3 only in a build with the `s3` feature.
macro_rules! local_examples {
    () => {
        "Examples:
  rdb-convert dump.rdb                          NDJSON on stdout
  rdb-convert dump.rdb --with-meta -o out.json  aux fields and functions too, into a file
  rdb-convert dump.rdb --db 0 --key 'user:*' --type hash
  rdb-convert shard-*.rdb | jq -c 'select(.type==\"hash\")'
  rdb-convert dump.rdb --format resp --rdb-version 10 | redis-cli --pipe   replay into Redis 7.0
  rdb-convert dump.rdb --format arrow --table hashes -o hashes.arrows     Arrow IPC stream of one table"
    };
}

#[cfg(feature = "s3")]
pub const EXAMPLES: &str = concat!(
    local_examples!(),
    "

S3: any FILE may be s3://bucket/key.rdb, s3://bucket/prefix/ (every object under it) or
s3://bucket/prefix/name-*.rdb (every match, in shard-number order); --output may be s3://.
Credentials and region as in the AWS CLI: --profile / AWS_PROFILE, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, ~/.aws/credentials and ~/.aws/config
(static keys, SSO, assume-role with source_profile, credential_process), web identity
(Kubernetes), else container or instance credentials.
  rdb-convert s3://backups/redis/name-*.rdb --format parquet --output s3://exports/redis/ --sse AES256
  rdb-convert s3://backups/dump.rdb --endpoint-url http://127.0.0.1:9000 -o out.json   (MinIO, Ceph)
  rdb-convert info s3://public-dumps/sample.rdb --no-sign-request --region eu-west-1"
);
#[cfg(not(feature = "s3"))]
pub const EXAMPLES: &str = local_examples!();

/// Dumps in, data out.
#[derive(Args, Debug, Clone)]
pub struct ConvertArgs {
    /// Dump files to read, in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,

    /// Write here instead of stdout (written under a temporary name, renamed when complete).
    #[arg(long, short, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// The table --format arrow writes (default keys): keys, strings, lists, sets, zsets,
    /// hashes, streams, stream_meta, stream_groups, stream_pending, stream_consumers,
    /// stream_idmp, modules, meta.
    #[arg(long, value_name = "NAME", hide_possible_values = true)]
    #[cfg_attr(
        feature = "parquet",
        arg(value_parser = clap::builder::PossibleValuesParser::new(rdb_export::parquet::TABLES))
    )]
    pub table: Option<String>,

    /// Parquet column compression.
    #[arg(long, value_enum, default_value_t = CompressionArg::Zstd)]
    pub compression: CompressionArg,

    /// Bytes of input per parallel chunk (tuning; the data is the same whatever the value).
    #[arg(long, hide = true)]
    pub chunk_bytes: Option<u64>,

    /// Rows per Parquet row group at most (tuning; row groups are also cut at 128 MiB).
    #[arg(long, hide = true)]
    pub row_group_rows: Option<usize>,

    /// Export id recorded in export_info.json (Parquet; default: generated).
    #[arg(long, value_name = "ID")]
    pub export_id: Option<String>,

    /// Replace a finished export in the --output directory.
    #[arg(long)]
    pub overwrite: bool,

    /// Show progress on stderr even when it is not a terminal: a line every few seconds
    /// (e.g. in CI: --progress 2>progress.log).
    #[arg(long, conflicts_with = "no_progress")]
    pub progress: bool,

    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,

    /// Also write aux fields ({"aux":{...}}), functions ({"function":...}) and module aux data.
    #[arg(long)]
    pub with_meta: bool,

    /// Do not verify the CRC64 at the end of each file.
    #[arg(long)]
    pub no_verify_checksum: bool,

    /// Try to read files whose RDB version is newer than this tool knows.
    #[arg(long)]
    pub allow_future_versions: bool,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub s3: S3Args,

    #[command(flatten)]
    pub s3_output: S3OutputArgs,

    #[command(flatten)]
    pub resp: resp::RespArgs,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Newline-delimited JSON, one object per key.
    Json,
    /// Parquet tables under the --output directory (keys, strings, lists, sets, zsets, hashes,
    /// streams, stream_*, modules, meta), hive-partitioned by db.
    Parquet,
    /// Redis protocol commands recreating the keys, for `redis-cli --pipe` (see --resp-mode).
    Resp,
    /// Keys only, NDJSON: db, key, type, encoding, expiry, size, elements (values skipped).
    Keys,
    /// Keys only, CSV with a header line (same columns as --format keys).
    KeysCsv,
    /// An Arrow IPC stream of one table (--table; the Parquet table's columns and `db`), on
    /// stdout or into --output FILE, for DuckDB, Polars, pyarrow.
    Arrow,
}

/// Parquet column compression.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CompressionArg {
    /// zstd: small files.
    Zstd,
    /// Snappy: faster, bigger.
    Snappy,
    /// No compression.
    None,
}

pub fn run(args: &ConvertArgs) -> Result<()> {
    let s3_output = match &args.output {
        Some(p) if s3::is_s3(p) => Some(s3::parse_url(p)?),
        _ => None,
    };
    if args.table.is_some() && args.format != Format::Arrow {
        // Silently ignored, it would look like a filter that did nothing.
        return Err(UsageError(
            "--table chooses the table of --format arrow; other formats write every table \
             (parquet) or every key"
                .into(),
        )
        .into());
    }
    match (args.format, s3_output) {
        (Format::Json, None) => match &args.output {
            None => convert_json(args, crate::output::stdout()),
            Some(path) => {
                crate::output::refuse_input_as_output(path, &args.files)?;
                write_atomically(path, |out| convert_json(args, out))
            }
        },
        (Format::Json, Some(url)) => s3_output::json_to_s3(args, &url, |path| {
            write_atomically(path, |out| convert_json(args, out))
        }),
        (Format::Resp, None) => match &args.output {
            None => resp::convert_resp(args, crate::output::stdout()),
            Some(path) => {
                crate::output::refuse_input_as_output(path, &args.files)?;
                write_atomically(path, |out| resp::convert_resp(args, out))
            }
        },
        (Format::Resp, Some(url)) => s3_output::json_to_s3(args, &url, |path| {
            write_atomically(path, |out| resp::convert_resp(args, out))
        }),
        (Format::Keys | Format::KeysCsv, url) => keys::run(args, url),
        (Format::Arrow, url) => arrow::run(args, url),
        (Format::Parquet, url) => parquet::run(args, url),
    }
}

pub(super) fn pipeline_options(args: &ConvertArgs, default_chunk: u64) -> Result<PipelineOptions> {
    Ok(PipelineOptions {
        decoder: DecoderOptions {
            verify_checksum: !args.no_verify_checksum,
            allow_future_versions: args.allow_future_versions,
        },
        filter: args.filter.to_filter()?,
        chunk_bytes: args.chunk_bytes.unwrap_or(default_chunk).max(1),
    })
}

pub(super) fn show_progress(args: &ConvertArgs) -> Mode {
    Mode::choose(args.progress, args.no_progress)
}

fn convert_json<W: Write + Send>(args: &ConvertArgs, out: W) -> Result<()> {
    let (sink, summaries) = run_streamed(args, || {
        Ok(JsonSink::new(
            out,
            JsonOptions {
                with_meta: args.with_meta,
            },
        ))
    })?;
    sink.finish().context("writing output")?;
    for s in &summaries {
        warn_about(s);
    }
    Ok(())
}

/// The run of the formats that stream into one output (JSON, keys, Arrow, RESP): inputs
/// resolved, then the sink made (so nothing is written when an input is missing), the
/// dumps run through it with progress as asked. The caller finishes the sink's output, then
/// warns with the summaries.
pub(super) fn run_streamed<S: Sink>(
    args: &ConvertArgs,
    make_sink: impl FnOnce() -> Result<S>,
) -> Result<(S, Vec<FileSummary>)> {
    let options = pipeline_options(args, 4 << 20)?;
    let mut inputs = ResolvedInputs::new(&args.files, &args.s3)?.into_pipeline()?;
    let sink = make_sink()?;
    let progress = Progress::default();
    let summaries = with_reporter(
        &progress,
        show_progress(args),
        |_| {},
        || pipeline::run_inputs(&mut inputs, &options, &sink, &progress),
    )?;
    Ok((sink, summaries))
}

/// Runs `work` while progress is shown (see `crate::progress`) and `tick` is called twice a
/// second.
pub(super) fn with_reporter<T: Send>(
    progress: &Progress,
    mode: Mode,
    tick: impl Fn(&Progress) + Sync,
    work: impl FnOnce() -> T + Send,
) -> T {
    crate::progress::run_with(progress, mode, tick, work)
}
