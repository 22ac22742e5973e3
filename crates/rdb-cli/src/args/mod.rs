//! Argument groups that several subcommands flatten into their own arguments.

pub mod filter;
pub mod input;
pub mod model;
pub mod rdb_output;
pub mod report_output;
pub mod s3;
pub mod tls;
