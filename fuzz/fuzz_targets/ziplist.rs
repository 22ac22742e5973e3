#![no_main]
//! `ziplist`: a standalone ziplist blob, read on its own, as an RDB value and LZF-wrapped
//! (see rdb_testkit::fuzz::walk::blob).

use libfuzzer_sys::fuzz_target;
use rdb_testkit::fuzz::walk::Blob;

fuzz_target!(|data: &[u8]| {
    rdb_fuzz::capped(data, |d| rdb_testkit::fuzz::walk::blob(Blob::Ziplist, d));
});
