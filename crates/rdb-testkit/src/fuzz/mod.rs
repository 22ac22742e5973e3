//! Fuzzing support for `rdb-format` (feature `fuzz`): the property walks every fuzz target runs
//! ([`walk`]), a capping global allocator ([`alloc_cap`]), builders for the format's pieces
//! ([`build`]), and the structure-aware generator of valid dumps ([`gen`]), whose expected
//! items are `rdb_format::owned` values.
//!
//! The fuzz targets live in `fuzz/` (their own workspace, built by `cargo fuzz`) and the
//! saved crashes replay in `crates/rdb-format/tests/fuzz_regressions.rs`; both install
//! [`alloc_cap::CapAlloc`] as their global allocator.

pub mod alloc_cap;
pub mod build;
pub mod gen;
pub mod walk;
