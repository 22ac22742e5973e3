//! The checkpoint file: how far a seed got, so `--resume` continues without loss or
//! duplication.
//!
//! Records are numbered by their position (file index, byte offset). `done` is a position
//! before which every record was acknowledged by the target; `high` is the furthest record
//! ever sent. On resume, records before `done` are skipped, records from `done` to `high` are
//! sent again in a mode where "the key already exists" means "restored by the interrupted
//! run" (a `RESTORE` is all or nothing, so such a key is complete; a big value sent in parts is
//! restarted with `REPLACE`), and the rest is seeded as usual.
//!
//! The file is plain text, one fact per line, rewritten atomically (temporary file + rename):
//!
//! ```text
//! rdb-seed checkpoint 1
//! target redis://127.0.0.1:6379
//! file 0 1048576 /backups/dump.rdb
//! done 0 524288
//! high 0 530000
//! complete 0
//! seeded 1200
//! failed 0 1000 3
//! ```

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A record's position: file index and byte offset.
pub type Pos = (u32, u64);

/// The saved state of a seed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// The target, password removed.
    pub target: String,
    /// Input files: size and path.
    pub files: Vec<(u64, PathBuf)>,
    /// Every record before this position is on the target.
    pub done: Pos,
    /// The furthest record sent.
    pub high: Pos,
    /// Whether the seed finished.
    pub complete: bool,
    /// Keys seeded so far (across runs; informational).
    pub seeded: u64,
    /// Records before `done` that could not be restored, with their verification bucket
    /// (db or slot), so a resumed run's verification expects them absent.
    pub failed: Vec<(Pos, u64)>,
}

/// Why a checkpoint could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// Reading or writing the file failed.
    #[error("checkpoint {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a checkpoint, or is damaged.
    #[error("checkpoint {path}: line {line}: {what}")]
    Format {
        /// The file.
        path: PathBuf,
        /// Line number (1-based).
        line: usize,
        /// What is wrong.
        what: String,
    },
    /// The checkpoint was written for other inputs or another target.
    #[error("checkpoint {path} does not match this run: {what}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What differs.
        what: String,
    },
}

const MAGIC: &str = "rdb-seed checkpoint 1";

impl Checkpoint {
    /// The file's text.
    pub fn to_text(&self) -> String {
        let mut s = format!("{MAGIC}\ntarget {}\n", self.target);
        for (i, (size, path)) in self.files.iter().enumerate() {
            let _ = writeln!(s, "file {i} {size} {}", path.display());
        }
        let _ = writeln!(s, "done {} {}", self.done.0, self.done.1);
        let _ = writeln!(s, "high {} {}", self.high.0, self.high.1);
        let _ = writeln!(s, "complete {}", u8::from(self.complete));
        let _ = writeln!(s, "seeded {}", self.seeded);
        for ((f, o), bucket) in &self.failed {
            let _ = writeln!(s, "failed {f} {o} {bucket}");
        }
        s
    }

    /// Parses a checkpoint's text.
    pub fn parse(text: &str, path: &Path) -> Result<Checkpoint, CheckpointError> {
        let err = |line: usize, what: &str| CheckpointError::Format {
            path: path.to_path_buf(),
            line,
            what: what.to_string(),
        };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, MAGIC)) => {}
            _ => return Err(err(1, "not an rdb-seed checkpoint")),
        }
        let mut c = Checkpoint::default();
        for (i, line) in lines {
            let n = i + 1;
            let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
            let num = |s: Option<&str>| -> Result<u64, CheckpointError> {
                s.and_then(|s| s.parse().ok())
                    .ok_or_else(|| err(n, "expected a number"))
            };
            let pos = |rest: &str| -> Result<Pos, CheckpointError> {
                let mut it = rest.split(' ');
                let f = num(it.next())?;
                let o = num(it.next())?;
                Ok((u32::try_from(f).map_err(|_| err(n, "file index"))?, o))
            };
            match word {
                "target" => c.target = rest.to_string(),
                "file" => {
                    let mut it = rest.splitn(3, ' ');
                    let _index = num(it.next())?;
                    let size = num(it.next())?;
                    let p = it.next().ok_or_else(|| err(n, "file without path"))?;
                    c.files.push((size, PathBuf::from(p)));
                }
                "done" => c.done = pos(rest)?,
                "high" => c.high = pos(rest)?,
                "complete" => c.complete = rest == "1",
                "seeded" => c.seeded = num(Some(rest))?,
                "failed" => {
                    let mut it = rest.split(' ');
                    let f = num(it.next())?;
                    let o = num(it.next())?;
                    let bucket = num(it.next())?;
                    let f = u32::try_from(f).map_err(|_| err(n, "file index"))?;
                    c.failed.push(((f, o), bucket));
                }
                "" => {}
                _ => return Err(err(n, "unknown line")),
            }
        }
        Ok(c)
    }

    /// Reads a checkpoint file.
    pub fn load(path: &Path) -> Result<Checkpoint, CheckpointError> {
        let text = std::fs::read_to_string(path).map_err(|source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Writes the checkpoint atomically (temporary file beside it, fsync, rename).
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        use std::io::Write;
        let io = |source| CheckpointError::Io {
            path: path.to_path_buf(),
            source,
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(self.to_text().as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Checks that this checkpoint was written for `files` and `target`.
    pub fn check_matches(
        &self,
        files: &[(u64, PathBuf)],
        target: &str,
        path: &Path,
    ) -> Result<(), CheckpointError> {
        let mismatch = |what: String| CheckpointError::Mismatch {
            path: path.to_path_buf(),
            what,
        };
        if self.target != target {
            return Err(mismatch(format!(
                "it is for target {}, not {target}",
                self.target
            )));
        }
        if self.files.len() != files.len() {
            return Err(mismatch(format!(
                "it is for {} file(s), not {}",
                self.files.len(),
                files.len()
            )));
        }
        for ((s1, p1), (s2, p2)) in self.files.iter().zip(files) {
            if s1 != s2 || p1 != p2 {
                return Err(mismatch(format!(
                    "it is for {} ({s1} bytes), not {} ({s2} bytes)",
                    p1.display(),
                    p2.display()
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip() {
        let c = Checkpoint {
            target: "redis://127.0.0.1:7000".into(),
            files: vec![(100, "/a b/dump.rdb".into()), (5, "x.rdb".into())],
            done: (1, 42),
            high: (1, 99),
            complete: false,
            seeded: 7,
            failed: vec![((0, 10), 3)],
        };
        let p = Path::new("cp");
        assert_eq!(Checkpoint::parse(&c.to_text(), p).unwrap(), c);
        assert!(Checkpoint::parse("hello", p).is_err());
        assert!(c.check_matches(&c.files, &c.target, p).is_ok());
        assert!(c.check_matches(&c.files[..1], &c.target, p).is_err());
    }
}
