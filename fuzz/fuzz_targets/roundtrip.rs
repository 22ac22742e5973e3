#![no_main]
//! `roundtrip`: decode → encode → decode is the identity; see
//! rdb_testkit::fuzz::walk::roundtrip.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The decoder's cap, with room for the encoder: re-encoding can spell a packed integer
    // out as decimal digits, and a listpack or ziplist grows by doubling.
    let _cap = rdb_fuzz::arm(rdb_fuzz::limit_for(data.len()) * 32);
    rdb_testkit::fuzz::walk::roundtrip(data);
});
