//! The default command: dumps → NDJSON.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_export::export::{self, ParquetExport};
use rdb_export::json::{JsonOptions, JsonSink};
use rdb_export::parquet::{Compression, ParquetOptions};
use rdb_format::DecoderOptions;
use rdb_pipeline::pipeline::{self, FileSummary, PipelineOptions, Progress, Sink};
use serde_json::json;

use super::warn_about;
use crate::args::filter::FilterArgs;
use crate::args::s3::{self, S3Args, S3OutputArgs};
use crate::inputs::ResolvedInputs;
use crate::output::write_atomically;
use crate::progress::Mode;
// Ctrl-C raises a flag that the reporter thread passes to the pipeline, which stops at the
// next chunk; the sink then removes what it wrote.
use crate::signals::{install_ctrlc, CANCEL};
use crate::UsageError;

mod arrow;
mod keys;
mod resp;
mod s3_output;

pub const EXAMPLES: &str = "Examples:
  rdb-convert dump.rdb                          NDJSON on stdout
  rdb-convert dump.rdb --with-meta -o out.json  aux fields and functions too, into a file
  rdb-convert dump.rdb --db 0 --key 'user:*' --type hash
  rdb-convert shard-*.rdb | jq -c 'select(.type==\"hash\")'
  rdb-convert dump.rdb --format resp --rdb-version 10 | redis-cli --pipe   replay into Redis 7.0
  rdb-convert dump.rdb --format arrow --table hashes -o hashes.arrows     Arrow IPC stream of one table

S3: any FILE may be s3://bucket/key.rdb, s3://bucket/prefix/ (every object under it) or
s3://bucket/prefix/name-*.rdb (every match, in shard-number order); --output may be s3://.
Credentials and region as in the AWS CLI: --profile / AWS_PROFILE, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, ~/.aws/credentials and ~/.aws/config
(static keys only: SSO, assume-role and credential_process profiles are not supported),
else instance or container credentials.
  rdb-convert s3://backups/redis/name-*.rdb --format parquet --output s3://exports/redis/ --sse AES256
  rdb-convert s3://backups/dump.rdb --endpoint-url http://127.0.0.1:9000 -o out.json   (MinIO, Ceph)
  rdb-convert info s3://public-dumps/sample.rdb --no-sign-request --region eu-west-1";

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
    #[arg(long, value_name = "NAME",
          value_parser = clap::builder::PossibleValuesParser::new(rdb_export::parquet::TABLES),
          hide_possible_values = true)]
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
        (Format::Arrow, None) => match &args.output {
            Some(path) if path.as_os_str() != "-" => {
                crate::output::refuse_input_as_output(path, &args.files)?;
                write_atomically(path, |out| arrow::convert_arrow(args, out))
            }
            _ => arrow::convert_arrow_to_stdout(args),
        },
        (Format::Arrow, Some(url)) => s3_output::json_to_s3(args, &url, |path| {
            write_atomically(path, |out| arrow::convert_arrow(args, out))
        }),
        (Format::Parquet, None) => {
            let Some(dir) = &args.output else {
                return Err(UsageError("--format parquet needs --output DIR".into()).into());
            };
            export_parquet(args, dir, &dir.display().to_string())
        }
        (Format::Parquet, Some(url)) => s3_output::parquet_to_s3(args, &url, &CANCEL, |dir| {
            export_parquet(args, dir, &url.to_string())
        }),
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

/// Exports into `dir`; `shown` is where the user asked for it (`dir`, or an `s3://` URL
/// the directory is uploaded to afterwards), for the manifest and messages.
fn export_parquet(args: &ConvertArgs, dir: &Path, shown: &str) -> Result<()> {
    // 8 MiB: peak RSS 149 MiB on a 250 MB dump against 326 MiB at 32 MiB, same part files
    // (a chunk is a row group, part files follow tables: benches/RESULTS.md, issue 14).
    let options = pipeline_options(args, 8 << 20)?;
    let mut inputs = ResolvedInputs::new(&args.files, &args.s3)?.into_pipeline()?;
    let id = args.export_id.clone().unwrap_or_else(export::generate_id);
    let mut settings = serde_json::Map::new();
    settings.insert("format".into(), json!("parquet"));
    settings.insert(
        "compression".into(),
        json!(format!("{:?}", args.compression).to_lowercase()),
    );
    settings.insert("output".into(), json!(shown));
    settings.insert(
        "sources".into(),
        json!(args
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()),
    );
    settings.insert("filters".into(), args.filter.describe());
    if let Some(encryption) = args
        .s3_output
        .describe()
        .filter(|_| s3::is_s3(Path::new(shown)))
    {
        settings.insert("encryption".into(), encryption);
    }
    let compression = match args.compression {
        CompressionArg::Zstd => Compression::Zstd,
        CompressionArg::Snappy => Compression::Snappy,
        CompressionArg::None => Compression::None,
    };
    let mut parquet = ParquetOptions {
        compression,
        ..ParquetOptions::default()
    };
    if let Some(rows) = args.row_group_rows {
        parquet.row_group_rows = rows.max(1);
    }
    let export = ParquetExport::start(dir, shown, &id, args.overwrite, settings, parquet)?;
    if let Some(notice) = export.notice() {
        eprintln!("rdb-convert: {notice}");
    }
    let progress = Progress::default();
    install_ctrlc();
    let result = with_reporter(
        &progress,
        show_progress(args),
        |p| export.tick(p),
        || export.run(&mut inputs, &options, &progress),
    );
    let summary = export.finish(result, &progress, |summaries| {
        for s in summaries {
            warn_about(s);
        }
    })?;
    eprintln!(
        "rdb-convert: export {id} complete: {} keys, {} files, {} bytes in {}",
        summary.keys, summary.files, summary.bytes, shown
    );
    Ok(())
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
