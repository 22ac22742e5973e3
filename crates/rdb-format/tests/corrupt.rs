//! Hostile input: every real dump, truncated at many offsets and with bytes flipped, must give
//! an error with an offset inside the input, never a panic or a hang.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rdb_format::{Decoder, DecoderOptions, Item, Scratch};
use rdb_testkit::fuzz::walk::{walk_value, Budget};

fn corpus() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).expect("testdata/corpus") {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if matches!(f.extension().and_then(|e| e.to_str()), Some("rdb" | "aof")) {
                files.push(f);
            }
        }
    }
    files.sort();
    assert!(files.len() > 150, "corpus missing: {}", files.len());
    files
}

/// Decodes everything, visiting every element. Returns the first error.
fn walk(data: &[u8], verify: bool) -> Result<u64, rdb_format::Error> {
    let options = DecoderOptions {
        verify_checksum: verify,
        allow_future_versions: true,
    };
    let mut scratch = Scratch::new();
    let mut visited = 0u64;
    for item in Decoder::with_options(data, options)? {
        if let Item::Record(r) = item? {
            r.key.decode(&scratch)?;
            // The fuzz targets' walk: every element, and each list, set, sorted set and
            // hash both ways (its iterator and its walk into reused buffers), which must see
            // the same elements and end alike, with the same error.
            let mut budget = Budget::new(data.len(), Some(&scratch), "corpus walk");
            walk_value(r.value(&scratch)?, &mut budget)?;
            visited += budget.used();
            scratch.reset();
        }
    }
    Ok(visited)
}

fn check_error(name: &str, what: &str, data: &[u8], err: &rdb_format::Error) {
    assert!(
        err.offset <= data.len() as u64,
        "{name} {what}: error offset {} beyond input of {} bytes: {err}",
        err.offset,
        data.len()
    );
}

#[test]
fn truncated_dumps_fail_with_an_offset() {
    let started = Instant::now();
    for path in corpus() {
        let name = path.display().to_string();
        let data = std::fs::read(&path).unwrap();
        let full = walk(&data, true);
        let Ok(_) = full else { continue };
        // The end of the dump proper: stop short of any trailing bytes.
        let mut scratch_end = data.len();
        if let Ok(d) = Decoder::new(&data) {
            for item in d.flatten() {
                if let Item::Eof(e) = item {
                    scratch_end = data.len() - e.trailing_bytes as usize;
                }
            }
        }
        let step = (scratch_end / 400).max(1);
        let mut cut = 0;
        while cut < scratch_end {
            let part = &data[..cut];
            match walk(part, true) {
                Ok(_) => panic!("{name} truncated at {cut}: decoded without error"),
                Err(e) => check_error(&name, &format!("truncated at {cut}"), part, &e),
            }
            cut += step;
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "too slow: {:?}",
        started.elapsed()
    );
}

/// Small deterministic generator (xorshift) so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn flipped_bytes_never_panic() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for path in corpus() {
        let name = path.display().to_string();
        let data = std::fs::read(&path).unwrap();
        if data.len() > 400_000 {
            continue; // the big files add time, not coverage
        }
        for round in 0..60 {
            let mut bad = data.clone();
            let flips = 1 + (rng.next() % 4) as usize;
            for _ in 0..flips {
                let at = 9 + (rng.next() as usize % (bad.len().saturating_sub(9)).max(1));
                if at < bad.len() {
                    bad[at] ^= 1 << (rng.next() % 8);
                }
            }
            // With the checksum off, the damage reaches the value decoders.
            if let Err(e) = walk(&bad, false) {
                check_error(&name, &format!("flip round {round}"), &bad, &e);
            }
        }
    }
}
