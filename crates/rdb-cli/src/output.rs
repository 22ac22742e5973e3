//! The one way commands write files: whole or not at all.
//!
//! A regular file (or a new one) is written unnamed (`O_TMPFILE`) in the target's directory
//! and linked into place only when complete, so a crash, Ctrl-C or SIGKILL leaves nothing
//! behind. Where the filesystem refuses `O_TMPFILE`, a hidden `.NAME.tmp-PID` file is used
//! instead and removed on errors and on Ctrl-C/SIGTERM (SIGKILL can leave it). Symlinks are
//! followed (the link stays, its target is replaced); an existing non-regular target (a
//! device such as /dev/null, a FIFO) is written in place, as a shell redirection would.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rdb_pipeline::write_behind::WriteBehind;

use crate::signals;
use crate::UsageError;

#[cfg(feature = "s3")]
pub mod s3;
#[cfg(not(feature = "s3"))]
pub use crate::features::without_s3::staged as s3;

/// `out.json` → `.out.json.tmp-<pid>` beside it.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Runs `write` into a pending output and puts it in place on success; on failure `path`
/// is left as it was and nothing else remains.
pub fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<NamedWriter>) -> Result<T>,
) -> Result<T> {
    let pending = Pending::create(path)?;
    let mut out = BufWriter::with_capacity(1 << 20, pending.writer()?);
    let value = write(&mut out)?;
    out.flush()?;
    drop(out);
    commit_all(vec![pending])?;
    Ok(value)
}

/// Refuses to write `output` when it is one of `inputs` (the same file, through any name):
/// the dump would be replaced by what is being made of it.
pub fn refuse_input_as_output(output: &Path, inputs: &[PathBuf]) -> Result<()> {
    let Ok(out) = fs::metadata(output) else {
        return Ok(());
    };
    if !out.is_file() {
        return Ok(());
    }
    for input in inputs {
        if let Ok(m) = fs::metadata(input) {
            if m.dev() == out.dev() && m.ino() == out.ino() {
                return Err(UsageError(format!(
                    "output {} is the input {}: write to another file",
                    output.display(),
                    input.display()
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// An output being written.
pub struct Pending {
    /// The path as given (messages).
    shown: PathBuf,
    /// Where it goes, symlinks resolved.
    target: PathBuf,
    file: File,
    how: How,
    /// In place: nothing for Drop to remove.
    done: bool,
}

enum How {
    /// An existing device or FIFO, written directly.
    InPlace,
    /// `O_TMPFILE`: linked into place on commit.
    Unnamed,
    /// A named temporary file, renamed into place on commit.
    Named(PathBuf),
}

impl Pending {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> Result<Self> {
        signals::install_cleanup();
        let target = resolve_links(path)?;
        let shown = path.to_path_buf();
        if let Ok(m) = fs::metadata(&target) {
            if m.is_dir() {
                return Err(UsageError(format!(
                    "output {} is a directory: give a file name",
                    path.display()
                ))
                .into());
            }
            if !m.is_file() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&target)
                    .with_context(|| format!("opening {}", path.display()))?;
                return Ok(Pending {
                    shown,
                    target,
                    file,
                    how: How::InPlace,
                    done: false,
                });
            }
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if Path::new("/proc/self/fd").is_dir() {
            // Filesystems without O_TMPFILE refuse it in several ways; a missing or
            // unwritable directory then fails below, with a clear message.
            if let Ok(file) = OpenOptions::new()
                .write(true)
                .mode(0o666)
                .custom_flags(libc::O_TMPFILE)
                .open(&dir)
            {
                return Ok(Pending {
                    shown,
                    target,
                    file,
                    how: How::Unnamed,
                    done: false,
                });
            }
        }
        let tmp = temp_path(&target);
        signals::register(tmp.clone());
        let file = match OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
        {
            Ok(f) => f,
            Err(e) => {
                signals::unregister(&tmp);
                return Err(e).with_context(|| format!("creating {}", tmp.display()));
            }
        };
        Ok(Pending {
            shown,
            target,
            file,
            how: How::Named(tmp),
            done: false,
        })
    }

    /// A writer whose errors name the output.
    pub fn writer(&self) -> Result<NamedWriter> {
        let file = self
            .file
            .try_clone()
            .with_context(|| format!("writing {}", self.shown.display()))?;
        Ok(NamedWriter {
            file: WriteBehind::new(file),
            name: self.shown.clone(),
        })
    }

    fn sync(&self) -> Result<()> {
        if matches!(self.how, How::InPlace) {
            return Ok(());
        }
        self.file
            .sync_all()
            .with_context(|| format!("writing {}", self.shown.display()))
    }

    /// Puts the finished file in place.
    fn put_in_place(&self) -> Result<()> {
        let in_place = |from: &Path| {
            fs::rename(from, &self.target).with_context(|| {
                format!("renaming {} to {}", from.display(), self.target.display())
            })
        };
        match &self.how {
            How::InPlace => Ok(()),
            How::Named(tmp) => in_place(tmp),
            How::Unnamed => {
                // linkat cannot replace a file: give it a hidden name, then rename that.
                let tmp = temp_path(&self.target);
                let _ = fs::remove_file(&tmp);
                link_fd(&self.file, &tmp)
                    .with_context(|| format!("creating {}", self.target.display()))?;
                let result = in_place(&tmp);
                if result.is_err() {
                    let _ = fs::remove_file(&tmp);
                }
                result
            }
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let How::Named(tmp) = &self.how {
            if !self.done {
                let _ = fs::remove_file(tmp);
            }
            signals::unregister(tmp);
        }
    }
}

/// Syncs every output, then puts them all in place with signals held off, so a Ctrl-C
/// never leaves some of them new and some old.
pub fn commit_all(mut outputs: Vec<Pending>) -> Result<()> {
    for p in &outputs {
        p.sync()?;
    }
    signals::committing(|| {
        outputs.iter_mut().try_for_each(|p| {
            p.put_in_place()?;
            p.done = true;
            Ok(())
        })
    })
}

/// A file whose write errors say which output failed (disk full names the file). Its disk
/// writes start behind the writer ([`WriteBehind`]), so the sync before it is put in place
/// has little left to wait for.
pub struct NamedWriter {
    file: WriteBehind,
    name: PathBuf,
}

impl Write for NamedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf).map_err(|e| named(e, &self.name))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush().map_err(|e| named(e, &self.name))
    }
}

fn named(e: io::Error, name: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("writing {}: {e}", name.display()))
}

/// Follows symlinks to the file they name (which may not exist yet).
fn resolve_links(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    // The kernel's own limit on nested links.
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&current)
                    .with_context(|| format!("reading link {}", current.display()))?;
                current = match current.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(current),
        }
    }
    anyhow::bail!("{}: too many levels of symbolic links", path.display())
}

/// Gives the unnamed file `file` the name `to`.
#[allow(unsafe_code)]
fn link_fd(file: &File, to: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let from = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let to = CString::new(to.as_os_str().as_bytes())?;
    // SAFETY: both arguments are valid NUL-terminated strings that outlive the call.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Standard output, buffered. When the reader goes away (`| head`), the process exits
/// quietly with status 0, as ripgrep does: the reader got what it wanted.
pub fn stdout() -> BufWriter<Stdout> {
    BufWriter::with_capacity(1 << 20, Stdout(io::stdout()))
}

/// See [`stdout`].
pub struct Stdout(io::Stdout);

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf).map_err(quiet_on_broken_pipe)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush().map_err(quiet_on_broken_pipe)
    }
}

fn quiet_on_broken_pipe(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    e
}
