//! Ctrl-C, SIGTERM and SIGHUP: a command that polls [`CANCEL`] (the Parquet export, S3
//! uploads) stops at its next chunk and cleans up itself; any other command removes its
//! named temporary files here and exits with status 130 at once.
//!
//! Temporary outputs are unnamed (`O_TMPFILE`) where the filesystem allows, so they vanish
//! with the process even on SIGKILL; only the fallback named ones are registered here, with
//! the spool directories of S3 downloads and staged uploads (copies of user data).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// Raised by the first signal; polled by commands that stop gracefully.
pub(crate) static CANCEL: AtomicBool = AtomicBool::new(false);

/// Set while a command that polls [`CANCEL`] runs.
static GRACEFUL: AtomicBool = AtomicBool::new(false);

/// Named temporary files and directories to remove if a signal ends the process. Committing
/// an output holds this lock, so a signal never lands between two renames of a multi-file
/// output.
static TEMPS: Mutex<Vec<Temp>> = Mutex::new(Vec::new());

enum Temp {
    File(PathBuf),
    /// Removed with its contents.
    Dir(PathBuf),
}

impl Temp {
    fn path(&self) -> &Path {
        match self {
            Temp::File(p) | Temp::Dir(p) => p,
        }
    }

    fn remove(&self) {
        match self {
            Temp::File(p) => {
                let _ = std::fs::remove_file(p);
            }
            // A download thread may still be adding a file: try again once.
            Temp::Dir(p) => {
                if std::fs::remove_dir_all(p).is_err() {
                    let _ = std::fs::remove_dir_all(p);
                }
            }
        }
    }
}

static INSTALL: Once = Once::new();

/// Exit status after a signal (128 + SIGINT, as shells report it).
const SIGNALED: i32 = 130;

fn install() {
    INSTALL.call_once(|| {
        // Fails only if a handler is already installed, which is then the one that counts.
        let _ = ctrlc::set_handler(|| {
            let second = CANCEL.swap(true, Ordering::SeqCst);
            if GRACEFUL.load(Ordering::SeqCst) && !second {
                return;
            }
            remove_temps();
            std::process::exit(SIGNALED);
        });
    });
}

/// Commands that poll [`CANCEL`] call this: the first signal only raises the flag (a
/// second one exits at once).
#[cfg_attr(not(any(feature = "s3", feature = "parquet")), allow(dead_code))]
pub(crate) fn install_ctrlc() {
    GRACEFUL.store(true, Ordering::SeqCst);
    install();
}

/// Makes sure a signal removes registered temporary files before the process exits.
pub(crate) fn install_cleanup() {
    install();
}

/// Registers a named temporary file for removal on a signal.
pub(crate) fn register(path: PathBuf) {
    install();
    lock().push(Temp::File(path));
}

/// Registers a temporary directory for removal, with its contents, on a signal. Its owner
/// removes it on the way out otherwise; a signal ends the process before that.
pub(crate) fn register_dir(path: &Path) {
    install();
    lock().push(Temp::Dir(path.to_path_buf()));
}

/// Forgets a temporary file (renamed into place, or removed). Not inside [`committing`].
pub(crate) fn unregister(path: &Path) {
    lock().retain(|t| t.path() != path);
}

/// Runs `f` (renames into place) with signals' cleanup held off until it returns.
pub(crate) fn committing<T>(f: impl FnOnce() -> T) -> T {
    let _guard = lock();
    f()
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Temp>> {
    TEMPS.lock().unwrap_or_else(|p| p.into_inner())
}

fn remove_temps() {
    for t in lock().drain(..) {
        t.remove();
    }
}
