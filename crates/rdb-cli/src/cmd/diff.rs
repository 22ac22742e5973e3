//! `rdb-convert diff LEFT... -- RIGHT...`: two sets of dumps compared key by key.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_pipeline::pipeline::{self, FnSink, PipelineOptions, Progress};
use rdb_report::diff::{self, DiffResult, DigestSink, EntryStore, KeyNames};

use crate::args::filter::FilterArgs;
use crate::args::input::{pipeline_options, InputArgs};
use crate::cmd::warn_about;
use crate::inputs::ResolvedInputs;
use crate::UsageError;

pub const EXAMPLES: &str = "Examples:
  rdb-convert diff yesterday.rdb today.rdb
  rdb-convert diff shard-1.rdb shard-2.rdb shard-3.rdb -- merged.rdb
  rdb-convert diff old.rdb new.rdb --format json --limit 1000 | jq '.differences[]'
  rdb-convert diff a.rdb b.rdb --db 0 --key 'user:*'      compare some keys only

Exit status: 0 same, 1 different, 2 usage or unreadable input (like diff(1)).";

/// Compare two sets of dumps: keys only on one side, keys whose type, value or TTL differ,
/// per-db totals. Values are compared by a digest of their decoded content (encodings and
/// member order do not count: a listpack hash equals a hashtable hash with the same fields).
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES, long_about)]
pub struct DiffArgs {
    /// The left side's dumps (e.g. the shards of a backup); with exactly two files and no
    /// --, the first is the left side and the second the right.
    #[arg(required = true, value_name = "LEFT")]
    pub left: Vec<PathBuf>,

    /// The right side's dumps, after --.
    #[arg(last = true, value_name = "RIGHT")]
    pub right: Vec<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,

    /// List at most N differing keys (the totals always count all of them).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub limit: usize,

    /// Keys per side kept in memory (48 bytes each) before spilling to hash-partitioned
    /// files in $TMPDIR, e.g. --memory-keys 1000000 for about 48 MB per side.
    #[arg(long, value_name = "N", default_value_t = 4_000_000)]
    pub memory_keys: usize,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Output formats of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// A table of per-db totals, then the differing keys.
    Text,
    /// One JSON object: {"same":..,"differing":..,"total":{..},"dbs":[..],"differences":[..]}.
    Json,
}

/// Runs the comparison; the exit status says the outcome (0 same, 1 different, 2 trouble).
pub fn main(args: &DiffArgs) -> ExitCode {
    match run(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("rdb-convert: error: {e:#}");
            if let Some(hint) = crate::messages::hint(&e) {
                eprintln!("rdb-convert: hint: {hint}");
            }
            ExitCode::from(2)
        }
    }
}

fn sides(args: &DiffArgs) -> Result<(&[PathBuf], &[PathBuf])> {
    match (args.left.as_slice(), args.right.as_slice()) {
        ([a, b], []) => Ok((std::slice::from_ref(a), std::slice::from_ref(b))),
        (_, []) => Err(UsageError(
            "diff needs two sides: `rdb-convert diff LEFT... -- RIGHT...` (or two files)".into(),
        )
        .into()),
        (l, r) => Ok((l, r)),
    }
}

/// The directory under TMPDIR both sides spill into: removed when dropped, and by a signal
/// too (the stores' own clean-up runs only on the way out).
struct SpillDir(PathBuf);

impl SpillDir {
    fn new() -> Result<SpillDir> {
        let path = std::env::temp_dir().join(format!("rdb-diff-{}", std::process::id()));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("creating {} (TMPDIR)", path.display()))?;
        crate::signals::register_dir(&path);
        Ok(SpillDir(path))
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether the sides are the same.
fn run(args: &DiffArgs) -> Result<bool> {
    let (left, right) = sides(args)?;
    let options = pipeline_options(&args.input, &args.filter)?;
    let tmp = SpillDir::new()?;
    let mut stores = Vec::new();
    for (name, files) in [("left", left), ("right", right)] {
        let sink = DigestSink::new(EntryStore::new(name, &tmp.0, args.memory_keys));
        let mut inputs = ResolvedInputs::new(files, &args.input.s3)?.into_pipeline()?;
        let summaries = pipeline::run_inputs(&mut inputs, &options, &sink, &Progress::default())?;
        for s in &summaries {
            warn_about(s);
        }
        stores.push(sink.into_store());
    }
    let [mut l, mut r] =
        <[EntryStore; 2]>::try_from(stores).map_err(|_| anyhow::anyhow!("two sides expected"))?;
    let mut result = diff::compare(&mut l, &mut r, args.limit).context("comparing")?;
    drop((l, r));
    if !result.differences.is_empty() {
        name_keys(&mut result, left, right, args, &options)?;
    }
    let mut out = crate::output::stdout();
    match args.format {
        DiffFormat::Text => diff::write_text(&mut out, &result),
        DiffFormat::Json => diff::write_json(&mut out, &result),
    }
    .context("writing output")?;
    out.flush().context("writing output")?;
    Ok(result.same())
}

/// Reads the keys of both sides again (values skipped) to name the listed differences.
fn name_keys(
    result: &mut DiffResult,
    left: &[PathBuf],
    right: &[PathBuf],
    args: &DiffArgs,
    options: &PipelineOptions,
) -> Result<()> {
    let names = KeyNames::new(result);
    let sink = FnSink::new(|r, key: &[u8], _scratch| {
        names.record(r.db, key);
        Ok::<(), std::convert::Infallible>(())
    });
    for files in [left, right] {
        let mut inputs = ResolvedInputs::new(files, &args.input.s3)?.into_pipeline()?;
        pipeline::run_inputs(&mut inputs, options, &sink, &Progress::default())?;
    }
    names.apply(result);
    Ok(())
}
