#![no_main]
//! `value`: see rdb_testkit::fuzz::walk::value.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rdb_fuzz::capped(data, rdb_testkit::fuzz::walk::value);
});
