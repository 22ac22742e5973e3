//! `rdb-convert`: turns Redis/Valkey RDB dumps into NDJSON.
#![forbid(unsafe_code)]

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use rdb_format::{Decoder, DecoderOptions};
use rdb_pipeline::json::{checksum_warning, JsonOptions, JsonWriter};
use rdb_pipeline::source::DumpFile;

/// Convert Redis and Valkey RDB dumps (RDB 1–12, VALKEY080/081, Redis 8.6+ where known) to
/// NDJSON: one JSON object per key, in file order.
///
/// Each line: {"db":0,"key":K,"type":T,"encoding":E,"expire_ms":MS,"value":V}. Byte strings
/// are JSON strings when valid UTF-8, otherwise {"base64":"..."}. See README.md for the
/// shape of each type's value.
#[derive(Parser, Debug)]
#[command(name = "rdb-convert", version, after_help = EXAMPLES)]
struct Cli {
    /// Dump files to read, in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,

    /// Write here instead of stdout (written under a temporary name, renamed when complete).
    #[arg(long, short, value_name = "PATH")]
    output: Option<PathBuf>,

    /// Also write aux fields ({"aux":{...}}), functions ({"function":...}) and module aux data.
    #[arg(long)]
    with_meta: bool,

    /// Do not verify the CRC64 at the end of each file.
    #[arg(long)]
    no_verify_checksum: bool,

    /// Try to read files whose RDB version is newer than this tool knows.
    #[arg(long)]
    allow_future_versions: bool,
}

const EXAMPLES: &str = "Examples:
  rdb-convert dump.rdb                        NDJSON on stdout
  rdb-convert dump.rdb --with-meta -o out.json aux fields and functions too, into a file
  rdb-convert shard-*.rdb | jq -c 'select(.type==\"hash\")'";

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// Newline-delimited JSON, one object per key.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rdb-convert: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.output {
        None => {
            let stdout = io::stdout().lock();
            convert(cli, BufWriter::with_capacity(1 << 20, stdout)).map(|_| ())
        }
        Some(path) => {
            let tmp = temp_path(path);
            let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            let result = convert(cli, BufWriter::with_capacity(1 << 20, file)).and_then(|w| {
                w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                fs::rename(&tmp, path)
                    .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
            });
            if result.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            result
        }
    }
}

/// `out.json` → `.out.json.tmp-<pid>` beside it, so the rename is atomic.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

fn convert<W: Write>(cli: &Cli, out: W) -> Result<W> {
    let options = DecoderOptions {
        verify_checksum: !cli.no_verify_checksum,
        allow_future_versions: cli.allow_future_versions,
    };
    let Format::Json = cli.format;
    let mut writer = JsonWriter::new(
        out,
        JsonOptions {
            with_meta: cli.with_meta,
        },
    );
    for path in &cli.files {
        let file = DumpFile::open(path).with_context(|| format!("opening {}", path.display()))?;
        let decoder = Decoder::with_options(file.data(), options)
            .with_context(|| path.display().to_string())?;
        let eof = match writer.write_dump(decoder) {
            Ok(eof) => eof,
            Err(e) => bail!("{}: {e}", path.display()),
        };
        if let Some(w) = checksum_warning(&eof) {
            eprintln!("rdb-convert: warning: {}: {w}", path.display());
        }
        if eof.trailing_bytes > 0 {
            eprintln!(
                "rdb-convert: warning: {}: {} bytes after the end of the dump ignored",
                path.display(),
                eof.trailing_bytes
            );
        }
    }
    writer.finish().context("writing output")
}
