//! Turns a `structured` fuzz input (e.g. a crash artifact) into the RDB file it generates, so
//! it can be inspected with `rdb-convert` and kept as a `whole_file` regression.
//!
//! ```text
//! structured_dump <input> <out.rdb> [<out-mutated.rdb>]
//! ```
//! Prints the spec; writes the generated file, and the mutated one when the spec has
//! mutations and a third path is given.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: structured_dump <input> <out.rdb> [<out-mutated.rdb>]");
        std::process::exit(2);
    }
    let data = std::fs::read(&args[1]).expect("input");
    let spec = rdb_testkit::fuzz::gen::spec_from_bytes(&data).expect("not a structured input");
    println!("{spec:#?}");
    let g = rdb_testkit::fuzz::gen::generate(&spec);
    std::fs::write(&args[2], &g.data).expect("write");
    eprintln!("wrote {} ({} bytes, {})", args[2], g.data.len(), g.version);
    if let (Some(path), false) = (args.get(3), spec.mutations.is_empty()) {
        let m = rdb_testkit::fuzz::gen::mutate(&g.data, &spec.mutations);
        std::fs::write(path, &m).expect("write");
        eprintln!("wrote {path} ({} bytes, mutated)", m.len());
    }
}
