//! Every input a fuzz target ever crashed on, replayed through the very walk the fuzz target
//! runs (`rdb_testkit::fuzz::walk`) under the same allocation cap
//! (`rdb_testkit::fuzz::alloc_cap`, installed as this test's global allocator): no panic, every
//! error offset inside the input, bounded work, no allocation larger than the input allows.
//!
//! Files live in `testdata/fuzz-regressions/` and are named `<target>-<short-name>`; the
//! target picks the walk (`structured-*` files hold the RDB file the generator wrote and replay
//! as whole files). See `fuzz/README.md`.

use std::path::Path;

use rdb_testkit::fuzz::{alloc_cap, walk};

#[global_allocator]
static ALLOC: alloc_cap::CapAlloc = alloc_cap::CapAlloc;

#[test]
fn fuzz_regressions_replay_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fuzz-regressions");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/fuzz-regressions")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().and_then(|e| e.to_str()) != Some("md"))
        .collect();
    files.sort();
    let mut failed = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let data = std::fs::read(path).unwrap();
        eprintln!("replaying {name} ({} bytes)", data.len());
        let r = std::panic::catch_unwind(|| {
            let _cap = alloc_cap::arm(alloc_cap::limit_for(data.len()));
            walk::replay(&name, &data);
        });
        if r.is_err() {
            failed.push(name);
        }
    }
    assert!(failed.is_empty(), "fuzz regressions failing: {failed:?}");
    eprintln!("{} fuzz regressions replayed", files.len());
}

#[test]
fn every_target_walk_accepts_empty_and_tiny_inputs() {
    for target in walk::TARGETS {
        for data in [&b""[..], b"\x00", b"\xff\xff", b"REDIS0011\xff"] {
            let _cap = alloc_cap::arm(alloc_cap::limit_for(data.len()));
            walk::run(target, data);
        }
    }
}
