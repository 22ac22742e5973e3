//! The RDB output flags that split and filter share.

use clap::Args;
use rdb_cluster::OnUnsupported;
use rdb_format::{Flavor, Version};

use crate::args::s3::{S3Args, S3OutputArgs};

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

pub fn parse_version(s: &str) -> Result<Version, String> {
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
