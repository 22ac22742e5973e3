//! Walks a dump and prints how many keys of each type and encoding it holds, and how many
//! elements they contain.
//!
//! ```text
//! cargo run -p rdb-format --example type_counts -- dump.rdb
//! ```

use std::collections::BTreeMap;

use rdb_format::{Decoder, Item, Scratch, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: type_counts FILE.rdb")?;
    let data = std::fs::read(&path)?;
    let decoder = Decoder::new(&data)?;
    println!("{path}: {}", decoder.version());

    let mut counts: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    let mut scratch = Scratch::new();
    for item in decoder {
        match item? {
            Item::Record(record) => {
                let elements = match record.value(&scratch)? {
                    Value::String(_) | Value::Module(_) => 1,
                    Value::List(items) => items.count() as u64,
                    Value::Set(members) => members.count() as u64,
                    Value::ZSet(members) => members.count() as u64,
                    Value::Hash(fields) => fields.count() as u64,
                    Value::Stream(stream) => stream.entries().count() as u64,
                    _ => 1,
                };
                let slot = counts
                    .entry((record.data_type().as_str(), record.encoding.as_str()))
                    .or_default();
                slot.0 += 1;
                slot.1 += elements;
                scratch.reset();
            }
            Item::Eof(eof) => println!("checksum: {:?}", eof.checksum),
            _ => {}
        }
    }
    for ((ty, enc), (keys, elements)) in counts {
        println!("{ty:8} {enc:22} {keys:>10} keys {elements:>12} elements");
    }
    Ok(())
}
