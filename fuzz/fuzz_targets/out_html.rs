#![no_main]
//! `out_html`: see rdb_fuzz::outputs::html.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _cap = rdb_fuzz::arm(rdb_fuzz::outputs::output_cap(data.len()));
    rdb_fuzz::outputs::html::run(data);
});
