//! Dump files, memory-mapped so the decoder borrows straight from the page cache.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::sigbus::Watch;

/// A dump file mapped into memory.
#[derive(Debug)]
pub struct DumpFile {
    path: PathBuf,
    // Declared before `bytes`: the watch ends before the mapping is unmapped.
    watch: Option<Watch>,
    bytes: Bytes,
    /// The open file, its size and modification time when mapped (see [`DumpFile::verify`]).
    opened: Option<(File, u64, (i64, i64))>,
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
        })
    }

    /// Whether a read past the file's (new) end was caught since it was opened: an atomic
    /// load, cheap enough to ask before acting on each record (then [`DumpFile::verify`]
    /// says what happened).
    pub fn was_cut(&self) -> bool {
        self.watch.as_ref().is_some_and(Watch::cut)
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
