#![no_main]
//! `stream`: see rdb_testkit::fuzz::walk::stream.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rdb_fuzz::capped(data, rdb_testkit::fuzz::walk::stream);
});
