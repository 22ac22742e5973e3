//! The fuzz targets' shared piece: the capping global allocator. The walks, the builders and
//! the structure-aware generator live in `rdb_testkit::fuzz` (feature `fuzz`), so that
//! `crates/rdb-format/tests/fuzz_regressions.rs` replays crashes through the same code.
//!
//! Every target calls [`capped`] (or [`arm`]) from here, which also links this crate and so
//! its allocator into the target.

pub use rdb_testkit::fuzz::alloc_cap::{arm, limit_for};

/// Every fuzz target's allocator: the system one, with single allocations capped while an
/// input is decoded (see [`limit_for`]).
#[global_allocator]
static ALLOC: rdb_testkit::fuzz::alloc_cap::CapAlloc = rdb_testkit::fuzz::alloc_cap::CapAlloc;

/// Runs `f` on `data` with allocations capped for an input of `data.len()` bytes.
pub fn capped(data: &[u8], f: impl FnOnce(&[u8])) {
    rdb_testkit::fuzz::alloc_cap::capped(data, f);
}

