//! Shared helpers for the benchmarks: finding the dataset and walking a dump.

use std::path::PathBuf;

use rdb_format::{Decoder, DecoderOptions, Item, Scratch};

/// The dump to benchmark: `$RDB_BENCH_FILE`, else the quick generated dataset, else the
/// bundled corpus's largest file.
pub fn bench_file() -> PathBuf {
    if let Some(p) = std::env::var_os("RDB_BENCH_FILE") {
        return PathBuf::from(p);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let quick = root.join(".bench-cache/datasets/cache-quick-r70.rdb");
    if quick.exists() {
        return quick;
    }
    root.join("testdata/corpus/redis-replicator/dumpV8.rdb")
}

/// Reads every record, skipping values (the record-boundary scan), with or without the CRC.
pub fn scan(data: &[u8], verify_checksum: bool) -> u64 {
    let options = DecoderOptions {
        verify_checksum,
        ..DecoderOptions::default()
    };
    let mut keys = 0;
    for item in Decoder::with_options(data, options).expect("header") {
        if let Item::Record(_) = item.expect("decode") {
            keys += 1;
        }
    }
    keys
}

/// Decodes every key and every element of every value.
pub fn full_decode(data: &[u8]) -> u64 {
    let options = DecoderOptions {
        verify_checksum: false,
        ..DecoderOptions::default()
    };
    let mut scratch = Scratch::new();
    let mut elements = 0;
    for item in Decoder::with_options(data, options).expect("header") {
        if let Item::Record(r) = item.expect("decode") {
            r.key.decode(&scratch).expect("key");
            elements += r
                .value(&scratch)
                .and_then(|v| v.element_count())
                .expect("value");
            scratch.reset();
        }
    }
    elements
}
