//! Inputs that cannot be memory-mapped as they are: standard input (`-`) and compressed
//! dumps (gzip, zstd, lz4 frames), recognised by their first bytes whatever their name.
//! Each is copied, decompressed, into an unnamed temporary file under `TMPDIR` that the
//! decoder then maps: bounded by the disk, not by memory, and gone with the process (after
//! Ctrl-C or SIGKILL too) because it never has a name.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// What the name of standard input is in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// The compressions that are decompressed on the way in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// gzip (`.gz`; Redis Software and Redis Cloud backups), members concatenated as `gzip` does.
    Gzip,
    /// zstd frames.
    Zstd,
    /// lz4 frames (the `lz4` tool's default format).
    Lz4,
}

impl Compression {
    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
        }
    }
}

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// Not a compression this tool knows: given to the decoder as it is.
    Plain,
    /// Decompressed into a temporary file first.
    Compressed(Compression),
    /// A compression or archive this tool does not read: its name and how to undo it.
    Unsupported(&'static str, &'static str),
}

/// The bytes [`sniff`] looks at.
pub const SNIFF_LEN: usize = 6;

/// Recognises compressions by their magic numbers.
pub fn sniff(head: &[u8]) -> Sniffed {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&[0x1f, 0x8b]) {
        Sniffed::Compressed(Compression::Gzip)
    } else if starts(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Sniffed::Compressed(Compression::Zstd)
    } else if starts(&[0x04, 0x22, 0x4d, 0x18]) {
        Sniffed::Compressed(Compression::Lz4)
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Sniffed::Unsupported("xz-compressed", "xz -dk")
    } else if starts(b"BZh") {
        Sniffed::Unsupported("bzip2-compressed", "bzip2 -dk")
    } else if starts(&[0x02, 0x21, 0x4c, 0x18]) {
        Sniffed::Unsupported("in lz4's legacy format", "lz4 -d")
    } else if starts(b"PK\x03\x04") {
        Sniffed::Unsupported("a zip archive", "unzip")
    } else {
        Sniffed::Plain
    }
}

/// A dump copied into an unnamed temporary file; the decoder maps it through
/// [`Spooled::path`]. The space is freed when this and every map of it are gone.
pub struct Spooled {
    file: File,
}

impl Spooled {
    /// A path that opens this file (`/proc/self/fd/N`) while it is held.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
    }
}

/// A local file prepared for the decoder: `None` when it is mapped as it is (also when it
/// is no regular file or cannot be opened: opening it for the decoder then says why), else
/// its decompressed copy. Errors do not name the file; the caller does.
pub fn local(path: &Path) -> io::Result<Option<Spooled>> {
    // O_NONBLOCK: a FIFO with no writer must not hang here.
    let Ok(mut file) = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    else {
        return Ok(None);
    };
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Ok(None);
    }
    let mut head = [0u8; SNIFF_LEN];
    let n = read_head(&mut file, &mut head)?;
    match sniff(&head[..n]) {
        Sniffed::Plain => Ok(None),
        Sniffed::Unsupported(what, tool) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "is {what}, not an RDB file: decompress it first ({tool} {})",
                path.display()
            ),
        )),
        Sniffed::Compressed(c) => {
            let rest = io::Cursor::new(head[..n].to_vec()).chain(file);
            decompress(c, rest).map(Some)
        }
    }
}

/// Standard input, copied (and decompressed) into a temporary file.
pub fn stdin() -> io::Result<Spooled> {
    let mut input = io::stdin().lock();
    let mut head = [0u8; SNIFF_LEN];
    let n = read_head(&mut input, &mut head)?;
    let rest = io::Cursor::new(head[..n].to_vec()).chain(input);
    match sniff(&head[..n]) {
        Sniffed::Plain => copy_to_spool(rest, None),
        Sniffed::Unsupported(what, tool) => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "is {what}, not an RDB file: decompress it first (... | {tool} -c | rdb-convert -)"
            ),
        )),
        Sniffed::Compressed(c) => decompress(c, rest),
    }
}

/// Reads up to `head.len()` bytes (fewer only at the end of the input).
fn read_head(input: &mut impl Read, head: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < head.len() {
        match input.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

fn decompress(c: Compression, input: impl Read) -> io::Result<Spooled> {
    let input = BufReader::with_capacity(1 << 16, input);
    match c {
        Compression::Gzip => copy_to_spool(flate2::bufread::MultiGzDecoder::new(input), Some(c)),
        Compression::Zstd => {
            copy_to_spool(zstd::stream::read::Decoder::with_buffer(input)?, Some(c))
        }
        Compression::Lz4 => copy_to_spool(lz4_flex::frame::FrameDecoder::new(input), Some(c)),
    }
}

/// Copies `input` into a new unnamed file; a failure to read a compressed input says its
/// data is bad, a failure to write says where the copy was going.
fn copy_to_spool(mut input: impl Read, c: Option<Compression>) -> io::Result<Spooled> {
    let tmp = std::env::temp_dir();
    let in_tmp = |e: io::Error| {
        io::Error::new(
            e.kind(),
            format!("writing its copy to {} (TMPDIR): {e}", tmp.display()),
        )
    };
    let file = unnamed_temp(&tmp).map_err(in_tmp)?;
    let mut out = io::BufWriter::with_capacity(1 << 20, &file);
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(match c {
                    Some(c) => io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("bad {} data: {e}", c.name()),
                    ),
                    None => e,
                })
            }
        };
        out.write_all(&buf[..n]).map_err(in_tmp)?;
    }
    out.flush().map_err(in_tmp)?;
    drop(out);
    Ok(Spooled { file })
}

/// A file with no name in the temporary directory: `O_TMPFILE` where the filesystem has it,
/// else a new file unlinked at once.
fn unnamed_temp(dir: &Path) -> io::Result<File> {
    if let Ok(file) = OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
    {
        return Ok(file);
    }
    let path = dir.join(format!(
        ".rdb-convert-spool-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics() {
        assert_eq!(sniff(b"REDIS0011"), Sniffed::Plain);
        assert_eq!(
            sniff(&[0x1f, 0x8b, 8, 0]),
            Sniffed::Compressed(Compression::Gzip)
        );
        assert_eq!(
            sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Sniffed::Compressed(Compression::Zstd)
        );
        assert_eq!(
            sniff(&[0x04, 0x22, 0x4d, 0x18, 0x64]),
            Sniffed::Compressed(Compression::Lz4)
        );
        assert!(matches!(sniff(b"BZh91AY"), Sniffed::Unsupported(..)));
        assert_eq!(sniff(b""), Sniffed::Plain);
        assert_eq!(sniff(&[0x1f]), Sniffed::Plain);
    }
}
