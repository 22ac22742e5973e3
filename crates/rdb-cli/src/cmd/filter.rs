//! `rdb-convert filter`: a smaller RDB with only the keys the filters select.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rdb_cluster::slot::SlotLayout;

use super::write_rdb::{stage_outputs, write_rdbs};
use crate::args::filter::FilterArgs;
use crate::args::rdb_output::RdbOutputArgs;
use crate::inputs::single_input;
use crate::output::refuse_input_as_output;

pub const FILTER_EXAMPLES: &str = "Examples:
  rdb-convert filter dump.rdb --output users.rdb --key 'user:*'
  rdb-convert filter dump.rdb --output db0.rdb --db 0 --expiry none";

/// Write a smaller, valid RDB holding only the keys the filters select.
#[derive(Args, Debug, Clone)]
#[command(after_help = FILTER_EXAMPLES)]
pub struct FilterCommandArgs {
    /// The dump to filter.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// The RDB file to write (or s3://bucket/key.rdb, uploaded once written).
    #[arg(long, short, value_name = "PATH")]
    pub output: PathBuf,

    #[command(flatten)]
    pub rdb: RdbOutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

pub fn run(args: &FilterCommandArgs) -> Result<()> {
    let layout = SlotLayout::even(1);
    let (input, name, _download) = single_input(&args.file, &args.rdb.s3)?;
    refuse_input_as_output(&args.output, std::slice::from_ref(&input))?;
    let (paths, staged) = stage_outputs(vec![args.output.clone()], &args.rdb)?;
    let report = write_rdbs(
        &input,
        &name,
        &layout,
        &paths.1,
        &args.rdb,
        &args.filter,
        None,
    )?;
    if let Some(s) = staged {
        s.upload()?;
    }
    eprintln!(
        "{}: {} keys kept, {} filtered out, {} bytes",
        args.output.display(),
        report.keys.first().copied().unwrap_or(0),
        report.filtered,
        report.bytes.first().copied().unwrap_or(0)
    );
    Ok(())
}
