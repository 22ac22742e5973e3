//! The run checks a dump's CRC-64 from its chunks' checksums (computed by the workers), with
//! the same outcome and error as the decoder's own whole-file check.

use rdb_format::write::{string, RdbWriter};
use rdb_format::{crc64, Checksum, Decoder, ErrorKind, Flavor, Str, Version};
use rdb_pipeline::pipeline::{run, FnSink, PipelineError, PipelineOptions, Progress, SinkError};

fn dump() -> Vec<u8> {
    let version = Version {
        flavor: Flavor::Redis,
        number: 11,
    };
    let mut w = RdbWriter::new(Vec::new(), version).unwrap();
    w.select_db(0).unwrap();
    for k in 0..200 {
        let mut value = Vec::new();
        let type_byte = string(Str::Bytes(b"a value"), &mut value);
        w.record(format!("k{k}").as_bytes(), None, type_byte, &value)
            .unwrap();
    }
    w.finish().unwrap()
}

fn run_on(bytes: &[u8], verify: bool) -> Result<Checksum, PipelineError> {
    let dir = std::env::temp_dir().join(format!("rdb-crc-{}-{verify}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("d.rdb");
    std::fs::write(&path, bytes).unwrap();
    let mut options = PipelineOptions {
        chunk_bytes: 100,
        ..PipelineOptions::default()
    };
    options.decoder.verify_checksum = verify;
    let sink = FnSink::new(|_r, _key: &[u8], _s| Ok::<(), SinkError<std::io::Error>>(()));
    let result = run(&[path], &options, &sink, &Progress::default());
    std::fs::remove_dir_all(&dir).unwrap();
    result.map(|s| s[0].checksum)
}

#[test]
fn chunk_checksums_agree_with_the_decoder() {
    let good = dump();
    let n = good.len();
    let stored = u64::from_le_bytes(good[n - 8..].try_into().unwrap());
    assert_eq!(stored, crc64(&good[..n - 8]));
    assert_eq!(run_on(&good, true).unwrap(), Checksum::Verified(stored));
    assert_eq!(run_on(&good, false).unwrap(), Checksum::NotVerified(stored));

    // Trailing bytes after the checksum are not covered by it.
    let mut trailing = good.clone();
    trailing.extend_from_slice(b"tail");
    assert_eq!(run_on(&trailing, true).unwrap(), Checksum::Verified(stored));

    // A changed byte in a value: the same error, at the same offset, as the decoder gives.
    let mut bad = good.clone();
    let at = bad.windows(7).position(|w| w == b"a value").unwrap() + 2;
    bad[at] = b'X';
    let decoder_error = Decoder::new(&bad)
        .unwrap()
        .find_map(|i| i.err())
        .expect("the decoder refuses it");
    assert!(matches!(
        decoder_error.kind,
        ErrorKind::ChecksumMismatch { .. }
    ));
    match run_on(&bad, true) {
        Err(PipelineError::Decode { error, .. }) => assert_eq!(error, decoder_error),
        other => panic!("{other:?}"),
    }
    assert!(run_on(&bad, false).is_ok());
}
