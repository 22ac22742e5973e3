//! `rdb-convert info`: what a dump holds, without decoding values.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use std::sync::atomic::Ordering;

use rdb_pipeline::pipeline::{Inputs, Progress};
use rdb_report::info::{self, ChecksumStatus};

use crate::args::filter::FilterArgs;
use crate::args::input::InputArgs;
use crate::args::report_output::ReportOutputArgs;
use crate::inputs::ResolvedInputs;
use crate::progress::ProgressArgs;

pub const EXAMPLES: &str = "Examples:
  rdb-convert info dump.rdb
  rdb-convert info shard-*.rdb --format json | jq '.files[].keys'
  rdb-convert info shard-*.rdb -o info.txt
  rdb-convert info dump.rdb --now 1767225600000   expired = expiry before this time
  rdb-convert info 's3://backups/redis/name-*.rdb' --region eu-west-1";

/// Describe dumps: version, aux fields, checksum, and per database the keys, keys with an
/// expiry, keys already expired, and counts and serialized bytes per type and encoding;
/// function libraries and module types. Reads record headers only (no value is decoded).
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES, long_about)]
pub struct InfoArgs {
    /// Dump files to read.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Count keys expiring at or before this unix time in ms as expired (default: the dump's
    /// ctime aux field, else now).
    #[arg(long, value_name = "MS")]
    pub now: Option<i64>,

    #[command(flatten)]
    pub out: ReportOutputArgs,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub progress: ProgressArgs,
}

pub fn run(args: &InfoArgs) -> Result<()> {
    args.out.check(&args.files)?;
    let filter = args.filter.to_filter()?;
    let options = args.input.options();
    let mut files = Vec::new();
    // S3 objects are downloaded one ahead of the scan, each removed when scanned.
    let mut inputs = ResolvedInputs::new(&args.files, &args.input.s3)?.into_pipeline()?;
    // Progress advances file by file (a scan reads record headers only: it is quick).
    let progress = Progress::default();
    progress
        .bytes_total
        .store(inputs.total_bytes(), Ordering::Relaxed);
    crate::progress::run_with(
        &progress,
        args.progress.mode(),
        |_| {},
        || -> Result<()> {
            for index in 0..inputs.count() {
                let file = inputs.open(index)?;
                let name = file.path().display().to_string();
                let cut = |at| file.cut_at(at);
                let release = |end| file.release_before(end);
                let scanned = info::scan_bytes(
                    file.data(),
                    options,
                    &name,
                    &filter,
                    args.now,
                    &cut,
                    &release,
                )
                .map_err(anyhow::Error::from);
                // A dump cut while being read decodes as zeros: report the cut, not what it caused.
                file.verify().with_context(|| name.clone())?;
                let f = scanned.with_context(|| name.clone())?;
                let len = file.data().len() as u64;
                progress.bytes_done.fetch_add(len, Ordering::Relaxed);
                progress
                    .keys_done
                    .fetch_add(f.totals().keys, Ordering::Relaxed);
                files.push(f);
            }
            Ok(())
        },
    )?;
    args.out.write(|mut out| {
        if args.out.is_json() {
            info::write_json(&mut out, &files)
        } else {
            info::write_text(&mut out, &files)
        }
    })?;
    let bad: Vec<&str> = files
        .iter()
        .filter(|f| matches!(f.checksum, Some(ChecksumStatus::Mismatch { .. })))
        .map(|f| f.name.as_str())
        .collect();
    if !bad.is_empty() {
        bail!("checksum mismatch in {}", bad.join(", "));
    }
    Ok(())
}
