//! `rdb-convert split` (one RDB file per shard) and `rdb-convert filter` (a smaller RDB).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use rdb_cluster::slot::SlotLayout;
use rdb_cluster::split::{split, SplitError, SplitOptions, SplitReport};
use rdb_cluster::target::cluster_layout_blocking;
use rdb_cluster::OnUnsupported;
use rdb_format::DumpFile;
use rdb_format::{Decoder, DecoderOptions, Flavor, Version};

use crate::filter_args::FilterArgs;
use crate::output::{commit_all, refuse_input_as_output, Pending};
use crate::s3_args::{self, S3Args, S3OutputArgs, StagedOutputs};

pub const SPLIT_EXAMPLES: &str = "Examples:
  rdb-convert split dump.rdb --shards 3                 dump-0001.rdb .. dump-0003.rdb
  rdb-convert split dump.rdb --slots-from redis://node1:7000 --output-prefix /tmp/shard
  rdb-convert split dump.rdb --shards 6 --rdb-version 9 (for Redis 5.0-6.2 servers)
  rdb-convert split s3://backups/dump.rdb --shards 3 --output-prefix s3://backups/split/dump --sse AES256";

pub const FILTER_EXAMPLES: &str = "Examples:
  rdb-convert filter dump.rdb --output users.rdb --key 'user:*'
  rdb-convert filter dump.rdb --output db0.rdb --db 0 --expiry none";

/// Output options shared by split and filter.
#[derive(Args, Debug, Clone)]
pub struct RdbOutputArgs {
    /// Write this RDB version (9, 11, 12, REDIS0010, VALKEY080...) instead of the input's;
    /// values are re-encoded where that version lacks their encoding.
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub rdb_version: Option<Version>,

    /// Values the output version cannot hold: skip and count them, or stop.
    #[arg(long, value_name = "WHAT", default_value = "skip")]
    pub on_unsupported: OnUnsupported,

    /// Do not verify the input's CRC64.
    #[arg(long)]
    pub no_verify_checksum: bool,

    /// Try to read dumps whose RDB version is newer than this tool knows.
    #[arg(long)]
    pub allow_future_versions: bool,

    /// Copy values without decoding and checking them (faster; a corrupt input then gives
    /// a corrupt output). By default every kept value is checked as deeply as Redis's
    /// sanitize-dump-payload does, and keys are checked for duplicates.
    #[arg(long)]
    pub no_validate: bool,

    #[command(flatten)]
    pub s3: S3Args,

    #[command(flatten)]
    pub s3_output: S3OutputArgs,
}

/// 1 to 16384 shards (one slot each at most); checked by clap, so a bad count exits 2.
fn parse_shards(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=16384).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of shards from 1 to 16384, got {s:?}"
        )),
    }
}

fn parse_version(s: &str) -> Result<Version, String> {
    let (flavor, digits) = if let Some(d) = s.strip_prefix("VALKEY") {
        (Some(Flavor::Valkey), d)
    } else if let Some(d) = s.strip_prefix("REDIS") {
        (Some(Flavor::Redis), d)
    } else {
        (None, s)
    };
    let number: u32 = digits
        .parse()
        .map_err(|_| format!("expected an RDB version such as 9, 12 or VALKEY080, got {s:?}"))?;
    let flavor = flavor.unwrap_or(if number >= 80 {
        Flavor::Valkey
    } else {
        Flavor::Redis
    });
    let writable = (1..=12).contains(&number) || (flavor == Flavor::Valkey && number == 80);
    if !writable {
        return Err(format!(
            "cannot write RDB version {number}: 1-12 (Redis) or 80 (Valkey 9) are supported"
        ));
    }
    Ok(Version { flavor, number })
}

