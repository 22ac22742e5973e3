//! Prints the keys of a dump, one per line; a corrupt dump stops it with the error (exit 1).
//!
//! ```text
//! cargo run -p rdb-format --example keys -- dump.rdb
//! ```

use std::io::Write;

use rdb_format::{Decoder, Records};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: keys FILE.rdb")?;
    // Any `&[u8]` will do: a memory-mapped file reads the same way without the copy.
    let data = std::fs::read(path)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut records = Records::new(Decoder::new(&data)?);
    while let Some(kept) = records.next_record()? {
        out.write_all(kept.key)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
