//! A command's dump arguments resolved to local files the pipeline maps: local paths as
//! they are, `s3://` objects downloaded (downloads overlap the conversion), standard input
//! (`-`) and compressed dumps copied, decompressed, into unnamed temporary files (spool.rs).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rdb_format::DumpFile;
use rdb_pipeline::pipeline::{Inputs, PipelineError};
#[cfg(feature = "s3")]
use rdb_s3::{Downloaded, Fetched, ObjectInfo, Prefetcher, SpoolDir, S3};

#[cfg(not(feature = "s3"))]
use crate::features::without_s3::client::{
    Downloaded, Fetched, ObjectInfo, Prefetcher, SpoolDir, S3,
};

use crate::args::s3::{client, is_s3, parse_url, S3Args};
use crate::progress::{self, Mode};
use crate::spool::{self, Spooled, STDIN_NAME};

enum Entry {
    Local(PathBuf, u64),
    /// `-`: standard input.
    Stdin,
    Remote(ObjectInfo),
}

/// Whether a FILE argument is `-`, standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// How a FILE argument is named in messages: `<stdin>` for `-`, else its path.
pub(crate) fn shown_name(path: &Path) -> String {
    if is_stdin(path) {
        STDIN_NAME.to_string()
    } else {
        path.display().to_string()
    }
}

/// Standard input can be read once: `-` given twice is a usage error.
pub(crate) fn refuse_stdin_twice(files: &[PathBuf]) -> Result<()> {
    if files.iter().filter(|f| is_stdin(f)).count() > 1 {
        return Err(crate::UsageError(
            "- (standard input) is given twice; it can be read once".into(),
        )
        .into());
    }
    Ok(())
}

/// A local file or its decompressed copy, opened for the decoder under its own name.
pub(crate) fn open_local(path: &Path) -> std::io::Result<(DumpFile, Option<Spooled>)> {
    let spooled = spool::local(path)?;
    let file = match &spooled {
        Some(copy) => DumpFile::open_as(&copy.path(), path.to_path_buf())?,
        None => DumpFile::open(path)?,
    };
    Ok((file, spooled))
}

/// Standard input, copied (and decompressed).
pub(crate) fn open_stdin() -> std::io::Result<(DumpFile, Spooled)> {
    let copy = spool::stdin()?;
    let file = DumpFile::open_as(&copy.path(), PathBuf::from(STDIN_NAME))?;
    Ok((file, copy))
}

/// A directory given as a dump is a mistake with an obvious fix.
pub(crate) fn refuse_directory(path: &Path) -> Result<()> {
    if path.is_dir() {
        let shown = path.display().to_string();
        anyhow::bail!(
            "{shown}: is a directory (give the .rdb files inside, e.g. {}/*.rdb)",
            shown.trim_end_matches('/')
        );
    }
    Ok(())
}

/// A command's FILE arguments, with `s3://` URLs resolved to the objects they name.
pub struct ResolvedInputs {
    entries: Vec<Entry>,
    s3: Option<S3>,
    keep: Option<PathBuf>,
    /// How [`ResolvedInputs::download_all`] shows its downloads.
    progress: Mode,
}

