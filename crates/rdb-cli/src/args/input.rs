//! How dumps are read (checksum, future versions, S3), for the report commands.

use anyhow::Result;
use clap::Args;
use rdb_format::DecoderOptions;
use rdb_pipeline::pipeline::PipelineOptions;

use crate::args::filter::FilterArgs;
use crate::args::s3::S3Args;

/// How dumps are read.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Do not verify the CRC64 at the end of each file.
    #[arg(long)]
    pub no_verify_checksum: bool,

    /// Try to read files whose RDB version is newer than this tool knows.
    #[arg(long)]
    pub allow_future_versions: bool,

    #[command(flatten)]
    pub s3: S3Args,
}

impl InputArgs {
    pub fn options(&self) -> DecoderOptions {
        DecoderOptions {
            verify_checksum: !self.no_verify_checksum,
            allow_future_versions: self.allow_future_versions,
        }
    }
}

/// Pipeline settings for reading dumps through `filter`.
pub fn pipeline_options(input: &InputArgs, filter: &FilterArgs) -> Result<PipelineOptions> {
    Ok(PipelineOptions {
        decoder: input.options(),
        chunk_bytes: 4 << 20,
        filter: filter.to_filter()?,
    })
}
