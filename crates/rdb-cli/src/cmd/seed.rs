//! `rdb-convert seed`: RESTORE a dump's keys into a running Redis/Valkey or cluster.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{bail, Result};
use clap::Args;
use rdb_cluster::seed::{seed_blocking, Progress, SeedOptions, SeedReport};
use rdb_cluster::OnUnsupported;
use rdb_format::DecoderOptions;
use rdb_pipeline::pipeline::Progress as PipelineProgress;

use super::{one_line, seed_auth};
use crate::args::filter::FilterArgs;
use crate::args::s3::S3Args;
use crate::args::tls::TlsArgs;
use crate::inputs::ResolvedInputs;
use crate::progress::{Mode, ProgressArgs};

pub const EXAMPLES: &str = "Examples:
  rdb-convert seed dump.rdb --target redis://127.0.0.1:6379
  rdb-convert seed dump.rdb --target redis://user:pw@node1:7000 --flatten-dbs   (a cluster)
  rdb-convert seed dump.rdb --target redis://h:6379 --checkpoint seed.ckpt      (then --resume)
  rdb-convert seed dump.rdb --target redis://h:6379 --user seeder --password-file pw.txt
  REDISCLI_AUTH=secret rdb-convert seed dump.rdb --target redis://h:6379
  rdb-convert seed dump.rdb --target rediss://h:6380 --key 'user:*' --verify-sample 1000";

/// Seed a running server (standalone or cluster, detected with CLUSTER INFO) from dumps with
/// RESTORE ... ABSTTL, pipelined. Keys already expired are skipped; existing keys are
/// conflicts unless --replace. At the end, keys are counted per db (per slot on a cluster)
/// and compared with the dump. Exits non-zero on errors, conflicts or any difference.
#[derive(Args, Debug, Clone)]
#[command(after_help = EXAMPLES, long_about)]
pub struct SeedArgs {
    /// Dump files to read, in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// The server: redis://[user:password@]host:port, rediss:// for TLS.
    #[arg(long, value_name = "URL")]
    pub target: String,

    /// ACL user to authenticate as (replaces the URL's), e.g. --user seeder.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// Read the password from this file's first line, or `-` for standard input (kept out of
    /// `ps` and shell history); else REDISCLI_AUTH, like redis-cli. E.g. --password-file ~/.redis-pw
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,

    /// Overwrite keys that already exist (RESTORE ... REPLACE).
    #[arg(long)]
    pub replace: bool,

    /// Connections per server (per primary on a cluster).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub parallel: usize,

    /// Values the target cannot hold (streams before Redis 5, hash-field TTLs before Redis
    /// 7.4 / Valkey 9, modules it lacks): skip and count them, or stop.
    #[arg(long, value_name = "WHAT", default_value = "skip")]
    pub on_unsupported: OnUnsupported,

    /// Put keys of every database into db 0 (needed for a cluster when the dump has others).
    #[arg(long)]
    pub flatten_dbs: bool,

    /// Most keys in one pipeline.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub batch_keys: usize,

    /// Records bigger than this are sent as a RESTORE of a part followed by
    /// RPUSH/SADD/ZADD/HSET/APPEND batches (keep it below the server's proto-max-bulk-len).
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub max_payload: u64,

    /// Size of each part of a big value.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub part_bytes: usize,

    /// Save progress here (rewritten every second and at the end).
    #[arg(long, value_name = "PATH")]
    pub checkpoint: Option<PathBuf>,

    /// Continue an interrupted seed from --checkpoint.
    #[arg(long, requires = "checkpoint")]
    pub resume: bool,

    /// Do not count the target's keys at the end.
    #[arg(long)]
    pub no_verify: bool,

    /// Also compare this many randomly chosen keys value by value (and TTL).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub verify_sample: usize,

    /// No progress (the same as --no-progress).
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub progress: ProgressArgs,

    /// Do not verify the dumps' CRC64.
    #[arg(long)]
    pub no_verify_checksum: bool,

    /// Try to read dumps whose RDB version is newer than this tool knows.
    #[arg(long)]
    pub allow_future_versions: bool,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub tls: TlsArgs,

    #[command(flatten)]
    pub s3: S3Args,
}