/// Split a dump into one RDB file per shard: each key goes to the file of the shard that
/// owns its hash slot (CRC16 of the key or its {hash tag}, 16384 slots). Shards get even
/// contiguous slot ranges (as redis-cli --cluster create assigns them), or a live cluster's
/// ranges with --slots-from. Records are copied byte for byte; files are written under
/// temporary names and renamed only when all are complete.
#[derive(Args, Debug, Clone)]
#[command(after_help = SPLIT_EXAMPLES)]
pub struct SplitArgs {
    /// The dump to split.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Number of shards (even slot ranges).
    #[arg(long, value_name = "N", required_unless_present = "slots_from", value_parser = parse_shards)]
    pub shards: Option<usize>,

    /// Copy the slot map of this cluster node (one file per primary, in slot order).
    #[arg(long, value_name = "URL", conflicts_with = "shards")]
    pub slots_from: Option<String>,

    #[command(flatten)]
    pub tls: crate::seed::TlsArgs,

    /// Output names: PREFIX-0001.rdb, ... (default: FILE without its extension); may be
    /// s3://bucket/dir/name (files are uploaded once all are written).
    #[arg(long, value_name = "PATH")]
    pub output_prefix: Option<PathBuf>,

    /// Put keys of every database into db 0 (cluster nodes have only db 0; without this,
    /// keys outside db 0 are an error unless --db 0 selects db 0 only).
    #[arg(long)]
    pub flatten_dbs: bool,

