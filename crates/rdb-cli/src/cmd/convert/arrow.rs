//! `--format arrow`: one table as an Arrow IPC stream.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use rdb_export::arrow::{ArrowOptions, IpcStreamSink, Table};

use super::{run_streamed, s3_output, ConvertArgs};
use crate::args::s3::S3Url;
use crate::cmd::warn_about;
use crate::output::write_atomically;
use crate::UsageError;

/// Writes the stream on stdout, into `--output` or into one S3 object (`url`).
pub fn run(args: &ConvertArgs, url: Option<S3Url>) -> Result<()> {
    match url {
        None => match &args.output {
            Some(path) if path.as_os_str() != "-" => {
                crate::output::refuse_input_as_output(path, &args.files)?;
                write_atomically(path, |out| convert_arrow(args, out))
            }
            _ => convert_arrow_to_stdout(args),
        },
        Some(url) => s3_output::json_to_s3(args, &url, |path| {
            write_atomically(path, |out| convert_arrow(args, out))
        }),
    }
}

/// The stream on stdout, unless stdout is a terminal (binary data would garble it).
pub fn convert_arrow_to_stdout(args: &ConvertArgs) -> Result<()> {
    if std::io::stdout().is_terminal() {
        return Err(UsageError(
            "--format arrow writes binary data: give --output FILE or pipe it into a reader".into(),
        )
        .into());
    }
    convert_arrow(args, crate::output::stdout())
}

/// Writes the stream of `--table` into `out`.
pub fn convert_arrow<W: Write + Send>(args: &ConvertArgs, out: W) -> Result<()> {
    let name = args.table.as_deref().unwrap_or("keys");
    let table = Table::from_name(name)
        .ok_or_else(|| UsageError(format!("--table {name}: no such table")))?;
    let (sink, summaries) = run_streamed(args, || {
        Ok(IpcStreamSink::new(out, table, ArrowOptions::default())?)
    })?;
    sink.finish()
        .context("writing output")?
        .flush()
        .context("writing output")?;
    for s in &summaries {
        warn_about(s);
    }
    Ok(())
}
