#![no_main]
//! `out_keys`: see rdb_fuzz::outputs::keys.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _cap = rdb_fuzz::arm(rdb_fuzz::outputs::output_cap(data.len()));
    rdb_fuzz::outputs::keys::run(data);
});
