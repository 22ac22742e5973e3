//! `convert --format resp`: the commands that recreate the keys, for `redis-cli --pipe`.

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_cluster::resp::{Expiry, RespMode, RespOptions, RespSink};
use rdb_cluster::OnUnsupported;
use rdb_format::Version;

use super::{run_streamed, ConvertArgs};
use crate::args::rdb_output::parse_version;
use crate::cmd::warn_about;

/// Flags of `--format resp`.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "RESP output (--format resp)")]
pub struct RespArgs {
    /// restore: RESTORE key ttl payload per key (big values in parts, as seed does);
    /// commands: SET/RPUSH/SADD/ZADD/HSET/XADD..., for targets that refuse RESTORE.
    /// Replay with `redis-cli --pipe < out.resp`.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = RespModeArg::Restore)]
    pub resp_mode: RespModeArg,

    /// Write payloads for this RDB version, the target server's (9 for Redis 5-6.2, 10 for
    /// 7.0, 11 for 7.2, 12 for 7.4+, VALKEY080 for Valkey 9); default: each dump's own.
    #[arg(long, value_name = "VERSION", value_parser = parse_version)]
    pub rdb_version: Option<Version>,

    /// RESTORE ... REPLACE: overwrite keys the target has (commands mode always does).
    #[arg(long)]
    pub replace: bool,

    /// Records bigger than this are written as a RESTORE of a part plus
    /// RPUSH/SADD/ZADD/HSET/APPEND batches (keep it below the target's proto-max-bulk-len).
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub max_payload: u64,

    /// Size of each part of a big value, and of each command in commands mode.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub part_bytes: usize,

    /// Write keys without their TTL (expired keys too), like redis-rdb-tools' -x.
    #[arg(long, conflicts_with = "amend_expire")]
    pub no_expire: bool,

    /// Add MS milliseconds to every key's TTL, e.g. --amend-expire 86400000 for one more day.
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub amend_expire: Option<i64>,

    /// No SELECT: every key goes into the database the connection uses (redis-cli -n N).
    #[arg(long)]
    pub flatten_dbs: bool,

    /// Values the target version cannot hold: skip and count them, or stop.
    #[arg(long, value_name = "WHAT", default_value = "skip")]
    pub on_unsupported: OnUnsupported,
}

/// `--resp-mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RespModeArg {
    /// RESTORE of DUMP payloads.
    Restore,
    /// Plain commands per type.
    Commands,
}

impl RespArgs {
    fn to_options(&self) -> RespOptions {
        RespOptions {
            mode: match self.resp_mode {
                RespModeArg::Restore => RespMode::Restore,
                RespModeArg::Commands => RespMode::Commands,
            },
            target: self.rdb_version,
            replace: self.replace,
            max_payload: self.max_payload,
            part_bytes: self.part_bytes.max(1024),
            expiry: match (self.no_expire, self.amend_expire) {
                (true, _) => Expiry::Drop,
                (false, Some(ms)) => Expiry::Amend(ms),
                (false, None) => Expiry::Keep,
            },
            flatten_dbs: self.flatten_dbs,
            on_unsupported: self.on_unsupported,
        }
    }
}

/// Writes the RESP commands of `args.files` into `out`.
pub fn convert_resp<W: Write + Send>(args: &ConvertArgs, out: W) -> Result<()> {
    let (sink, summaries) = run_streamed(args, || Ok(RespSink::new(out, args.resp.to_options())))?;
    let report = sink.report();
    sink.finish().context("writing output")?;
    for s in &summaries {
        warn_about(s);
    }
    if report.expired > 0 {
        eprintln!("rdb-convert: {} expired key(s) left out", report.expired);
    }
    if report.unsupported > 0 {
        eprintln!(
            "rdb-convert: warning: {} key(s) or function(s) left out (--on-unsupported fail to stop instead):",
            report.unsupported
        );
        for e in &report.unsupported_examples {
            eprintln!("  {e}");
        }
    }
    Ok(())
}
