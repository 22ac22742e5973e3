#![no_main]
//! `structured`: an arbitrary description of a dump becomes a valid RDB file; the decoder must
//! report exactly what was generated, then survive mutations of it (see
//! rdb_testkit::fuzz::gen::run).

use libfuzzer_sys::fuzz_target;
// Links the capping global allocator that `gen::run` arms.
use rdb_fuzz as _;

fuzz_target!(|data: &[u8]| {
    // The cap is relative to the fuzzer input, not to the (larger) generated file: the
    // generator itself allocates, so it is checked against the generated size inside.
    rdb_testkit::fuzz::gen::run(data);
});
