//! `-o/--output` and `--format text|json` of the commands that print a report (`info`,
//! `top`), as the commands that write data have them.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use crate::output::{refuse_input_as_output, write_atomically};

/// Where a report goes, and in which form.
#[derive(Args, Debug, Clone)]
pub struct ReportOutputArgs {
    /// Write the report to PATH (whole or not at all: a temporary name, renamed at the end)
    /// instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// text (tables for people) or json (one object, for scripts).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,

    /// Same as --format json.
    #[arg(long)]
    pub json: bool,
}

/// `--format` of a report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Tables.
    Text,
    /// One JSON object.
    Json,
}

impl ReportOutputArgs {
    /// Whether JSON was asked for (`--format json` or `--json`).
    pub fn is_json(&self) -> bool {
        self.json || self.format == ReportFormat::Json
    }

    /// Refuses an output that is one of the inputs (before anything is read).
    pub fn check(&self, inputs: &[PathBuf]) -> Result<()> {
        match &self.output {
            Some(path) => refuse_input_as_output(path, inputs),
            None => Ok(()),
        }
    }

    /// Runs `write` into standard output or, with `-o`, into the file, put in place only
    /// when `write` succeeds.
    pub fn write(&self, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
        match &self.output {
            Some(path) => write_atomically(path, |out| {
                write(out).with_context(|| format!("writing {}", path.display()))
            }),
            None => {
                let mut out = crate::output::stdout();
                write(&mut out).context("writing output")?;
                out.flush().context("writing output")
            }
        }
    }
}
