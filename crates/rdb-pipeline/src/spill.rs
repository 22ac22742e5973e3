//! Where a sink keeps a chunk's output that grew too big for memory (a huge value's): an
//! unlinked temporary file, copied to the real output when the chunk is committed.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// Output bytes a chunk keeps in memory before it moves them to a [`SpillFile`].
pub const SPILL_AT: usize = 16 << 20;

/// The temporary file a chunk's output spills into, in `TMPDIR`: created on the first write
/// and removed from the directory at once (the open handle keeps it), so nothing is left
/// behind whatever happens to the process.
#[derive(Debug, Default)]
pub struct SpillFile {
    file: Option<File>,
    len: u64,
}

impl SpillFile {
    fn create() -> io::Result<File> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".rdb-convert-spill-{}-{n}", std::process::id()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        let _ = fs::remove_file(&path);
        Ok(file)
    }

    /// Whether anything was written (the file exists).
    pub fn is_used(&self) -> bool {
        self.file.is_some()
    }

    /// Bytes written and kept.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Drops the bytes past `len` (what a key that failed half-way had written).
    pub fn truncate(&mut self, len: u64) -> io::Result<()> {
        if let Some(f) = &mut self.file {
            if len < self.len {
                f.set_len(len)?;
                f.seek(SeekFrom::Start(len))?;
                self.len = len;
            }
        }
        Ok(())
    }

    /// Copies every byte kept into `out`, in order.
    pub fn copy_to(self, out: &mut dyn Write) -> io::Result<()> {
        let Some(mut file) = self.file else {
            return Ok(());
        };
        file.seek(SeekFrom::Start(0))?;
        let mut slice = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut slice)?;
            if n == 0 {
                return Ok(());
            }
            out.write_all(&slice[..n])?;
        }
    }
}

impl Write for SpillFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.file.is_none() {
            self.file = Some(SpillFile::create()?);
        }
        let n = self.file.as_mut().map_or(Ok(0), |f| f.write(data))?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_was_written_minus_what_was_taken_back() {
        let mut s = SpillFile::default();
        assert!(!s.is_used());
        s.write_all(b"first key;").unwrap();
        let mark = s.len();
        s.write_all(b"a key that failed half-way").unwrap();
        s.truncate(mark).unwrap();
        s.write_all(b"next key;").unwrap();
        assert_eq!(s.len(), 19);
        let mut out = Vec::new();
        s.copy_to(&mut out).unwrap();
        assert_eq!(out, b"first key;next key;");
    }
}
