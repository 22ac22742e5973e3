#![no_main]
//! `whole_file`: see rdb_testkit::fuzz::walk::whole_file.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rdb_fuzz::capped(data, rdb_testkit::fuzz::walk::whole_file);
});
