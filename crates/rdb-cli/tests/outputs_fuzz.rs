//! The output targets (`out_resp`, `out_keys`, `out_diff`, `out_html`) without libFuzzer: each
//! runs on every real dump of testdata/corpus and on damaged copies (cut short, bytes
//! flipped), under the targets' allocation cap. It lives here, on the workspace's build,
//! so that CI need not build the sinks with fuzzing instrumentation (`fuzz/run-ci.sh` runs
//! the decoder's targets; `FUZZ_OUTPUTS=1` adds these four).

use std::path::Path;

use rdb_testkit::fuzz::alloc_cap::{arm, CapAlloc};
use rdb_testkit::outputs;

/// The fuzz targets' allocator, so that the cap below applies as it does under libFuzzer.
#[global_allocator]
static ALLOC: CapAlloc = CapAlloc;

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

/// Every dump of testdata/corpus up to 256 KiB (what seeds `whole_file`).
fn dumps() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if std::fs::metadata(&p).unwrap().len() <= 256 << 10 {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    assert!(out.len() > 100, "corpus missing: {} dumps", out.len());
    out
}

/// The dump, then for small ones three damaged copies.
fn variants(data: &[u8], x: &mut u64) -> Vec<Vec<u8>> {
    let mut v = vec![data.to_vec()];
    if data.len() > 16 && data.len() <= 16 << 10 {
        let cut = 9 + (xorshift(x) as usize) % (data.len() - 9);
        v.push(data[..cut].to_vec());
        for _ in 0..2 {
            let mut d = data.to_vec();
            let at = 9 + (xorshift(x) as usize) % (d.len() - 9);
            d[at] ^= 1 << (xorshift(x) % 8);
            v.push(d);
        }
    }
    v
}

fn run_all(target: fn(&[u8])) {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for (name, data) in dumps() {
        for d in variants(&data, &mut x) {
            let _cap = arm(outputs::output_cap(d.len()));
            let r = std::panic::catch_unwind(|| target(&d));
            if r.is_err() {
                let path = std::env::temp_dir().join("rdb-fuzz-output-failure.rdb");
                std::fs::write(&path, &d).unwrap();
                panic!("{name} (variant written to {})", path.display());
            }
        }
    }
}

#[test]
fn resp_on_the_corpus() {
    run_all(outputs::resp::run);
}

#[test]
fn keys_on_the_corpus() {
    run_all(outputs::keys::run);
}

#[test]
fn diff_on_the_corpus() {
    run_all(outputs::diff::run);
}

#[test]
fn html_on_the_corpus() {
    run_all(outputs::html::run);
}
