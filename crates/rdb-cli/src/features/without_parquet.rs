//! Stand-ins for the modules that need Parquet and Arrow, in a build without the `parquet`
//! feature: each refuses with [`missing`].

use anyhow::Result;

use super::missing;

/// `convert --format arrow`.
pub mod arrow {
    use super::*;
    use crate::args::s3::S3Url;
    use crate::cmd::convert::ConvertArgs;

    /// Refuses.
    pub fn run(_: &ConvertArgs, _: Option<S3Url>) -> Result<()> {
        Err(missing("--format arrow", "Parquet"))
    }
}

/// `convert --format parquet`.
pub mod parquet {
    use super::*;
    use crate::args::s3::S3Url;
    use crate::cmd::convert::ConvertArgs;

    /// Refuses.
    pub fn run(_: &ConvertArgs, _: Option<S3Url>) -> Result<()> {
        Err(missing("--format parquet", "Parquet"))
    }
}

/// `export-status`: it reads the manifest of a Parquet export.
pub mod export_status {
    use super::*;
    use clap::Args;

    /// Whatever is given: the command is refused.
    #[derive(Args, Debug, Clone)]
    pub struct ExportStatusArgs {
        /// Refused: this build has no Parquet support.
        #[arg(num_args = 0.., allow_hyphen_values = true, trailing_var_arg = true)]
        pub args: Vec<std::ffi::OsString>,
    }

    /// Refuses.
    pub fn run(_: &ExportStatusArgs) -> Result<()> {
        Err(missing("export-status", "Parquet"))
    }
}
