//! Output files written under a temporary name and renamed into place only when complete.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// `out.json` → `.out.json.tmp-<pid>` beside it, so the final rename is atomic.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Runs `write` into a buffered temporary file and renames it to `path` on success; on
/// failure the temporary file is removed and `path` is left as it was.
pub fn write_atomically<T>(
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T>,
) -> Result<T> {
    let tmp = temp_path(path);
    let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let result = write(&mut out).and_then(|v| {
        out.flush()
            .with_context(|| format!("writing {}", tmp.display()))?;
        out.get_ref()
            .sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
        fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
        Ok(v)
    });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
