//! Prints the keys of a dump, one per line, reading it straight from the page cache (the
//! `mmap` feature). A corrupt dump stops it with the error naming the byte (exit 1): errors
//! are never counted as keys.
//!
//! ```text
//! cargo run -p rdb-format --features mmap --example keys -- dump.rdb
//! ```

use std::io::Write;

use rdb_format::{Decoder, DumpFile, Records};

fn main() {
    if let Err(e) = keys() {
        eprintln!("keys: {e}");
        std::process::exit(1);
    }
}

fn keys() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: keys FILE.rdb")?;
    let dump = DumpFile::open(&path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut records = Records::new(Decoder::new(dump.data())?);
    while let Some(kept) = records.next_record()? {
        out.write_all(kept.key)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    // A file cut while it was read shows zeros past the cut: say so rather than trust them.
    dump.verify()?;
    Ok(())
}
