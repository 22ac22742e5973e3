#![no_main]
//! `lzf`: two bytes of declared output length (u16le), then compressed bytes; see
//! rdb_testkit::fuzz::walk::lzf. The data is also compressed with the builders'
//! back-referencing encoder and must decompress to itself.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rdb_fuzz::capped(data, |d| {
        rdb_testkit::fuzz::walk::lzf(d);
        let plain = d.get(2..).unwrap_or_default();
        let compressed = rdb_testkit::fuzz::build::lzf(plain, true);
        let mut out = vec![0u8; plain.len()];
        rdb_format::lzf::decompress(&compressed, &mut out).expect("valid LZF");
        assert!(
            out == plain,
            "LZF round trip through back-references differs"
        );
    });
});
