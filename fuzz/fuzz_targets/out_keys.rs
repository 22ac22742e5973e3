#![no_main]
//! `out_keys`: see rdb_testkit::outputs::keys.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _cap = rdb_fuzz::arm(rdb_testkit::outputs::output_cap(data.len()));
    rdb_testkit::outputs::keys::run(data);
});
