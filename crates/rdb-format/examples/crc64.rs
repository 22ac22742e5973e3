//! Prints the CRC-64 (Redis's polynomial) of a whole file, memory-mapped as `rdb-convert`
//! maps it: the benchmark floor for checksum verification (`benches/compare.sh`).
//!
//! ```text
//! cargo run --release -p rdb-pipeline --example crc64 -- dump.rdb
//! ```
//!
//! Prints the CRC of everything but the last 8 bytes (where a dump stores its checksum) and
//! those 8 bytes read as the stored checksum, so a dump shows two equal numbers.

use rdb_format::DumpFile;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut any = false;
    for path in std::env::args_os().skip(1) {
        any = true;
        let file = DumpFile::open(&path)?;
        let data = file.data();
        let (body, tail) = data.split_at(data.len().saturating_sub(8));
        let crc = rdb_format::crc64(body);
        let stored = (tail.len() == 8).then(|| u64::from_le_bytes(tail.try_into().unwrap()));
        match stored {
            Some(stored) => println!("{crc:016x} {stored:016x}  {}", path.to_string_lossy()),
            None => println!("{crc:016x}  {}", path.to_string_lossy()),
        }
    }
    if !any {
        return Err("usage: crc64 FILE...".into());
    }
    Ok(())
}
