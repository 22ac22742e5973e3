//! Test support shared by the workspace's tests, the fuzz targets and the benchmarks (not
//! published): real Redis/Valkey servers started on 127.0.0.1, filling them and comparing
//! what they hold with a dump, dump builders and the structured fuzz generator.
//!
//! Nothing here is used at run time by the tools themselves.
#![deny(missing_docs)]
#[cfg(feature = "fuzz")]
pub mod fuzz;
#[cfg(feature = "outputs")]
pub mod outputs;