pub fn run(args: &SeedArgs) -> Result<()> {
    if args.password_file.as_deref() == Some(std::path::Path::new("-"))
        && args.files.iter().any(|f| f.as_os_str() == "-")
    {
        bail!("--password-file - and the dump `-` cannot both read standard input");
    }
    let target = seed_auth::target_with_credentials(
        &args.target,
        args.user.as_deref(),
        args.password_file.as_deref(),
        std::env::var(seed_auth::AUTH_VAR)
            .ok()
            .filter(|p| !p.is_empty()),
    )?;
    let options = SeedOptions {
        target,
        tls: args.tls.to_options(),
        replace: args.replace,
        parallel: args.parallel.max(1),
        on_unsupported: args.on_unsupported,
        flatten_dbs: args.flatten_dbs,
        filter: args.filter.to_filter()?,
        batch_keys: args.batch_keys.max(1),
        max_payload: args.max_payload,
        part_bytes: args.part_bytes.max(1024),
        checkpoint: args.checkpoint.clone(),
        resume: args.resume,
        verify: !args.no_verify,
        verify_sample: args.verify_sample,
        decoder: DecoderOptions {
            verify_checksum: !args.no_verify_checksum,
            allow_future_versions: args.allow_future_versions,
        },
        ..SeedOptions::default()
    };
    let mode = if args.quiet {
        Mode::Off
    } else {
        args.progress.mode()
    };
    // S3 inputs are downloaded first (seeding reads its files more than once).
    let (files, _, _downloads) = ResolvedInputs::new(&args.files, &args.s3)?
        .with_progress(mode)
        .download_all()?;
    // The seed's own figures, copied into the counters the progress display reads.
    let shown = Arc::new(PipelineProgress::default());
    let counters = shown.clone();
    let report_progress = move |p: &Progress| {
        counters.bytes_total.store(p.bytes_total, Ordering::Relaxed);
        counters.bytes_done.store(p.bytes_done, Ordering::Relaxed);
        counters.keys_done.store(p.seeded, Ordering::Relaxed);
    };
    let result = crate::progress::run_with(
        &shown,
        mode,
        |_| {},
        || seed_blocking(&files, &options, report_progress),
    );
    let report = result.map_err(|e| anyhow::anyhow!(one_line(&e)))?;
    summary(&report);
    if !report.is_clean() {
        bail!("seeding finished with conflicts or errors, or the target differs from the dump (see above)");
    }
    Ok(())
}

fn summary(r: &SeedReport) {
    let c = &r.counts;
    let secs = r.elapsed.as_secs_f64().max(0.001);
    let kind = if r.cluster_nodes > 0 {
        format!("cluster of {} primaries", r.cluster_nodes)
    } else {
        "standalone".to_string()
    };
    let version = r.target_version.map(|v| v.to_string()).unwrap_or_default();
    eprintln!("target: {} ({kind}), payloads for {version}", r.server);
    if let Some((file, offset)) = r.resumed_from {
        eprintln!("resumed at file {} offset {offset}", file + 1);
    }
    eprintln!(
        "seeded {} keys in {:.2} s ({:.0} keys/s, {:.1} MB/s of dump); copied as is {}, re-encoded {}, sent in parts {}",
        c.seeded,
        secs,
        c.seeded as f64 / secs,
        r.bytes as f64 / secs / 1e6,
        r.copied,
        r.reencoded,
        r.big_values
    );
    eprintln!(
        "skipped: {} expired, {} filtered out; conflicts: {}; unsupported: {}; errors: {}{}",
        r.skipped_expired,
        r.filtered,
        c.conflicts,
        c.unsupported,
        c.errors,
        if c.already_present > 0 {
            format!(
                "; already restored by the interrupted run: {}",
                c.already_present
            )
        } else {
            String::new()
        }
    );
    if r.functions > 0 {
        eprintln!("function libraries loaded: {}", r.functions);
    }
    for (what, list) in [
        (
            "conflict (exists on the target, not replaced)",
            &c.conflict_examples,
        ),
        ("unsupported", &c.unsupported_examples),
        ("error", &c.error_examples),
    ] {
        for e in list {
            eprintln!("  {what}: {e}");
        }
    }
    if let Some(v) = &r.verify {
        eprintln!(
            "verify: {} keys expected, {} found{}{}",
            v.expected_keys,
            v.found_keys,
            if v.sampled > 0 {
                format!("; {} sampled keys compared", v.sampled)
            } else {
                String::new()
            },
            if v.is_clean() { ": OK" } else { ": DIFFERENT" }
        );
        for d in v.count_differences.iter().chain(&v.sample_differences) {
            eprintln!("  {d}");
        }
    }
}
