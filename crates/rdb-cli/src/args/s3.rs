//! `s3://` inputs and outputs: the S3 flags every command shares, mapped to an
//! [`rdb_s3::S3`] client; inputs resolved to local files the pipeline maps (downloads
//! overlap the conversion), outputs staged locally and uploaded when complete.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use rdb_export::export::MANIFEST;
use rdb_format::DumpFile;
use rdb_pipeline::pipeline::{Inputs, PipelineError};
use rdb_s3::{
    local_name, mark_failed, set_status, Downloaded, Fetched, ObjectInfo, Prefetcher, S3Config,
    S3Error, S3Options, S3Url, SpoolDir, Sse, Target, UploadItem, S3,
};

use crate::convert::{install_ctrlc, ConvertArgs, CANCEL};

/// Where and how to reach S3.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "S3 (for s3:// inputs and outputs)")]
pub struct S3Args {
    /// Send requests here instead of AWS (MinIO, Ceph, moto...); implies path-style
    /// requests. Also AWS_ENDPOINT_URL.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// The bucket's region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's, us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Use this profile of ~/.aws/credentials and ~/.aws/config (default: AWS_PROFILE, default).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Send anonymous requests (public buckets); no credentials are looked up.
    #[arg(long)]
    pub no_sign_request: bool,

    /// Keep the downloaded dumps in this directory (default: a temporary directory, emptied
    /// as each dump is done).
    #[arg(long, value_name = "DIR")]
    pub keep_download: Option<PathBuf>,

    /// Bytes per ranged GET and per multipart part (tuning).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub s3_part_size: Option<u64>,

    /// Objects up to this size are fetched with one GET and uploaded with one PUT (tuning).
    #[arg(long, hide = true, value_name = "BYTES")]
    pub s3_small_object: Option<u64>,

    /// Ranged GETs in flight (tuning).
    #[arg(long, hide = true, value_name = "N")]
    pub s3_concurrency: Option<usize>,

    /// Retries of a failed request (tuning).
    #[arg(long, hide = true, value_name = "N")]
    pub s3_retries: Option<usize>,
}

/// Encryption of what is written to S3.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "S3 output")]
pub struct S3OutputArgs {
    /// Server-side encryption of written objects: AES256 (SSE-S3) or aws:kms (SSE-KMS).
    /// Without it the bucket's default applies, and a warning is printed.
    #[arg(long, value_name = "ALGORITHM", value_enum)]
    pub sse: Option<SseArg>,

    /// The KMS key (id, alias or ARN) for --sse aws:kms (default: the account's aws/s3 key).
    #[arg(long, value_name = "ID", requires = "sse")]
    pub kms_key_id: Option<String>,
}

/// Server-side encryption algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SseArg {
    /// SSE-S3, keys managed by S3.
    #[value(name = "AES256")]
    Aes256,
    /// SSE-KMS, a key in AWS KMS.
    #[value(name = "aws:kms")]
    AwsKms,
}

impl S3OutputArgs {
    fn sse(&self) -> Result<Option<Sse>> {
        match (self.sse, &self.kms_key_id) {
            (None, _) => Ok(None),
            (Some(SseArg::Aes256), Some(_)) => Err(crate::UsageError(
                "--kms-key-id goes with --sse aws:kms, not AES256".into(),
            )
            .into()),
            (Some(SseArg::Aes256), None) => Ok(Some(Sse::Aes256)),
            (Some(SseArg::AwsKms), key) => Ok(Some(Sse::Kms {
                key_id: key.clone(),
            })),
        }
    }
}

/// Whether a path argument is an S3 URL.
pub fn is_s3(path: &Path) -> bool {
    path.to_str().is_some_and(S3Url::is_s3)
}

/// Parses an S3 URL argument.
pub fn parse_url(path: &Path) -> Result<S3Url> {
    let text = path.to_str().unwrap_or_default();
    Ok(S3Url::parse(text)?)
}

