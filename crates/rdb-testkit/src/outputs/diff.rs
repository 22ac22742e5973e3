//! `out_diff`: `diff`'s digest of each key over a dump, compared with itself.

use rdb_report::diff::{compare, write_json, write_text, DigestSink, EntryStore};

/// The `out_diff` target: one chunk against the pipeline, which must be the same.
pub fn run(data: &[u8]) {
    let tmp = std::env::temp_dir();
    // Now and then the stores spill to their partition files (256 per side: too slow for
    // every input).
    let threshold = if data.len() % 16 == 1 { 1 } else { usize::MAX };
    let direct = DigestSink::new(EntryStore::new("left", &tmp, threshold));
    let parallel = DigestSink::new(EntryStore::new("right", &tmp, threshold));
    let (direct_result, parallel_result) = super::both_ways(data, &direct, &parallel);
    let (mut left, mut right) = (direct.into_store(), parallel.into_store());
    super::check_runs(data, &direct_result, &parallel_result, b"", b"");
    let Ok(()) = direct_result else { return };
    let records = super::structure(data).unwrap();
    assert_eq!(left.len(), records, "one entry per key");
    assert_eq!(right.len(), records, "one entry per key");
    // One chunk and many chunks digest every key alike: the two sides are the same.
    let result = compare(&mut left, &mut right, 10).unwrap();
    let total = result.total();
    assert!(result.same(), "a dump differs from itself: {result:?}");
    // A key stored twice counts once (the first in file order): at most one per record.
    assert!(total.left == total.right && total.same == total.left && total.left <= records);
    let mut text = Vec::new();
    write_text(&mut text, &result).unwrap();
    let mut json = Vec::new();
    write_json(&mut json, &result).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).expect("diff JSON");
    assert_eq!(v["same"], true);
}
