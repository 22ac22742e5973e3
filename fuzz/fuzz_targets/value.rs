#![no_main]
//! `value`: see rdb_fuzz::walk::value.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rdb_fuzz::capped(data, rdb_fuzz::walk::value);
});
