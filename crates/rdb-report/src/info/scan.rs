//! Walking a dump for the report, with the checksum computed beside the walk.

use rdb_format::{crc64, Checksum, Decoder, DecoderOptions, ErrorKind, Item};
use rdb_pipeline::filter::Filter;

use super::{FileInfo, InfoReport};
use crate::ReportError;

/// Runs an [`InfoReport`] over a whole dump. A checksum mismatch is reported in the result
/// (status [`ChecksumStatus::Mismatch`](super::ChecksumStatus::Mismatch)), not as an error; other errors are.
pub fn scan(
    decoder: Decoder<'_>,
    name: &str,
    file_bytes: u64,
    filter: &Filter,
    now: Option<i64>,
) -> Result<FileInfo, ReportError> {
    scan_until_cut(decoder, name, file_bytes, filter, now, &|_| None)
}

/// Where a walk of a dump must stop, asked before each item with its offset: the error of a
/// dump cut while being read (`DumpFile::cut_at`), whose zeros would otherwise decode as
/// endless empty records.
pub type Cut<'c> = dyn Fn(u64) -> Option<rdb_format::Error> + 'c;

fn scan_until_cut(
    mut decoder: Decoder<'_>,
    name: &str,
    file_bytes: u64,
    filter: &Filter,
    now: Option<i64>,
    cut: &Cut<'_>,
) -> Result<FileInfo, ReportError> {
    let mut report = InfoReport::new(name, file_bytes, decoder.version(), now);
    loop {
        if let Some(e) = cut(decoder.position()) {
            return Err(e.into());
        }
        let Some(item) = decoder.next() else { break };
        match item {
            Ok(item) => report.item(&item, filter)?,
            Err(e) => match e.kind {
                ErrorKind::ChecksumMismatch { stored, computed } => {
                    report.checksum_mismatch(stored, computed)
                }
                _ => return Err(e.into()),
            },
        }
    }
    Ok(report.finish())
}

/// [`scan`] over a dump's bytes. When `options` verifies the checksum, it is computed on
/// another thread while this one walks the records (the two passes take about as long), so
/// the report comes in about half the time on two cores; the result is the same.
/// `cut` is asked before each item (see [`Cut`]).
pub fn scan_bytes(
    data: &[u8],
    options: DecoderOptions,
    name: &str,
    filter: &Filter,
    now: Option<i64>,
    cut: &Cut<'_>,
) -> Result<FileInfo, ReportError> {
    let file_bytes = data.len() as u64;
    if !options.verify_checksum {
        return scan_until_cut(
            Decoder::with_options(data, options)?,
            name,
            file_bytes,
            filter,
            now,
            cut,
        );
    }
    let decoder = Decoder::with_options(
        data,
        DecoderOptions {
            verify_checksum: false,
            ..options
        },
    )?;
    // The checksum covers the dump up to its EOF opcode, which the 8 checksum bytes follow:
    // the end of the file unless bytes trail the dump (rare; then it is computed again).
    let covered = data.len().saturating_sub(8);
    let mut decoder = decoder;
    std::thread::scope(|threads| {
        let ahead = threads.spawn(|| crc64(&data[..covered]));
        let mut ahead = Some(ahead);
        let mut report = InfoReport::new(name, file_bytes, decoder.version(), now);
        loop {
            if let Some(e) = cut(decoder.position()) {
                return Err(e.into());
            }
            let Some(item) = decoder.next() else { break };
            let mut item = item?;
            if let Item::Eof(e) = &mut item {
                if let Checksum::NotVerified(stored) = e.checksum {
                    let end = e.offset as usize + 1;
                    let computed = match ahead.take().map(|t| t.join()) {
                        Some(Ok(crc)) if end == covered => crc,
                        _ => crc64(&data[..end]),
                    };
                    if computed != stored {
                        // As when the decoder finds it: the mismatch is the file's end.
                        report.checksum_mismatch(stored, computed);
                        continue;
                    }
                    e.checksum = Checksum::Verified(stored);
                }
            }
            report.item(&item, filter)?;
        }
        Ok(report.finish())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::info::ChecksumStatus;

    /// The checksum computed beside the scan gives what the decoder's own check gives:
    /// verified, mismatched, not computed, with trailing bytes, and without verification.
    #[test]
    fn scan_bytes_checks_the_checksum_like_the_decoder() {
        // A fixed "now": the clock's would differ by a millisecond between the two scans.
        const NOW: Option<i64> = Some(1_700_000_000_000);
        let mut body = b"REDIS0011\xfe\x00\x00\x01k\x01v\xff".to_vec();
        let crc = crc64(&body);
        let mut good = body.clone();
        good.extend_from_slice(&crc.to_le_bytes());
        let mut bad = body.clone();
        bad.extend_from_slice(&(crc ^ 1).to_le_bytes());
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"tail");
        body.extend_from_slice(&[0; 8]);
        let unverified = DecoderOptions {
            verify_checksum: false,
            ..DecoderOptions::default()
        };
        for dump in [&good, &bad, &trailing, &body] {
            for options in [DecoderOptions::default(), unverified] {
                let filter = Filter::default();
                let len = dump.len() as u64;
                let old = scan(
                    Decoder::with_options(dump, options).unwrap(),
                    "t",
                    len,
                    &filter,
                    NOW,
                )
                .unwrap();
                let new = scan_bytes(dump, options, "t", &filter, NOW, &|_| None).unwrap();
                assert_eq!(format!("{old:?}"), format!("{new:?}"));
            }
        }
        let f = scan_bytes(
            &bad,
            DecoderOptions::default(),
            "t",
            &Filter::default(),
            None,
            &|_| None,
        )
        .unwrap();
        assert!(matches!(f.checksum, Some(ChecksumStatus::Mismatch { .. })));
        let f = scan_bytes(
            &trailing,
            DecoderOptions::default(),
            "t",
            &Filter::default(),
            None,
            &|_| None,
        )
        .unwrap();
        assert_eq!(f.checksum, Some(ChecksumStatus::Ok(crc)));
    }
}