/// A client for these flags (`output`: the encryption of written objects).
pub fn client(args: &S3Args, output: Option<&S3OutputArgs>) -> Result<S3> {
    let config = S3Config {
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        force_path_style: None,
        no_sign_request: args.no_sign_request,
        profile: args.profile.clone(),
    };
    let mut options = S3Options::default();
    if let Some(o) = output {
        options.sse = o.sse()?;
    }
    if let Some(p) = args.s3_part_size {
        options.part_size = p.max(1);
    }
    if let Some(s) = args.s3_small_object {
        options.small_object = s;
    }
    if let Some(c) = args.s3_concurrency {
        options.concurrency = c.max(1);
    }
    if let Some(r) = args.s3_retries {
        options.retries = r;
    }
    Ok(S3::new(&config, options)?)
}

enum Entry {
    Local(PathBuf, u64),
    Remote(ObjectInfo),
}

/// A command's FILE arguments, with `s3://` URLs resolved to the objects they name.
pub struct ResolvedInputs {
    entries: Vec<Entry>,
    s3: Option<S3>,
    keep: Option<PathBuf>,
}

impl ResolvedInputs {
    /// Resolves `files`: local paths as they are, S3 URLs to their objects (a HEAD, or a
    /// listing for a prefix or glob). Local files are checked when opened, as before.
    pub fn new(files: &[PathBuf], args: &S3Args) -> Result<ResolvedInputs> {
        let mut entries = Vec::new();
        let mut s3 = None;
        for f in files {
            if is_s3(f) {
                let url = parse_url(f)?;
                if s3.is_none() {
                    s3 = Some(client(args, None)?);
                }
                let client = s3.as_ref().expect("set above");
                entries.extend(client.resolve(&url)?.into_iter().map(Entry::Remote));
            } else {
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
        })
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
                Entry::Local(..) => None,
            })
            .collect();
        let mut spool = None;
        let prefetcher = match &self.s3 {
            Some(s3) if !remote.is_empty() => {
                let (dir, keep) = match &self.keep {
                    Some(d) => (d.clone(), true),
                    None => {
                        let s = SpoolDir::new()?;
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
                ))
            }
            _ => None,
        };
        Ok(PipelineInputs {
            entries: self.entries,
            prefetcher,
            current: None,
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
                Entry::Remote(o) => o.url.to_string(),
            })
            .collect();
        let mut inputs = self.prefetch(0)?;
        let mut paths = Vec::new();
        let mut held = Vec::new();
        for i in 0..inputs.entries.len() {
            match &inputs.entries[i] {
                Entry::Local(p, _) => paths.push(p.clone()),
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
        Ok((
            paths,
            names,
            LocalCopies {
                _held: held,
                _inputs: inputs,
            },
        ))
    }
}

/// One dump argument (split, filter): a local path as it is, or the one object an S3 URL
/// names, downloaded. Returns the local path and what keeps the download alive.
pub fn single_input(file: &Path, args: &S3Args) -> Result<(PathBuf, Option<LocalCopies>)> {
    if !is_s3(file) {
        return Ok((file.to_path_buf(), None));
    }
    let resolved = ResolvedInputs::new(std::slice::from_ref(&file.to_path_buf()), args)?;
    if resolved.entries.len() != 1 {
        return Err(crate::UsageError(format!(
            "{} names {} objects; this command reads one dump",
            file.display(),
            resolved.entries.len()
        ))
        .into());
    }
    let (mut paths, _, copies) = resolved.download_all()?;
    Ok((paths.remove(0), Some(copies)))
}

/// Outputs that go to S3: written into a local staging directory first, uploaded when all
/// are complete (a failure deletes what was uploaded).
pub struct StagedOutputs {
    s3: S3,
    staging: SpoolDir,
    /// Local staging path → destination.
    items: Vec<UploadItem>,
}

