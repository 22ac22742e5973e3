//! Dump files, memory-mapped so the decoder borrows straight from the page cache.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

/// A dump file mapped into memory.
#[derive(Debug)]
pub struct DumpFile {
    path: PathBuf,
    bytes: Bytes,
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
        let file = File::open(local)?;
        let len = file.metadata()?.len();
        let bytes = if len == 0 {
            Bytes::Empty
        } else {
            // SAFETY: the map is read-only and private to this process. A dump rewritten by
            // another process while mapped could change under us; the decoder bounds-checks
            // every read, so that yields a decoding error, never undefined behaviour in our
            // code (the OS may raise SIGBUS if the file is truncated, as for any mmap reader).
            Bytes::Mapped(unsafe { Mmap::map(&file)? })
        };
        #[cfg(unix)]
        if let Bytes::Mapped(m) = &bytes {
            // Sequential reads: let the kernel read ahead aggressively. Advisory only.
            let _ = m.advise(memmap2::Advice::Sequential);
        }
        Ok(DumpFile { path, bytes })
    }

    /// A dump already in memory, named `name` in messages and summaries.
    pub fn from_vec(data: Vec<u8>, name: PathBuf) -> Self {
        DumpFile {
            path: name,
            bytes: Bytes::Owned(data),
        }
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
