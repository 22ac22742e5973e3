//! `--format arrow`: one table as an Arrow IPC stream.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use rdb_export::arrow::{ArrowOptions, IpcStreamSink, Table};

use super::{run_streamed, ConvertArgs};
use crate::cmd::warn_about;
use crate::UsageError;

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
