#![no_main]
//! `layout`: the `value` input (type byte, version selector, payload) read through
//! `Record::layout`, then every blob and node decoded as a memory model would. Must never
//! panic; errors must name an offset inside the payload.

use libfuzzer_sys::fuzz_target;
use rdb_format::{Encoding, Layout, RdbString, Record, Scratch};

/// Where the payload pretends to sit in a dump, so offsets are checked as absolute.
const BASE: u64 = 1000;

fn layout(data: &[u8]) {
    let [t, v, payload @ ..] = data else { return };
    let version = rdb_testkit::fuzz::walk::VERSIONS[usize::from(*v) % rdb_testkit::fuzz::walk::VERSIONS.len()];
    let Ok(encoding) = Encoding::from_type_byte(*t, version) else {
        return;
    };
    let record = Record {
        db: 0,
        key: RdbString::Raw(b"key"),
        expire_ms: None,
        idle: None,
        freq: None,
        key_meta: None,
        encoding,
        offset: BASE - 5,
        len: payload.len() as u64 + 5,
        value_raw: payload,
        value_offset: BASE,
    };
    let scratch = Scratch::new();
    let end = BASE + payload.len() as u64;
    let check = |e: rdb_format::Error| {
        assert!(
            (BASE..=end).contains(&e.offset),
            "error offset {} outside the payload {BASE}..={end}: {e}",
            e.offset
        );
    };
    let blobs = match record.layout(&scratch) {
        Ok(Layout::Blob(b)) => vec![b],
        Ok(Layout::Quicklist(nodes)) => nodes,
        Ok(Layout::Stream(nodes)) => nodes.iter().map(|n| n.listpack).collect(),
        Ok(Layout::String(s)) => {
            if let Err(e) = s.decode(&scratch) {
                check(e);
            }
            Vec::new()
        }
        Ok(_) => Vec::new(),
        Err(e) => return check(e),
    };
    for b in blobs {
        assert!(
            b.offset >= BASE && b.end_offset() <= end,
            "blob outside the payload"
        );
        assert_eq!(b.compressed_len().is_some(), b.data.is_compressed());
        if let Err(e) = b.data.decode(&scratch) {
            check(e);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    rdb_fuzz::capped(data, layout);
});
