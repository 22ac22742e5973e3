//! Walks a dump without writing anything, memory-mapped as `rdb-convert` maps it: the
//! decoder's own cost, without JSON (`benches/compare.sh`).
//!
//! ```text
//! cargo run --release -p rdb-pipeline --example scan -- [--no-crc] [--decode] dump.rdb
//! ```
//!
//! Default: every record's header and key boundaries, values skipped, CRC64 verified.
//! `--no-crc`: skip the checksum. `--decode`: also decode every key and every element of
//! every value (strings LZF-decompressed, collections iterated). Prints the key and element
//! counts.

use rdb_format::DumpFile;
use rdb_format::{Decoder, DecoderOptions, Item, Scratch, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut verify_checksum = true;
    let mut decode = false;
    let mut files = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--no-crc" => verify_checksum = false,
            "--decode" => decode = true,
            _ if arg.starts_with("--") => return Err(format!("unknown flag {arg}").into()),
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        return Err("usage: scan [--no-crc] [--decode] FILE...".into());
    }
    let options = DecoderOptions {
        verify_checksum,
        ..DecoderOptions::default()
    };
    let (mut keys, mut elements) = (0u64, 0u64);
    let mut scratch = Scratch::new();
    for path in &files {
        let file = DumpFile::open(path)?;
        for item in Decoder::with_options(file.data(), options)? {
            let Item::Record(record) = item? else {
                continue;
            };
            keys += 1;
            if decode {
                record.key.decode(&scratch)?;
                elements += match record.value(&scratch)? {
                    Value::String(s) => {
                        std::hint::black_box(s);
                        1
                    }
                    Value::Module(_) => 1,
                    Value::List(items) => count(items)?,
                    Value::Set(members) => count(members)?,
                    Value::ZSet(members) => count(members)?,
                    Value::Hash(fields) => count(fields)?,
                    Value::Stream(stream) => {
                        let mut n = 0;
                        for entry in stream.entries() {
                            count(entry?.fields)?;
                            n += 1;
                        }
                        n
                    }
                    _ => 1,
                };
                scratch.reset();
            }
        }
    }
    println!("{keys} keys, {elements} elements");
    Ok(())
}

/// Drains a fallible iterator, failing on the first error.
fn count<T, E, I>(iter: I) -> Result<u64, E>
where
    I: Iterator<Item = Result<T, E>>,
{
    let mut n = 0;
    for item in iter {
        std::hint::black_box(item?);
        n += 1;
    }
    Ok(n)
}
