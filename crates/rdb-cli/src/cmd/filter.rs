//! `rdb-convert filter`: a smaller RDB with only the keys the filters select.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use rdb_cluster::slot::SlotLayout;

use super::write_rdb::{stage_outputs, write_rdbs};
use crate::args::filter::FilterArgs;
use crate::args::rdb_output::RdbOutputArgs;
use crate::inputs::local_inputs;
use crate::output::refuse_input_as_output;
use crate::progress::ProgressArgs;

pub const FILTER_EXAMPLES: &str = "Examples:
  rdb-convert filter dump.rdb --output users.rdb --key 'user:*'
  rdb-convert filter dump.rdb --output db0.rdb --db 0 --expiry none
  rdb-convert filter shard-*.rdb -o users.rdb --key 'user:*'   N dumps into one";

/// Write a smaller, valid RDB holding only the keys the filters select.
#[derive(Args, Debug, Clone)]
#[command(after_help = FILTER_EXAMPLES, long_about)]
pub struct FilterCommandArgs {
    /// The dumps to filter, into one output (`-` for standard input; gzip, zstd, lz4
    /// decompressed).
    ///
    /// Several dumps: their keys in input order; aux fields and functions of the first;
    /// databases as they are. A key in two dumps is an error and nothing is written (Redis
    /// refuses to load a dump holding a key twice); the check keeps ~16-32 bytes per key and
    /// is off with --no-validate, which writes duplicates as they come.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The RDB file to write (or s3://bucket/key.rdb, uploaded once written).
    #[arg(long, short, value_name = "PATH")]
    pub output: PathBuf,

    #[command(flatten)]
    pub rdb: RdbOutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub progress: ProgressArgs,
}

pub fn run(args: &FilterCommandArgs) -> Result<()> {
    let layout = SlotLayout::even(1);
    let (inputs, names, _downloads) =
        local_inputs(&args.files, &args.rdb.s3, args.progress.mode())?;
    refuse_input_as_output(&args.output, &inputs)?;
    let (paths, staged) = stage_outputs(vec![args.output.clone()], &args.rdb)?;
    let report = write_rdbs(
        &inputs,
        &names,
        &layout,
        &paths.1,
        &args.rdb,
        &args.filter,
        None,
        args.progress.mode(),
    )?;
    if let Some(s) = staged {
        s.upload(args.progress.mode())?;
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
