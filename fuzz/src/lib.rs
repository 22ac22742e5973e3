//! Fuzzing support for `rdb-format`: the property walks every target runs ([`walk`]), a
//! capping global allocator ([`alloc_cap`]), builders for the format's pieces ([`build`]), and
//! the structure-aware generator of valid dumps ([`gen`]) with the owned picture of decoded
//! items it is compared against ([`model`]).

pub mod alloc_cap;
pub mod build;
pub mod gen;
pub mod model;
pub mod walk;

/// Every fuzz target's allocator: the system one, with single allocations capped while an
/// input is decoded (see [`alloc_cap::limit_for`]).
#[global_allocator]
static ALLOC: alloc_cap::CapAlloc = alloc_cap::CapAlloc;

/// Runs `f` on `data` with allocations capped for an input of `data.len()` bytes.
pub fn capped(data: &[u8], f: impl FnOnce(&[u8])) {
    let _guard = alloc_cap::arm(alloc_cap::limit_for(data.len()));
    f(data);
}