    #[command(flatten)]
    pub output: RdbOutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Write a smaller, valid RDB holding only the keys the filters select.
#[derive(Args, Debug, Clone)]
#[command(after_help = FILTER_EXAMPLES)]
pub struct FilterArgs2 {
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

pub fn run_split(args: &SplitArgs) -> Result<()> {
    let (layout, names) = match (&args.slots_from, args.shards) {
        (Some(url), _) => {
            let (layout, nodes) = cluster_layout_blocking(url, &args.tls.to_options())
                .map_err(|e| anyhow::anyhow!(crate::seed::one_line(&e)))?;
            (layout, nodes)
        }
        (None, Some(n)) => {
            if n == 0 || n > 16384 {
                bail!("--shards must be between 1 and 16384, got {n}");
            }
            (SlotLayout::even(n), Vec::new())
        }
        (None, None) => bail!("give --shards N or --slots-from URL"),
    };
    let prefix = args
        .output_prefix
        .clone()
        .unwrap_or_else(|| args.file.with_extension(""));
    let paths: Vec<PathBuf> = (1..=layout.shards())
        .map(|i| {
            let mut name = prefix.as_os_str().to_owned();
            name.push(format!("-{i:04}.rdb"));
            PathBuf::from(name)
        })
        .collect();
    let (input, _download) = s3_args::single_input(&args.file, &args.output.s3)?;
    for p in &paths {
        refuse_input_as_output(p, std::slice::from_ref(&input))?;
    }
    let (paths, staged) = stage_outputs(paths, &args.output)?;
    let cluster = Some(args.flatten_dbs);
    let report = write_rdbs(
        &input,
        &layout,
        &paths.1,
        &args.output,
        &args.filter,
        cluster,
    )?;
    if let Some(s) = staged {
        s.upload()?;
    }
    for (i, path) in paths.0.iter().enumerate() {
        let ranges: Vec<String> = layout
            .ranges(i)
            .iter()
            .map(|(a, b)| format!("{a}-{b}"))
            .collect();
        let node = names.get(i).map(|n| format!(" ({n})")).unwrap_or_default();
        eprintln!(
            "{}: {} keys, {} bytes, slots {}{node}",
            path.display(),
            report.keys.get(i).copied().unwrap_or(0),
            report.bytes.get(i).copied().unwrap_or(0),
            ranges.join(",")
        );
    }
    Ok(())
}

pub fn run_filter(args: &FilterArgs2) -> Result<()> {
    let layout = SlotLayout::even(1);
    let (input, _download) = s3_args::single_input(&args.file, &args.rdb.s3)?;
    refuse_input_as_output(&args.output, std::slice::from_ref(&input))?;
    let (paths, staged) = stage_outputs(vec![args.output.clone()], &args.rdb)?;
    let report = write_rdbs(&input, &layout, &paths.1, &args.rdb, &args.filter, None)?;
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

/// Output paths as given (for messages) and the local paths to write: `s3://` outputs are
/// written into a staging directory and uploaded by the returned [`StagedOutputs`].
#[allow(clippy::type_complexity)]
fn stage_outputs(
    paths: Vec<PathBuf>,
    out: &RdbOutputArgs,
) -> Result<((Vec<PathBuf>, Vec<PathBuf>), Option<StagedOutputs>)> {
    let urls: Vec<_> = paths
        .iter()
        .filter(|p| s3_args::is_s3(p))
        .map(|p| s3_args::parse_url(p))
        .collect::<Result<_>>()?;
    let Some(first) = urls.first() else {
        return Ok(((paths.clone(), paths), None));
    };
    let mut staged = StagedOutputs::new(&out.s3, &out.s3_output, first)?;
    let mut local = Vec::with_capacity(paths.len());
    for p in &paths {
        if s3_args::is_s3(p) {
            local.push(staged.stage(&s3_args::parse_url(p)?));
        } else {
            local.push(p.clone());
        }
    }
    Ok(((paths, local), Some(staged)))
}

/// `cluster`: the outputs are cluster shards (`Some(flatten_dbs)`), or one plain file.
fn write_rdbs(
    input: &Path,
    layout: &SlotLayout,
    paths: &[PathBuf],
    out: &RdbOutputArgs,
    filter: &FilterArgs,
    cluster: Option<bool>,
) -> Result<SplitReport> {
    let file = DumpFile::open(input).with_context(|| format!("opening {}", input.display()))?;
    let decoder = Decoder::with_options(
        file.data(),
        DecoderOptions {
            verify_checksum: !out.no_verify_checksum,
            allow_future_versions: out.allow_future_versions,
        },
    )
    .with_context(|| input.display().to_string())?;
    let options = SplitOptions {
        filter: filter.to_filter()?,
        target: out.rdb_version,
        on_unsupported: out.on_unsupported,
        validate: !out.no_validate,
        cluster: cluster.is_some(),
        flatten_dbs: cluster == Some(true),
    };
    // Outputs are written unnamed and put in place together once all are complete.
    let result = (|| -> Result<SplitReport> {
        let mut pending = Vec::with_capacity(paths.len());
        let mut writers = Vec::with_capacity(paths.len());
        for p in paths {
            let out = Pending::create(p)?;
            writers.push(BufWriter::with_capacity(1 << 20, out.writer()?));
            pending.push(out);
        }
        let (report, writers) = split(decoder, layout, writers, &options).map_err(|e| {
            let hint = match e {
                SplitError::Invalid { .. } | SplitError::DuplicateKey { .. } => format!(
                    "; nothing was written (`rdb-convert check {}` lists every problem)",
                    input.display()
                ),
                _ => String::new(),
            };
            anyhow::anyhow!("{}: {e}{hint}", input.display())
        })?;
        for (w, p) in writers.into_iter().zip(paths) {
            w.into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("writing {}", p.display()))?;
        }
        file.verify()
            .map_err(|e| anyhow::anyhow!("{}: {e}", input.display()))?;
        commit_all(pending)?;
        Ok(report)
    })();
    let result = result.map_err(|e| match file.verify() {
        // Decoding a dump cut short fails somewhere: say why.
        Err(cut) => anyhow::anyhow!("{}: {cut}", input.display()),
        Ok(()) => e,
    });
    let report = result?;
    if report.unsupported > 0 {
        eprintln!(
            "rdb-convert: warning: {} value(s) the output version cannot hold were skipped:",
            report.unsupported
        );
        for e in &report.unsupported_examples {
            eprintln!("  {e}");
        }
    }
    if report.empty_skipped > 0 || report.stream_metadata_lost > 0 {
        eprintln!(
            "rdb-convert: warning: {} empty collection(s) left out (Redis skips them when \
             loading); {} stream(s) lost metadata RDB 9 cannot hold, e.g.:",
            report.empty_skipped, report.stream_metadata_lost
        );
        for e in &report.lossy_examples {
            eprintln!("  {e}");
        }
    }
    let _ = std::io::stderr().flush();
    Ok(report)
}