/// A spool directory for S3 downloads or staged uploads: copies of user data, so a signal
/// removes it too (its own drop does otherwise).
pub(crate) fn spool_dir() -> Result<SpoolDir> {
    let dir = SpoolDir::new()?;
    crate::signals::register_dir(dir.path());
    Ok(dir)
}
impl ResolvedInputs {
    /// Resolves `files`: local paths as they are, S3 URLs to their objects (a HEAD, or a
    /// listing for a prefix or glob). Local files are checked when opened, as before.
    pub fn new(files: &[PathBuf], args: &S3Args) -> Result<ResolvedInputs> {
        refuse_stdin_twice(files)?;
        let mut entries = Vec::new();
        let mut s3 = None;
        for f in files {
            if is_stdin(f) {
                entries.push(Entry::Stdin);
            } else if is_s3(f) {
                let url = parse_url(f)?;
                if s3.is_none() {
                    s3 = Some(client(args, None)?);
                }
                let client = s3.as_ref().expect("set above");
                entries.extend(client.resolve(&url)?.into_iter().map(Entry::Remote));
            } else {
                refuse_directory(f)?;
                let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                entries.push(Entry::Local(f.clone(), size));
            }
        }
        if let Some(dir) = &args.keep_download {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        Ok(ResolvedInputs {
            entries,
            s3,
            keep: args.keep_download.clone(),
            progress: Mode::Off,
        })
    }

    /// Shows the progress of [`ResolvedInputs::download_all`]'s S3 downloads as `mode` says.
    pub fn with_progress(mut self, mode: Mode) -> ResolvedInputs {
        self.progress = mode;
        self
    }

    /// Inputs for [`rdb_pipeline::pipeline::run_inputs`]: local files opened in turn, S3
    /// objects downloaded one dump ahead of the conversion (small ones into memory).
    pub fn into_pipeline(self) -> Result<PipelineInputs> {
        let small = self.s3.as_ref().map_or(0, |s| s.options().small_object);
        self.prefetch(small)
    }

    /// Objects up to `in_memory` bytes are held in memory, the others in files.
    fn prefetch(self, in_memory: u64) -> Result<PipelineInputs> {
        let remote: Vec<ObjectInfo> = self
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Remote(o) => Some(o.clone()),
                Entry::Local(..) | Entry::Stdin => None,
            })
            .collect();
        let mut spool = None;
        let prefetcher = match &self.s3 {
            Some(s3) if !remote.is_empty() => {
                let (dir, keep) = match &self.keep {
                    Some(d) => (d.clone(), true),
                    None => {
                        let s = spool_dir()?;
                        let p = s.path().to_path_buf();
                        spool = Some(s);
                        (p, false)
                    }
                };
                // A copy the user asked to keep must be a file.
                let in_memory = if keep { 0 } else { in_memory };
                Some(Prefetcher::start(
                    s3.clone(),
                    remote,
                    dir,
                    keep,
                    1,
                    in_memory,
                    &crate::signals::CANCEL,
                ))
            }
            _ => None,
        };
        Ok(PipelineInputs {
            entries: self.entries,
            prefetcher,
            current: None,
            spooled: None,
            _spool: spool,
        })
    }

    /// Downloads every S3 input now; for commands that take local paths. Returns the
    /// local paths in order and what keeps the downloads alive.
    pub fn download_all(self) -> Result<(Vec<PathBuf>, Vec<String>, LocalCopies)> {
        let names: Vec<String> = self
            .entries
            .iter()
            .map(|e| match e {
                Entry::Local(p, _) => p.display().to_string(),
                Entry::Stdin => STDIN_NAME.to_string(),
                Entry::Remote(o) => o.url.to_string(),
            })
            .collect();
        let remote_bytes: u64 = self
            .entries
            .iter()
            .map(|e| match e {
                Entry::Remote(o) => o.size,
                Entry::Local(..) | Entry::Stdin => 0,
            })
            .sum();
        let (mode, s3) = (self.progress, self.s3.clone());
        // Counted from here: the prefetcher starts downloading at once.
        let before = s3.as_ref().map_or(0, |s| s.transferred().downloaded());
        let mut inputs = self.prefetch(0)?;
        let mut fetch_all = || -> Result<_> { fetch_in_order(&mut inputs) };
        let (paths, held, copies) = match s3 {
            Some(s3) if remote_bytes > 0 => {
                let transferred = || s3.transferred().downloaded().saturating_sub(before);
                progress::run_transfer("download", mode, remote_bytes, transferred, fetch_all)?
            }
            _ => fetch_all()?,
        };
        Ok((
            paths,
            names,
            LocalCopies {
                _held: held,
                _spooled: copies,
                _inputs: inputs,
            },
        ))
    }
}

/// Every input as a local file, in order: downloads, spooled copies, local paths.
#[allow(clippy::type_complexity)]
fn fetch_in_order(
    inputs: &mut PipelineInputs,
) -> Result<(Vec<PathBuf>, Vec<Downloaded>, Vec<Spooled>)> {
    let mut paths = Vec::new();
    let mut held = Vec::new();
    let mut copies = Vec::new();
    for i in 0..inputs.entries.len() {
        match &inputs.entries[i] {
            Entry::Local(p, _) => {
                match spool::local(p).with_context(|| p.display().to_string())? {
                    Some(copy) => {
                        paths.push(copy.path());
                        copies.push(copy);
                    }
                    None => paths.push(p.clone()),
                }
            }
            Entry::Stdin => {
                let copy = spool::stdin().context(STDIN_NAME)?;
                paths.push(copy.path());
                copies.push(copy);
            }
            Entry::Remote(_) => match inputs.next_download()? {
                Fetched::File(d) => {
                    paths.push(d.path.clone());
                    held.push(d);
                }
                Fetched::Memory(m) => {
                    anyhow::bail!("internal: {} not in a file", m.object.url)
                }
            },
        }
    }
    Ok((paths, held, copies))
}

