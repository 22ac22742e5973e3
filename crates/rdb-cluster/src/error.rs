//! Why a seed (or its verification) stopped: shared by [`seed`](crate::seed) and
//! [`verify`](crate::verify), so neither depends on the other for it.

use std::path::PathBuf;

use rdb_format::write::EncodeError;

use crate::checkpoint::CheckpointError;
use crate::target::TargetError;

/// Why a seed stopped.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A dump could not be opened.
    #[error("{path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A dump could not be decoded.
    #[error("{path}: {source}")]
    Decode {
        /// The file.
        path: PathBuf,
        /// The error.
        source: rdb_format::Error,
    },
    /// The target failed (connection lost, refused...).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A value the target cannot hold, with `OnUnsupported::Fail`.
    #[error("{path}: key {key}: {source}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Why.
        source: Box<EncodeError>,
    },
    /// Keys outside db 0 for a cluster, without `--flatten-dbs` or a db filter.
    #[error("{0}")]
    OtherDbs(String),
    /// The checkpoint could not be read, written or used.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A value could not be encoded for the target.
    #[error(transparent)]
    Encode(Box<EncodeError>),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl From<EncodeError> for SeedError {
    fn from(e: EncodeError) -> Self {
        SeedError::Encode(Box::new(e))
    }
}
