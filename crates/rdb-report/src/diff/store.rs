//! What the comparison keeps per key, in memory up to a threshold, then hash-partitioned
//! into files of a temporary directory (removed when the store is dropped, error or not).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// One key of one side: 48 bytes in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// [`key_hash`](super::key_hash) of the db and key.
    pub key: u128,
    /// [`value_digest`](super::value_digest) of the value.
    pub digest: u128,
    /// Expiry in unix ms, `i64::MIN` for none.
    pub expire_ms: i64,
    /// Database (saturated at `u32::MAX`).
    pub db: u32,
    /// The type's index.
    pub type_index: u8,
}

const ENTRY_BYTES: usize = 16 + 16 + 8 + 4 + 1;

/// Partitions once spilled: a partition holds about 1/256 of a side's keys.
pub(super) const PARTITIONS: usize = 256;

impl Entry {
    /// The expiry, if any.
    pub fn expiry(&self) -> Option<i64> {
        (self.expire_ms != i64::MIN).then_some(self.expire_ms)
    }

    fn partition(&self) -> usize {
        (self.key >> 120) as usize
    }

    fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut b = [0u8; ENTRY_BYTES];
        b[..16].copy_from_slice(&self.key.to_le_bytes());
        b[16..32].copy_from_slice(&self.digest.to_le_bytes());
        b[32..40].copy_from_slice(&self.expire_ms.to_le_bytes());
        b[40..44].copy_from_slice(&self.db.to_le_bytes());
        b[44] = self.type_index;
        out.write_all(&b)
    }

    fn read(b: &[u8; ENTRY_BYTES]) -> Entry {
        let mut k = [0u8; 16];
        k.copy_from_slice(&b[..16]);
        let mut d = [0u8; 16];
        d.copy_from_slice(&b[16..32]);
        let mut e = [0u8; 8];
        e.copy_from_slice(&b[32..40]);
        Entry {
            key: u128::from_le_bytes(k),
            digest: u128::from_le_bytes(d),
            expire_ms: i64::from_le_bytes(e),
            db: u32::from_le_bytes([b[40], b[41], b[42], b[43]]),
            type_index: b[44],
        }
    }
}

/// A directory removed with everything in it when dropped.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new(parent: &Path, name: &str) -> io::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("rdb-diff-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The entries of one side.
#[derive(Debug)]
pub struct EntryStore {
    name: &'static str,
    parent: PathBuf,
    threshold: usize,
    entries: Vec<Entry>,
    spill: Option<(TempDir, Vec<BufWriter<File>>)>,
    count: u64,
}

impl EntryStore {
    /// A store keeping up to `threshold` entries in memory before it spills into a
    /// directory made under `parent` (`name` tells the sides' directories apart).
    pub fn new(name: &'static str, parent: &Path, threshold: usize) -> EntryStore {
        EntryStore {
            name,
            parent: parent.to_path_buf(),
            threshold: threshold.max(1),
            entries: Vec::new(),
            spill: None,
            count: 0,
        }
    }

    /// Entries added.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether the entries went to disk.
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// Adds entries (in file order).
    pub fn extend(&mut self, entries: &[Entry]) -> io::Result<()> {
        self.count += entries.len() as u64;
        self.entries.extend_from_slice(entries);
        if self.entries.len() >= self.threshold {
            self.flush()?;
        }
        Ok(())
    }

    /// Moves the in-memory entries to their partition files.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        if self.spill.is_none() {
            let dir = TempDir::new(&self.parent, self.name)?;
            let files = (0..PARTITIONS)
                .map(|p| File::create(dir.0.join(format!("{p:03}"))).map(BufWriter::new))
                .collect::<io::Result<Vec<_>>>()?;
            self.spill = Some((dir, files));
        }
        if let Some((_, files)) = &mut self.spill {
            for e in self.entries.drain(..) {
                e.write(&mut files[e.partition()])?;
            }
            for f in files.iter_mut() {
                f.flush()?;
            }
        }
        self.entries = Vec::new();
        Ok(())
    }

    /// The entries of partition `p` (all of them when not spilled; then `p` must be 0),
    /// sorted by key; of a key stored twice, the first in file order is kept.
    pub(super) fn take_partition(&mut self, p: usize) -> io::Result<Vec<Entry>> {
        let mut entries = match &self.spill {
            None => std::mem::take(&mut self.entries),
            Some((dir, _)) => {
                let mut bytes = Vec::new();
                File::open(dir.0.join(format!("{p:03}")))?.read_to_end(&mut bytes)?;
                bytes
                    .chunks_exact(ENTRY_BYTES)
                    .filter_map(|c| c.try_into().ok().map(Entry::read))
                    .collect()
            }
        };
        entries.sort_by_key(|e| e.key);
        entries.dedup_by_key(|e| e.key);
        Ok(entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_48_bytes_and_round_trip() {
        assert!(std::mem::size_of::<Entry>() <= 48);
        let e = Entry {
            key: u128::MAX - 7,
            digest: 42,
            expire_ms: -5,
            db: 3,
            type_index: 4,
        };
        let mut b = Vec::new();
        e.write(&mut b).unwrap();
        assert_eq!(Entry::read(b.as_slice().try_into().unwrap()), e);
    }

    #[test]
    fn spills_and_reads_back_and_cleans_up() {
        let parent = std::env::temp_dir();
        let mut store = EntryStore::new("unit", &parent, 10);
        let entries: Vec<Entry> = (0..100u128)
            .map(|i| Entry {
                key: i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835),
                digest: i,
                expire_ms: i64::MIN,
                db: 0,
                type_index: 0,
            })
            .collect();
        for c in entries.chunks(7) {
            store.extend(c).unwrap();
        }
        store.flush().unwrap();
        assert!(store.spilled());
        let dir = store.spill.as_ref().unwrap().0 .0.clone();
        let mut back = Vec::new();
        for p in 0..PARTITIONS {
            back.extend(store.take_partition(p).unwrap());
        }
        back.sort_by_key(|e| e.digest);
        assert_eq!(back, entries);
        drop(store);
        assert!(!dir.exists());
    }
}
