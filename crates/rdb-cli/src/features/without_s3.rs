//! Stand-ins for the S3 modules in a build without the `s3` feature. The one way in is an
//! `s3://` argument, which [`args::parse_url`] refuses; the types below cannot be built
//! (each holds a [`Never`]), so the S3 code paths of the commands type-check and are never
//! reached.

// Nothing here is ever built, by design.
#![allow(dead_code)]

/// No values. Held in a private field, so that the commands' code does not see the types
/// holding it as empty (which would make it warn about unreachable code).
#[derive(Clone, Debug)]
enum Never {}

/// `crate::args::s3`: no S3 flag is offered.
pub mod args {
    use std::path::{Path, PathBuf};

    use anyhow::Result;
    use clap::Args;

    pub use super::client::S3Url;
    use super::client::S3;
    use crate::features::missing;

    /// No flags.
    #[derive(Args, Debug, Clone, Default)]
    pub struct S3Args {
        /// Never set (--keep-download needs S3).
        #[arg(skip)]
        pub keep_download: Option<PathBuf>,
    }

    /// No flags.
    #[derive(Args, Debug, Clone, Default)]
    pub struct S3OutputArgs {}

    impl S3OutputArgs {
        /// No encryption is asked for.
        pub fn describe(&self) -> Option<serde_json::Value> {
            None
        }
    }

    /// Whether a path argument is an S3 URL (then [`parse_url`] refuses it).
    pub fn is_s3(path: &Path) -> bool {
        path.to_str().is_some_and(|p| p.starts_with("s3://"))
    }

    /// Refuses: this build has no S3 support.
    pub fn parse_url(path: &Path) -> Result<S3Url> {
        Err(missing(&path.display().to_string(), "S3"))
    }

    /// Refuses (never reached: [`parse_url`] refuses first).
    pub fn client(_: &S3Args, _: Option<&S3OutputArgs>) -> Result<S3> {
        Err(missing("s3://", "S3"))
    }
}

/// The `rdb_s3` items that `crate::inputs` and the commands name.
pub mod client {
    use std::path::{Path, PathBuf};

    use anyhow::Result;

    /// Has no values.
    #[derive(Clone, Debug)]
    pub struct S3Url {
        pub(super) never: super::Never,
    }

    impl std::fmt::Display for S3Url {
        fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self.never {}
        }
    }

    /// Has no values.
    #[derive(Clone)]
    pub struct S3 {
        pub(super) never: super::Never,
    }

    /// Only reached through an [`S3`].
    pub struct S3Options {
        pub small_object: u64,
    }

    /// Has no values.
    pub struct Transferred {
        pub(super) never: super::Never,
    }

    impl Transferred {
        pub fn downloaded(&self) -> u64 {
            match self.never {}
        }
    }

    impl S3 {
        pub fn options(&self) -> &S3Options {
            match self.never {}
        }

        pub fn transferred(&self) -> &Transferred {
            match self.never {}
        }

        pub fn resolve(&self, _: &S3Url) -> Result<Vec<ObjectInfo>> {
            match self.never {}
        }
    }

    /// Holds an [`S3Url`], so has no values.
    #[derive(Clone)]
    pub struct ObjectInfo {
        pub url: S3Url,
        pub size: u64,
    }

    /// Holds an [`ObjectInfo`], so has no values.
    pub struct Downloaded {
        pub object: ObjectInfo,
        pub path: PathBuf,
        pub retries: usize,
    }

    /// Holds an [`ObjectInfo`], so has no values.
    pub struct InMemory {
        pub object: ObjectInfo,
        pub data: Vec<u8>,
    }

    /// Has no values.
    pub enum Fetched {
        Memory(InMemory),
        File(Downloaded),
    }

    /// Has no values.
    pub struct Prefetcher {
        pub(super) never: super::Never,
    }

    impl Prefetcher {
        pub fn start(
            s3: S3,
            _: Vec<ObjectInfo>,
            _: PathBuf,
            _: bool,
            _: usize,
            _: u64,
            _: &'static std::sync::atomic::AtomicBool,
        ) -> Prefetcher {
            match s3.never {}
        }

        pub fn next_download(&mut self) -> Option<Result<Fetched>> {
            match self.never {}
        }
    }

    /// Has no values.
    pub struct SpoolDir {
        pub(super) never: super::Never,
    }

    impl SpoolDir {
        pub fn new() -> std::io::Result<SpoolDir> {
            Err(std::io::Error::other(
                "this rdb-convert was built without S3 support",
            ))
        }

        pub fn path(&self) -> &Path {
            match self.never {}
        }
    }
}

/// `crate::output::s3`: outputs staged for S3.
pub mod staged {
    use std::path::PathBuf;

    use anyhow::Result;

    use super::args::{S3Args, S3OutputArgs};
    use super::client::S3Url;

    /// Has no values.
    pub struct StagedOutputs {
        pub(super) never: super::Never,
    }

    impl StagedOutputs {
        pub fn new(_: &S3Args, _: &S3OutputArgs, example: &S3Url) -> Result<StagedOutputs> {
            match example.never {}
        }

        pub fn stage(&mut self, url: &S3Url) -> PathBuf {
            match url.never {}
        }

        pub fn upload(self, _: crate::progress::Mode) -> Result<()> {
            match self.never {}
        }
    }
}

/// `crate::cmd::convert::s3_output`: `convert --output s3://...`.
pub mod convert_output {
    use std::path::Path;
    use std::sync::atomic::AtomicBool;

    use anyhow::Result;

    use super::client::S3Url;
    use crate::cmd::convert::ConvertArgs;

    pub fn json_to_s3(
        _: &ConvertArgs,
        url: &S3Url,
        _: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        match url.never {}
    }

    pub fn parquet_to_s3(
        _: &ConvertArgs,
        url: &S3Url,
        _: &AtomicBool,
        _: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<()> {
        match url.never {}
    }
}
