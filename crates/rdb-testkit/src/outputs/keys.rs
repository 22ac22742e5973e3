//! `out_keys`: the keys-only listing (`--format keys|keys-csv`) over a dump.

use rdb_report::keys::{KeysFormat, KeysSink, KEYS_CSV_HEADER};

/// The `out_keys` target: both formats, one chunk and the pipeline.
pub fn run(data: &[u8]) {
    for format in [KeysFormat::Ndjson, KeysFormat::Csv] {
        let direct = KeysSink::new(Vec::new(), format).unwrap();
        let parallel = KeysSink::new(Vec::new(), format).unwrap();
        let (direct_result, parallel_result) = super::both_ways(data, &direct, &parallel);
        let direct_out = direct.finish().unwrap();
        let parallel_out = parallel.finish().unwrap();
        super::check_runs(
            data,
            &direct_result,
            &parallel_result,
            &direct_out,
            &parallel_out,
        );
        let Ok(()) = direct_result else { continue };
        let records = super::structure(data).unwrap();
        match format {
            KeysFormat::Ndjson => {
                // One JSON object per key.
                let mut lines = 0u64;
                for line in direct_out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                    let v: serde_json::Value = serde_json::from_slice(line).unwrap_or_else(|e| {
                        panic!("not JSON ({e}): {}", String::from_utf8_lossy(line))
                    });
                    assert!(v.get("key").is_some() && v.get("type").is_some(), "{v}");
                    lines += 1;
                }
                assert_eq!(lines, records, "one line per key");
            }
            _ => assert!(direct_out.starts_with(KEYS_CSV_HEADER)),
        }
    }
}