impl StagedOutputs {
    /// A staging area for outputs bound to `s3://` destinations.
    pub fn new(s3: &S3Args, out: &S3OutputArgs, example: &S3Url) -> Result<StagedOutputs> {
        let client = client(s3, Some(out))?;
        warn_unencrypted(out, example);
        Ok(StagedOutputs {
            s3: client,
            staging: SpoolDir::new()?,
            items: Vec::new(),
        })
    }

    /// The local path to write for `url`.
    pub fn stage(&mut self, url: &S3Url) -> PathBuf {
        let local =
            self.staging
                .path()
                .join(format!("{:04}-{}", self.items.len(), local_name(&url.key)));
        self.items.push(UploadItem {
            local: local.clone(),
            url: url.clone(),
        });
        local
    }

    /// Uploads every staged file.
    pub fn upload(self) -> Result<()> {
        install_ctrlc();
        let done = self.s3.upload(&self.items, None, &CANCEL)?;
        eprintln!(
            "rdb-convert: uploaded {} objects ({} bytes)",
            done.objects, done.bytes
        );
        Ok(())
    }
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

/// Downloaded copies (and their temporary directory), removed when dropped.
pub struct LocalCopies {
    _held: Vec<Downloaded>,
    _inputs: PipelineInputs,
}

/// Local files and downloads, opened in order by the pipeline.
pub struct PipelineInputs {
    entries: Vec<Entry>,
    prefetcher: Option<Prefetcher>,
    /// The download being converted; its file is removed when the next one is opened.
    current: Option<Downloaded>,
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
                Entry::Remote(o) => o.size,
            })
            .sum()
    }

    fn open(&mut self, index: usize) -> rdb_pipeline::pipeline::Result<DumpFile> {
        self.current = None;
        let open_err = |path: PathBuf, error| PipelineError::Open { path, error };
        match &self.entries[index] {
            Entry::Local(p, _) => DumpFile::open(p).map_err(|e| open_err(p.clone(), e)),
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

/// Warns when an export goes to S3 without explicit encryption.
pub fn warn_unencrypted(out: &S3OutputArgs, url: &S3Url) {
    if out.sse.is_none() {
        eprintln!(
            "rdb-convert: warning: writing to {url} without --sse: the objects are encrypted \
             only if the bucket has default encryption (pass --sse AES256 or --sse aws:kms)"
        );
    }
}

/// `convert --format json --output s3://bucket/key`: `write` fills a local file, which is
/// then uploaded.
pub fn json_to_s3(
    args: &ConvertArgs,
    url: &S3Url,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    if url.target != Target::Object {
        return Err(crate::UsageError(format!(
            "--output {url}: JSON goes to one object; give its key (s3://bucket/path/out.json)"
        ))
        .into());
    }
    let s3 = client(&args.s3, Some(&args.s3_output))?;
    warn_unencrypted(&args.s3_output, url);
    let staging = SpoolDir::new()?;
    let local = staging.path().join(local_name(&url.key));
    write(&local)?;
    let item = UploadItem {
        local,
        url: url.clone(),
    };
    // Ctrl-C during the upload aborts it instead of leaving a multipart upload behind.
    install_ctrlc();
    let done = s3.upload(&[item], None, &CANCEL)?;
    eprintln!("rdb-convert: wrote {url} ({} bytes)", done.bytes);
    Ok(())
}

/// `convert --format parquet --output s3://bucket/prefix/`: `export` writes the export into a
/// local staging directory exactly as for a local output; its files are then uploaded, the
/// manifest last. Before anything is deleted or uploaded, the remote manifest stops saying
/// COMPLETE: an old export being replaced is marked FAILED (its list kept), then the new
/// manifest is written IN_PROGRESS with the list of files about to be uploaded, so a run
/// killed at any point leaves a manifest that lists every object it may have left. With
/// --overwrite, only the objects the old manifest lists are deleted, and only once the new
/// export is ready: a failed local export leaves the old one untouched.
pub fn parquet_to_s3(
    args: &ConvertArgs,
    url: &S3Url,
    cancel: &AtomicBool,
    export: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let s3 = client(&args.s3, Some(&args.s3_output))?;
    warn_unencrypted(&args.s3_output, url);
    let manifest_url = url.join(MANIFEST);
    let old = match s3.head(&manifest_url) {
        Ok(info) => Some(s3.fetch(&info)?.data),
        Err(S3Error::ObjectNotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let old_files = match &old {
        Some(_) if !args.overwrite => {
            return Err(anyhow::anyhow!(
                "{manifest_url} exists: an export is (or was) there; use --overwrite to replace it"
            ))
        }
        Some(bytes) => Some(old_listed(bytes, &manifest_url)?),
        None => None,
    };
    let staging = SpoolDir::new()?;
    let dir = staging.path();
    let exported = export(dir);
    let manifest = dir.join(MANIFEST);
    let manifest_item = UploadItem {
        local: manifest.clone(),
        url: manifest_url.clone(),
    };
    if let Err(e) = exported {
        if old.is_some() {
            return Err(e.context(format!("{url} was left as it was")));
        }
        // The staged manifest already says FAILED or CANCELED: publish it, and only it.
        if manifest.exists() {
            let _ = s3.upload(&[], Some(&manifest_item), &AtomicBool::new(false));
        }
        return Err(e);
    }
    let text =
        std::fs::read(&manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let json: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("reading {}", manifest.display()))?;
    let (files, _) = rdb_export::export::listed(&json)
        .map_err(anyhow::Error::msg)?
        .context("internal: the staged manifest lists no files")?;
    if let (Some(old), Some(old_files)) = (&old, old_files) {
        let cause = "being replaced (--overwrite); its objects are deleted";
        s3.put_bytes(&manifest_url, set_status(old, "FAILED", Some(cause)))?;
        for f in &old_files {
            s3.delete(&url.join(f))?;
        }
    }
    s3.put_bytes(&manifest_url, set_status(&text, "IN_PROGRESS", None))?;
    let items: Vec<UploadItem> = files
        .iter()
        .map(|f| UploadItem {
            local: dir.join(f),
            url: url.join(f),
        })
        .collect();
    match s3.upload(&items, Some(&manifest_item), cancel) {
        Ok(done) => {
            eprintln!(
                "rdb-convert: uploaded {} objects ({} bytes, {} multipart) to {url}",
                done.objects, done.bytes, done.multipart
            );
            Ok(())
        }
        Err(e) => {
            let cause = format!("upload failed: {e}");
            if let Err(e2) = s3.put_bytes(&manifest_url, mark_failed(&text, &cause)) {
                eprintln!("rdb-convert: warning: could not write the FAILED manifest: {e2}");
            }
            Err(anyhow::anyhow!(
                "{cause}; the objects written were deleted and {manifest_url} says FAILED"
            ))
        }
    }
}

/// The objects an existing export's manifest lists; an older version's manifest, which
/// lists none, is accepted only if its export failed (it deleted its objects itself).
fn old_listed(manifest: &[u8], url: &S3Url) -> Result<Vec<String>> {
    let json: serde_json::Value = serde_json::from_slice(manifest)
        .map_err(|e| anyhow::anyhow!("{url}: not an export manifest ({e}); nothing was deleted: remove it, then export again"))?;
    match rdb_export::export::listed(&json) {
        Ok(Some((files, _))) => Ok(files),
        Ok(None) if matches!(json["status"].as_str(), Some("FAILED" | "CANCELED")) => {
            Ok(Vec::new())
        }
        Ok(None) => Err(anyhow::anyhow!(
            "{url}: export {} was written by an older rdb-convert that did not list its objects, \
             so they cannot be told from others: delete its table prefixes and the manifest \
             yourself, then export again",
            json["export_id"].as_str().unwrap_or("?")
        )),
        Err(what) => Err(anyhow::anyhow!(
            "{url}: {what}; nothing was deleted: fix or remove it, then export again"
        )),
    }
}