/// The dump arguments of split and filter as local files: local paths as they are, `s3://`
/// objects downloaded, standard input and compressed dumps copied. Returns the local paths,
/// the names to show for them, and what keeps the copies alive.
pub fn local_inputs(
    files: &[PathBuf],
    args: &S3Args,
    progress: Mode,
) -> Result<(Vec<PathBuf>, Vec<String>, LocalCopies)> {
    ResolvedInputs::new(files, args)?
        .with_progress(progress)
        .download_all()
}

/// Local files, some of them downloaded copies, shown in messages and summaries under their
/// own names (an `s3://` URL for a copy).
pub struct NamedFiles<'a> {
    /// Where each dump is on disk.
    pub paths: &'a [PathBuf],
    /// What to call it.
    pub names: &'a [String],
}

impl Inputs for NamedFiles<'_> {
    fn count(&self) -> usize {
        self.paths.len()
    }

    fn total_bytes(&self) -> u64 {
        self.paths
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    fn open(&mut self, index: usize) -> rdb_pipeline::pipeline::Result<DumpFile> {
        let name = PathBuf::from(&self.names[index]);
        DumpFile::open_as(&self.paths[index], name.clone())
            .map_err(|error| PipelineError::Open { path: name, error })
    }
}

/// Downloaded and spooled copies (and their temporary directory), removed when dropped.
pub struct LocalCopies {
    _held: Vec<Downloaded>,
    _spooled: Vec<Spooled>,
    _inputs: PipelineInputs,
}

/// Local files and downloads, opened in order by the pipeline.
pub struct PipelineInputs {
    entries: Vec<Entry>,
    prefetcher: Option<Prefetcher>,
    /// The download being converted; its file is removed when the next one is opened.
    current: Option<Downloaded>,
    /// Likewise the copy of standard input or of a compressed dump being converted.
    spooled: Option<Spooled>,
    // Declared last: dropped after the prefetcher and the downloads in it.
    _spool: Option<SpoolDir>,
}

impl PipelineInputs {
    fn next_download(&mut self) -> Result<Fetched> {
        let p = self
            .prefetcher
            .as_mut()
            .context("internal: no download for an S3 input")?;
        let d = p
            .next_download()
            .context("internal: the download thread stopped")??;
        if let Fetched::File(f) = &d {
            if f.retries > 0 {
                eprintln!(
                    "rdb-convert: {}: {} range(s) fetched again after dropped connections",
                    f.object.url, f.retries
                );
            }
        }
        Ok(d)
    }
}

impl Inputs for PipelineInputs {
    fn count(&self) -> usize {
        self.entries.len()
    }

    fn total_bytes(&self) -> u64 {
        self.entries
            .iter()
            .map(|e| match e {
                Entry::Local(_, size) => *size,
                Entry::Stdin => 0,
                Entry::Remote(o) => o.size,
            })
            .sum()
    }

    fn open(&mut self, index: usize) -> rdb_pipeline::pipeline::Result<DumpFile> {
        self.current = None;
        self.spooled = None;
        let open_err = |path: PathBuf, error| PipelineError::Open { path, error };
        match &self.entries[index] {
            Entry::Local(p, _) => {
                let (file, copy) = open_local(p).map_err(|e| open_err(p.clone(), e))?;
                self.spooled = copy;
                Ok(file)
            }
            Entry::Stdin => {
                let (file, copy) =
                    open_stdin().map_err(|e| open_err(PathBuf::from(STDIN_NAME), e))?;
                self.spooled = Some(copy);
                Ok(file)
            }
            Entry::Remote(o) => {
                let name = PathBuf::from(o.url.to_string());
                let d = self
                    .next_download()
                    .map_err(|e| open_err(name.clone(), std::io::Error::other(format!("{e:#}"))))?;
                match d {
                    Fetched::Memory(m) => Ok(DumpFile::from_vec(m.data, name)),
                    Fetched::File(d) => {
                        let file = DumpFile::open_as(&d.path, name.clone())
                            .map_err(|e| open_err(name, e))?;
                        self.current = Some(d);
                        Ok(file)
                    }
                }
            }
        }
    }
}
