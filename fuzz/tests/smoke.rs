//! Quick checks of the fuzz crate itself, without libFuzzer: the generator's files decode to
//! exactly what it generated, for many pseudo-random specs, and every walk runs on the real
//! dumps. `cargo test` in `fuzz/`.

use std::path::Path;

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn structured_round_trips_pseudo_random_specs() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut generated = 0;
    for n in 0..3000usize {
        let len = 16 + (n * 37) % 6000;
        let data: Vec<u8> = (0..len).map(|_| xorshift(&mut x) as u8).collect();
        if let Ok(spec) = rdb_testkit::fuzz::gen::spec_from_bytes(&data) {
            let g = rdb_testkit::fuzz::gen::generate(&spec);
            generated += g.items.len();
        }
        rdb_testkit::fuzz::gen::run(&data);
    }
    assert!(
        generated > 3000,
        "generator produced only {generated} items"
    );
}

#[test]
fn walks_run_on_the_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/corpus");
    let mut n = 0;
    for dir in std::fs::read_dir(root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().and_then(|e| e.to_str()) != Some("rdb") {
                continue;
            }
            let data = std::fs::read(&f).unwrap();
            for t in [
                "whole_file",
                "value",
                "stream",
                "listpack",
                "ziplist",
                "intset",
                "zipmap",
                "lzf",
            ] {
                rdb_fuzz::capped(&data, |d| rdb_testkit::fuzz::walk::run(t, d));
            }
            n += 1;
        }
    }
    assert!(n > 150);
}
