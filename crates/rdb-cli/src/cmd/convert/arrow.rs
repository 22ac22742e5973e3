//! `--format arrow`: one table as an Arrow IPC stream.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use rdb_export::arrow::{ArrowOptions, IpcStreamSink, Table};
use rdb_pipeline::pipeline::{self, Progress};

use super::{pipeline_options, show_progress, with_reporter, ConvertArgs};
use crate::cmd::warn_about;
use crate::inputs::ResolvedInputs;
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
    let options = pipeline_options(args, 4 << 20)?;
    let mut inputs = ResolvedInputs::new(&args.files, &args.s3)?.into_pipeline()?;
    let sink = IpcStreamSink::new(out, table, ArrowOptions::default())?;
    let progress = Progress::default();
    let summaries = with_reporter(
        &progress,
        show_progress(args),
        |_| {},
        || pipeline::run_inputs(&mut inputs, &options, &sink, &progress),
    )?;
    sink.finish()
        .context("writing output")?
        .flush()
        .context("writing output")?;
    for s in &summaries {
        warn_about(s);
    }
    Ok(())
}
