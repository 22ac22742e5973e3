//! Mutating a generated file, and the `structured` target itself.

use super::{generate, spec_from_bytes, Mutation};
use crate::fuzz::{alloc_cap, walk};

/// Applies `mutations` to a copy of `data`.
pub fn mutate(data: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut d = data.to_vec();
    for m in mutations {
        let at = |p: u32, len: usize| p as usize % (len + 1);
        match m {
            Mutation::Flip(p, x) => {
                if !d.is_empty() {
                    let i = *p as usize % d.len();
                    d[i] ^= if *x == 0 { 1 } else { *x };
                }
            }
            Mutation::Set(p, b) => {
                if !d.is_empty() {
                    let i = *p as usize % d.len();
                    d[i] = *b;
                }
            }
            Mutation::Truncate(p) => d.truncate(at(*p, d.len())),
            Mutation::Insert(p, bytes) => {
                let i = at(*p, d.len());
                d.splice(i..i, bytes.iter().copied());
            }
            Mutation::Remove(p, n) => {
                let i = at(*p, d.len());
                let end = (i + usize::from(*n)).min(d.len());
                d.drain(i..end);
            }
        }
    }
    d
}

/// The `structured` target: generate, check the decoder reports exactly what was written (with
/// the checksum verified and not), run the property walk, then mutate and walk again.
pub fn run(data: &[u8]) {
    let Ok(spec) = spec_from_bytes(data) else {
        return;
    };
    let g = generate(&spec);
    for verify in [true, false] {
        let options = rdb_format::DecoderOptions {
            verify_checksum: verify,
            allow_future_versions: false,
        };
        let (version, items) = match rdb_format::owned::decode_all(&g.data, options) {
            Ok(x) => x,
            Err(e) => {
                panic!("decoder rejected a generated file (verify={verify}): {e}\nspec: {spec:?}")
            }
        };
        assert_eq!(version, g.version);
        let expected = g.expected(verify);
        if items != expected {
            let n = items
                .iter()
                .zip(&expected)
                .take_while(|(a, b)| a == b)
                .count();
            panic!(
                "decoded items differ from the generated ones at item {n} (verify={verify})\n\
                 decoded:  {:?}\ngenerated: {:?}\nspec: {spec:?}",
                items.get(n),
                expected.get(n)
            );
        }
    }
    // Each value on its own, DUMP-style, followed by the rest of the file (which
    // `Value::decode` must leave alone).
    for (ty, at, expected) in &g.values {
        let scratch = rdb_format::Scratch::new();
        let got = rdb_format::Value::decode(*ty, g.version, &g.data[*at..], &scratch)
            .and_then(rdb_format::owned::OwnedValue::from_value);
        match got {
            Ok(v) => assert_eq!(&v, expected, "Value::decode of type {ty} at {at}"),
            Err(e) => panic!("Value::decode of type {ty} at {at} failed: {e}\nspec: {spec:?}"),
        }
    }
    // The property walks run with allocations capped by the generated file's size (the
    // generator and the owned model above allocate freely).
    alloc_cap::capped(&g.data, walk::whole_file);
    if !spec.mutations.is_empty() {
        let m = mutate(&g.data, &spec.mutations);
        alloc_cap::capped(&m, walk::whole_file);
    }
}
