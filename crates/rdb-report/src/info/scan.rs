//! Walking a dump for the report, with the checksum computed beside the walk.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rdb_format::{crc64, crc64_combine, Checksum, Decoder, DecoderOptions, ErrorKind, Item};
use rdb_pipeline::filter::Filter;

use super::{FileInfo, InfoReport};
use crate::ReportError;

/// Runs an [`InfoReport`] over a whole dump on this thread (the decoder checks the checksum
/// if asked to). A checksum mismatch is reported in the result (status
/// [`ChecksumStatus::Mismatch`](super::ChecksumStatus::Mismatch)), not as an error; other
/// errors are. [`scan_bytes`] is the faster walk of a dump file.
pub fn scan(
    decoder: Decoder<'_>,
    name: &str,
    file_bytes: u64,
    filter: &Filter,
    now: Option<i64>,
) -> Result<FileInfo, ReportError> {
    let mut report = InfoReport::new(name, file_bytes, decoder.version(), now);
    for item in decoder {
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

/// Where a walk of a dump must stop, asked before each item with its offset: the error of a
/// dump cut while being read (`DumpFile::cut_at`), whose zeros would otherwise decode as
/// endless empty records.
pub type Cut<'c> = dyn Fn(u64) -> Option<rdb_format::Error> + 'c;

/// Gives the mapped pages of the dump before an offset back to the kernel
/// (`DumpFile::release_before`); called from another thread than the scan.
pub type Release<'r> = dyn Fn(usize) + Sync + 'r;

/// The pages behind the scan are given back in steps of this many bytes.
const RELEASE_STEP: usize = 16 << 20;
/// The checksum is computed in blocks of this many bytes...
const CRC_BLOCK: usize = 4 << 20;
/// ...at most this far ahead of the scan.
const CRC_AHEAD: usize = 32 << 20;

/// [`scan`] over a dump's bytes, with two threads. When `options` verify the checksum, it
/// is computed on the second thread while this one walks the records (the result is the
/// same). The CRC is several times faster than the walk, so it stays at most 32 MiB ahead;
/// the second thread also gives back the pages behind the walk (`release`). So the report
/// keeps a few tens of MiB of the dump resident whatever its size, and the unmapping at the
/// end does not grow with it either (unmapping 250 MB of pages at once cost 7 % of the
/// report's time). `cut` is asked before each item (see [`Cut`]).
pub fn scan_bytes(
    data: &[u8],
    options: DecoderOptions,
    name: &str,
    filter: &Filter,
    now: Option<i64>,
    cut: &Cut<'_>,
    release: &Release<'_>,
) -> Result<FileInfo, ReportError> {
    let file_bytes = data.len() as u64;
    let verify = options.verify_checksum;
    let mut decoder = Decoder::with_options(
        data,
        DecoderOptions {
            verify_checksum: false,
            ..options
        },
    )?;
    // The checksum covers the dump up to its EOF opcode, which the 8 checksum bytes follow:
    // the end of the file unless bytes trail the dump (rare; then it is computed again).
    let covered = data.len().saturating_sub(8);
    let scanned = AtomicUsize::new(0);
    let done = AtomicBool::new(false);
    let (crc_tx, crc_rx) = mpsc::channel();
    std::thread::scope(|threads| {
        let helper = threads.spawn(|| {
            // Gives back the pages both the scan and the CRC (up to `crc_at`) are past. The
            // CRC can be the one behind: a dump of a few huge values is scanned faster.
            let mut released = 0;
            let mut release_behind = |crc_at: usize, finished: bool| {
                let at = scanned.load(Ordering::Relaxed).min(crc_at);
                if at >= released + RELEASE_STEP || (finished && at > released) {
                    release(at);
                    released = at;
                }
            };
            let (mut crc, mut at) = (crc64(&[]), 0);
            while verify && at < covered {
                if done.load(Ordering::Acquire) {
                    return;
                }
                if at >= scanned.load(Ordering::Relaxed) + CRC_AHEAD {
                    release_behind(at, false);
                    std::thread::park_timeout(Duration::from_millis(1));
                    continue;
                }
                let end = (at + CRC_BLOCK).min(covered);
                crc = crc64_combine(crc, crc64(&data[at..end]), (end - at) as u64);
                at = end;
                release_behind(at, false);
            }
            let _ = crc_tx.send(crc);
            loop {
                let finished = done.load(Ordering::Acquire);
                release_behind(usize::MAX, finished);
                if finished {
                    return;
                }
                std::thread::park_timeout(Duration::from_millis(1));
            }
        });
        let walk = || {
            let mut report = InfoReport::new(name, file_bytes, decoder.version(), now);
            let mut crc = Some(crc_rx);
            loop {
                let at = decoder.position();
                if let Some(e) = cut(at) {
                    return Err(e.into());
                }
                scanned.store(at as usize, Ordering::Relaxed);
                let Some(item) = decoder.next() else { break };
                let mut item = match item {
                    Ok(item) => item,
                    Err(e) => return Err(e.into()),
                };
                if let Item::Eof(e) = &mut item {
                    if let (true, Checksum::NotVerified(stored)) = (verify, e.checksum) {
                        let end = e.offset as usize + 1;
                        // The helper's CRC stops at `covered`, which it reaches only if
                        // the scan does: with trailing bytes, compute it here.
                        let computed = match crc.take().filter(|_| end == covered) {
                            Some(rx) => rx.recv().unwrap_or_else(|_| crc64(&data[..end])),
                            None => crc64(&data[..end]),
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
        };
        let result = walk();
        scanned.store(decoder.position() as usize, Ordering::Relaxed);
        done.store(true, Ordering::Release);
        helper.thread().unpark();
        result
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
        // Larger than the CRC's blocks and its lead on the scan, good and bad.
        let mut big = b"REDIS0011\xfe\x00".to_vec();
        for i in 0..20_000u32 {
            let key = format!("key:{i:08}");
            big.extend_from_slice(&[0, key.len() as u8]);
            big.extend_from_slice(key.as_bytes());
            // A 14-bit length: 2000 bytes.
            big.extend_from_slice(&[0x40 | (2000 >> 8) as u8, (2000 & 0xff) as u8]);
            big.extend_from_slice(&[b'v'; 2000]);
        }
        big.push(0xff);
        let big_crc = crc64(&big);
        let mut big_bad = big.clone();
        big.extend_from_slice(&big_crc.to_le_bytes());
        big_bad.extend_from_slice(&(big_crc ^ 1).to_le_bytes());
        assert!(big.len() > CRC_AHEAD + CRC_BLOCK);
        let unverified = DecoderOptions {
            verify_checksum: false,
            ..DecoderOptions::default()
        };
        for dump in [&good, &bad, &trailing, &body, &big, &big_bad] {
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
                let new = scan_bytes(dump, options, "t", &filter, NOW, &|_| None, &|_| {}).unwrap();
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
            &|_| {},
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
            &|_| {},
        )
        .unwrap();
        assert_eq!(f.checksum, Some(ChecksumStatus::Ok(crc)));
    }
}
