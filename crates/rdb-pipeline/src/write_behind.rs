//! Outputs whose disk writes start while they are still being written.
//!
//! Every output is synced before it is put in place, so a power cut cannot leave a renamed
//! file with holes. Left to the end, that sync waits for the whole file at once: 0.4 s of a
//! 1.4 s JSON export of a 250 MB dump went to one `fsync`. [`WriteBehind`] asks the kernel to
//! start writing each window as soon as it is full (`sync_file_range(SYNC_FILE_RANGE_WRITE)`,
//! which does not wait for the disk), so the disk works while the dump is converted and the
//! final sync finds little left. It changes when bytes reach the disk, never which.

use std::fs::File;
use std::io::{self, Write};

/// Bytes written between two requests to start writeback.
pub const WINDOW: u64 = 8 << 20;

/// A file written through [`Write`], with the writeback of each full [`WINDOW`] started
/// behind the writer. The caller still syncs the file before relying on it.
#[derive(Debug)]
pub struct WriteBehind {
    file: File,
    written: u64,
    started: u64,
    /// Off after the first refusal: a pipe or a device, or a system without the call.
    enabled: bool,
}

impl WriteBehind {
    /// Writes into `file` from its current position (a new or truncated file: offsets are
    /// counted from 0).
    pub fn new(file: File) -> Self {
        WriteBehind {
            file,
            written: 0,
            started: 0,
            enabled: true,
        }
    }

    /// The file.
    pub fn get_ref(&self) -> &File {
        &self.file
    }

    /// The file back.
    pub fn into_inner(self) -> File {
        self.file
    }

    fn start_writeback(&mut self) {
        let (from, len) = (self.started, self.written - self.started);
        self.started = self.written;
        if !start_writeback(&self.file, from, len) {
            self.enabled = false;
        }
    }
}

impl Write for WriteBehind {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        if self.enabled && self.written - self.started >= WINDOW {
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Starts writing `len` bytes of `file` from `offset` to disk without waiting; `false`
/// when the file or the system cannot (a pipe, a device, another OS).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn start_writeback(file: &File, offset: u64, len: u64) -> bool {
    use std::os::unix::io::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return false;
    };
    // SAFETY: sync_file_range on a descriptor `file` owns for the duration of the call; no
    // memory is passed.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The file holds exactly what was written, across windows and odd write sizes.
    #[test]
    fn writes_the_same_bytes() {
        let dir = std::env::temp_dir().join(format!("rdb-wb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out");
        let mut w = WriteBehind::new(File::create(&path).unwrap());
        let mut expected = Vec::new();
        let block: Vec<u8> = (0..=255u8).cycle().take(3 * 1024 * 1024 + 7).collect();
        for _ in 0..7 {
            w.write_all(&block).unwrap();
            expected.extend_from_slice(&block);
        }
        assert!(w.started >= 2 * WINDOW, "writeback was started per window");
        w.flush().unwrap();
        w.get_ref().sync_all().unwrap();
        drop(w.into_inner());
        let mut got = Vec::new();
        File::open(&path).unwrap().read_to_end(&mut got).unwrap();
        assert!(got == expected);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A pipe refuses the call: writing goes on, without asking again.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_pipe_turns_it_off() {
        use std::os::unix::io::FromRawFd;
        let mut fds = [0; 2];
        // SAFETY: pipe fills the two descriptors, which the Files below then own.
        #[allow(unsafe_code)]
        let (r, w) = unsafe {
            assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
            (File::from_raw_fd(fds[0]), File::from_raw_fd(fds[1]))
        };
        let reader = std::thread::spawn(move || {
            let mut r = r;
            let mut n = 0u64;
            let mut buf = vec![0; 1 << 16];
            loop {
                match r.read(&mut buf).unwrap() {
                    0 => return n,
                    k => n += k as u64,
                }
            }
        });
        let mut w = WriteBehind::new(w);
        let block = vec![1u8; 1 << 20];
        for _ in 0..10 {
            w.write_all(&block).unwrap();
        }
        assert!(!w.enabled);
        drop(w);
        assert_eq!(reader.join().unwrap(), 10 << 20);
    }
}
