//! Argument groups that several subcommands flatten into their own arguments.

pub mod filter;
pub mod input;
pub mod model;
pub mod rdb_output;
pub mod report_output;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(not(feature = "s3"))]
pub use crate::features::without_s3::args as s3;
pub mod tls;
