//! The default command: dumps → NDJSON.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use rdb_format::{Decoder, DecoderOptions};
use rdb_pipeline::json::{checksum_warning, JsonOptions, JsonWriter};
use rdb_pipeline::source::DumpFile;

use crate::filter_args::FilterArgs;
use crate::output::write_atomically;

pub const EXAMPLES: &str = "Examples:
  rdb-convert dump.rdb                          NDJSON on stdout
  rdb-convert dump.rdb --with-meta -o out.json  aux fields and functions too, into a file
  rdb-convert dump.rdb --db 0 --key 'user:*' --type hash
  rdb-convert shard-*.rdb | jq -c 'select(.type==\"hash\")'";

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
}

/// Output formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    /// Newline-delimited JSON, one object per key.
    Json,
}

pub fn run(args: &ConvertArgs) -> Result<()> {
    match &args.output {
        None => convert(
            args,
            &mut BufWriter::with_capacity(1 << 20, io::stdout().lock()),
        ),
        Some(path) => write_atomically(path, |out| convert(args, out)),
    }
}

fn convert<W: Write>(args: &ConvertArgs, out: &mut W) -> Result<()> {
    let options = DecoderOptions {
        verify_checksum: !args.no_verify_checksum,
        allow_future_versions: args.allow_future_versions,
    };
    let Format::Json = args.format;
    let filter = args.filter.to_filter()?;
    let mut writer = JsonWriter::new(
        out,
        JsonOptions {
            with_meta: args.with_meta,
            filter,
        },
    );
    for path in &args.files {
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
    writer.finish().context("writing output")?;
    Ok(())
}
