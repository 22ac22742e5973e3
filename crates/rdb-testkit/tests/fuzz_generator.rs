//! The fuzz generator and walks on their own, without libFuzzer: generated files decode to
//! exactly what was generated (`gen::run` asserts it), and every walk accepts odd inputs.
#![cfg(feature = "fuzz")]

use rdb_testkit::fuzz::{gen, walk};

fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

#[test]
fn generated_files_decode_to_what_was_generated() {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut items = 0;
    for n in 0..300usize {
        let len = 16 + (n * 53) % 4000;
        let data: Vec<u8> = (0..len).map(|_| xorshift(&mut x) as u8).collect();
        if let Ok(spec) = gen::spec_from_bytes(&data) {
            items += gen::generate(&spec).items.len();
        }
        gen::run(&data);
    }
    assert!(items > 300, "the generator produced only {items} items");
}

#[test]
fn every_walk_accepts_empty_and_tiny_inputs() {
    for target in walk::TARGETS {
        for data in [&b""[..], b"\x00", b"\x0b\x03\x00", b"REDIS0011\xff"] {
            walk::run(target, data);
        }
    }
}
