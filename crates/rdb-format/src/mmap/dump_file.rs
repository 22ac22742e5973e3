//! Dump files, memory-mapped so the decoder borrows straight from the page cache.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use memmap2::Mmap;

use super::sigbus::Watch;

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

/// A dump file mapped into memory.
#[derive(Debug)]
pub struct DumpFile {
    path: PathBuf,
    // Declared before `bytes`: the watch ends before the mapping is unmapped.
    watch: Option<Watch>,
    bytes: Bytes,
    /// The open file, its size and modification time when mapped (see [`DumpFile::verify`]).
    opened: Option<(File, u64, (i64, i64))>,
    /// Bytes from the start already given back by [`DumpFile::release_before`].
    released: AtomicUsize,
}

#[derive(Debug)]
enum Bytes {
    Mapped(Mmap),
    /// A dump held in memory (a small object downloaded in one request).
    Owned(Vec<u8>),
    /// Empty files cannot be mapped.
    Empty,
}

impl DumpFile {
    /// Opens and maps `path`.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        Self::open_as(&path, path.clone())
    }

    /// Opens and maps `local`, named `name` in messages and summaries (a local copy of a
    /// dump downloaded from `s3://...` keeps its URL).
    pub fn open_as(local: &Path, name: PathBuf) -> io::Result<Self> {
        let path = name;
        // O_NONBLOCK: opening a FIFO with no writer must not hang before its type is seen.
        let file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(local)?;
        let meta = file.metadata()?;
        let kind = meta.file_type();
        if kind.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory; give the .rdb files in it or a glob",
            ));
        }
        if !kind.is_file() {
            let what = if kind.is_fifo() {
                "a FIFO or pipe"
            } else if kind.is_socket() {
                "a socket"
            } else {
                "a device"
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("is {what}, not a regular file; save the dump to a file first"),
            ));
        }
        let len = meta.len();
        let bytes = if len == 0 {
            Bytes::Empty
        } else {
            // SAFETY: the map is read-only and private to this process. A dump rewritten by
            // another process while mapped could change under us; the decoder bounds-checks
            // every read, so that yields a decoding error, never undefined behaviour in our
            // code. A dump truncated while mapped raises SIGBUS on the pages past its new
            // end: `Watch` catches that (see sigbus.rs) and `verify` reports it.
            Bytes::Mapped(unsafe { Mmap::map(&file)? })
        };
        #[cfg(unix)]
        if let Bytes::Mapped(m) = &bytes {
            // Sequential reads: let the kernel read ahead aggressively. Advisory only.
            let _ = m.advise(memmap2::Advice::Sequential);
        }
        let watch = match &bytes {
            Bytes::Mapped(m) => Watch::new(m.as_ptr(), m.len()),
            _ => None,
        };
        let stamp = (meta.mtime(), meta.mtime_nsec());
        Ok(DumpFile {
            path,
            watch,
            bytes,
            opened: Some((file, len, stamp)),
            released: AtomicUsize::new(0),
        })
    }

    /// Whether a read past the file's (new) end was caught since it was opened: an atomic
    /// load, cheap enough to ask before acting on each record (then [`DumpFile::verify`]
    /// says what happened).
    pub fn was_cut(&self) -> bool {
        self.watch.as_ref().is_some_and(Watch::cut)
    }

    /// The error a walk of this dump stops with at `position` once the file was cut (see
    /// [`DumpFile::was_cut`]), else `None`. Past the cut the map reads as zeros, which decode
    /// as endless empty records: a walk asks before each record, so a cut ends it at once,
    /// and [`DumpFile::verify`] then names the cut.
    pub fn cut_at(&self, position: u64) -> Option<crate::Error> {
        self.was_cut()
            .then(|| crate::Error::new(position, "dump", crate::ErrorKind::Truncated))
    }

    /// The items of `decoder`, a decoder over this file's bytes, ending with the error of
    /// [`DumpFile::cut_at`] if the file is cut during the walk: a walk of a whole dump that
    /// should stop at a cut rather than decode the zeros after it.
    pub fn items<'d>(
        &'d self,
        mut decoder: crate::Decoder<'d>,
    ) -> impl Iterator<Item = crate::Result<crate::Item<'d>>> + 'd {
        let mut cut = false;
        std::iter::from_fn(move || {
            if cut {
                return None;
            }
            if let Some(e) = self.cut_at(decoder.position()) {
                cut = true;
                return Some(Err(e));
            }
            decoder.next()
        })
    }

    /// Checks that the file was not cut or rewritten since it was opened, so what was read
    /// is the dump and not zeros or a mix of two dumps. Cheap (one `fstat`): the pipeline
    /// calls it before each chunk's output is used and at the end.
    pub fn verify(&self) -> io::Result<()> {
        let Some((file, len, stamp)) = &self.opened else {
            return Ok(());
        };
        let now = file.metadata()?;
        let cut = self.watch.as_ref().is_some_and(Watch::cut);
        if cut || now.len() < *len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "was truncated while being read (now {} bytes, was {len}); \
                     read it again once it is complete (copy dumps in use aside first)",
                    now.len()
                ),
            ));
        }
        if now.len() != *len || (now.mtime(), now.mtime_nsec()) != *stamp {
            return Err(io::Error::other(
                "was modified while being read; read it again once it is complete \
                 (copy dumps in use aside first)",
            ));
        }
        Ok(())
    }

    /// A dump already in memory, named `name` in messages and summaries.
    pub fn from_vec(data: Vec<u8>, name: PathBuf) -> Self {
        DumpFile {
            path: name,
            watch: None,
            bytes: Bytes::Owned(data),
            opened: None,
            released: AtomicUsize::new(0),
        }
    }

    /// Gives the mapped pages of `data()[..end]` back to the kernel: they leave this
    /// process's resident memory (they stay in the page cache, and reading them again maps
    /// them again, with the same bytes). Called on the part of a dump already converted, so
    /// a long run's memory holds the chunks in flight, not everything read so far. Advisory:
    /// errors are ignored, and a dump held in memory is left as it is.
    pub fn release_before(&self, end: usize) {
        let Bytes::Mapped(m) = &self.bytes else {
            return;
        };
        let page = page_size();
        let end = end.min(m.len()) / page * page;
        // Only what was not given back yet: a run calls this after every chunk.
        let start = self.released.fetch_max(end, Ordering::Relaxed);
        if end <= start {
            return;
        }
        // SAFETY: the map is read-only, so it holds no changes of ours that MADV_DONTNEED
        // could drop: a later read of these pages faults them in again from the file, with
        // the bytes every borrower of `data()` saw (a file changed meanwhile is `verify`'s
        // business, as for any page not yet read).
        let _ = unsafe {
            m.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }

    /// The file's bytes.
    pub fn data(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
            Bytes::Empty => &[],
        }
    }

    /// The path it was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resident kB of this process's mapping that starts at `data` (/proc/self/smaps).
    fn resident_kb(data: &[u8]) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let start = format!("{:x}-", data.as_ptr() as usize);
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&start));
        lines.next().expect("the mapping is listed");
        let rss = lines.find(|l| l.starts_with("Rss:")).unwrap();
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn released_pages_read_back_the_same_bytes() {
        let dir = std::env::temp_dir().join(format!("rdb-release-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("dump.rdb");
        let bytes: Vec<u8> = (0..4 << 20)
            .map(|i: u32| (i * 7 + i / 4096) as u8)
            .collect();
        std::fs::write(&path, &bytes).unwrap();
        let dump = DumpFile::open(&path).unwrap();
        let sum: u64 = dump.data().iter().map(|&b| u64::from(b)).sum();
        assert!(resident_kb(dump.data()) >= 4000, "read: resident");
        dump.release_before(3 << 20);
        assert!(
            resident_kb(dump.data()) <= 1100,
            "released: no longer resident"
        );
        dump.release_before(1 << 20); // behind what is released already: nothing to do
        assert_eq!(dump.data(), &bytes[..]); // read again: the same bytes
        assert_eq!(sum, bytes.iter().map(|&b| u64::from(b)).sum::<u64>());
        dump.release_before(usize::MAX);
        assert_eq!(dump.data(), &bytes[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
