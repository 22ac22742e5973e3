//! Walks a dump and prints how many keys of each type and encoding it holds, and how many
//! elements they contain. A corrupt dump stops the walk with its error: nothing is counted
//! from an element that failed to decode.
//!
//! ```text
//! cargo run -p rdb-format --example type_counts -- dump.rdb
//! ```

use std::collections::BTreeMap;

use rdb_format::{Decoder, Records};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: type_counts FILE.rdb")?;
    let data = std::fs::read(&path)?;
    let decoder = Decoder::new(&data)?;
    println!("{path}: {}", decoder.version());

    let mut counts: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    let mut records = Records::new(decoder);
    while let Some(kept) = records.next_record()? {
        // `element_count` fails on the first element that does not decode.
        let elements = kept.value()?.element_count()?;
        let record = kept.record;
        let slot = counts
            .entry((record.data_type().as_str(), record.encoding.as_str()))
            .or_default();
        slot.0 += 1;
        slot.1 += elements;
    }
    if let Some(eof) = records.eof() {
        println!("checksum: {:?}", eof.checksum);
    }
    for ((ty, enc), (keys, elements)) in counts {
        println!("{ty:8} {enc:22} {keys:>10} keys {elements:>12} elements");
    }
    Ok(())
}
