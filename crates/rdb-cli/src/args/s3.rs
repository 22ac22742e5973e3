//! The S3 flags every command shares (where and how to reach S3, the encryption of what
//! is written), mapped to an [`rdb_s3::S3`] client.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, ValueEnum};
pub use rdb_s3::S3Url;
use rdb_s3::{S3Config, S3Options, Sse, S3};

/// Where and how to reach S3.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "S3 (for s3:// inputs and outputs)")]
pub struct S3Args {
    /// Send requests here instead of AWS (MinIO, Ceph, moto...); implies path-style
    /// requests. Also AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// The bucket's region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Use this profile of ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE, default).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Send anonymous requests (public buckets); no credentials are looked up.
    #[arg(long)]
    pub no_sign_request: bool,

    /// Keep the downloaded dumps in this directory (default: a temporary directory, emptied
    /// as each dump is done).
    #[arg(long, value_name = "DIR")]
    pub keep_download: Option<PathBuf>,

    /// Bytes per ranged GET and per multipart part (tuning).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub s3_part_size: Option<u64>,

    /// Objects up to this size are fetched with one GET and uploaded with one PUT (tuning).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub s3_small_object: Option<u64>,

    /// Ranged GETs in flight (tuning).
    #[arg(long, hide = true, value_name = "N")]
    pub s3_concurrency: Option<usize>,

    /// Retries of a failed request (tuning).
    #[arg(long, hide = true, value_name = "N")]
    pub s3_retries: Option<usize>,
}

/// Encryption of what is written to S3.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "S3 output")]
pub struct S3OutputArgs {
    /// Server-side encryption of written objects: AES256 (SSE-S3) or aws:kms (SSE-KMS).
    /// Without it the bucket's default applies, and a warning is printed.
    #[arg(long, value_name = "ALGORITHM", value_enum)]
    pub sse: Option<SseArg>,

    /// The KMS key (id, alias or ARN) for --sse aws:kms (default: the account's aws/s3 key).
    #[arg(long, value_name = "ID", requires = "sse")]
    pub kms_key_id: Option<String>,
}

/// Server-side encryption algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SseArg {
    /// SSE-S3, keys managed by S3.
    #[value(name = "AES256")]
    Aes256,
    /// SSE-KMS, a key in AWS KMS.
    #[value(name = "aws:kms")]
    AwsKms,
}

impl S3OutputArgs {
    /// The encryption asked for, as an export's manifest records it (RDS exports record
    /// their KMS key): `{"sse": "aws:kms", "kms_key_id": ID}`; `None` without `--sse`.
    #[cfg(feature = "parquet")]
    pub fn describe(&self) -> Option<serde_json::Value> {
        let sse = match self.sse? {
            SseArg::Aes256 => "AES256",
            SseArg::AwsKms => "aws:kms",
        };
        Some(serde_json::json!({ "sse": sse, "kms_key_id": self.kms_key_id }))
    }

    fn sse(&self) -> Result<Option<Sse>> {
        match (self.sse, &self.kms_key_id) {
            (None, _) => Ok(None),
            (Some(SseArg::Aes256), Some(_)) => Err(crate::UsageError(
                "--kms-key-id goes with --sse aws:kms, not AES256".into(),
            )
            .into()),
            (Some(SseArg::Aes256), None) => Ok(Some(Sse::Aes256)),
            (Some(SseArg::AwsKms), key) => Ok(Some(Sse::Kms {
                key_id: key.clone(),
            })),
        }
    }
}

/// Whether a path argument is an S3 URL.
pub fn is_s3(path: &Path) -> bool {
    path.to_str().is_some_and(S3Url::is_s3)
}

/// Parses an S3 URL argument.
pub fn parse_url(path: &Path) -> Result<S3Url> {
    let text = path.to_str().unwrap_or_default();
    Ok(S3Url::parse(text)?)
}

/// A client for these flags (`output`: the encryption of written objects).
pub fn client(args: &S3Args, output: Option<&S3OutputArgs>) -> Result<S3> {
    let config = S3Config {
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        force_path_style: None,
        no_sign_request: args.no_sign_request,
        profile: args.profile.clone(),
    };
    let mut options = S3Options::default();
    if let Some(o) = output {
        options.sse = o.sse()?;
    }
    if let Some(p) = args.s3_part_size {
        options.part_size = p.max(1);
    }
    if let Some(s) = args.s3_small_object {
        options.small_object = s;
    }
    if let Some(c) = args.s3_concurrency {
        options.concurrency = c.max(1);
    }
    if let Some(r) = args.s3_retries {
        options.retries = r;
    }
    Ok(S3::new(&config, options)?)
}
